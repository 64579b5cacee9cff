//! `kenv doc FILE`: a template's documentation as Markdown, from its doc comments: the file's
//! own (the comment block opening it), then, from their `///` comments, its functions with their
//! parameters (type, default), its values, and the declarations it makes, with the attributes
//! each sets.

use std::fmt::Write as _;
use std::path::Path;

use super::{out, report, FAILED, OK};
use crate::diag::Style;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Block, Body, DeclKind, Expr, ExprKind, FnDef, StmtKind};
use crate::syntax::parse;

pub fn run(file: &Path, style: Style) -> i32 {
    let text = match crate::eval::read_source(file) {
        Ok(t) => t,
        Err(d) => return report(&[*d], &SourceMap::default(), style).max(FAILED),
    };
    let sources = SourceMap::default();
    let src = sources.add(file.display().to_string(), Some(file), text.as_str());
    let stmts = match parse(src, &text) {
        Ok(s) => s,
        Err(diags) => return report(&diags, &sources, style).max(FAILED),
    };
    let name = file.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let mut md = format!("# {name}\n\n");
    push_doc(&mut md, &module_doc(&text));
    let src_of = |span: Span| &text[span.start as usize..span.end as usize];
    let mut functions = String::new();
    let mut values = String::new();
    let mut decls = String::new();
    for stmt in &stmts {
        let doc = doc_before(&text, stmt.span.start as usize);
        match &stmt.node {
            StmtKind::Fn(name, def) if !name.node.starts_with('_') => {
                let _ = writeln!(functions, "### `{}`\n", signature(&name.node, def, &src_of));
                push_doc(&mut functions, &doc);
                params(&mut functions, def, &src_of);
                if let Body::Expr(e) = &def.body {
                    declaration(&mut functions, e, &src_of);
                }
            }
            StmtKind::Let(name, value) if !name.node.starts_with('_') => {
                let _ = writeln!(values, "### `{}`\n", name.node);
                push_doc(&mut values, &doc);
                if !declaration(&mut values, value, &src_of) {
                    let _ = writeln!(values, "```kenv\n{}\n```\n", src_of(value.span));
                }
            }
            StmtKind::Expr(e) => {
                declaration(&mut decls, e, &src_of);
            }
            _ => {}
        }
    }
    for (title, body) in [("Functions", functions), ("Values", values), ("Declarations", decls)] {
        if !body.is_empty() {
            let _ = write!(md, "## {title}\n\n{body}");
        }
    }
    out(md.trim_end());
    out("\n");
    OK
}

/// The comment block opening the file, when a blank line separates it from what follows (else
/// it is the first statement's).
fn module_doc(text: &str) -> String {
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
fn doc_before(text: &str, at: usize) -> String {
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

fn push_doc(md: &mut String, doc: &str) {
    if !doc.is_empty() {
        let _ = writeln!(md, "{doc}\n");
    }
}

fn signature<'a>(name: &str, def: &FnDef, src_of: &impl Fn(Span) -> &'a str) -> String {
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

fn params<'a>(md: &mut String, def: &FnDef, src_of: &impl Fn(Span) -> &'a str) {
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

/// For a declaration expression: its kind and name, and a table of the attributes it sets.
fn declaration<'a>(md: &mut String, e: &Expr, src_of: &impl Fn(Span) -> &'a str) -> bool {
    let ExprKind::Decl(kind, name, body) = &e.node else { return false };
    let word = match kind {
        DeclKind::Environment => "environment",
        DeclKind::Role => "role",
        DeclKind::Policy => "policy",
    };
    let _ = writeln!(md, "Declares {word} `{}`:\n", src_of(name.span).trim_matches('"'));
    attributes(md, body, src_of);
    true
}

fn attributes<'a>(md: &mut String, body: &Block, src_of: &impl Fn(Span) -> &'a str) {
    md.push_str("| Attribute | Value |\n|---|---|\n");
    for stmt in body.iter() {
        let (what, value) = match &stmt.node {
            StmtKind::Attr(name, value) => (format!("`{}`", name.node), src_of(value.span)),
            _ => ("".to_string(), src_of(stmt.span)),
        };
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|");
        let _ = writeln!(md, "| {what} | `{value}` |");
    }
    md.push('\n');
}
