//! A value as JSON, for `kenv eval --json [--compact]`: the bytes serde_json writes for the
//! value's `Serialize` (compact, or as `to_writer_pretty` lays it out), written by hand into one
//! buffer that is handed to the output every 64 KiB. Going through serde_json cost ~95
//! instructions a string (its escaping looks at one byte at a time, and every piece is a write
//! of its own) and ~65 a value around it; here a string's bytes are checked eight at a time and
//! copied in one piece when nothing in them needs escaping, which is nearly always.

use std::io;

use super::fields::Field;
use super::{Decl, Record, Value, SECRET_SHOWN};
use crate::syntax::strings::DurationText;

/// How much is gathered before it is written out.
const CHUNK: usize = 1 << 16;

/// Writes `value` as JSON into `out`: compact (one line, no spaces), or laid out as serde_json's
/// `to_writer_pretty` lays it out (two spaces a level).
pub fn write(value: &Value, compact: bool, out: &mut impl io::Write) -> io::Result<()> {
    let mut json =
        Json { buf: Vec::with_capacity(CHUNK + 4096), depth: 0, pretty: !compact, keys: Keys::default(), out };
    json.value(value)?;
    json.out.write_all(&json.buf)
}

struct Json<'o, W> {
    buf: Vec<u8>,
    /// Open lists and records.
    depth: usize,
    pretty: bool,
    keys: Keys,
    out: &'o mut W,
}

/// Keys written before, quoted, escaped and followed by their colon, found by where their text
/// is: the records a literal makes share its keys, so a thousand records write the same few keys
/// over and over, each now one copy. Direct-mapped: a key that misses is rendered and takes the
/// slot. Keys outlive the writing (the value is borrowed), so an address is never reused in it.
struct Keys {
    /// The text's address and length, and where the rendering is in `text`.
    slots: [(usize, usize, usize, usize); 128],
    text: Vec<u8>,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys { slots: [(0, 0, 0, 0); 128], text: Vec::new() }
    }
}

impl<W: io::Write> Json<'_, W> {
    fn value(&mut self, value: &Value) -> io::Result<()> {
        match value {
            Value::Null => self.buf.extend_from_slice(b"null"),
            Value::Bool(b) => self.buf.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(n) => self.buf.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Value::Duration(secs) => self.string(&DurationText(*secs).to_string()),
            Value::Str(text) => self.string(text),
            Value::List(items) => return self.nested(b'[', b']', items.iter(), Self::value),
            Value::Record(rec) => return self.record(rec),
            Value::Func(_) | Value::Builtin(_) => self.string(&value.to_kenv()),
            Value::Secret(_) => self.string(SECRET_SHOWN),
            Value::Decl(decl) => return self.decl(decl),
        }
        Ok(())
    }

    fn record(&mut self, rec: &Record) -> io::Result<()> {
        self.nested(b'{', b'}', rec.iter(), |json, (key, value)| {
            json.key(key);
            json.value(value)
        })
    }

    fn decl(&mut self, decl: &Decl) -> io::Result<()> {
        decl.with_fields(|fields| self.fields(fields))
    }

    fn fields(&mut self, fields: &[(&'static str, Field)]) -> io::Result<()> {
        self.nested(b'{', b'}', fields.iter(), |json, (key, field)| {
            json.key(key);
            json.field(field)
        })
    }

    fn field(&mut self, field: &Field) -> io::Result<()> {
        match field {
            Field::Value(value) => return self.value(value),
            Field::Word(text) => self.string(text),
            Field::Str(text) | Field::OptStr(Some(text)) => self.string(text),
            Field::OptStr(None) => self.buf.extend_from_slice(b"null"),
            Field::Strs(items) => {
                return self.nested(b'[', b']', items.iter(), |json, item| {
                    json.string(item);
                    Ok(())
                })
            }
            Field::Record(rec) => return self.record(rec),
            Field::Fields(fields) => return self.fields(fields),
            Field::Decls(items) => return self.nested(b'[', b']', items.iter(), Self::decl),
        }
        Ok(())
    }

    /// A list or a record: its elements, each on a line of its own when laid out; empty, `[]` or
    /// `{}`. What is gathered is written out, `CHUNK` at a time, between elements.
    fn nested<T>(
        &mut self,
        open: u8,
        close: u8,
        elements: impl Iterator<Item = T>,
        mut each: impl FnMut(&mut Self, T) -> io::Result<()>,
    ) -> io::Result<()> {
        self.buf.push(open);
        self.depth += 1;
        let mut empty = true;
        for element in elements {
            if !empty {
                self.buf.push(b',');
            }
            if self.pretty {
                self.line();
            }
            empty = false;
            each(self, element)?;
            if self.buf.len() >= CHUNK {
                // Exactly `CHUNK` a write: a pipe holds 64 KiB, and a write just past it
                // would wait for the reader with one byte left.
                self.out.write_all(&self.buf[..CHUNK])?;
                self.buf.drain(..CHUNK);
            }
        }
        self.depth -= 1;
        if self.pretty && !empty {
            self.line();
        }
        self.buf.push(close);
        Ok(())
    }

    /// A line break and the current depth's indentation.
    fn line(&mut self) {
        self.buf.push(b'\n');
        self.buf.resize(self.buf.len() + 2 * self.depth, b' ');
    }

    fn key(&mut self, key: &str) {
        let at = key.as_ptr() as usize;
        let slot = ((at >> 4) ^ (at >> 11)) % self.keys.slots.len();
        let (was_at, was_len, start, end) = self.keys.slots[slot];
        if (was_at, was_len) != (at, key.len()) {
            if self.keys.text.len() > CHUNK {
                self.keys = Keys::default(); // so many keys that they are not worth keeping
            }
            let start = self.keys.text.len();
            string_into(&mut self.keys.text, key);
            self.keys.text.extend_from_slice(if self.pretty { b": " } else { b":" });
            self.keys.slots[slot] = (at, key.len(), start, self.keys.text.len());
            return self.buf.extend_from_slice(&self.keys.text[start..]);
        }
        self.buf.extend_from_slice(&self.keys.text[start..end]);
    }

    fn string(&mut self, s: &str) {
        string_into(&mut self.buf, s);
    }
}

/// A string, quoted, escaped as serde_json escapes: `"`, `\` and the control characters.
fn string_into(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    if plain(bytes) {
        buf.extend_from_slice(bytes);
    } else {
        escape_into(buf, bytes);
    }
    buf.push(b'"');
}

/// Whether nothing in `bytes` needs escaping, looked at eight bytes at a time (the last eight
/// overlapping the ones before; a string of under eight in one word made of its pieces).
fn plain(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    // Whether any byte of `x` is below `n` (exact for n <= 128); a byte equal to `c` is below 1
    // after `x ^ c`.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & (ONES << 7) != 0;
    let plain =
        |x: u64| !(below(x, 0x20) | below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1));
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default()));
    match n {
        8.. => (0..n / 8).all(|k| plain(word(8 * k))) && plain(word(n - 8)),
        4.. => plain(half(0) | half(n - 4) << 32),
        1.. => plain(u64::from_le_bytes([bytes[0], bytes[n / 2], bytes[n - 1], b'a', b'a', b'a', b'a', b'a'])),
        0 => true,
    }
}

fn escape_into(buf: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\t' => b't',
            b'\r' => b'r',
            0x08 => b'b',
            0x0c => b'f',
            0..0x20 => 0,
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match short {
            0 => buf.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
            c => buf.extend_from_slice(&[b'\\', c]),
        }
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(value: &Value, compact: bool) -> String {
        let mut out = Vec::new();
        write(value, compact, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_is_laid_out_as_serde_json_lays_it_out_at_any_depth() {
        let mut value = Value::list(vec![]);
        for depth in 0..40 {
            let mut rec = crate::model::Record::new();
            rec.insert("inner".into(), value);
            rec.insert("depth".into(), Value::Int(depth));
            rec.insert("empty".into(), Value::list(vec![]));
            rec.insert("none".into(), Value::record(Record::new()));
            value = Value::list(vec![Value::record(rec), Value::str("x")]);
        }
        assert_eq!(ours(&value, false), serde_json::to_string_pretty(&value).unwrap());
        assert_eq!(ours(&value, true), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn every_character_is_escaped_as_serde_json_escapes_it_wherever_it_stands() {
        // Every length up to 25: the words a string is looked at in differ with its length.
        for c in (0..=0x7f).map(char::from).chain(['é', '\u{2028}', '😀']) {
            for len in 1..=25 {
                for at in 0..len {
                    let s: String = (0..len).map(|i| if i == at { c } else { 'x' }).collect();
                    let value = Value::str(&s);
                    assert_eq!(ours(&value, true), serde_json::to_string(&value).unwrap(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn keys_written_before_are_written_the_same_whichever_record_shares_them() {
        // 300 keys shared among 400 records: more than the remembered slots, so they take each
        // other's; then as many long keys as overflow what is kept.
        let shared: Vec<std::rc::Rc<str>> = (0..300).map(|i| format!("k{i}\"{}", "\n".repeat(i % 3)).into()).collect();
        let long = (0..2000).map(|i| (format!("{i:0>60}").into(), Value::Int(i)));
        let records = (0..400).map(|r| {
            let keys =
                (0..10).map(|j| shared[(r * 7 + j * 31) % 300].clone()).collect::<std::collections::BTreeSet<_>>();
            Value::record(keys.into_iter().map(|k| (k, Value::Int(r as i64))).collect())
        });
        let value = Value::list(records.chain([Value::record(long.collect())]).collect());
        assert_eq!(ours(&value, true), serde_json::to_string(&value).unwrap());
        assert_eq!(ours(&value, false), serde_json::to_string_pretty(&value).unwrap());
    }

    fn values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (0..1_000_000i64).prop_map(Value::Duration),
            any::<String>().prop_map(|s| Value::str(&s)),
            "[ -~\t\n]{0,40}".prop_map(|s| Value::str(&s)),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::list),
                prop::collection::btree_map("[a-z\"\\\\\n]{0,9}", inner, 0..6)
                    .prop_map(|m| Value::record(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_is_written_byte_for_byte_as_serde_json_writes_it(value in values()) {
            prop_assert_eq!(ours(&value, true), serde_json::to_string(&value).unwrap());
            prop_assert_eq!(ours(&value, false), serde_json::to_string_pretty(&value).unwrap());
        }
    }
}
