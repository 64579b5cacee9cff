//! `kenv doc FILE`: a template's documentation as Markdown, from its doc comments: the file's
//! own (the comment block opening it), then, from their `///` comments, its functions with their
//! parameters (type, default), its values, and the declarations it makes, with the attributes
//! each sets.

use std::fmt::Write as _;
use std::path::Path;

use super::{out, report, FAILED, OK};
use crate::diag::Style;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Block, Body, Expr, ExprKind, StmtKind};
use crate::syntax::docs::{doc_before, module_doc, params, push_doc, signature};
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

/// For a declaration expression: its kind and name, and a table of the attributes it sets.
fn declaration<'a>(md: &mut String, e: &Expr, src_of: &impl Fn(Span) -> &'a str) -> bool {
    let ExprKind::Decl(kind, name, body) = &e.node else { return false };
    let word = kind.keyword();
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
