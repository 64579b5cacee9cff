//! Imports: relative paths, the embedded `std/…` modules, and remote modules (git, https)
//! pinned by sha256 in the import or in `kenv.lock`. A module is evaluated once per run; its
//! value is a record of its top-level names (those not starting with `_`), and the declarations
//! at its top join the desired state. Imported code has only the effects its import grants.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::interp::Interp;
use super::sink::Sink;
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::model::Scope;
use crate::model::{Grants, Policy};
use crate::model::{Record, Value};
use crate::remote::{self, Lock, Pin, Remote};
use crate::source::{SourceId, Span, Spanned};
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

/// Where an import's text comes from.
enum Origin {
    Std,
    File(PathBuf),
    Remote(Remote),
}

struct Resolved {
    key: String,
    name: String,
    origin: Origin,
}

impl Interp {
    pub(super) fn import(&mut self, import: &Import, scope: &mut Scope) -> Result<()> {
        let alias = &import.alias;
        if scope.block_defines(&alias.node) {
            return Diag::new(ErrorKind::Duplicate { what: "name".into(), name: alias.node.to_string() }, alias.span)
                .help(format!("import it under another name: `import \"{}\" as other`", import.path.node))
                .err();
        }
        let mut grants = Grants::NONE;
        for word in &import.grants {
            if !grants.add(&word.node) {
                let help = suggest(&word.node, Grants::WORDS.iter().copied())
                    .unwrap_or_else(|| format!("an import may grant: {}", Grants::WORDS.join(", ")));
                let kind = ErrorKind::Invalid { what: "grant".into(), detail: format!("`{}` is no effect", word.node) };
                return Diag::new(kind, word.span).help(help).err();
            }
        }
        let module = self.load_module(import, grants)?;
        scope.bind(alias.node.clone(), module);
        Ok(())
    }

    fn load_module(&mut self, import: &Import, grants: Grants) -> Result<Value> {
        let path = &import.path;
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
        let text = match &resolved.origin {
            Origin::Std => {
                STDLIB.iter().find(|(n, _)| *n == resolved.key).map(|(_, t)| t.to_string()).unwrap_or_default()
            }
            Origin::File(p) if self.buffers.contains_key(&lexical(p)) => self.buffers[&lexical(p)].clone(),
            Origin::File(p) => super::read_source(p).map_err(|d| {
                let reason = match d.kind {
                    ErrorKind::Io { reason, .. } => reason,
                    other => other.to_string(),
                };
                Diag::new(ErrorKind::Import { path: path.node.clone(), reason }, path.span).boxed()
            })?,
            Origin::Remote(r) => self.remote_text(&resolved.key, r, import)?,
        };
        let file = match &resolved.origin {
            Origin::File(p) => Some(p.as_path()),
            _ => None,
        };
        let src = self.sources.add(resolved.name, file, text);
        match resolved.origin {
            Origin::Std => {}
            Origin::Remote(r) => {
                self.modules.remote_sources.insert(src, r);
                self.modules.grants.insert(src, (grants, import.path.span));
            }
            Origin::File(_) => {
                self.modules.grants.insert(src, (grants, import.path.span));
            }
        }
        let mut scope = Scope::default();
        self.modules.loading.push(resolved.key.clone());
        // The module's top level runs with what its importer may do, met with its grants.
        let outer = self.grants;
        self.grants = outer.meet(self.grants_of(src));
        let result = self.run_module(src, &mut scope);
        self.grants = outer;
        self.modules.loading.pop();
        result.map_err(|e| imported_from(e, &path.node, path.span))?;
        let exports: Record = scope.bindings().into_iter().filter(|(n, _)| !n.starts_with('_')).collect();
        let module = Value::Record(exports);
        self.modules.cache.insert(resolved.key, module.clone());
        Ok(module)
    }

    /// The policies `--policy SPEC` (or kenv.lock's `enforce`, `from`) enforces: those the
    /// module turns on at its top (`policy baseline.all`), or, when it turns on none (a library
    /// such as `std/baseline`), every policy it exports. SPEC is imported as a file would import
    /// it, without grants, relative to the current directory; its diagnostics point into SPEC's
    /// text, named `from`.
    pub fn enforced_policies(&mut self, spec: &str, from: &str) -> Result<Vec<Rc<Policy>>> {
        let src = self.sources.add(from, None, spec);
        let span = Span { src, start: 0, end: spec.len() as u32 };
        let import = Import {
            path: Spanned::new(spec.to_string(), span),
            sha256: None,
            alias: Spanned::new(Rc::from("policy"), span),
            grants: Vec::new(),
        };
        let outer = std::mem::take(&mut self.state);
        let loaded = self.load_module(&import, Grants::NONE);
        let declared = std::mem::replace(&mut self.state, outer);
        let mut found = declared.policies;
        if let Value::Record(exports) = loaded? {
            if found.is_empty() {
                for p in exports.values().filter_map(crate::model::policies_of).flatten() {
                    if !found.iter().any(|q| q.name == p.name) {
                        found.push(p);
                    }
                }
            }
        }
        if !declared.environments.is_empty() || !declared.roles.is_empty() {
            let detail = "it declares environments or roles; a policy module only declares policies".to_string();
            return Diag::new(ErrorKind::Invalid { what: from.into(), detail }, span).err();
        }
        if found.is_empty() {
            let detail = "it turns on and exports no policy".to_string();
            return Diag::new(ErrorKind::Invalid { what: from.into(), detail }, span)
                .help("name a module of policies, e.g. `--policy std/baseline`")
                .err();
        }
        Ok(found)
    }

    fn run_module(&mut self, src: crate::source::SourceId, scope: &mut Scope) -> Result<()> {
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

    /// `kenv lock`: fetch remote imports anew and pin what comes, rather than check old pins.
    pub fn lock_imports(&mut self) {
        self.modules.locking = true;
    }

    /// The remote modules imported so far, with their pins.
    pub fn fetched_imports(&self) -> BTreeMap<String, Pin> {
        self.modules.fetched.clone()
    }

    /// What code whose source is `src` may do, by its own module's grants.
    pub(super) fn grants_of(&self, src: SourceId) -> Grants {
        self.modules.grants.get(&src).map_or(Grants::ALL, |(g, _)| *g)
    }

    fn resolve(&self, path: &Spanned<String>) -> Result<Resolved> {
        let p = path.node.as_str();
        let fail = |reason: String, help: Option<String>| {
            Diag::new(ErrorKind::Import { path: p.into(), reason }, path.span).help_opt(help).err()
        };
        if p.starts_with("std/") {
            if STDLIB.iter().any(|(n, _)| *n == p) {
                return Ok(Resolved { key: p.into(), name: p.into(), origin: Origin::Std });
            }
            let help = suggest(p, STDLIB.iter().map(|(n, _)| *n))
                .unwrap_or_else(|| format!("the standard modules are: {}", std_names()));
            return fail("there is no such standard module".into(), Some(help));
        }
        if let Some(remote) = Remote::parse(p) {
            let remote = match remote {
                Ok(r) => r,
                Err(reason) => return fail(reason, None),
            };
            return Ok(Resolved { key: p.into(), name: p.into(), origin: Origin::Remote(remote) });
        }
        if p.contains("://") {
            let help = "import `https://…` or `git+URL//PATH?ref=TAG`, or a relative path".to_string();
            return fail("kenv imports from https and git only".into(), Some(help));
        }
        // A remote module's relative imports come from the same repository and ref (or site).
        if let Some(parent) = self.modules.remote_sources.get(&path.span.src) {
            if p.starts_with('/') {
                return fail("a remote module may import only relative paths".into(), None);
            }
            let spec = parent.join(p);
            return match Remote::parse(&spec) {
                Some(Ok(remote)) => Ok(Resolved { key: spec.clone(), name: spec, origin: Origin::Remote(remote) }),
                _ => fail(format!("it resolves to `{spec}`, which is no remote module"), None),
            };
        }
        let base = self.importer_dir(path.span);
        let full = base.join(p);
        if !full.is_file() && !self.buffers.contains_key(&lexical(&full)) {
            let reason = if full.exists() {
                "it is not a file".to_string()
            } else {
                format!("no file at {}", display_path(&full))
            };
            let help = (!p.ends_with(".kenv")).then(|| format!("did you mean `{p}.kenv`?"));
            return fail(reason, help);
        }
        let key = full.canonicalize().unwrap_or(full.clone()).display().to_string();
        Ok(Resolved { key, name: display_path(&full), origin: Origin::File(full) })
    }

    /// A remote module's text: from the cache when its pin is there, else fetched and checked
    /// against its pin (the import's `sha256`, else `kenv.lock`'s). Under `kenv lock`, a module
    /// without an inline pin is fetched anew and pinned by what came.
    fn remote_text(&mut self, key: &str, remote: &Remote, import: &Import) -> Result<String> {
        let at = &import.path;
        let fail = |reason: String, help: String| {
            Diag::new(ErrorKind::Import { path: at.node.clone(), reason }, at.span).help(help).err()
        };
        let inline = import.sha256.as_ref().map(|s| s.node.to_ascii_lowercase());
        let locked = if self.modules.locking { None } else { self.lock()?.imports.get(key).map(|p| p.sha256.clone()) };
        let pin = inline.clone().or(locked);
        let cached = pin.as_deref().and_then(remote::cached);
        let (text, commit) = match cached {
            Some(text) => (text, self.modules.lock.as_ref().and_then(|l| l.imports.get(key)?.commit.clone())),
            None => match remote.fetch() {
                Ok(fetched) => fetched,
                Err(reason) if remote::offline() => {
                    return fail(format!("it is not in the cache, and {reason}"), "run once without --offline".into())
                }
                Err(reason) => return fail(reason, "check the URL and ref; nothing from it was evaluated".into()),
            },
        };
        let actual = remote::sha256(&text);
        match &pin {
            Some(pin) if *pin != actual => {
                let (whose, help) = if inline.is_some() {
                    ("the import's", "if the new content is trusted, put its sha256 in the import".to_string())
                } else {
                    ("kenv.lock's", "if the new content is trusted, run `kenv lock FILE` to pin it anew".to_string())
                };
                let reason = format!("its content does not match {whose} pin: expected sha256 {pin}, got {actual}");
                return fail(reason, format!("nothing from it was evaluated; {help}"));
            }
            None if !self.modules.locking => {
                let reason = format!("it is not pinned (its content has sha256 {actual})");
                return fail(
                    reason,
                    "run `kenv lock FILE` to pin it in kenv.lock, or add `sha256 \"…\"` to the import".into(),
                );
            }
            _ => {}
        }
        remote::store(&text);
        self.modules.fetched.insert(key.to_string(), Pin { sha256: actual, commit });
        Ok(text)
    }

    /// `kenv.lock` from the program's directory (the working directory for text without a file).
    fn lock(&mut self) -> Result<&Lock> {
        if self.modules.lock.is_none() {
            let dir = self.sources.get(SourceId(0)).path.as_deref().and_then(Path::parent).map(Path::to_path_buf);
            let lock = Lock::read(&dir.unwrap_or_default())
                .map_err(|reason| Diag::bare(ErrorKind::Io { path: remote::LOCK_FILE.into(), reason }).boxed())?;
            self.modules.lock = Some(lock);
        }
        Ok(self.modules.lock.as_ref().expect("read above"))
    }

    /// Relative imports resolve against the importing file's directory (or the working
    /// directory, for text that has no file).
    fn importer_dir(&self, span: Span) -> PathBuf {
        let src = self.sources.get(span.src);
        src.path.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
    }
}

/// An error inside an imported module, with the import it came through (the chain of imports
/// builds up as it passes each one).
fn imported_from(mut e: Box<Diag>, path: &str, at: Span) -> Box<Diag> {
    if e.span != Some(at) {
        e.trace.push(crate::diag::Frame { name: path.to_string(), call: at, import: true });
    }
    e
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

/// A path with its `.` and `..` components worked out from the text alone (no symbolic link is
/// followed), so that an import names an editor's buffer however it spells the path.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}
