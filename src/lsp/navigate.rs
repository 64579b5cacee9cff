//! Go to definition and hover, from the names a file binds (`resolve.rs`) and the modules it
//! imports (read from the editor's buffers first, then the disk, or the embedded stdlib).

use std::path::Path;

use lsp_types::{Hover, HoverContents, Location, MarkupContent, MarkupKind, Position};

use super::files::{Files, Module};
use super::resolve::{Binding, Index, Kind};
use super::{position, uri_of};
use crate::source::Span;
use crate::syntax::ast::ExprKind;
use crate::syntax::docs::{doc_before, module_doc, params, signature};

/// What a name at a position is bound to: a binding in this file, or one a module exports.
struct Target {
    /// The use or binding's span in this file.
    span: Span,
    /// The module's file and text, when the binding is one a module exports.
    module: Option<Module>,
    binding: Binding,
    /// What the file's check keys its kind under: `name`, or `module.name`.
    key: String,
}

fn target(files: &Files, path: &Path, text: &str, at: Position) -> Option<Target> {
    let index = Index::of(text);
    let (span, binding, member) = index.at(position::offset(text, at))?;
    let Some(member) = member else {
        let key = binding.name.to_string();
        return Some(Target { span, module: None, binding: binding.clone(), key });
    };
    let Kind::Import(import) = &binding.kind else { return None };
    let module = files.module(path, import)?;
    let found = Index::of(&module.text).exported().filter(|b| b.name == *member).last().cloned()?;
    let key = format!("{}.{member}", binding.name);
    Some(Target { span, module: Some(module), binding: found, key })
}

/// Where the name at a position is defined: a `let`, `fn`, parameter, loop variable or import
/// in this file, or, for `module.name`, in the module's file. On an import itself: the module's
/// file.
pub fn definition(files: &Files, path: &Path, text: &str, at: Position) -> Option<Location> {
    let target = target(files, path, text, at)?;
    let (file, text) = match (&target.binding.kind, &target.module) {
        (Kind::Import(import), None) if target.span == target.binding.at => {
            let module = files.module(path, import)?;
            return Some(Location::new(uri_of(&module.path?), position::range("", 0, 0)));
        }
        (_, None) => (path.to_path_buf(), text),
        (_, Some(module)) => (module.path.clone()?, module.text.as_str()),
    };
    let at = target.binding.at;
    Some(Location::new(uri_of(&file), position::range(text, at.start as usize, at.end as usize)))
}

/// Hover: for a name bound in the file or a module, its doc comment and, for a function (a
/// template), its signature and parameters, for a value its kind; for an attribute in a
/// declaration, its type and the AWS rule it is checked against; for a builtin its signature,
/// effect and doc.
pub fn hover(files: &Files, path: &Path, text: &str, at: Position) -> Option<Hover> {
    let offset = position::offset(text, at);
    let (start, word) = position::word_at(text, offset)?;
    let value = match target(files, path, text, at) {
        Some(target) => {
            let kind = files.kinds.get(&crate::eval::lexical(path)).and_then(|k| k.get(&target.key)).copied();
            describe(files, path, text, &target, kind)
        }
        None => match super::attributes::hover(text, start, word) {
            Some(doc) => doc,
            None => {
                let b = crate::builtins::get(word)?;
                format!("```kenv\n{}\n```\n\n*{}*\n\n{}", b.signature(), b.effect.name(), b.doc)
            }
        },
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: Some(position::range(text, start, start + word.len())),
    })
}

/// A binding as Markdown: how it is written, what it is, its doc comment.
fn describe(files: &Files, path: &Path, text: &str, target: &Target, kind: Option<&'static str>) -> String {
    let b = &target.binding;
    let source = target.module.as_ref().map_or(text, |m| m.text.as_str());
    let src_of = |span: Span| source.get(span.start as usize..span.end as usize).unwrap_or("");
    let doc = doc_before(source, b.stmt.start as usize);
    let mut md = match &b.kind {
        Kind::Fn(def) => {
            let mut md = format!("```kenv\nfn {}\n```\n\n", signature(&b.name, def, &src_of));
            if !doc.is_empty() {
                md.push_str(&format!("{doc}\n\n"));
            }
            params(&mut md, def, &src_of);
            return md;
        }
        Kind::Let(value) => {
            let what = kind.or(match &value.node {
                ExprKind::Decl(k, ..) => Some(k.keyword()),
                ExprKind::Lambda(_) => Some("function"),
                _ => None,
            });
            format!("```kenv\nlet {}\n```\n\n{}", b.name, what.map_or(String::new(), |w| format!("*{w}*\n\n")))
        }
        Kind::Param => format!("```kenv\n{}\n```\n\n*parameter*\n\n", b.name),
        Kind::Loop => format!("```kenv\n{}\n```\n\n*loop variable*\n\n", b.name),
        Kind::Import(import) => {
            let module = files.module(path, import);
            let doc = module.as_ref().map_or(String::new(), |m| module_doc(&m.text));
            let names: Vec<String> =
                module.map_or(Vec::new(), |m| Index::of(&m.text).exported().map(|b| format!("`{}`", b.name)).collect());
            let mut md = format!("```kenv\nimport \"{import}\" as {}\n```\n\n", b.name);
            if !doc.is_empty() {
                md.push_str(&format!("{doc}\n\n"));
            }
            if !names.is_empty() {
                md.push_str(&format!("Exports {}\n", names.join(", ")));
            }
            return md;
        }
    };
    md.push_str(&doc);
    md.trim_end().to_string()
}
