//! List builtins. Functions passed to them are kenv closures or builtins.

use super::{Args, Builtin, Effect::Pure};
use crate::diag::Result;
use crate::model::Context;
use crate::model::Value;

/// The longest list `range` makes; larger ones are almost always a mistake.
const MAX_RANGE: i64 = 10_000_000;

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "len",
        params: &["value"],
        effect: Pure,
        doc: "The length of a list, record (its keys) or string (its characters).",
        func: len,
    },
    Builtin {
        name: "range",
        params: &["start: int", "end?: int"],
        effect: Pure,
        doc: "The integers from `start` up to, not including, `end`; `range(n)` is 0 to n.",
        func: range,
    },
    Builtin {
        name: "map",
        params: &["items: list", "f: function"],
        effect: Pure,
        doc: "`f(x)` for each item.",
        func: map,
    },
    Builtin {
        name: "filter",
        params: &["items: list", "f: function"],
        effect: Pure,
        doc: "The items for which `f(x)` is true.",
        func: filter,
    },
    Builtin {
        name: "reduce",
        params: &["items: list", "init", "f: function"],
        effect: Pure,
        doc: "Folds the items with `f(acc, x)`, starting from `init`.",
        func: reduce,
    },
    Builtin {
        name: "any",
        params: &["items: list", "f?: function"],
        effect: Pure,
        doc: "Whether `f(x)` (or the item itself) is true for any item.",
        func: any,
    },
    Builtin {
        name: "all",
        params: &["items: list", "f?: function"],
        effect: Pure,
        doc: "Whether `f(x)` (or the item itself) is true for every item.",
        func: all,
    },
    Builtin {
        name: "contains",
        params: &["collection", "item"],
        effect: Pure,
        doc: "Whether a list holds an item, a record a key, or a string a substring.",
        func: contains,
    },
    Builtin {
        name: "sort",
        params: &["items: list", "key?: function"],
        effect: Pure,
        doc: "The items in ascending order (ints, durations or strings), by `key(x)` if given.",
        func: sort,
    },
    Builtin {
        name: "unique",
        params: &["items: list"],
        effect: Pure,
        doc: "The items without repeats, first occurrence kept.",
        func: unique,
    },
    Builtin {
        name: "flatten",
        params: &["items: list"],
        effect: Pure,
        doc: "A list of lists as one list.",
        func: flatten,
    },
    Builtin {
        name: "reverse",
        params: &["items: list"],
        effect: Pure,
        doc: "The items in reverse order.",
        func: reverse,
    },
    Builtin {
        name: "sum",
        params: &["items: list"],
        effect: Pure,
        doc: "The sum of a list of ints (or durations).",
        func: sum,
    },
    Builtin {
        name: "min",
        params: &["items"],
        effect: Pure,
        doc: "The smallest item; null for an empty list.",
        func: min,
    },
    Builtin {
        name: "max",
        params: &["items"],
        effect: Pure,
        doc: "The largest item; null for an empty list.",
        func: max,
    },
    Builtin {
        name: "enumerate",
        params: &["items: list"],
        effect: Pure,
        doc: "`[index, item]` pairs.",
        func: enumerate,
    },
    Builtin {
        name: "zip",
        params: &["a: list", "b: list"],
        effect: Pure,
        doc: "`[a[i], b[i]]` pairs, as long as the shorter list.",
        func: zip,
    },
    Builtin {
        name: "slice",
        params: &["items", "start: int", "end?: int"],
        effect: Pure,
        doc: "Items (or characters) from `start` up to `end`; negative positions count from the end.",
        func: slice,
    },
];

fn len(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::Int(match a.value(0) {
        Value::List(l) => l.len(),
        Value::Record(r) => r.len(),
        Value::Str(s) => s.chars().count(),
        other => return a.invalid(0, format!("{} has no length", other.type_name())),
    } as i64))
}

fn range(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::list(numbers(a)?.map(Value::Int).collect()))
}

/// `range`'s numbers, not yet a list (a `for` over `range(…)` counts them instead).
pub fn numbers(a: &Args) -> Result<std::ops::Range<i64>> {
    let (start, end) = match a.opt_int(1)? {
        Some(end) => (a.int(0)?, end),
        None => (0, a.int(0)?),
    };
    if end.saturating_sub(start) > MAX_RANGE {
        return a.invalid(0, format!("a range of more than {MAX_RANGE} numbers"));
    }
    Ok(start..end)
}

fn map(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (items, f) = (a.list(0)?, a.func(1)?);
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        out.push(cx.call(&f, vec![item.clone()], a.span)?);
    }
    Ok(Value::list(out))
}

/// `f(item)` as a bool, for filter/any/all; without `f`, the item itself.
fn test(cx: &mut dyn Context, a: &Args, f: Option<&Value>, item: &Value) -> Result<bool> {
    let v = match f {
        Some(f) => cx.call(f, vec![item.clone()], a.span)?,
        None => item.clone(),
    };
    match v {
        Value::Bool(b) => Ok(b),
        other => a.invalid(1, format!("the test returned {}, not a bool", other.type_name())),
    }
}

fn filter(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (items, f) = (a.list(0)?, a.func(1)?);
    let mut out = Vec::new();
    for item in items.iter() {
        if test(cx, a, Some(&f), item)? {
            out.push(item.clone());
        }
    }
    Ok(Value::list(out))
}

fn reduce(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (items, f) = (a.list(0)?, a.func(2)?);
    let mut acc = a.value(1);
    for item in items.iter() {
        acc = cx.call(&f, vec![acc, item.clone()], a.span)?;
    }
    Ok(acc)
}

fn any(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let f = a.get(1).map(|_| a.func(1)).transpose()?;
    for item in items.iter() {
        if test(cx, a, f.as_ref(), item)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn all(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let f = a.get(1).map(|_| a.func(1)).transpose()?;
    for item in items.iter() {
        if !test(cx, a, f.as_ref(), item)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn contains(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let item = a.value(1);
    Ok(Value::Bool(match a.value(0) {
        Value::List(l) => l.iter().any(|x| x.equals(&item)),
        Value::Record(r) => matches!(&item, Value::Str(k) if r.contains_key(k)),
        Value::Str(s) => matches!(&item, Value::Str(n) if s.contains(&**n)),
        other => return a.invalid(0, format!("{} is not a list, record or string", other.type_name())),
    }))
}

/// A sort key's order; only ints, durations and strings compare.
fn compare(x: &Value, y: &Value) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Value::Int(p), Value::Int(q)) | (Value::Duration(p), Value::Duration(q)) => Some(p.cmp(q)),
        (Value::Str(p), Value::Str(q)) => Some(p.cmp(q)),
        _ => None,
    }
}

fn sort(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let key = a.get(1).map(|_| a.func(1)).transpose()?;
    let mut keyed = Vec::with_capacity(items.len());
    for item in items.iter() {
        let k = match &key {
            Some(f) => cx.call(f, vec![item.clone()], a.span)?,
            None => item.clone(),
        };
        keyed.push((k, item.clone()));
    }
    if let Some(w) = keyed.windows(2).find(|w| compare(&w[0].0, &w[1].0).is_none()) {
        return a.invalid(0, format!("cannot order {} and {}", w[0].0.type_name(), w[1].0.type_name()));
    }
    keyed.sort_by(|x, y| compare(&x.0, &y.0).unwrap_or(std::cmp::Ordering::Equal));
    Ok(Value::list(keyed.into_iter().map(|(_, v)| v).collect()))
}

fn unique(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let mut out: Vec<Value> = Vec::new();
    for item in items.iter() {
        if !out.iter().any(|x| x.equals(item)) {
            out.push(item.clone());
        }
    }
    Ok(Value::list(out))
}

fn flatten(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let mut out = Vec::new();
    for item in items.iter() {
        match item {
            Value::List(inner) => out.extend(inner.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    Ok(Value::list(out))
}

fn reverse(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::list(a.list(0)?.iter().rev().cloned().collect()))
}

fn sum(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let mut total = Value::Int(0);
    for item in items.iter() {
        total = match (&total, item) {
            (Value::Int(t), Value::Int(n)) => Value::Int(t.checked_add(*n).ok_or_else(|| overflow(a))?),
            (Value::Int(0), Value::Duration(n)) => Value::Duration(*n),
            (Value::Duration(t), Value::Duration(n)) => Value::Duration(t.checked_add(*n).ok_or_else(|| overflow(a))?),
            (_, other) => return a.invalid(0, format!("cannot add {}", other.type_name())),
        };
    }
    Ok(total)
}

fn overflow(a: &Args) -> Box<crate::diag::Diag> {
    crate::diag::Diag::new(crate::diag::ErrorKind::Overflow, a.span).boxed()
}

fn extreme(a: &Args, want: std::cmp::Ordering) -> Result<Value> {
    let items = a.list(0)?;
    let mut best: Option<&Value> = None;
    for item in items.iter() {
        best = match best {
            None => Some(item),
            Some(b) => match compare(item, b) {
                Some(o) if o == want => Some(item),
                Some(_) => Some(b),
                None => return a.invalid(0, format!("cannot compare {} and {}", item.type_name(), b.type_name())),
            },
        };
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn min(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    extreme(a, std::cmp::Ordering::Less)
}

fn max(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    extreme(a, std::cmp::Ordering::Greater)
}

fn enumerate(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    Ok(Value::list(items.iter().enumerate().map(|(i, x)| Value::list(vec![Value::Int(i as i64), x.clone()])).collect()))
}

fn zip(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (x, y) = (a.list(0)?, a.list(1)?);
    Ok(Value::list(x.iter().zip(y.iter()).map(|(p, q)| Value::list(vec![p.clone(), q.clone()])).collect()))
}

fn slice(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let bounds = |len: usize| -> Result<(usize, usize)> {
        let clamp = |n: i64| {
            if n < 0 {
                (len as i64 + n).max(0) as usize
            } else {
                (n as usize).min(len)
            }
        };
        let start = clamp(a.int(1)?);
        let end = a.opt_int(2)?.map_or(len, clamp);
        Ok((start, end.max(start)))
    };
    match a.value(0) {
        Value::List(items) => {
            let (s, e) = bounds(items.len())?;
            Ok(Value::List(items[s..e].into()))
        }
        Value::Str(text) => {
            let chars: Vec<char> = text.chars().collect();
            let (s, e) = bounds(chars.len())?;
            Ok(Value::str(&chars[s..e].iter().collect::<String>()))
        }
        other => a.invalid(0, format!("{} cannot be sliced", other.type_name())),
    }
}
