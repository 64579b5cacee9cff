//! A declaration's fields, borrowed from it. Field access and `to_value` make kenv values of
//! them; JSON output streams them as they are. Building a record of values only to print it and
//! drop it was most of the time `kenv eval --json` spent on output (70 allocations an environment).

use std::rc::Rc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::{Record, Value};

use super::Decl;

/// Each declaration type lists its fields in name order, as a record keeps them.
pub type FieldList<'a, const N: usize> = [(&'static str, Field<'a>); N];

pub enum Field<'a> {
    /// Null, booleans, numbers and durations: values that cost nothing to make.
    Value(Value),
    /// A fixed word, such as a kind or a direction.
    Word(&'static str),
    Str(&'a Rc<str>),
    OptStr(Option<&'a Rc<str>>),
    Strs(&'a [Rc<str>]),
    Record(&'a Record),
    Fields(Vec<(&'static str, Field<'a>)>),
    Decls(Vec<Decl>),
}

impl<'a> Field<'a> {
    pub fn opt(s: &'a Option<Rc<str>>) -> Field<'a> {
        Field::OptStr(s.as_ref())
    }

    pub fn decls<T>(items: &[Rc<T>], decl: fn(Rc<T>) -> Decl) -> Field<'a> {
        Field::Decls(items.iter().cloned().map(decl).collect())
    }

    pub fn to_value(&self) -> Value {
        match self {
            Field::Value(v) => v.clone(),
            Field::Word(s) => Value::Str(super::field_name(s).into()),
            Field::Str(s) => Value::Str((*s).into()),
            Field::OptStr(s) => s.map_or(Value::Null, |s| Value::Str(s.into())),
            Field::Strs(items) => Value::list(items.iter().map(|s| Value::Str(s.into())).collect()),
            Field::Record(rec) => Value::Record(Record::clone(rec)),
            Field::Fields(fields) => record_of(fields),
            Field::Decls(items) => Value::list(items.iter().cloned().map(Value::Decl).collect()),
        }
    }
}

/// A record of fields; their names are shared, not allocated each time.
pub fn record_of(fields: &[(&'static str, Field)]) -> Value {
    Value::record(fields.iter().map(|(k, v)| (super::field_name(k), v.to_value())).collect())
}

/// One field's value, made without making the others.
pub fn field_of(fields: &[(&'static str, Field)], name: &str) -> Option<Value> {
    fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_value())
}

pub fn serialize_fields<S: Serializer>(fields: &[(&'static str, Field)], s: S) -> Result<S::Ok, S::Error> {
    debug_assert!(fields.is_sorted_by_key(|(k, _)| *k), "fields are listed in name order");
    let mut map = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(s),
            Field::Word(text) => s.serialize_str(text),
            Field::Str(text) => s.serialize_str(text),
            Field::OptStr(None) => s.serialize_unit(),
            Field::OptStr(Some(text)) => s.serialize_str(text),
            Field::Strs(items) => s.collect_seq(items.iter()),
            Field::Record(rec) => s.collect_map(rec.iter()),
            Field::Fields(fields) => serialize_fields(fields, s),
            Field::Decls(items) => s.collect_seq(items),
        }
    }
}
