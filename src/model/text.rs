//! A string value: up to 22 bytes kept inside the value itself, longer ones shared behind an
//! `Rc`. Most strings a program builds are short (names, addresses, tags, notes); each used to be
//! an allocation of its own, which costs glibc ~170 instructions when the heap has to grow for
//! it (a program's result is kept whole until it is written out) and a page fault every 4 KiB.
//! A `Value` stays 24 bytes either way.

use std::rc::Rc;

/// The longest text kept inline: what fits in a `Value` beside the tags.
const INLINE: usize = 22;

#[derive(Clone)]
pub enum Text {
    Inline(u8, [u8; INLINE]),
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
            // Always whole UTF-8: an inline text is copied from a `str`, whole.
            Text::Inline(len, bytes) => std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            Text::Shared(s) => s,
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        if s.len() > INLINE {
            return Text::Shared(Rc::from(s));
        }
        let mut bytes = [0; INLINE];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Text::Inline(s.len() as u8, bytes)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        match s.len() > INLINE {
            true => Text::Shared(Rc::from(s)),
            false => Text::from(s.as_str()),
        }
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
    fn short_text_is_inline_and_long_text_shared_and_both_read_back_whole() {
        let exactly = "é".repeat(11); // 22 bytes, multi-byte characters
        for (s, inline) in [("", true), ("user7@example.com", true), (exactly.as_str(), true), ("x".repeat(23).as_str(), false)] {
            let t = Text::from(s);
            assert_eq!(matches!(t, Text::Inline(..)), inline, "{s}");
            assert_eq!(&*t, s);
            assert_eq!(&*Text::from(s.to_string()), s);
            assert_eq!(&*t.to_rc(), s);
        }
        assert_eq!(std::mem::size_of::<crate::model::Value>(), 24);
    }
}
