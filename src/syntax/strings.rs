//! The lexical details of literals: escapes, durations, and the indentation stripping of
//! multi-line strings.

use std::rc::Rc;

use super::ast::StrPart;

pub const ESCAPE_HELP: &str =
    "the escapes are \\n \\t \\r \\0 \\\\ \\\" \\$ and \\u{…}; for text full of backslashes use a raw string r\"…\"";

/// The character an escape sequence (`\n`, `\u{1F600}`, …) stands for.
pub fn unescape(esc: &str) -> Option<char> {
    let body = esc.strip_prefix('\\')?;
    match body {
        "n" => Some('\n'),
        "t" => Some('\t'),
        "r" => Some('\r'),
        "0" => Some('\0'),
        "\\" => Some('\\'),
        "\"" => Some('"'),
        "$" => Some('$'),
        _ => {
            let hex = body.strip_prefix("u{")?.strip_suffix('}')?;
            if hex.is_empty() || hex.len() > 6 {
                return None;
            }
            char::from_u32(u32::from_str_radix(hex, 16).ok()?)
        }
    }
}

/// `1h30m` → 5400. None on overflow.
pub fn duration_seconds(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number: i64 = 0;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(d as i64)?;
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => 86400,
        };
        total = total.checked_add(number.checked_mul(unit)?)?;
        number = 0;
    }
    Some(total)
}

/// Renders seconds the way a user writes them: 1800 → `30m`, 5400 → `1h30m`, 0 → `0s`.
pub fn format_duration(secs: i64) -> String {
    DurationText(secs).to_string()
}

/// A duration in seconds, displayed as `format_duration` renders it, for writing it out without
/// making a string first.
pub struct DurationText(pub i64);

impl std::fmt::Display for DurationText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        if self.0 < 0 {
            f.write_str("-")?;
        }
        let mut secs = self.0.unsigned_abs();
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
            if secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

/// Multi-line strings: drop the newline after the opening quotes and the indentation common to
/// every non-blank line; a last line holding only the closing quotes' indentation is dropped.
pub fn dedent(text: &str) -> String {
    let text = text.strip_prefix("\r\n").or_else(|| text.strip_prefix('\n')).unwrap_or(text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        *lines.last_mut().unwrap() = "";
    }
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let stripped: Vec<&str> = lines.iter().map(|l| if l.trim().is_empty() { "" } else { &l[indent..] }).collect();
    stripped.join("\n")
}

/// A stand-in for an interpolation while dedenting; a private-use character, so it is never
/// whitespace.
const HOLE: char = '\u{E000}';

/// `dedent` over a string with interpolations: each `${…}` counts as text on its line.
pub fn dedent_parts(parts: &mut Vec<StrPart>) {
    let mut flat = String::new();
    let mut holes = Vec::new();
    for part in parts.drain(..) {
        match part {
            StrPart::Lit(s) if !s.contains(HOLE) => flat.push_str(&s),
            StrPart::Lit(s) => flat.push_str(&s.replace(HOLE, "\u{FFFD}")),
            StrPart::Expr(e) => {
                flat.push(HOLE);
                holes.push(e);
            }
        }
    }
    let mut holes = holes.into_iter();
    for (i, piece) in dedent(&flat).split(HOLE).enumerate() {
        if i > 0 {
            parts.push(StrPart::Expr(holes.next().expect("one expression per hole")));
        }
        if !piece.is_empty() {
            parts.push(StrPart::Lit(Rc::from(piece)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_strips_common_indentation_and_the_closing_line() {
        assert_eq!(dedent("\n    a\n      b\n\n    c\n    "), "a\n  b\n\nc\n");
        assert_eq!(dedent("one line"), "one line");
    }

    #[test]
    fn durations_add_their_units() {
        assert_eq!(duration_seconds("1h30m"), Some(5400));
        assert_eq!(duration_seconds("1d"), Some(86400));
        assert_eq!(duration_seconds("99999999999999999999d"), None);
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("\\n"), Some('\n'));
        assert_eq!(unescape("\\u{1F600}"), Some('😀'));
        assert_eq!(unescape("\\u{D800}"), None);
        assert_eq!(unescape("\\q"), None);
    }
}
