//! What the line editor asks of the REPL: is this input finished, and what could come next.

use super::{Session, COMMANDS};
use crate::source::SourceMap;
use crate::syntax::keywords::{self, enclosing_declaration};

/// Where a scan of the input ended up.
#[derive(PartialEq)]
enum Ctx {
    Code,
    Str,
    Raw,
    Triple,
    RawTriple,
    Block,
}

/// Whether the input is unfinished: an open bracket or string, an unclosed block comment, or
/// (for the real parser) a syntax error at the very end, such as a trailing operator.
pub fn incomplete(text: &str) -> bool {
    let b = text.as_bytes();
    let mut stack = vec![Ctx::Code];
    let mut depth: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        let top = stack.last().unwrap_or(&Ctx::Code);
        match top {
            Ctx::Code => {
                if rest.starts_with("//") {
                    i += rest.find('\n').unwrap_or(rest.len());
                    continue;
                } else if rest.starts_with("/*") {
                    stack.push(Ctx::Block);
                    i += 2;
                    continue;
                } else if rest.starts_with("r\"\"\"") {
                    stack.push(Ctx::RawTriple);
                    i += 4;
                    continue;
                } else if rest.starts_with("\"\"\"") {
                    stack.push(Ctx::Triple);
                    i += 3;
                    continue;
                } else if rest.starts_with("r\"") && !prev_is_ident(b, i) {
                    stack.push(Ctx::Raw);
                    i += 2;
                    continue;
                }
                match b[i] {
                    b'"' => stack.push(Ctx::Str),
                    b'(' | b'[' | b'{' => depth.push(b[i]),
                    // A `}` closing `${…}` returns to the string it interrupted.
                    b')' | b']' | b'}' if depth.pop().is_none() && stack.len() > 1 => {
                        stack.pop();
                    }
                    _ => {}
                }
            }
            Ctx::Str | Ctx::Triple => {
                let closing = if *top == Ctx::Str { "\"" } else { "\"\"\"" };
                if rest.starts_with('\\') {
                    i += 2;
                    continue;
                } else if rest.starts_with("${") {
                    stack.push(Ctx::Code);
                    i += 2;
                    continue;
                } else if rest.starts_with(closing) {
                    stack.pop();
                    i += closing.len();
                    continue;
                }
            }
            Ctx::Raw | Ctx::RawTriple => {
                let closing = if *top == Ctx::Raw { "\"" } else { "\"\"\"" };
                if rest.starts_with(closing) {
                    stack.pop();
                    i += closing.len();
                    continue;
                }
            }
            Ctx::Block => {
                if rest.starts_with("*/") {
                    stack.pop();
                    i += 2;
                    continue;
                }
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    if stack.len() > 1 || !depth.is_empty() {
        return true;
    }
    let end = text.trim_end().len();
    let sources = SourceMap::default();
    let src = sources.add("<input>", None, text);
    match crate::syntax::parse(src, text) {
        Ok(_) => false,
        Err(errors) => errors.iter().any(|d| d.span.is_some_and(|s| s.start as usize >= end)),
    }
}

fn prev_is_ident(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Completions for the text before the cursor: where the word being completed starts, and the
/// candidates (sorted, without duplicates).
pub fn complete(session: &Session, before: &str) -> (usize, Vec<String>) {
    // `:commands`, and file names after :load.
    if before.starts_with(':') {
        if let Some(arg) = before.strip_prefix(":load ") {
            return (before.len() - arg.len(), paths(arg, false));
        }
        return (0, COMMANDS.iter().map(|(n, _)| n.to_string()).filter(|n| n.starts_with(before)).collect());
    }
    // Inside `import "…`: stdlib modules and .kenv files.
    if let Some(at) = before.rfind("import \"") {
        let arg = &before[at + 8..];
        if !arg.contains('"') {
            let mut out: Vec<String> =
                crate::eval::stdlib_sources().map(|(p, _)| p.to_string()).filter(|p| p.starts_with(arg)).collect();
            out.extend(paths(arg, true));
            return (at + 8, out);
        }
    }
    let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).map_or(0, |i| i + 1);
    let word = &before[start..];
    // After a dot: the fields of the value before it.
    if let Some((path, partial)) = word.rsplit_once('.') {
        let fields = session.value_of(path).map_or_else(Vec::new, |v| v.field_names());
        let mut out: Vec<String> = fields.iter().filter(|f| f.starts_with(partial)).map(|f| f.to_string()).collect();
        out.sort();
        return (start + path.len() + 1, out);
    }
    // Inside a declaration's body: its attributes, the words they take, and what else it holds.
    let body: Vec<&str> = enclosing_declaration(before).map_or_else(Vec::new, |kind| {
        let s = crate::model::schema(kind);
        s.attrs().flat_map(|d| std::iter::once(d.about.name).chain(d.about.words.iter().copied())).collect()
    });
    let mut out: Vec<String> = keywords::all()
        .chain(body)
        .map(String::from)
        .chain(crate::builtins::names().map(String::from))
        .chain(session.names())
        .filter(|n| n.starts_with(word) && !n.starts_with('_'))
        .collect();
    out.sort();
    out.dedup();
    (start, out)
}

/// File names completing `prefix` (only `.kenv` files and directories when `kenv_only`).
fn paths(prefix: &str, kenv_only: bool) -> Vec<String> {
    let (dir, stem) = match prefix.rfind('/') {
        Some(i) => (&prefix[..=i], &prefix[i + 1..]),
        None => ("", prefix),
    };
    let Ok(entries) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else { return vec![] };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let wanted =
                name.starts_with(stem) && !name.starts_with('.') && (is_dir || !kenv_only || name.ends_with(".kenv"));
            wanted.then(|| format!("{dir}{name}{}", if is_dir { "/" } else { "" }))
        })
        .collect();
    out.sort();
    out
}
