//! Positions as LSP counts them (a line, and UTF-16 code units into it) and byte offsets, and a
//! buffer's incremental changes.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The byte offset of a position; past a line's end is its end, past the last line the text's.
pub fn offset(text: &str, pos: Position) -> usize {
    let mut start = 0;
    for _ in 0..pos.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line = &text[start..text[start..].find('\n').map_or(text.len(), |i| start + i)];
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= pos.character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    start + line.len()
}

/// The position of a byte offset (clamped to the text, and to a character boundary).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column = before.rsplit('\n').next().map_or(0, |l| l.encode_utf16().count());
    Position::new(line as u32, column as u32)
}

pub fn range(text: &str, start: usize, end: usize) -> Range {
    Range::new(position(text, start), position(text, end))
}

/// The text after an editor's change: a range replaced, or (no range) the whole text.
pub fn apply(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        Some(r) => {
            let (start, end) = (offset(text, r.start), offset(text, r.end));
            text.replace_range(start..end.max(start), &change.text);
        }
        None => *text = change.text,
    }
}

/// The name (letters, digits, `_`) around a byte offset, and where it starts.
pub fn word_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let offset = offset.min(text.len());
    let before = text[..offset].char_indices().rev().find(|(_, c)| !is_word(*c));
    let start = before.map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[offset..].find(|c| !is_word(c)).map_or(text.len(), |i| offset + i);
    (start < end).then(|| (start, &text[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "let a = \"é𝄞\"\nlet b = 1\n";
        let after = text.find('"').unwrap() + 1 + 'é'.len_utf8() + '𝄞'.len_utf8();
        assert_eq!(position(text, after), Position::new(0, 12));
        assert_eq!(offset(text, Position::new(0, 12)), after);
        assert_eq!(offset(text, Position::new(1, 4)), text.find("b =").unwrap());
        assert_eq!(offset(text, Position::new(1, 99)), text.len() - 1);
        assert_eq!(offset(text, Position::new(9, 0)), text.len());
        let mut t = text.to_string();
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(1, 4), Position::new(1, 5))),
            range_length: None,
            text: "bb".into(),
        };
        apply(&mut t, change);
        assert!(t.ends_with("let bb = 1\n"));
        assert_eq!(word_at("x + join(y)", 6), Some((4, "join")));
        assert_eq!(word_at("é€join", "é€jo".len()), Some(("é€".len(), "join")));
    }
}
