//! The document outline: top-level names, declarations and tests, read from the buffer's syntax
//! (no evaluation, so it works on a buffer that does not evaluate).

use lsp_types::{DocumentSymbol, SymbolKind};

use super::position;
use crate::source::SourceMap;
use crate::syntax::ast::{DeclKind, ExprKind, StmtKind};

/// The outline: top-level names, declarations and tests, each with its whole statement's range.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out
pub fn symbols(text: &str) -> Vec<DocumentSymbol> {
    top_level(text)
        .into_iter()
        .map(|(name, kind, (start, end, name_start, name_end))| DocumentSymbol {
            name,
            detail: None,
            kind,
            tags: None,
            deprecated: None,
            range: position::range(text, start, end),
            selection_range: position::range(text, name_start, name_end),
            children: None,
        })
        .collect()
}

type Spans = (usize, usize, usize, usize);

/// Top-level `let`s and `fn`s, declarations written as statements, and tests: name, kind, and
/// (statement start, end, name start, end). Nothing when the text does not parse.
fn top_level(text: &str) -> Vec<(String, SymbolKind, Spans)> {
    let sources = SourceMap::default();
    let Ok(stmts) = crate::syntax::parse(sources.add("<buffer>", None, text), text) else { return Vec::new() };
    let decl_kind = |k: DeclKind| match k {
        DeclKind::Environment => SymbolKind::OBJECT,
        DeclKind::Role => SymbolKind::INTERFACE,
        DeclKind::Policy => SymbolKind::EVENT,
        DeclKind::Sessions => SymbolKind::NAMESPACE,
    };
    let at = |s: crate::source::Span, n: crate::source::Span| {
        (s.start as usize, s.end as usize, n.start as usize, n.end as usize)
    };
    stmts
        .iter()
        .filter_map(|stmt| match &stmt.node {
            StmtKind::Let(name, value) => {
                let kind = match &value.node {
                    ExprKind::Decl(k, ..) => decl_kind(*k),
                    ExprKind::Lambda(_) => SymbolKind::FUNCTION,
                    _ => SymbolKind::VARIABLE,
                };
                Some((name.node.to_string(), kind, at(stmt.span, name.span)))
            }
            StmtKind::Fn(name, _) => Some((name.node.to_string(), SymbolKind::FUNCTION, at(stmt.span, name.span))),
            StmtKind::Test(name, _) => {
                Some((format!("test {:?}", name.node), SymbolKind::METHOD, at(stmt.span, name.span)))
            }
            StmtKind::Expr(e) => match &e.node {
                ExprKind::Decl(k, name, _) => match &name.node {
                    ExprKind::Str(n) => Some((format!("{} {n}", k.keyword()), decl_kind(*k), at(stmt.span, name.span))),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_outline_the_file() {
        let text = "let team = [\"a\"]\nfn box(n) = n\nenvironment \"dev\" {\n  kind = ec2\n}\ntest \"t\" {\n}\n";
        let names: Vec<String> = symbols(text).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["team", "box", "environment dev", "test \"t\""]);
    }
}
