//! What a run knows of the modules it has imported: each one's value, the ones being imported (a
//! cycle), their grants, and the lock file's pins. The imports themselves are `module.rs`.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Grants, Value};
use crate::remote::{Lock, Pin, Remote};
use crate::source::{SourceId, Span};

#[derive(Default)]
pub struct Modules {
    pub(super) cache: HashMap<String, Value>,
    /// Modules being evaluated, outermost first: an import of one of these is a cycle.
    pub(super) loading: Vec<String>,
    /// Where each remote module came from, for the relative imports it makes.
    pub(super) remote_sources: HashMap<SourceId, Remote>,
    /// Each imported module's grants and the import that gave them (the program's own file,
    /// REPL input and the stdlib have all).
    pub(super) grants: HashMap<SourceId, (Grants, Span)>,
    /// `kenv.lock` beside the program, read on the first remote import.
    pub(super) lock: Option<Lock>,
    /// `kenv lock`: remote imports are fetched and pinned anew rather than checked.
    pub(super) locking: bool,
    /// The remote modules this run imported, with their pins: what `kenv lock` writes.
    pub(super) fetched: BTreeMap<String, Pin>,
}
