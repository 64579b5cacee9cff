//! What the interpreter needs of the world around it: where output and messages go, and who
//! answers a yes/no question before an effect. The interpreter is handed a `Host` (the terminal,
//! unless its maker passes another), so evaluation, builtins and the REPL never reach for the
//! command line's own output.

use std::io::{IsTerminal, Write};

pub trait Host {
    /// Program output (`print`, a step's output in `kenv run`).
    fn out(&self, text: &str);
    /// Messages about what kenv is doing.
    fn err(&self, text: &str);
    /// A yes/no question; false when nobody can answer it.
    fn ask(&self, question: &str) -> bool;
}

/// The process's own streams, and questions asked on its terminal.
pub struct Terminal;

impl Host for Terminal {
    /// A closed pipe (`kenv eval … | head`) is not an error worth reporting: the reader has what
    /// it wanted.
    fn out(&self, text: &str) {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }

    fn err(&self, text: &str) {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// Without a terminal to ask on, the answer is no.
    fn ask(&self, question: &str) -> bool {
        if !std::io::stdin().is_terminal() {
            return false;
        }
        self.err(&format!("{question} [y/N] "));
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
    }
}

/// Set by Ctrl-C once `catch_interrupts` has run.
static INTERRUPTED: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> = std::sync::OnceLock::new();

/// From now on, Ctrl-C (SIGINT) asks the process to stop at its next safe point instead of
/// ending it: `interrupted()` turns true. A second Ctrl-C ends the process at once (exit 130).
pub fn catch_interrupts() {
    let flag = INTERRUPTED.get_or_init(Default::default);
    let sigint = signal_hook::consts::SIGINT;
    // Registered first, so it sees the flag as the previous Ctrl-C left it.
    let _ = signal_hook::flag::register_conditional_shutdown(sigint, 130, flag.clone());
    let _ = signal_hook::flag::register(sigint, flag.clone());
}

/// Whether Ctrl-C was pressed since `catch_interrupts`.
pub fn interrupted() -> bool {
    INTERRUPTED.get().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
}
