//! Runtime values. Cheap to clone: everything large is behind an `Rc`.

use std::fmt::Write as _;
use std::rc::Rc;

use super::Builtin;
use super::Decl;
use crate::source::Span;
use crate::syntax::ast::FnDef;
use crate::syntax::strings::DurationText;

use super::scope::Scope;

use super::record::Record;
use super::text::Text;

#[derive(Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Seconds.
    Duration(i64),
    Str(Text),
    List(Rc<[Value]>),
    Record(Record),
    Func(Rc<Closure>),
    Builtin(&'static Builtin),
    Secret(Rc<Secret>),
    Decl(Decl),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_kenv())
    }
}

pub struct Closure {
    pub def: Rc<FnDef>,
    pub scope: Scope,
}

/// A value that must never be shown: a reference to a secret, or text built from one. Its content
/// is only fetched when an effect needs it, and no rendering of it ever includes that content.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub parts: Vec<SecretPart>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretPart {
    Text(Rc<str>),
    Ref(SecretRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretRef {
    /// The Secrets Manager secret id, or the SSM parameter name.
    pub name: Rc<str>,
    pub store: SecretStore,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStore {
    SecretsManager,
    Parameter,
}

impl Secret {
    /// `text ++ secret`, `"${secret}"`: concatenation keeps the secret type.
    pub fn concat(parts: impl IntoIterator<Item = Value>) -> Value {
        let mut out = Concat::default();
        for part in parts {
            out.push(&part);
        }
        out.finish()
    }
}

/// Concatenation, a part at a time: a string until a secret joins it, then a secret.
#[derive(Default)]
pub struct Concat {
    /// Text since the last secret.
    text: String,
    /// Everything before `text`, when a secret is among it.
    secret: Option<Vec<SecretPart>>,
}

impl Concat {
    pub fn push(&mut self, part: &Value) {
        match part {
            Value::Secret(s) => {
                let parts = self.secret.get_or_insert_with(Vec::new);
                if !self.text.is_empty() {
                    parts.push(SecretPart::Text(Rc::from(std::mem::take(&mut self.text))));
                }
                parts.extend(s.parts.iter().cloned());
            }
            Value::Str(s) => self.push_str(s),
            Value::Int(n) => self.push_str(itoa::Buffer::new().format(*n)),
            other => other.write_kenv(&mut self.text),
        }
    }

    /// Concatenation into `buffer` (emptied), for `finish_keeping` to hand back.
    pub fn reusing(mut buffer: String) -> Concat {
        buffer.clear();
        Concat { text: buffer, secret: None }
    }

    pub fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// The result, and the buffer it was built in for the next concatenation: the text is
    /// copied out once instead of a new buffer growing for every string.
    pub fn finish_keeping(self) -> (Value, String) {
        match self.secret {
            None => (Value::Str(Text::from(self.text.as_str())), self.text),
            Some(_) => (self.finish(), String::new()),
        }
    }

    pub fn finish(self) -> Value {
        match self.secret {
            None => Value::Str(Text::from(self.text)),
            Some(mut parts) => {
                if !self.text.is_empty() {
                    parts.push(SecretPart::Text(Rc::from(self.text)));
                }
                Value::Secret(Rc::new(Secret { parts }))
            }
        }
    }
}

/// What every rendering of a secret shows.
pub const SECRET_SHOWN: &str = "(secret)";

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Text::from(s))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(items.into())
    }

    pub fn record(rec: Record) -> Value {
        Value::Record(rec)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Duration(_) => "duration",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Record(_) => "record",
            Value::Func(_) | Value::Builtin(_) => "function",
            Value::Secret(_) => "secret",
            Value::Decl(d) => d.type_name(),
        }
    }

    pub fn truthy(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The names of a record's or a declaration's fields, in order.
    pub fn field_names(&self) -> Vec<Rc<str>> {
        match self {
            Value::Record(rec) => rec.keys().cloned().collect(),
            Value::Decl(d) => d.field_names().into_iter().map(Rc::from).collect(),
            _ => Vec::new(),
        }
    }

    /// Text for interpolation and `str()`: strings as they are, other values in kenv syntax.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) => s.to_string(),
            other => other.to_kenv(),
        }
    }

    /// The value written as kenv source, as `kenv eval` and the REPL print it.
    pub fn to_kenv(&self) -> String {
        let mut out = String::new();
        self.write_kenv(&mut out);
        out
    }

    fn write_kenv(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(itoa::Buffer::new().format(*n)),
            Value::Duration(s) => write!(out, "{}", DurationText(*s)).unwrap(),
            Value::Str(s) => write_quoted(out, s),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_kenv(out);
                }
                out.push(']');
            }
            Value::Record(rec) if rec.is_empty() => out.push_str("{}"),
            Value::Record(rec) => {
                out.push_str("{ ");
                for (i, (k, v)) in rec.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_key(out, k);
                    out.push_str(": ");
                    v.write_kenv(out);
                }
                out.push_str(" }");
            }
            Value::Func(c) => match &c.def.name {
                Some(n) => write!(out, "<fn {n}>").unwrap(),
                None => out.push_str("<fn>"),
            },
            Value::Builtin(b) => write!(out, "<builtin {}>", b.name).unwrap(),
            Value::Secret(_) => out.push_str(SECRET_SHOWN),
            Value::Decl(d) => d.to_value().write_kenv_decl(d, out),
        }
    }

    /// `to_kenv` laid out for reading: values that do not fit in `width` columns are broken over
    /// lines, one item or field per line, indented by two spaces per level.
    pub fn to_kenv_pretty(&self, width: usize) -> String {
        let mut out = String::new();
        self.write_pretty(0, width, &mut out);
        out
    }

    fn write_pretty(&self, indent: usize, width: usize, out: &mut String) {
        let flat = self.to_kenv();
        if indent + flat.len() <= width {
            out.push_str(&flat);
            return;
        }
        let pad = " ".repeat(indent + 2);
        match self {
            Value::List(items) => {
                out.push_str("[\n");
                for item in items.iter() {
                    out.push_str(&pad);
                    item.write_pretty(indent + 2, width, out);
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent));
                out.push(']');
            }
            Value::Record(rec) => {
                out.push_str("{\n");
                for (k, v) in rec.iter() {
                    out.push_str(&pad);
                    write_key(out, k);
                    out.push_str(": ");
                    v.write_pretty(indent + 2, width, out);
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent));
                out.push('}');
            }
            Value::Decl(d) => {
                write!(out, "{} ", d.type_name()).unwrap();
                d.to_value().write_pretty(indent, width, out);
            }
            _ => out.push_str(&flat),
        }
    }

    fn write_kenv_decl(&self, decl: &Decl, out: &mut String) {
        write!(out, "{} ", decl.type_name()).unwrap();
        self.write_kenv(out);
    }

    /// A JSON value as a kenv value: objects are records, numbers integers (text when they are
    /// not whole or too large).
    pub fn from_json(j: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => n.as_i64().map_or_else(|| Value::str(&n.to_string()), Value::Int),
            J::String(s) => Value::str(&s),
            J::Array(items) => Value::list(items.into_iter().map(Value::from_json).collect()),
            J::Object(map) => {
                Value::record(map.into_iter().map(|(k, v)| (k.as_str().into(), Value::from_json(v))).collect())
            }
        }
    }

    /// A typed form (what the AWS reads return) as the kenv value of its JSON shape.
    pub fn from_serialize(typed: &impl serde::Serialize) -> Value {
        serde_json::to_value(typed).map_or(Value::Null, Value::from_json)
    }

    /// The JSON tree of a value: what its `serde::Serialize` (below) streams.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Structural equality; functions are equal only to themselves; secrets only to identical
    /// references (their content is never fetched to compare).
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(y)),
            (Value::Record(a), Value::Record(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| ka == kb && va.equals(vb))
            }
            (Value::Func(a), Value::Func(b)) => Rc::ptr_eq(a, b),
            (Value::Builtin(a), Value::Builtin(b)) => std::ptr::eq(*a, *b),
            (Value::Secret(a), Value::Secret(b)) => a == b,
            (Value::Decl(a), Value::Decl(b)) => a.same(b),
            _ => false,
        }
    }
}

pub fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c if c.is_control() => write!(out, "\\u{{{:x}}}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_key(out: &mut String, key: &str) {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        out.push_str(key);
    } else {
        write_quoted(out, key);
    }
}

/// Streams the JSON `to_json` builds, without the intermediate tree: secrets are "(secret)",
/// durations their kenv text, functions their kenv rendering.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Duration(secs) => s.collect_str(&DurationText(*secs)),
            Value::Str(text) => s.serialize_str(text),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Record(rec) => {
                let mut map = s.serialize_map(Some(rec.len()))?;
                for (k, v) in rec.iter() {
                    map.serialize_entry(&**k, v)?;
                }
                map.end()
            }
            Value::Func(_) | Value::Builtin(_) => s.serialize_str(&self.to_kenv()),
            Value::Secret(_) => s.serialize_str(SECRET_SHOWN),
            Value::Decl(d) => d.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_value_is_three_words() {
        // Strings of up to 22 bytes are kept inside it (`Text`); anything bigger is behind a pointer.
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
    }
}
