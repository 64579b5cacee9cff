//! Imports: relative paths and the embedded `std/…` modules. A module is evaluated once per run;
//! its value is a record of its top-level names (those not starting with `_`), and the
//! declarations at its top join the desired state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::exec::Sink;
use super::interp::Interp;
use super::scope::Scope;
use super::value::{Record, Value};
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::source::{Span, Spanned};
use crate::syntax::ast::Import;

/// The standard library, written in kenv and compiled into the binary.
pub const STDLIB: &[(&str, &str)] = &[
    ("std/baseline", include_str!("../../stdlib/baseline.kenv")),
    ("std/c1ws", include_str!("../../stdlib/c1ws.kenv")),
    ("std/imds", include_str!("../../stdlib/imds.kenv")),
    ("std/list", include_str!("../../stdlib/list.kenv")),
    ("std/net", include_str!("../../stdlib/net.kenv")),
    ("std/table", include_str!("../../stdlib/table.kenv")),
    ("std/vscode", include_str!("../../stdlib/vscode.kenv")),
];

#[derive(Default)]
pub struct Modules {
    cache: HashMap<String, Value>,
    /// Modules being evaluated, outermost first: an import of one of these is a cycle.
    loading: Vec<String>,
}

/// Where an import's text comes from.
struct Resolved {
    key: String,
    name: String,
    path: Option<PathBuf>,
}

impl Interp {
    pub(super) fn import(&mut self, import: &Import, scope: &Scope) -> Result<()> {
        let alias = &import.alias;
        if scope.defines(&alias.node) {
            return Diag::new(ErrorKind::Duplicate { what: "name".into(), name: alias.node.to_string() }, alias.span)
                .help(format!("import it under another name: `import \"{}\" as other`", import.path.node))
                .err();
        }
        let module = self.load_module(&import.path)?;
        scope.define(alias.node.clone(), module);
        Ok(())
    }

    fn load_module(&mut self, path: &Spanned<String>) -> Result<Value> {
        let resolved = self.resolve(path)?;
        if let Some(v) = self.modules.cache.get(&resolved.key) {
            return Ok(v.clone());
        }
        if let Some(at) = self.modules.loading.iter().position(|k| *k == resolved.key) {
            let mut chain: Vec<String> = self.modules.loading[at..].iter().map(|k| display_key(k)).collect();
            chain.push(display_key(&resolved.key));
            return Diag::new(ErrorKind::ImportCycle(chain.join(" → ")), path.span)
                .help("move what both files need into a third module that imports neither")
                .err();
        }
        let text = match &resolved.path {
            None => STDLIB.iter().find(|(n, _)| *n == resolved.key).map(|(_, t)| t.to_string()).unwrap_or_default(),
            Some(p) => super::read_source(p).map_err(|d| {
                let reason = match d.kind {
                    ErrorKind::Io { reason, .. } => reason,
                    other => other.to_string(),
                };
                Diag::new(ErrorKind::Import { path: path.node.clone(), reason }, path.span).boxed()
            })?,
        };
        let src = self.sources.add(resolved.name, resolved.path.as_deref(), text.as_str());
        let scope = Scope::default();
        self.modules.loading.push(resolved.key.clone());
        let result = self.run_module(src, &scope);
        self.modules.loading.pop();
        result?;
        let exports: Record = scope.bindings().into_iter().filter(|(n, _)| !n.starts_with('_')).collect();
        let module = Value::Record(Rc::new(exports));
        self.modules.cache.insert(resolved.key, module.clone());
        Ok(module)
    }

    fn run_module(&mut self, src: crate::source::SourceId, scope: &Scope) -> Result<()> {
        let stmts = match self.parse(src) {
            Ok(stmts) => stmts,
            Err(mut diags) => {
                let first = diags.remove(0);
                self.errors.extend(diags);
                return Err(Box::new(first));
            }
        };
        self.exec(&stmts, scope, &mut Sink::Top)
    }

    fn resolve(&self, path: &Spanned<String>) -> Result<Resolved> {
        let p = path.node.as_str();
        let fail = |reason: String, help: Option<String>| {
            Diag::new(ErrorKind::Import { path: p.into(), reason }, path.span).help_opt(help).err()
        };
        if p.starts_with("std/") {
            if STDLIB.iter().any(|(n, _)| *n == p) {
                return Ok(Resolved { key: p.into(), name: p.into(), path: None });
            }
            let help = suggest(p, STDLIB.iter().map(|(n, _)| *n))
                .unwrap_or_else(|| format!("the standard modules are: {}", std_names()));
            return fail("there is no such standard module".into(), Some(help));
        }
        if p.contains("://") || p.starts_with("git+") {
            return fail(
                "remote imports (git and https) are not supported by this version of kenv".into(),
                Some("copy the template next to your file and import it by relative path".into()),
            );
        }
        let base = self.importer_dir(path.span);
        let full = base.join(p);
        if !full.is_file() {
            let reason = if full.exists() {
                "it is not a file".to_string()
            } else {
                format!("no file at {}", display_path(&full))
            };
            let help = (!p.ends_with(".kenv")).then(|| format!("did you mean `{p}.kenv`?"));
            return fail(reason, help);
        }
        let key = full.canonicalize().unwrap_or(full.clone()).display().to_string();
        Ok(Resolved { key, name: display_path(&full), path: Some(full) })
    }

    /// Relative imports resolve against the importing file's directory (or the working
    /// directory, for text that has no file).
    fn importer_dir(&self, span: Span) -> PathBuf {
        let src = self.sources.get(span.src);
        src.path.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
    }
}

pub fn std_names() -> String {
    STDLIB.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Shows `./a/../b.kenv` as `b.kenv`: normalised but still relative when it was.
fn display_path(p: &Path) -> String {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some_and(|f| f != "..") => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.display().to_string()
}

fn display_key(key: &str) -> String {
    match std::env::current_dir() {
        Ok(cwd) => Path::new(key).strip_prefix(&cwd).map_or(key.to_string(), |p| p.display().to_string()),
        Err(_) => key.to_string(),
    }
}
