//! The terminal front end: rustyline with history in the user's data directory, completion,
//! highlighting, signature hints and multi-line input decided by the real parser. Without a
//! terminal, lines are read from stdin as they come (for pipes and scripts).

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::rc::Rc;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Context, Editor, Helper};

use super::{complete, incomplete, Outcome, Session};
use crate::diag::Style;
use crate::host::{Host, Terminal};

const PROMPT: &str = "kenv> ";

struct KenvHelper {
    session: Rc<RefCell<Session>>,
    color: bool,
}

impl Completer for KenvHelper {
    type Candidate = String;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete(&self.session.borrow(), &line[..pos]))
    }
}

impl Hinter for KenvHelper {
    type Hint = String;

    /// The signature of the call being typed: `join(` hints `items, sep?)`.
    fn hint(&self, line: &str, pos: usize, _: &Context<'_>) -> Option<String> {
        let before = &line[..pos];
        let open = before.rfind('(')?;
        if before[open..].contains(')') || pos != line.len() {
            return None;
        }
        let name_start = before[..open].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let name = &before[name_start..open];
        let builtin = crate::builtins::get(name)?;
        let typed = before[open + 1..].matches(',').count();
        let rest: Vec<&str> = builtin.params.iter().skip(typed).map(|p| crate::model::param_name(p)).collect();
        (!before.ends_with(' ') || typed == 0).then(|| format!("{})", rest.join(", ")))
    }
}

impl Highlighter for KenvHelper {
    /// Keywords bold, strings green, comments dim.
    fn highlight<'l>(&self, line: &'l str, _: usize) -> Cow<'l, str> {
        if !self.color || line.starts_with(':') {
            return Cow::Borrowed(line);
        }
        let mut out = String::with_capacity(line.len() * 2);
        let mut rest = line;
        while !rest.is_empty() {
            if rest.starts_with("//") {
                out.push_str(&format!("\x1b[2m{rest}\x1b[0m"));
                break;
            }
            if rest.starts_with('"') {
                let end = rest[1..].find('"').map_or(rest.len(), |i| i + 2);
                out.push_str(&format!("\x1b[32m{}\x1b[0m", &rest[..end]));
                rest = &rest[end..];
                continue;
            }
            let word_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if word_len > 0 {
                let word = &rest[..word_len];
                if crate::syntax::keywords::all().any(|k| k == word) {
                    out.push_str(&format!("\x1b[1m{word}\x1b[0m"));
                } else {
                    out.push_str(word);
                }
                rest = &rest[word_len..];
            } else {
                let c = rest.chars().next().unwrap();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        Cow::Owned(out)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _: &str, _: usize, _: CmdKind) -> bool {
        self.color
    }
}

impl Validator for KenvHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if incomplete(ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Helper for KenvHelper {}

/// `$XDG_DATA_HOME/kenv/history`, else `~/.local/share/kenv/history`.
pub fn history_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("kenv").join("history"))
}

fn show(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Output(text) => Terminal.out(&text),
        Outcome::Error(text) => Terminal.err(&text),
        Outcome::Quit => return false,
    }
    true
}

/// Runs the REPL on this process's terminal (or its piped input) until :quit or end of input;
/// `file` is loaded first. Fails only when the line editor cannot start.
pub fn run(session: Session, file: Option<PathBuf>, style: Style) -> Result<(), ReadlineError> {
    let session = Rc::new(RefCell::new(session));
    if let Some(path) = file {
        show(session.borrow_mut().load(path));
    }
    if !std::io::stdin().is_terminal() {
        piped(&session);
        return Ok(());
    }
    let config = Config::builder().history_ignore_space(true).auto_add_history(true).max_history_size(10_000);
    let config = config.map(|c| c.build()).unwrap_or_default();
    let mut editor: Editor<KenvHelper, rustyline::history::DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(KenvHelper { session: session.clone(), color: style.color }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    Terminal.err("kenv repl: :help for commands, Ctrl-D to leave\n");
    loop {
        match editor.readline(PROMPT) {
            Ok(input) => {
                let outcome = session.borrow_mut().input(&input);
                if !show(outcome) {
                    break;
                }
            }
            // Ctrl-C abandons the line being typed.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                Terminal.err(&format!("kenv: {e}\n"));
                break;
            }
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// Without a terminal: each complete input (lines gathered while unfinished) runs in turn.
fn piped(session: &Rc<RefCell<Session>>) {
    let mut buffer = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        buffer.push_str(&line);
        buffer.push('\n');
        if incomplete(&buffer) && !buffer.trim_start().starts_with(':') {
            continue;
        }
        let outcome = session.borrow_mut().input(&buffer);
        buffer.clear();
        if !show(outcome) {
            return;
        }
    }
    if !buffer.trim().is_empty() {
        show(session.borrow_mut().input(&buffer));
    }
}
