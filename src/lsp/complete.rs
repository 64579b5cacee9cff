//! Completion, read from the buffer's text and syntax (no evaluation, so it works on a buffer
//! that does not evaluate, or does not even parse).

use std::path::Path;

use lsp_types::{CompletionItem, CompletionItemKind};

use super::files::Files;
use super::resolve::{Binding, Index, Kind};
use crate::model::schema;
use crate::syntax::keywords::{enclosing_declaration, STATEMENTS};

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
        let attrs = s.attrs().map(|d| {
            let mut item = item(d.about.name, CompletionItemKind::PROPERTY, Some(format!("{} attribute", s.keyword)));
            let rule = if d.about.rule.is_empty() { String::new() } else { format!(": {}", d.about.rule) };
            item.documentation = Some(lsp_types::Documentation::String(format!("{}{rule}", d.about.ty)));
            item
        });
        let words = s.attrs().flat_map(|d| {
            let attr = d.about.name;
            d.about.words.iter().map(move |w| item(w, CompletionItemKind::ENUM_MEMBER, Some(format!("{attr} = {w}"))))
        });
        let children = s.child_keywords().map(|c| item(c, CompletionItemKind::KEYWORD, None));
        return attrs.chain(words).chain(children).chain(in_scope).collect();
    }
    let keywords = STATEMENTS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, None));
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
}
