//! JSON and YAML encoding of values.

use std::fmt::Write as _;

use super::{Args, Builtin, Effect::Pure};
use crate::diag::Result;
use crate::model::Context;
use crate::model::Value;

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "to_json",
        params: &["value", "pretty?"],
        effect: Pure,
        doc: "The value as JSON text; secrets are written as \"(secret)\".",
        func: to_json,
    },
    Builtin {
        name: "from_json",
        params: &["text: string"],
        effect: Pure,
        doc: "The value JSON text describes.",
        func: from_json,
    },
    Builtin {
        name: "to_yaml",
        params: &["value"],
        effect: Pure,
        doc: "The value as YAML text (block style); secrets are written as \"(secret)\".",
        func: to_yaml,
    },
];

fn to_json(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let json = a.value(0).to_json();
    let pretty = matches!(a.get(1), Some(Value::Bool(true)));
    let text = if pretty { serde_json::to_string_pretty(&json) } else { serde_json::to_string(&json) };
    Ok(Value::str(&text.unwrap_or_default()))
}

fn from_json(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let text = a.str(0)?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(j) => Ok(Value::from_json(j)),
        Err(e) => a.invalid(0, format!("not JSON: {e}")),
    }
}

fn to_yaml(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let mut out = String::new();
    write_yaml(&a.value(0).to_json(), 0, &mut out);
    Ok(Value::str(&out))
}

/// Block-style YAML. Scalars are written as JSON scalars, which YAML reads back unchanged.
fn write_yaml(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value as J;
    let pad = " ".repeat(indent);
    match v {
        J::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push_str("- ");
                write_nested(item, indent + 2, out);
            }
        }
        J::Object(map) if !map.is_empty() => {
            for (k, item) in map {
                let _ = write!(out, "{pad}{}:", serde_json::Value::String(k.clone()));
                match item {
                    J::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        write_yaml(item, indent + 2, out);
                    }
                    J::Object(o) if !o.is_empty() => {
                        out.push('\n');
                        write_yaml(item, indent + 2, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&item.to_string());
                        out.push('\n');
                    }
                }
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&scalar.to_string());
            out.push('\n');
        }
    }
}

/// An item after `- `: the first line continues the dash's line.
fn write_nested(v: &serde_json::Value, indent: usize, out: &mut String) {
    let mut inner = String::new();
    write_yaml(v, indent, &mut inner);
    out.push_str(inner.trim_start_matches(' '));
}
