//! Parsing: text → typed AST. pest pairs never leave this module.

pub mod ast;
mod depth;
pub mod docs;
pub mod format;
pub mod keywords;
mod lower;
mod places;
pub mod strings;

use pest::Parser as _;

use crate::diag::{Diag, ErrorKind};
use crate::source::{SourceId, Span};
use ast::Stmt;
pub use lower::module_stem;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/kenv.pest"]
struct KenvParser;

/// The deepest bracket nesting accepted; deeper input would exhaust the stack.
pub const MAX_DEPTH: usize = 256;
pub use crate::source::MAX_SOURCE;

/// Statement keywords that may start a line at column 0, where parsing resumes after an error.
const RESUME_AT: &[&str] = &["let ", "fn ", "import ", "environment ", "role ", "policy ", "for ", "if ", "assert "];

/// Parses a whole file. On failure, parsing resumes at the next top-level statement so that
/// every syntax error in the file is reported at once.
pub fn parse(src: SourceId, text: &str) -> Result<Vec<Stmt>, Vec<Diag>> {
    let whole = Span::new(src, 0, text.len().min(1));
    if text.len() > MAX_SOURCE {
        return Err(vec![Diag::new(ErrorKind::TooLarge(MAX_SOURCE >> 20), whole)]);
    }
    if let Some(at) = depth::too_deep_at(text, MAX_DEPTH) {
        return Err(vec![Diag::new(ErrorKind::TooDeep(MAX_DEPTH), Span::new(src, at, at + 1))
            .help("split the expression into named parts with `let`")]);
    }
    let mut errors = Vec::new();
    let mut offset = 0;
    loop {
        match KenvParser::parse(Rule::file, &text[offset..]) {
            Ok(pairs) => {
                let lowerer = lower::Lowerer::new(src, offset);
                let stmts = lowerer.stmts(pairs.into_iter().next().unwrap().into_inner());
                errors.extend(lowerer.errors.into_inner());
                return if errors.is_empty() { Ok(stmts) } else { Err(errors) };
            }
            Err(e) => {
                let diag = syntax_diag(src, text, offset, &e);
                let at = diag.span.map_or(text.len(), |s| s.end as usize);
                errors.push(diag);
                match resume_point(text, at) {
                    Some(next) => offset = next,
                    None => return Err(errors),
                }
            }
        }
    }
}

/// The start of the first line after `at` that begins with a statement keyword.
fn resume_point(text: &str, at: usize) -> Option<usize> {
    let mut pos = at;
    while let Some(nl) = text[pos..].find('\n') {
        pos += nl + 1;
        if RESUME_AT.iter().any(|k| text[pos..].starts_with(k)) {
            return Some(pos);
        }
    }
    None
}

fn syntax_diag(src: SourceId, text: &str, offset: usize, e: &pest::error::Error<Rule>) -> Diag {
    let (start, end) = match e.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
    let (start, end) = (start + offset, end + offset);
    let found = describe_found(&text[start..]);
    let end = if end > start { end } else { start + found_len(&text[start..]) };
    let message = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => expected_list(positives),
        pest::error::ErrorVariant::CustomError { message } if message.contains("limit") => {
            return Diag::new(ErrorKind::TooDeep(MAX_DEPTH), Span::new(src, start, end));
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let diag = Diag::new(ErrorKind::Syntax(format!("{message}, found {found}")), Span::new(src, start, end))
        .label(format!("unexpected {found}"));
    match hint_for(&text[..start], &text[start..]) {
        Some(h) => diag.help(h),
        None => diag,
    }
}

fn describe_found(rest: &str) -> String {
    let rest = rest.trim_start_matches([' ', '\t']);
    match rest.chars().next() {
        None => "end of file".into(),
        Some('\n') | Some('\r') => "end of line".into(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            format!("`{word}`")
        }
        Some(c) => format!("`{c}`"),
    }
}

fn found_len(rest: &str) -> usize {
    match rest.chars().next() {
        None | Some('\n') => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => {
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len())
        }
        Some(c) => c.len_utf8(),
    }
}

/// Hints for the mistakes people make most.
fn hint_for(before: &str, rest: &str) -> Option<&'static str> {
    let last_line = before.rsplit('\n').next().unwrap_or("");
    if last_line.matches('"').count() % 2 == 1 && !last_line.contains("\"\"\"") {
        return Some("this string is not closed: add a `\"` before the end of the line, or use \"\"\"…\"\"\" for text over several lines");
    }
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Some(
            "`=` sets an attribute inside a declaration; use `let name = value` to name a value, `==` to compare",
        );
    }
    if rest.starts_with('\'') {
        return Some("strings use double quotes: \"…\"");
    }
    if rest.starts_with("&&") || rest.starts_with("||") {
        return Some("use `and` / `or`");
    }
    if rest.starts_with('!') && !rest.starts_with("!=") {
        return Some("use `not`");
    }
    None
}

fn expected_list(positives: &[Rule]) -> String {
    let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
    // Anything that starts an expression is said by "an expression".
    if names.contains(&"an expression") {
        names.retain(|n| !["a name", "a number", "a string", "`ingress` or `egress`", "`(`"].contains(n));
    }
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => "unexpected input".into(),
        [one] => format!("expected {one}"),
        [init @ .., last] => format!("expected {} or {last}", init.join(", ")),
    }
}

/// How grammar rules are named in messages; None hides a rule that would only add noise.
fn rule_name(r: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match r {
        EOI => "end of file",
        expr | expr_stmt | paren | list | record => "an expression",
        import_stmt | let_stmt | fn_stmt | assert_stmt | for_stmt | if_stmt | attr_stmt => "a statement",
        ident | word => "a name",
        string | plain_string | text | raw_string | raw_text => "a string",
        int | port => "a number",
        block => "`{`",
        params => "`(`",
        fn_body => "`=` or `{`",
        call | field | index => "an operator",
        or | and | eq | ne | le | ge | lt | gt | not_in | in_ | coalesce | concat | add | sub | mul | div | rem => {
            "an operator"
        }
        for_vars => "a loop variable",
        comp_for => "`for`",
        direction => "`ingress` or `egress`",
        ports => "a port",
        _ => return None,
    })
}
