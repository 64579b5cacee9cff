//! The files the language server reads: the editor's buffers first, then the disk, or the
//! embedded stdlib.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The editor's open buffers by path, and what the last check of each learned of its top-level
/// values' kinds (`name` and `module.name` → `string`, `function`, …).
#[derive(Default)]
pub struct Files {
    pub buffers: std::rc::Rc<HashMap<PathBuf, String>>,
    pub kinds: HashMap<PathBuf, HashMap<String, &'static str>>,
}

/// A module an import names: its file (none for the stdlib) and text.
pub struct Module {
    pub path: Option<PathBuf>,
    pub text: String,
}

impl Files {
    /// A file's text: its buffer when it is open, else the disk.
    fn text(&self, path: &Path) -> Option<String> {
        let path = crate::eval::lexical(path);
        self.buffers.get(&path).cloned().or_else(|| crate::eval::read_source(&path).ok())
    }

    /// The module `import` (as written) names, imported from the file at `from`. Remote modules
    /// are not looked into.
    pub fn module(&self, from: &Path, import: &str) -> Option<Module> {
        if import.starts_with("std/") {
            let (_, text) = crate::eval::stdlib_sources().find(|(n, _)| *n == import)?;
            return Some(Module { path: None, text: text.to_string() });
        }
        if import.contains("://") || import.starts_with("git+") {
            return None;
        }
        let path = crate::eval::lexical(&from.parent()?.join(import));
        Some(Module { text: self.text(&path)?, path: Some(path) })
    }
}
