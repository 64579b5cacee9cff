//! `kenv fmt`: the canonical layout of a file. Only the whitespace between tokens changes, so
//! a formatted file means what it meant; tokens (strings, comments, numbers) are kept byte for
//! byte, and so are the lines inside multi-line strings and comments. Line breaks are the
//! author's (at most one blank line in a row); indentation is two spaces per open bracket, plus
//! one level for a line continuing an expression (one starting with an operator or a
//! suppression's clause, or after a line ending in `=`, `=>` or an operator); spacing between tokens on a line follows fixed
//! rules; runs of `name = value` lines (attributes, `let`s) at one indentation align their `=`.
//! `format_checked` is what `kenv fmt` uses: it parses the result and keeps it only when it is
//! the same syntax tree as the input (spans aside). The lexer here cannot always know what the
//! parser chose (`import """"` is two empty strings there: an import takes no multi-line text),
//! and a layout that changed meaning is refused rather than written.

use super::parse;
use crate::source::SourceMap;

/// The text formatted, or None when it does not parse or the layout would change its meaning.
pub fn format_checked(text: &str) -> Option<String> {
    let sources = SourceMap::default();
    let before = parse(sources.add("<before>", None, text), text).ok()?;
    let out = format(text);
    let after = parse(sources.add("<after>", None, out.as_str()), &out).ok()?;
    (without_spans(&format!("{before:?}")) == without_spans(&format!("{after:?}"))).then_some(out)
}

/// A syntax tree's debug text with every `Span { … }` blanked: what a layout may change.
fn without_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(at) = rest.find("Span { src: ") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').map_or(rest.len(), |e| at + e + 1);
        out.push_str("Span");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A token and the whitespace before it.
struct Token<'a> {
    text: &'a str,
    /// Newlines in the whitespace before it.
    newlines: usize,
    /// Whether any whitespace came before it.
    spaced: bool,
}

/// Binary operators: a line starting with one continues the expression above.
const OPERATORS: &[&str] = &["++", "+", "*", "/", "%", "??", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "."];

/// Whether a line starting with `word` (then `next`) continues a suppression: `because …`,
/// `owner "…"`, `expires "…"` (an `owner = …` line is an environment's attribute).
fn suppress_clause(word: &str, next: Option<&str>) -> bool {
    match word {
        "because" => true,
        "owner" | "expires" => next.is_some_and(|n| n.starts_with('"')),
        _ => false,
    }
}

/// Tokens written with one space on each side.
const SPACED: &[&str] = &["=", "=>", "==", "!=", "<", "<=", ">", ">=", "??", "++"];

pub fn format(text: &str) -> String {
    let tokens = lex(text);
    let mut lines: Vec<Line> = Vec::new();
    // For each open bracket, the indentation of its contents.
    let mut open: Vec<usize> = Vec::new();
    let mut prev: Option<&str> = None;
    for (i, tok) in tokens.iter().enumerate() {
        if tok.newlines > 0 || lines.is_empty() {
            if !lines.is_empty() && tok.newlines > 1 {
                lines.push(Line::blank());
            }
            let base = open.last().copied().unwrap_or(0);
            let continues = OPERATORS.contains(&tok.text)
                || suppress_clause(tok.text, tokens.get(i + 1).map(|t| t.text))
                || prev.is_some_and(|p| p == "=" || p == "=>" || (OPERATORS.contains(&p) && p != "."));
            let indent = if is_closer(tok.text) {
                base.saturating_sub(1)
            } else if continues && !tok.text.starts_with("//") {
                base + 1
            } else {
                base
            };
            lines.push(Line { indent, text: String::new(), formatted: true });
        } else if let Some(p) = prev {
            let line = lines.last_mut().expect("a line was started");
            line.text.push_str(separator(p, tok));
        }
        push_token(&mut lines, tok.text);
        let line_indent = lines.iter().rev().find(|l| l.formatted).map_or(0, |l| l.indent);
        if is_opener(tok.text) {
            open.push(line_indent + 1);
        } else if is_closer(tok.text) {
            open.pop();
        }
        prev = Some(tok.text);
    }
    align(&mut lines);
    let mut out = String::with_capacity(text.len());
    for line in &lines {
        if line.formatted && !line.text.is_empty() {
            out.extend(std::iter::repeat_n("  ", line.indent));
        }
        out.push_str(&line.text);
        out.push('\n');
    }
    out
}

struct Line {
    indent: usize,
    text: String,
    /// False for a line that continues a multi-line string or comment: kept as it is.
    formatted: bool,
}

impl Line {
    fn blank() -> Line {
        Line { indent: 0, text: String::new(), formatted: true }
    }
}

/// Appends a token; the lines inside a multi-line one are kept as they are.
fn push_token(lines: &mut Vec<Line>, text: &str) {
    let mut parts = text.split('\n');
    lines.last_mut().expect("a line was started").text.push_str(parts.next().unwrap_or(""));
    for part in parts {
        lines.push(Line { indent: 0, text: part.to_string(), formatted: false });
    }
}

fn is_opener(t: &str) -> bool {
    matches!(t, "(" | "[" | "{")
}

fn is_closer(t: &str) -> bool {
    matches!(t, ")" | "]" | "}")
}

/// What goes between two tokens on one line.
fn separator(prev: &str, tok: &Token) -> &'static str {
    let t = tok.text;
    if t.starts_with("//") || t.starts_with("/*") {
        return " ";
    }
    match (prev, t) {
        ("{", "}") | ("[", "]") | ("(", ")") => "",
        (_, "," | ")" | "]" | ";" | ":" | "?" | ".." | ".") | ("(" | "[" | "." | "..", _) => "",
        ("{", _) | (_, "}") | ("," | ";" | ":", _) => " ",
        (p, _) if SPACED.contains(&p) || SPACED.contains(&t) => " ",
        // `f(x)` and `xs[0]` stay tight, `tcp (port)` spaced: as written.
        _ if tok.spaced => " ",
        _ => "",
    }
}

/// Pads the names of consecutive `name = value` (and `let name = value`) lines at one
/// indentation so that their `=` line up.
fn align(lines: &mut [Line]) {
    let key = |l: &Line| -> Option<(usize, bool, usize)> {
        if !l.formatted {
            return None;
        }
        let (is_let, rest) = match l.text.strip_prefix("let ") {
            Some(rest) => (true, rest),
            None => (false, l.text.as_str()),
        };
        let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        (name_len > 0 && rest[name_len..].starts_with(" = ")).then_some((l.indent, is_let, name_len))
    };
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, is_let, _)) = key(&lines[i]) else {
            i += 1;
            continue;
        };
        let mut end = i;
        while end < lines.len() && key(&lines[end]).is_some_and(|(d, l, _)| d == indent && l == is_let) {
            end += 1;
        }
        let width = lines[i..end].iter().filter_map(key).map(|(_, _, n)| n).max().unwrap_or(0);
        if end - i > 1 {
            for line in &mut lines[i..end] {
                let (_, is_let, n) = key(line).expect("in the run");
                let at = n + if is_let { 4 } else { 0 };
                line.text.insert_str(at, &" ".repeat(width - n));
            }
        }
        i = end.max(i + 1);
    }
}

/// Splits text that parses into tokens: words, numbers, strings (with their interpolations),
/// comments and punctuation.
fn lex(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let ws_start = i;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let newlines = b[ws_start..i].iter().filter(|&&c| c == b'\n').count();
        let start = i;
        i = token_end(b, i);
        out.push(Token { text: &text[start..i], newlines, spaced: i > ws_start && start > ws_start });
    }
    out
}

const MULTI: &[&str] = &["=>", "==", "!=", "<=", ">=", "..", "??", "++", "${"];

/// Where the token starting at `i` ends.
fn token_end(b: &[u8], i: usize) -> usize {
    let rest = &b[i..];
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if rest.starts_with(b"//") {
        return i + rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
    }
    if rest.starts_with(b"/*") {
        return i + find(&rest[2..], b"*/").map_or(rest.len(), |p| p + 4);
    }
    // A multi-line opening whose closing quotes never come is, as for the parser, an empty
    // string followed by more.
    if rest.starts_with(b"r\"\"\"") {
        if let Some(p) = find(&rest[4..], b"\"\"\"") {
            return i + 4 + p + 3;
        }
    }
    if rest.starts_with(b"r\"") {
        return i + 2 + rest[2..].iter().position(|&c| c == b'"').map_or(rest.len() - 2, |p| p + 1);
    }
    if rest.starts_with(b"\"\"\"") {
        if let Some(end) = string_end(b, i + 3, b"\"\"\"") {
            return end;
        }
    }
    if rest[0] == b'"' {
        return string_end(b, i + 1, b"\"").unwrap_or(b.len());
    }
    if word(rest[0]) {
        return i + rest.iter().position(|&c| !word(c)).unwrap_or(rest.len());
    }
    if let Some(op) = MULTI.iter().find(|m| rest.starts_with(m.as_bytes())) {
        return i + op.len();
    }
    // One character (a multi-byte one only ever inside strings and comments in text that parses).
    let len = match rest[0] {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    };
    (i + len).min(b.len())
}

/// The end of a string whose body starts at `i`: escapes skipped, `${…}` interpolations (which
/// may hold strings of their own) followed to their closing brace; None when it never closes.
fn string_end(b: &[u8], mut i: usize, close: &[u8]) -> Option<usize> {
    while i < b.len() {
        if b[i..].starts_with(close) {
            return Some(i + close.len());
        }
        match b[i] {
            b'\\' => i += 2,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                i += 2;
                let mut depth = 1;
                while i < b.len() && depth > 0 {
                    match b[i] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        c if c.is_ascii_whitespace() => {}
                        _ => {
                            i = token_end(b, i);
                            continue;
                        }
                    }
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn canonical_layout_and_idempotent() {
        let messy = "let  x=[1 ,2,3 ]\nlet longer_name  =  { a :1 }\n\n\n\nfn f( a,b )=a+b\nenvironment \"e\" {\n      kind=cloud9\n   instance_type = \"t3.medium\" // the size\n  ingress tcp 1000 .. 2000 from \"10.0.0.0/8\"\n}\n";
        let want = "let x           = [1, 2, 3]\nlet longer_name = { a: 1 }\n\nfn f(a, b) = a+b\nenvironment \"e\" {\n  kind          = cloud9\n  instance_type = \"t3.medium\" // the size\n  ingress tcp 1000..2000 from \"10.0.0.0/8\"\n}\n";
        assert_eq!(format(messy), want);
        assert_eq!(format(want), want);
    }

    #[test]
    fn strings_comments_and_continuations_are_kept() {
        let text = "let s = \"\"\"\n    keep   this\n      = as is\n    \"\"\"\nlet t = \"a ${ f(\"}\")  } b\"\n/* one\n   two */\nlet l = [1]\n  ++ [\n    2\n  ]\n";
        assert_eq!(format(text), text);
        // `"""` never closed is `""` then more, as the parser reads it (found by the fuzz target).
        assert_eq!(format("let x = \"a\"\"\"\n b\n \"\"\"e\"\n"), "let x = \"a\"\"\"\nb\n\"\"\"e\"\n");
    }

    #[test]
    fn a_suppressions_clauses_continue_it() {
        let text = "environment \"e\" {\nowner = \"arn\"\nsuppress \"p\"\nbecause \"r\"\nowner \"a\" expires \"2027-01-01\"\n}\n";
        let want = "environment \"e\" {\n  owner = \"arn\"\n  suppress \"p\"\n    because \"r\"\n    owner \"a\" expires \"2027-01-01\"\n}\n";
        assert_eq!(super::format_checked(text).as_deref(), Some(want));
    }

    #[test]
    fn a_layout_that_would_change_meaning_is_refused() {
        // The parser reads `""""` after `import` as two empty strings; the lexer sees multi-line
        // text, and laying the rest out would put spaces inside real strings.
        let text = "import \"\"\"\"\n a\n \"\"\"std/c1ws\"\nlet r = \"arn:aws:iam::aws\"\n";
        assert!(super::format_checked(text).is_none());
        assert_eq!(super::format_checked("let  x=1\n").as_deref(), Some("let x = 1\n"));
    }
}
