//! What a run is held to whatever its file says: the policy modules of `--policy` / KENV_POLICY
//! and of the `enforce` list in the kenv.lock beside the file. `check`, `plan`, `apply` and
//! `destroy` run them alike, so a stack that fails them is refused before anything is read from
//! AWS, let alone changed.

use std::path::Path;

use super::PolicyArgs;
use crate::diag::{Diag, ErrorKind, Result};
use crate::eval::Interp;
use crate::model::Enforcement;
use crate::remote::{Lock, LOCK_FILE};

/// The enforcement for the program at `file`: the flag's modules, then the lock's (a relative
/// one is found beside the lock), each policy once.
pub fn rules(interp: &mut Interp, file: &Path, flags: &PolicyArgs) -> Result<Enforcement> {
    let mut rules = Enforcement { no_suppress: flags.no_suppress, ..Enforcement::default() };
    let lock = lock_beside(file)?;
    let dir = file.parent().unwrap_or(Path::new(""));
    let from_lock = lock.enforce.iter().map(|spec| {
        let relative = spec.starts_with("./") || spec.starts_with("../");
        let spec = if relative { dir.join(spec).display().to_string() } else { spec.clone() };
        (spec, format!("{LOCK_FILE} enforce"))
    });
    let from_flags = flags.policy.iter().map(|spec| (spec.clone(), "--policy".to_string()));
    for (spec, from) in from_flags.chain(from_lock) {
        for p in interp.enforced_policies(&spec, &from)? {
            if !rules.policies.iter().any(|q| q.name == p.name) {
                rules.policies.push(p);
            }
        }
    }
    Ok(rules)
}

/// The kenv.lock beside `file` (none there: an empty one).
pub fn lock_beside(file: &Path) -> Result<Lock> {
    let dir = file.parent().unwrap_or(Path::new(""));
    Lock::read(dir).map_err(|reason| Diag::bare(ErrorKind::Io { path: LOCK_FILE.into(), reason }).boxed())
}
