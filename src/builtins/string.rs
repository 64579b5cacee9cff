//! String builtins.

use std::rc::Rc;

use super::{Args, Builtin, Effect::Pure};
use crate::diag::Result;
use crate::model::Context;
use crate::model::Value;

pub const BUILTINS: &[Builtin] = &[
    Builtin { name: "upper", params: &["s: string"], effect: Pure, doc: "The string in upper case.", func: upper },
    Builtin { name: "lower", params: &["s: string"], effect: Pure, doc: "The string in lower case.", func: lower },
    Builtin {
        name: "trim",
        params: &["s: string"],
        effect: Pure,
        doc: "The string without leading and trailing white space.",
        func: trim,
    },
    Builtin {
        name: "split",
        params: &["s: string", "sep: string"],
        effect: Pure,
        doc: "The parts of `s` between occurrences of `sep`.",
        func: split,
    },
    Builtin {
        name: "join",
        params: &["items: list", "sep?: string"],
        effect: Pure,
        doc: "The strings of a list joined by `sep` (default \"\").",
        func: join,
    },
    Builtin {
        name: "replace",
        params: &["s: string", "from: string", "to: string"],
        effect: Pure,
        doc: "`s` with every `from` replaced by `to`.",
        func: replace,
    },
    Builtin {
        name: "starts_with",
        params: &["s: string", "prefix: string"],
        effect: Pure,
        doc: "Whether `s` starts with `prefix`.",
        func: starts_with,
    },
    Builtin {
        name: "ends_with",
        params: &["s: string", "suffix: string"],
        effect: Pure,
        doc: "Whether `s` ends with `suffix`.",
        func: ends_with,
    },
    Builtin { name: "lines", params: &["s: string"], effect: Pure, doc: "The lines of a string.", func: lines },
    Builtin {
        name: "indent",
        params: &["s: string", "width: int"],
        effect: Pure,
        doc: "Every non-empty line of `s` indented by `width` spaces.",
        func: indent,
    },
    Builtin {
        name: "pad",
        params: &["s: string", "width: int"],
        effect: Pure,
        doc: "`s` padded with spaces to `width` characters: on the right, or on the left when `width` is negative.",
        func: pad,
    },
    Builtin {
        name: "str",
        params: &["value"],
        effect: Pure,
        doc: "A value as text: strings as they are, other values as kenv writes them.",
        func: to_str,
    },
    Builtin {
        name: "int",
        params: &["value"],
        effect: Pure,
        doc: "An integer from a decimal string (or an int).",
        func: to_int,
    },
];

fn upper(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::str(&a.str(0)?.to_uppercase()))
}

fn lower(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::str(&a.str(0)?.to_lowercase()))
}

fn trim(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::str(a.str(0)?.trim()))
}

fn split(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (s, sep) = (a.str(0)?, a.str(1)?);
    if sep.is_empty() {
        return a.invalid(1, "the separator is empty");
    }
    Ok(Value::list(s.split(&*sep).map(Value::str).collect()))
}

fn join(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let items = a.list(0)?;
    let sep = a.opt_str(1)?.unwrap_or_else(|| Rc::from(""));
    let mut parts = Vec::with_capacity(items.len() * 2);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            parts.push(Value::Str((&sep).into()));
        }
        match item {
            Value::Str(_) | Value::Secret(_) => parts.push(item.clone()),
            other => return a.invalid(0, format!("item {i} is {}, not a string", other.type_name())),
        }
    }
    Ok(crate::model::Secret::concat(parts))
}

fn replace(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (s, from, to) = (a.str(0)?, a.str(1)?, a.str(2)?);
    if from.is_empty() {
        return a.invalid(1, "the text to replace is empty");
    }
    Ok(Value::str(&s.replace(&*from, &to)))
}

fn starts_with(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::Bool(a.str(0)?.starts_with(&*a.str(1)?)))
}

fn ends_with(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::Bool(a.str(0)?.ends_with(&*a.str(1)?)))
}

fn lines(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::list(a.str(0)?.lines().map(Value::str).collect()))
}

fn indent(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (s, width) = (a.str(0)?, a.int(1)?);
    if !(0..=64).contains(&width) {
        return a.invalid(1, "the width must be 0 to 64");
    }
    let pad = " ".repeat(width as usize);
    let out: Vec<String> =
        s.split('\n').map(|l| if l.is_empty() { String::new() } else { format!("{pad}{l}") }).collect();
    Ok(Value::str(&out.join("\n")))
}

fn pad(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (s, width) = (a.str(0)?, a.int(1)?);
    if !(-4096..=4096).contains(&width) {
        return a.invalid(1, "the width must be -4096 to 4096");
    }
    let fill = " ".repeat((width.unsigned_abs() as usize).saturating_sub(s.chars().count()));
    Ok(Value::str(&if width < 0 { format!("{fill}{s}") } else { format!("{s}{fill}") }))
}

fn to_str(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    match a.value(0) {
        v @ Value::Secret(_) => Ok(v),
        v => Ok(Value::str(&v.to_text())),
    }
}

fn to_int(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    match a.value(0) {
        Value::Int(n) => Ok(Value::Int(n)),
        Value::Str(s) => match s.trim().parse() {
            Ok(n) => Ok(Value::Int(n)),
            Err(_) => a.invalid(0, format!("\"{s}\" is not a decimal integer")),
        },
        other => a.invalid(0, format!("cannot make an integer from {}", other.type_name())),
    }
}
