//! Completion and document symbols, read from the buffer's text and syntax (no evaluation, so
//! they work on a buffer that does not evaluate, or does not even parse).

use lsp_types::{CompletionItem, CompletionItemKind, DocumentSymbol, SymbolKind};

use std::path::Path;

use super::navigate::Files;
use super::resolve::{Binding, Index, Kind};
use super::text;
use crate::model::schema;
use crate::source::SourceMap;
use crate::syntax::ast::{DeclKind, ExprKind, StmtKind};

const KEYWORDS: &[&str] = &["environment", "role", "policy", "let", "fn", "import", "for", "if", "assert", "test"];
/// What a declaration's body may hold besides attributes.
const CHILDREN: &[(DeclKind, &[&str])] = &[
    (DeclKind::Environment, &["ingress", "egress", "reach", "install", "suppress"]),
    (DeclKind::Role, &["allow", "suppress"]),
    (DeclKind::Policy, &[]),
];

/// What may be written at a byte offset: std modules inside `import "…`, a module's names after
/// `module.`, a declaration's attributes (and its bare words and child statements) inside its
/// body, and the names in scope there, the keywords and the builtins.
pub fn completion(files: &Files, path: &Path, text: &str, offset: usize) -> Vec<CompletionItem> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..offset];
    if line.trim_start().starts_with("import \"") && line.matches('"').count() == 1 {
        let modules = crate::eval::stdlib_sources().map(|(name, _)| item(name, CompletionItemKind::MODULE, None));
        return modules.collect();
    }
    // The line being typed often does not parse: the rest of the file does without it.
    let index = Index::parse(text).or_else(|| Index::parse(&without_line(text, line_start))).unwrap_or_default();
    let typed = line.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    if let Some(before_dot) = typed.strip_suffix('.') {
        let start = before_dot.char_indices().rev().find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'));
        let alias = &before_dot[start.map_or(0, |(i, c)| i + c.len_utf8())..];
        return members(files, path, &index, alias, offset);
    }
    let in_scope = index.in_scope(offset).into_iter().map(binding_item);
    if let Some(kind) = enclosing_declaration(&text[..offset]) {
        let s = schema(kind);
        let attrs = s.attrs.iter().map(|a| {
            let mut item = item(a, CompletionItemKind::PROPERTY, Some(format!("{} attribute", s.keyword)));
            item.documentation = super::attributes::doc(kind, a).map(|(ty, rule)| {
                lsp_types::Documentation::String(if rule.is_empty() { ty.to_string() } else { format!("{ty}: {rule}") })
            });
            item
        });
        let words = s.words.iter().flat_map(|(attr, words)| {
            words.iter().map(move |w| item(w, CompletionItemKind::ENUM_MEMBER, Some(format!("{attr} = {w}"))))
        });
        let children = CHILDREN.iter().filter(|(k, _)| *k == kind).flat_map(|(_, c)| c.iter());
        let children = children.map(|c| item(c, CompletionItemKind::KEYWORD, None));
        return attrs.chain(words).chain(children).chain(in_scope).collect();
    }
    let keywords = KEYWORDS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, None));
    let builtins = crate::builtins::all().map(|b| item(b.name, CompletionItemKind::FUNCTION, Some(b.signature())));
    in_scope.chain(keywords).chain(builtins).collect()
}

/// The text with the line starting at `line_start` emptied (offsets elsewhere kept).
fn without_line(text: &str, line_start: usize) -> String {
    let end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    format!("{}{}{}", &text[..line_start], " ".repeat(end - line_start), &text[end..])
}

/// What module `alias` (an import in scope at `offset`) exports.
fn members(files: &Files, path: &Path, index: &Index, alias: &str, offset: usize) -> Vec<CompletionItem> {
    let import = index.in_scope(offset).into_iter().find(|b| &*b.name == alias).and_then(|b| match &b.kind {
        Kind::Import(import) => Some(import.clone()),
        _ => None,
    });
    let Some(module) = import.and_then(|i| files.module(path, &i)) else { return Vec::new() };
    let exported = Index::of(&module.text);
    exported.exported().map(binding_item).collect()
}

fn binding_item(b: &Binding) -> CompletionItem {
    match &b.kind {
        Kind::Fn(def) => {
            let params: Vec<&str> = def.params.iter().map(|p| &*p.name.node).collect();
            item(&b.name, CompletionItemKind::FUNCTION, Some(format!("fn {}({})", b.name, params.join(", "))))
        }
        Kind::Import(path) => item(&b.name, CompletionItemKind::MODULE, Some(format!("import \"{path}\""))),
        Kind::Let(_) | Kind::Param | Kind::Loop => item(&b.name, CompletionItemKind::VARIABLE, None),
    }
}

/// The kind of the declaration whose body an offset is in: the innermost unclosed `{` preceded
/// on its line by `environment`, `role` or `policy` (a heuristic: braces inside strings and
/// comments count too).
pub(super) fn enclosing_declaration(before: &str) -> Option<DeclKind> {
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth > 0 => depth -= 1,
            '{' => {
                let head = &before[before[..i].rfind('\n').map_or(0, |n| n + 1)..i];
                let words = head.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
                return words
                    .rev()
                    .filter_map(|w| match w {
                        "environment" => Some(DeclKind::Environment),
                        "role" => Some(DeclKind::Role),
                        "policy" => Some(DeclKind::Policy),
                        _ => None,
                    })
                    .next();
            }
            _ => {}
        }
    }
    None
}

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
            range: text::range(text, start, end),
            selection_range: text::range(text, name_start, name_end),
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

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem { label: label.to_string(), kind: Some(kind), detail, ..CompletionItem::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(items: &[CompletionItem]) -> Vec<&str> {
        items.iter().map(|i| i.label.as_str()).collect()
    }

    #[test]
    fn completion_knows_where_it_is() {
        let text = "import \"std/\nlet team = [\"a\"]\nenvironment \"dev\" {\n  kind = ec2\n  \n}\n";
        let completion = |text, offset| completion(&Files::default(), Path::new("/x/main.kenv"), text, offset);
        assert!(labels(&completion(text, "import \"std/".len())).contains(&"std/baseline"));
        let inside = text.find("  \n}").unwrap() + 2;
        let attrs = completion(text, inside);
        assert!(labels(&attrs).contains(&"instance_type") && labels(&attrs).contains(&"reach"), "{:?}", labels(&attrs));
        assert!(labels(&attrs).contains(&"cloud9"), "bare words");
        let top = completion(text, text.len());
        assert!(labels(&top).contains(&"join") && labels(&top).contains(&"environment"));
    }

    #[test]
    fn symbols_outline_the_file() {
        let text = "let team = [\"a\"]\nfn box(n) = n\nenvironment \"dev\" {\n  kind = ec2\n}\ntest \"t\" {\n}\n";
        let names: Vec<String> = symbols(text).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["team", "box", "environment dev", "test \"t\""]);
    }
}
