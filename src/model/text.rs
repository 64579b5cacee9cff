//! A string value: ASCII text of up to 22 bytes kept inside the value itself, other text shared
//! behind an `Rc`. Most strings a program builds are short (names, addresses, tags, notes); each
//! used to be an allocation of its own, which costs glibc ~170 instructions when the heap has to
//! grow for it (a program's result is kept whole until it is written out) and a page fault every
//! 4 KiB. Inline text is `AsciiChar`s, which read back as `str` as they are: bytes would need
//! their UTF-8 checked again at every read (~125 instructions for a short string, and JSON output
//! reads every one). A `Value` stays 24 bytes either way.

use std::rc::Rc;

use ascii::{AsciiChar, AsciiStr};

/// The longest text kept inline: what fits in a `Value` beside the tags.
const INLINE: usize = 22;

#[derive(Clone)]
pub enum Text {
    Inline(u8, [AsciiChar; INLINE]),
    Shared(Rc<str>),
}

impl Text {
    /// The text as a shared string (copied into one when it is inline).
    pub fn to_rc(&self) -> Rc<str> {
        match self {
            Text::Inline(..) => Rc::from(&**self),
            Text::Shared(s) => s.clone(),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        match self {
            Text::Inline(len, chars) => <&AsciiStr>::from(&chars[..usize::from(*len)]).as_str(),
            Text::Shared(s) => s,
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        if let Some(Ok(ascii)) = (s.len() <= INLINE).then(|| AsciiStr::from_ascii(s.as_bytes())) {
            let mut chars = [AsciiChar::Null; INLINE];
            chars[..s.len()].copy_from_slice(ascii.as_slice());
            return Text::Inline(s.len() as u8, chars);
        }
        Text::Shared(Rc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<Rc<str>> for Text {
    fn from(s: Rc<str>) -> Text {
        Text::Shared(s)
    }
}

impl From<&Rc<str>> for Text {
    fn from(s: &Rc<str>) -> Text {
        Text::Shared(s.clone())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ascii_is_inline_and_other_text_shared_and_both_read_back_whole() {
        let (x22, x23, e5) = ("x".repeat(22), "x".repeat(23), "é".repeat(5));
        let cases = [("", true), ("user7@example.com\0", true), (&x22, true), (&x23, false), (&e5, false)];
        for (s, inline) in cases {
            let t = Text::from(s);
            assert_eq!(matches!(t, Text::Inline(..)), inline, "{s}");
            assert_eq!(&*t, s);
            assert_eq!(&*Text::from(s.to_string()), s);
            assert_eq!(&*t.to_rc(), s);
        }
    }
}
