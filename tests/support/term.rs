//! The real kenv in a pseudo-terminal, its screen kept by a terminal emulator.

use std::io::Read;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The real binary in a pseudo-terminal (120 x 50), its screen kept by a terminal emulator, so a
/// test reads what a person would see.
pub struct Term {
    screen: Arc<Mutex<vt100::Parser>>,
    keyboard: Box<dyn std::io::Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Term {
    pub fn start(home: &std::path::Path) -> Term {
        Term::start_with(home, &[])
    }

    pub fn start_with(home: &std::path::Path, vars: &[(&str, &str)]) -> Term {
        let t = Term::spawn(home, &["repl", "--color", "never"], vars);
        t.wait_for("kenv>");
        t
    }

    /// kenv with these arguments, in the pseudo-terminal, in `home`.
    pub fn spawn(home: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Term {
        let pty = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize { rows: 50, cols: 120, pixel_width: 0, pixel_height: 0 })
            .expect("a pseudo-terminal opens");
        let mut command = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_kenv"));
        command.args(args);
        command.cwd(home);
        command.env("HOME", home);
        command.env("XDG_DATA_HOME", home.join("data"));
        command.env("NO_COLOR", "1");
        command.env("TERM", "xterm");
        for (key, value) in vars {
            command.env(key, value);
        }
        let child = pty.slave.spawn_command(command).expect("the REPL starts in the pseudo-terminal");
        drop(pty.slave);
        let screen =
            Arc::new(Mutex::new(vt100::Parser::new(NonZeroU16::new(50).unwrap(), NonZeroU16::new(120).unwrap(), 0)));
        let mut output = pty.master.try_clone_reader().unwrap();
        let feed = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = output.read(&mut buf) {
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        let keyboard = pty.master.take_writer().unwrap();
        Term { screen, keyboard, child, _master: pty.master }
    }

    /// Types each key: text as it is, or `Enter`, `Tab`, `Up`, `C-c`.
    pub fn keys(&mut self, keys: &[&str]) {
        for key in keys {
            let bytes: &[u8] = match *key {
                "Enter" => b"\r",
                "Tab" => b"\t",
                "Up" => b"\x1b[A",
                "C-c" => b"\x03",
                text => text.as_bytes(),
            };
            self.keyboard.write_all(bytes).unwrap();
            self.keyboard.flush().unwrap();
            // A key at a time, as typed: the line editor reads an escape sequence whole.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    pub fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "never saw {text:?} on:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn gone(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
