//! A pre-pass that finds bracket nesting too deep to parse safely, before pest recurses into it.
//! It knows just enough of the lexical syntax (comments, strings, interpolation) not to count
//! brackets that are text.

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Code,
    /// Inside "…" or """…""" (`long`).
    Str {
        long: bool,
    },
}

/// The byte offset where nesting first exceeds `limit`, if it does.
pub fn too_deep_at(text: &str, limit: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    // For each open `${`: the depth it opened at and the kind of string to return to.
    let mut interps: Vec<(usize, bool)> = Vec::new();
    let mut mode = Mode::Code;
    let mut i = 0;
    while i < b.len() {
        // Most bytes mean nothing here: pass them in a tight loop.
        match mode {
            Mode::Code => {
                while i < b.len() && !matches!(b[i], b'/' | b'r' | b'"' | b'(' | b'[' | b'{' | b')' | b']' | b'}') {
                    i += 1;
                }
            }
            Mode::Str { .. } => {
                while i < b.len() && !matches!(b[i], b'\\' | b'"' | b'\n' | b'$') {
                    i += 1;
                }
            }
        }
        if i == b.len() {
            break;
        }
        let rest = &b[i..];
        match mode {
            Mode::Code => match b[i] {
                b'/' if rest.starts_with(b"//") => i = skip_past(b, i, b"\n"),
                b'/' if rest.starts_with(b"/*") => i = skip_past(b, i + 2, b"*/"),
                b'r' if rest.starts_with(b"r\"\"\"") => i = skip_past(b, i + 4, b"\"\"\""),
                b'r' if rest.starts_with(b"r\"") && !prev_is_word(b, i) => i = skip_past(b, i + 2, b"\""),
                b'"' => {
                    let long = rest.starts_with(b"\"\"\"");
                    mode = Mode::Str { long };
                    i += if long { 3 } else { 1 };
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return Some(i);
                    }
                    i += 1;
                }
                b'}' if interps.last().is_some_and(|&(d, _)| d == depth) => {
                    let (_, long) = interps.pop().unwrap();
                    depth -= 1;
                    mode = Mode::Str { long };
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                _ => i += 1,
            },
            Mode::Str { long } => match b[i] {
                b'\\' => i += 2,
                b'"' if !long => {
                    mode = Mode::Code;
                    i += 1;
                }
                b'"' if rest.starts_with(b"\"\"\"") => {
                    mode = Mode::Code;
                    i += 3;
                }
                b'\n' if !long => mode = Mode::Code,
                b'$' if rest.starts_with(b"${") => {
                    depth += 1;
                    if depth > limit {
                        return Some(i);
                    }
                    interps.push((depth, long));
                    mode = Mode::Code;
                    i += 2;
                }
                _ => i += 1,
            },
        }
    }
    None
}

fn skip_past(b: &[u8], from: usize, end: &[u8]) -> usize {
    let from = from.min(b.len());
    b[from..].windows(end.len()).position(|w| w == end).map_or(b.len(), |p| from + p + end.len())
}

fn prev_is_word(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

#[cfg(test)]
mod tests {
    use super::too_deep_at;

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = format!("let a = \"{}\" // {}\n", "(".repeat(500), "[".repeat(500));
        assert_eq!(too_deep_at(&text, 10), None);
    }

    #[test]
    fn interpolation_nests() {
        assert_eq!(too_deep_at("\"${ \"${ (1) }\" }\"", 2), Some(8));
        assert_eq!(too_deep_at("\"${ \"${ (1) }\" }\"", 3), None);
    }

    #[test]
    fn deep_brackets_are_found() {
        let text = "[".repeat(100_000);
        assert_eq!(too_deep_at(&text, 256), Some(256));
    }
}
