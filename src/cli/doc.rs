//! `kenv doc`: the builtin registry's documentation.

use super::{FAILED, OK};
use crate::builtins;
use crate::diag::suggest;
use crate::model::Builtin;

pub fn run(name: Option<&str>) -> i32 {
    match name {
        None => {
            let text: Vec<String> = builtins::all().map(entry).collect();
            super::out(&text.join("\n"));
            OK
        }
        Some(name) => match builtins::get(name) {
            Some(b) => {
                super::out(&entry(b));
                OK
            }
            None => {
                let hint = suggest(name, builtins::names()).map_or(String::new(), |s| format!(" ({s})"));
                super::err(&format!("kenv: no builtin named `{name}`{hint}; `kenv doc` lists them\n"));
                FAILED
            }
        },
    }
}

/// `signature  [effect]` then the doc, indented.
fn entry(b: &Builtin) -> String {
    format!("{}  [{}]\n    {}\n", b.signature(), b.effect.name(), b.doc)
}
