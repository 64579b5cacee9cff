//! The one vocabulary for reading typed values out of kenv values. Builtins' arguments (`Args`),
//! declaration attributes (`Attrs`) and install records ask for a `Typed` and get it, or the name
//! of the type that was expected; each reader reports a mismatch its own way (a builtin stops at
//! its argument, a declaration collects every bad attribute).

use std::rc::Rc;

use super::{Record, Value};

pub trait Typed: Sized {
    /// How messages name the type: "a string".
    const EXPECTED: &'static str;
    fn from_value(v: &Value) -> Option<Self>;
    /// Whether `v` is of this type, without making the typed value.
    fn is(v: &Value) -> bool {
        Self::from_value(v).is_some()
    }
}

impl Typed for Rc<str> {
    const EXPECTED: &'static str = "a string";
    fn from_value(v: &Value) -> Option<Self> {
        if let Value::Str(s) = v {
            Some(s.to_rc())
        } else {
            None
        }
    }

    /// Checking a builtin's string argument would otherwise copy text kept inline.
    fn is(v: &Value) -> bool {
        matches!(v, Value::Str(_))
    }
}

impl Typed for i64 {
    const EXPECTED: &'static str = "an integer";
    fn from_value(v: &Value) -> Option<Self> {
        if let Value::Int(n) = v {
            Some(*n)
        } else {
            None
        }
    }
}

impl Typed for bool {
    const EXPECTED: &'static str = "true or false";
    fn from_value(v: &Value) -> Option<Self> {
        if let Value::Bool(b) = v {
            Some(*b)
        } else {
            None
        }
    }
}

impl Typed for Rc<[Value]> {
    const EXPECTED: &'static str = "a list";
    fn from_value(v: &Value) -> Option<Self> {
        if let Value::List(items) = v {
            Some(items.clone())
        } else {
            None
        }
    }
}

impl Typed for Record {
    const EXPECTED: &'static str = "a record";
    fn from_value(v: &Value) -> Option<Self> {
        if let Value::Record(r) = v {
            Some(r.clone())
        } else {
            None
        }
    }
}

/// A duration, in seconds.
pub struct Seconds(pub i64);

impl Typed for Seconds {
    const EXPECTED: &'static str = "a duration like `30m`";
    fn from_value(v: &Value) -> Option<Self> {
        if let Value::Duration(s) = v {
            Some(Seconds(*s))
        } else {
            None
        }
    }
}

/// A function value: a kenv closure or a builtin.
pub struct Func(pub Value);

impl Typed for Func {
    const EXPECTED: &'static str = "a function";
    fn from_value(v: &Value) -> Option<Self> {
        matches!(v, Value::Func(_) | Value::Builtin(_)).then(|| Func(v.clone()))
    }
}

/// A list of strings (a secret among them is refused: it would be shown).
pub struct Strings(pub Vec<Rc<str>>);

impl Typed for Strings {
    const EXPECTED: &'static str = "a list of strings";
    fn from_value(v: &Value) -> Option<Self> {
        let Value::List(items) = v else { return None };
        items.iter().map(Rc::<str>::from_value).collect::<Option<_>>().map(Strings)
    }
}

/// Whether `v` is of the type a builtin parameter declares by name (`string`, `int`, `bool`,
/// `list`, `record`, `function`, `strings`); Err with how messages name the type when it is not.
/// None for a name that is no type (the registry's test keeps every declaration to known ones).
pub fn check(ty: &str, v: &Value) -> Option<Result<(), &'static str>> {
    fn is<T: Typed>(v: &Value) -> Result<(), &'static str> {
        T::is(v).then_some(()).ok_or(T::EXPECTED)
    }
    Some(match ty {
        "string" => is::<Rc<str>>(v),
        "int" => is::<i64>(v),
        "bool" => is::<bool>(v),
        "list" => is::<Rc<[Value]>>(v),
        "record" => is::<Record>(v),
        "function" => is::<Func>(v),
        "strings" => is::<Strings>(v),
        _ => return None,
    })
}

/// The strings of a string-or-list value (attributes that take one or several), or the type
/// name found instead.
pub fn string_items(value: &Value) -> Result<Vec<Rc<str>>, String> {
    match value {
        Value::Str(s) => Ok(vec![s.to_rc()]),
        Value::List(items) => items
            .iter()
            .map(|v| Rc::<str>::from_value(v).ok_or_else(|| format!("a list holding {}", v.type_name())))
            .collect(),
        other => Err(other.type_name().to_string()),
    }
}
