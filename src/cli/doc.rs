//! `kenv doc`: the builtin registry's documentation, and what each declaration kind takes.

use super::{FAILED, OK};
use crate::builtins;
use crate::diag::suggest;
use crate::model::{self, Builtin, Schema};

pub fn run(name: Option<&str>) -> i32 {
    match name {
        None => {
            let text: Vec<String> = builtins::all().map(entry).collect();
            super::out(&text.join("\n"));
            OK
        }
        Some(name) => match (builtins::get(name), model::schema::ALL.iter().find(|s| s.keyword == name)) {
            (Some(b), _) => {
                super::out(&entry(b));
                OK
            }
            (None, Some(schema)) => {
                super::out(&declaration(schema));
                OK
            }
            (None, None) => {
                let keywords = model::schema::ALL.iter().map(|s| s.keyword);
                let hint =
                    suggest(name, builtins::names().chain(keywords)).map_or(String::new(), |s| format!(" ({s})"));
                super::err(&format!("kenv: no builtin named `{name}`{hint}; `kenv doc` lists them\n"));
                FAILED
            }
        },
    }
}

/// A declaration kind: its attributes (with the words some take unquoted; under each its type,
/// default, what a change does and the rule it is checked against: its row of the table) and what
/// its body holds.
fn declaration(schema: &Schema) -> String {
    let mut out = format!("{} \"NAME\" {{ … }}\n  attributes:\n", schema.keyword);
    for d in schema.attrs() {
        match d.about.words {
            [] => out.push_str(&format!("    {}\n", d.about.name)),
            words => out.push_str(&format!("    {} = {}\n", d.about.name, words.join(" | "))),
        }
        let rule = if d.about.rule.is_empty() { String::new() } else { format!(" — {}", d.about.rule) };
        out.push_str(&format!("        {}{rule}\n", d.summary()));
    }
    if !schema.children.is_empty() {
        let children: Vec<&str> = schema.children.iter().map(|c| c.name()).collect();
        out.push_str(&format!("  its body may also hold: {}\n", children.join(", ")));
    }
    out
}

/// `signature  [effect]` then the doc, indented.
fn entry(b: &Builtin) -> String {
    format!("{}  [{}]\n    {}\n", b.signature(), b.effect.name(), b.doc)
}
