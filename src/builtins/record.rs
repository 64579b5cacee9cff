//! Record builtins.

use super::{Args, Builtin, Effect::Pure};
use crate::diag::Result;
use crate::model::Context;
use crate::model::{Record, Value};

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "keys",
        params: &["record: record"],
        effect: Pure,
        doc: "The record's keys, in order.",
        func: keys,
    },
    Builtin {
        name: "values",
        params: &["record: record"],
        effect: Pure,
        doc: "The record's values, in key order.",
        func: values,
    },
    Builtin {
        name: "items",
        params: &["record: record"],
        effect: Pure,
        doc: "`[key, value]` pairs, in key order.",
        func: items,
    },
    Builtin {
        name: "has",
        params: &["record: record", "key: string"],
        effect: Pure,
        doc: "Whether the record has the key.",
        func: has,
    },
    Builtin {
        name: "get",
        params: &["record: record", "key: string", "default?"],
        effect: Pure,
        doc: "The value at `key`, or `default` (null) when it is missing.",
        func: get,
    },
    Builtin {
        name: "merge",
        params: &["base: record", "over: record"],
        effect: Pure,
        doc: "`base` with `over` laid on top; records inside both are merged too.",
        func: merge,
    },
    Builtin {
        name: "omit",
        params: &["record: record", "keys: list"],
        effect: Pure,
        doc: "The record without the given keys.",
        func: omit,
    },
];

fn keys(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::list(a.record(0)?.keys().map(|k| Value::Str(k.into())).collect()))
}

fn values(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::list(a.record(0)?.values().cloned().collect()))
}

fn items(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let rec = a.record(0)?;
    Ok(Value::list(rec.iter().map(|(k, v)| Value::list(vec![Value::Str(k.into()), v.clone()])).collect()))
}

fn has(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::Bool(a.record(0)?.contains_key(&a.str(1)?)))
}

fn get(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let rec = a.record(0)?;
    Ok(rec.get(&a.str(1)?).cloned().unwrap_or_else(|| a.value(2)))
}

fn deep_merge(base: &Record, over: &Record) -> Record {
    let merged = over.iter().map(|(k, v)| match (base.get(k), v) {
        (Some(Value::Record(b)), Value::Record(o)) => (k.clone(), Value::Record(deep_merge(b, o))),
        _ => (k.clone(), v.clone()),
    });
    base.iter().map(|(k, v)| (k.clone(), v.clone())).chain(merged).collect()
}

fn merge(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::Record(deep_merge(&a.record(0)?, &a.record(1)?)))
}

fn omit(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let rec = a.record(0)?;
    let mut left_out = Vec::new();
    for key in a.list(1)?.iter() {
        match key {
            Value::Str(k) => left_out.push(k.to_rc()),
            other => return a.invalid(1, format!("keys are strings, found {}", other.type_name())),
        }
    }
    let kept = rec.iter().filter(|(k, _)| !left_out.contains(k));
    Ok(Value::record(kept.map(|(k, v)| (k.clone(), v.clone())).collect()))
}
