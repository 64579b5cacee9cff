//! The builtin registry: every native function with its parameters, its effect and its doc.
//! Calls are checked against the registry (arity, names, effect) before the function runs.

mod aws;
mod encode;
mod host;
mod list;
mod misc;
mod net;
mod policies;
mod record;
mod string;

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::model::Builtin;
use crate::syntax::ast::Fnv;
// What the builtins below are written against.
use crate::model::{Args, Effect};

const GROUPS: &[&[Builtin]] = &[
    string::BUILTINS,
    list::BUILTINS,
    record::BUILTINS,
    net::BUILTINS,
    encode::BUILTINS,
    misc::BUILTINS,
    policies::BUILTINS,
    aws::BUILTINS,
    host::BUILTINS,
];

/// Found by name wherever a program calls a builtin, so hashed with FNV-1a: a builtin's name is a
/// few bytes, which std's SipHash spends ~200 instructions on.
static REGISTRY: LazyLock<HashMap<&'static str, &'static Builtin, Fnv>> =
    LazyLock::new(|| GROUPS.iter().flat_map(|g| g.iter()).map(|b| (b.name, b)).collect());

pub fn get(name: &str) -> Option<&'static Builtin> {
    REGISTRY.get(name).copied()
}

/// `range`, whose numbers a `for` counts rather than making the list (`list::numbers`).
pub fn is_range(b: &Builtin) -> bool {
    b.name == "range"
}

pub use list::numbers as range_numbers;

pub fn names() -> impl Iterator<Item = &'static str> {
    all().map(|b| b.name)
}

/// Every builtin, in documentation order.
pub fn all() -> impl Iterator<Item = &'static Builtin> {
    GROUPS.iter().flat_map(|g| g.iter())
}

#[cfg(test)]
mod tests {
    use crate::model::{param_type, typed, Value};

    #[test]
    fn every_declared_parameter_type_is_a_type_and_every_name_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for b in super::all() {
            assert!(seen.insert(b.name), "`{}` is registered twice", b.name);
            for spec in b.params {
                if let Some(ty) = param_type(spec) {
                    assert!(typed::check(ty, &Value::Null).is_some(), "`{}`: `{spec}` names no type", b.name);
                }
            }
        }
    }
}
