//! Evaluation: typed AST → values and the desired state. `load` is the one entry point that runs
//! the front half of the pipeline (read, parse, evaluate, validate) for the CLI and the REPL.

mod call;
mod errors;
mod exec;
mod interp;
mod module;
mod module_cache;
mod ops;
mod sink;
mod test;
mod test_cases;

use std::path::Path;

pub use crate::model::Mode;
pub use errors::an;
pub use interp::Interp;
pub use module::lexical;
pub use test_cases::{TestCase, Tests};

use crate::diag::{Diag, ErrorKind};
use crate::model::{DesiredState, Scope};
use crate::source::{SourceId, SourceMap};

/// The embedded stdlib modules: (`std/…`, source text).
pub fn stdlib_sources() -> impl Iterator<Item = (&'static str, &'static str)> {
    module::STDLIB.iter().copied()
}

/// A program evaluated: its desired state and its top-level scope (for `eval -e` and the REPL).
pub struct Program {
    pub interp: Interp,
    pub scope: Scope,
    pub state: DesiredState,
}

/// Diagnostics from a failed load, with the sources they point into.
pub struct Failure {
    pub diags: Vec<Diag>,
    pub sources: SourceMap,
}

/// Reads, parses and evaluates a file, then validates the declarations it made.
pub fn load(path: &Path, mode: Mode) -> Result<Program, Failure> {
    load_with(path, Interp::new(mode))
}

/// `load` with an interpreter set up by the caller (AWS options, `--yes`).
pub fn load_with(path: &Path, interp: Interp) -> Result<Program, Failure> {
    match read_source(path) {
        Ok(text) => load_buffer(path, text, interp),
        Err(d) => Err(Failure { diags: vec![*d], sources: interp.sources }),
    }
}

/// `load_with` for text that stands for the file at `path` (an editor's unsaved buffer): its
/// relative imports and `kenv.lock` are found beside `path`.
pub fn load_buffer(path: &Path, text: impl Into<String>, mut interp: Interp) -> Result<Program, Failure> {
    let src = interp.sources.add(path.display().to_string(), Some(path), text);
    if let Some(tests) = interp.tests.as_mut() {
        tests.file = Some(src);
    }
    match admitted_by_lock(path, &interp.sources) {
        Ok(()) => evaluate(interp, src),
        Err(d) => Err(Failure { diags: vec![*d], sources: interp.sources }),
    }
}

/// A program whose kenv.lock names kenv versions this one is not is refused before it runs, at
/// the lock's requirement. (A lock that does not parse is reported where an import needs it.)
fn admitted_by_lock(path: &Path, sources: &SourceMap) -> Result<(), Box<Diag>> {
    let lock_path = path.parent().unwrap_or(Path::new("")).join(crate::remote::LOCK_FILE);
    let Ok(text) = std::fs::read_to_string(&lock_path) else { return Ok(()) };
    let Ok(lock) = serde_json::from_str::<crate::remote::Lock>(&text) else { return Ok(()) };
    let Err((detail, help)) = lock.admits_this_kenv() else { return Ok(()) };
    let needs = format!("\"{}\"", lock.kenv.unwrap_or_default());
    let start = text.find("\"kenv\"").and_then(|k| text[k..].find(&needs).map(|i| k + i)).unwrap_or(0);
    let src = sources.add(lock_path.display().to_string(), Some(&lock_path), text);
    Diag::new(
        ErrorKind::Invalid { what: "kenv.lock".into(), detail },
        crate::source::Span::new(src, start, start + needs.len()),
    )
    .label("the kenv versions this program needs")
    .help(help)
    .err()
}

/// Evaluates text that has no file (`kenv eval -e`), then validates like `load`.
pub fn load_text(name: &str, text: &str, mode: Mode) -> Result<Program, Failure> {
    let interp = Interp::new(mode);
    let src = interp.sources.add(name, None, text);
    evaluate(interp, src)
}

fn evaluate(mut interp: Interp, src: SourceId) -> Result<Program, Failure> {
    let mut scope = Scope::default();
    if let Err(diags) = interp.run_source(src, &mut scope) {
        return Err(Failure { diags, sources: interp.sources });
    }
    let state = std::mem::take(&mut interp.state);
    state.validate(&mut interp.errors);
    if interp.errors.is_empty() {
        Ok(Program { interp, scope, state })
    } else {
        Err(Failure { diags: std::mem::take(&mut interp.errors), sources: interp.sources })
    }
}

pub fn read_source(path: &Path) -> Result<String, Box<Diag>> {
    let io = |reason: String| Diag::bare(ErrorKind::Io { path: path.display().to_string(), reason }).boxed();
    let meta = std::fs::metadata(path).map_err(|e| io(crate::diag::io_text(&e)))?;
    if meta.is_dir() {
        return Err(io("it is a directory".into()));
    }
    if meta.len() > crate::syntax::MAX_SOURCE as u64 {
        return Err(Diag::bare(ErrorKind::TooLarge(crate::syntax::MAX_SOURCE >> 20)).boxed());
    }
    let bytes = std::fs::read(path).map_err(|e| io(crate::diag::io_text(&e)))?;
    String::from_utf8(bytes)
        .map_err(|e| io(format!("it is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())))
}
