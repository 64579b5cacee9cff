//! `kenv lock FILE`: evaluates the file with its remote imports fetched anew (inline `sha256`
//! pins still checked), and writes each one's pin to kenv.lock beside it, with the kenv versions
//! the program needs (the requirement there, or this version or newer).

use std::path::Path;

use super::{err, report, FAILED, OK};
use crate::diag::{Diag, ErrorKind, Style};
use crate::eval::{self, Failure, Interp, Mode};
use crate::remote::{Lock, LOCK_FILE};

pub fn run(file: &Path, style: Style) -> i32 {
    let mut interp = Interp::new(Mode::Check);
    interp.lock_imports();
    let program = match eval::load_with(file, interp) {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return report(&diags, &sources, style).max(FAILED),
    };
    let dir = file.parent().unwrap_or(Path::new(""));
    let old = Lock::read(dir).unwrap_or_else(|reason| {
        err(&format!("kenv: {reason}; writing a new one\n"));
        Lock::default()
    });
    let new = Lock {
        version: 1,
        kenv: Some(old.requirement_for_this_kenv()),
        imports: program.interp.fetched_imports(),
        ..old.clone()
    };
    for (key, pin) in &new.imports {
        let what = match old.imports.get(key) {
            None => "pinned",
            Some(p) if p.sha256 != pin.sha256 => "re-pinned",
            Some(_) => "unchanged",
        };
        err(&format!("{what}: {key} sha256 {}\n", pin.sha256));
    }
    for key in old.imports.keys().filter(|k| !new.imports.contains_key(*k)) {
        err(&format!("dropped: {key} (no longer imported)\n"));
    }
    if let Err(e) = new.write(dir) {
        let path = dir.join(LOCK_FILE).display().to_string();
        let diag = Diag::bare(ErrorKind::Io { path, reason: crate::diag::io_text(&e) });
        return report(&[diag], &program.interp.sources, style).max(FAILED);
    }
    let needs = new.kenv.as_deref().unwrap_or_default();
    err(&format!("{}: kenv {needs}; {} remote import(s) pinned\n", dir.join(LOCK_FILE).display(), new.imports.len()));
    OK
}
