//! Doc comments and signatures, read from a file's text and syntax: what `kenv doc FILE` writes
//! and what the language server shows on hover.

use std::fmt::Write as _;

use super::ast::FnDef;
use crate::source::Span;

/// The comment block opening the file, when a blank line separates it from what follows (else
/// it is the first statement's).
pub fn module_doc(text: &str) -> String {
    let lines: Vec<&str> = text.lines().take_while(|l| l.trim_start().starts_with("//")).collect();
    let followed_by_blank = text.lines().nth(lines.len()).is_none_or(|l| l.trim().is_empty());
    if !followed_by_blank {
        return String::new();
    }
    let doc: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_start().trim_start_matches('/'))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    doc.join("\n")
}

/// The `///` lines right before `at` (blank lines between end the comment).
pub fn doc_before(text: &str, at: usize) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in text[..at].lines().rev().skip_while(|l| l.trim().is_empty()).take_while(|l| !l.trim().is_empty()) {
        match line.trim_start().strip_prefix("///") {
            Some(doc) => lines.push(doc.strip_prefix(' ').unwrap_or(doc)),
            None if line.trim_start().starts_with("//") => continue,
            None => break,
        }
    }
    lines.reverse();
    lines.join("\n")
}

pub fn push_doc(md: &mut String, doc: &str) {
    if !doc.is_empty() {
        let _ = writeln!(md, "{doc}\n");
    }
}

pub fn signature<'a>(name: &str, def: &FnDef, src_of: &impl Fn(Span) -> &'a str) -> String {
    let params: Vec<String> = def
        .params
        .iter()
        .map(|p| {
            let ty = p.ty.as_ref().map_or(String::new(), |t| format!(": {}", t.node));
            let default = p.default.as_ref().map_or(String::new(), |d| format!(" = {}", src_of(d.span)));
            format!("{}{ty}{default}", p.name.node)
        })
        .collect();
    format!("{name}({})", params.join(", "))
}

pub fn params<'a>(md: &mut String, def: &FnDef, src_of: &impl Fn(Span) -> &'a str) {
    if def.params.is_empty() {
        return;
    }
    md.push_str("| Parameter | Type | Default |\n|---|---|---|\n");
    for p in &def.params {
        let ty = p.ty.as_ref().map_or("any".to_string(), |t| t.node.to_string());
        let default = p.default.as_ref().map_or("(required)".to_string(), |d| format!("`{}`", src_of(d.span)));
        let _ = writeln!(md, "| `{}` | {ty} | {default} |", p.name.node);
    }
    md.push('\n');
}
