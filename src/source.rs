//! Source files and spans. A span is a byte range plus a source id; line and column are computed
//! only when a diagnostic is rendered (miette does that from the `NamedSource`).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The largest source accepted, in bytes (a file, an import, a fetched script).
pub const MAX_SOURCE: usize = 32 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SourceId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub src: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(src: SourceId, start: usize, end: usize) -> Span {
        Span { src, start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both (same source assumed).
    pub fn to(self, other: Span) -> Span {
        Span { src: self.src, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }
}

/// A value with the span of the text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

pub struct Source {
    /// The name shown in diagnostics: the path as the user gave it, or `std/c1ws`, `<repl>`, ...
    pub name: String,
    /// The file's path on disk, for resolving relative imports; None for embedded or typed text.
    pub path: Option<PathBuf>,
    /// Owned here (a `Source` is shared whole): a file read is moved in, not copied.
    pub text: String,
}

/// Every source text of one run. Cheap to clone (shared), append-only.
#[derive(Clone, Default)]
pub struct SourceMap {
    sources: Rc<RefCell<Vec<Rc<Source>>>>,
}

impl SourceMap {
    pub fn add(&self, name: impl Into<String>, path: Option<&Path>, text: impl Into<String>) -> SourceId {
        let mut sources = self.sources.borrow_mut();
        sources.push(Rc::new(Source { name: name.into(), path: path.map(Path::to_path_buf), text: text.into() }));
        SourceId(sources.len() as u32 - 1)
    }

    pub fn get(&self, id: SourceId) -> Rc<Source> {
        self.sources.borrow()[id.0 as usize].clone()
    }

    /// The files read from disk whose content is no longer what was read (changed or gone).
    pub fn changed_files(&self) -> Vec<String> {
        let changed = |s: &&Rc<Source>| {
            s.path.as_ref().is_some_and(|p| std::fs::read(p).ok().as_deref() != Some(s.text.as_bytes()))
        };
        self.sources.borrow().iter().filter(changed).map(|s| s.name.clone()).collect()
    }

    /// The files read from disk, in the order they were read.
    pub fn files(&self) -> Vec<PathBuf> {
        self.sources.borrow().iter().filter_map(|s| s.path.clone()).collect()
    }

    /// The text a span covers.
    pub fn snippet(&self, span: Span) -> String {
        let src = self.get(span.src);
        src.text.get(span.start as usize..span.end as usize).unwrap_or("").to_string()
    }

    /// 1-based line and column of a span's start, for JSON and SARIF output.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let src = self.get(span.src);
        let before = &src.text[..(span.start as usize).min(src.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}
