//! What each declaration kind is made of, in one place: its attribute table (`attribute.rs`; the
//! rows live beside each declaration type) and the declarations its body may hold. Evaluation
//! places what a body says by it; `kenv doc`, the manual's tables, hover and completion show it.

use super::attribute::{doc, find, Doc};
use super::{Child, Environment, Policy, Role, Sessions};
use crate::syntax::ast::DeclKind;

pub struct Schema {
    pub keyword: &'static str,
    /// Row `i` of its attribute table, as text.
    row: fn(usize) -> Option<Doc>,
    /// The row of an attribute, by name.
    find: fn(&str) -> Option<Doc>,
    /// The declarations its body may hold.
    pub children: &'static [Child],
}

pub const ENVIRONMENT: Schema = Schema {
    keyword: "environment",
    row: doc::<Environment>,
    find: find::<Environment>,
    children: &[Child::Rule, Child::Install, Child::Suppress],
};

pub const ROLE: Schema =
    Schema { keyword: "role", row: doc::<Role>, find: find::<Role>, children: &[Child::Allow, Child::Suppress] };

pub const POLICY: Schema = Schema { keyword: "policy", row: doc::<Policy>, find: find::<Policy>, children: &[] };

pub const SESSIONS: Schema =
    Schema { keyword: "sessions", row: doc::<Sessions>, find: find::<Sessions>, children: &[] };

pub const ALL: [&Schema; 4] = [&ENVIRONMENT, &ROLE, &POLICY, &SESSIONS];

pub fn schema(kind: DeclKind) -> &'static Schema {
    match kind {
        DeclKind::Environment => &ENVIRONMENT,
        DeclKind::Role => &ROLE,
        DeclKind::Policy => &POLICY,
        DeclKind::Sessions => &SESSIONS,
    }
}

impl Schema {
    /// Its attributes, in table order.
    pub fn attrs(&self) -> impl Iterator<Item = Doc> + '_ {
        (0..).map_while(self.row)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.attrs().map(|d| d.about.name)
    }

    pub fn attr(&self, name: &str) -> Option<Doc> {
        (self.find)(name)
    }

    /// The statements its body may hold besides attributes (`reach`, `install`, …).
    pub fn child_keywords(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.children.iter().flat_map(|c| c.keywords().iter().copied())
    }

    /// Its attribute table as the manual writes it: docs/language.md holds it (a test checks).
    pub fn manual_table(&self) -> String {
        let compared = self.attrs().any(|d| !d.change.is_empty());
        let mut out = String::from("| attribute | type | default |");
        out.push_str(if compared {
            " a change | AWS rule checked |\n|---|---|---|---|---|\n"
        } else {
            " AWS rule checked |\n|---|---|---|---|\n"
        });
        for Doc { about, change } in self.attrs() {
            let change = if compared { format!(" {change} |") } else { String::new() };
            out.push_str(&format!(
                "| `{}` | {} | {} |{change} {} |\n",
                about.name, about.ty, about.default, about.rule
            ));
        }
        out
    }
}
