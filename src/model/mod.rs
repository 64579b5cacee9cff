//! The desired state: typed declarations built from evaluated attributes, validated against what
//! the AWS APIs accept. Everything after evaluation (plan, apply, policies) works on these types.

mod attrs;
mod environment;
mod install;
mod policy;
mod role;
mod rule;
mod stack;
mod suppress;
pub mod validate;

use std::rc::Rc;

pub use attrs::{Attr, Attrs};
pub use environment::{
    Connection, EnvKind, Environment, Imds, ATTRS as ENVIRONMENT_ATTRS, WORD_ATTRS as ENVIRONMENT_WORDS,
};
pub use install::InstallStep;
pub use policy::{Policy, PolicySeverity, ATTRS as POLICY_ATTRS, WORD_ATTRS as POLICY_WORDS};
pub use role::{Allow, Role, ATTRS as ROLE_ATTRS};
pub use rule::{PeerKind, Protocol, Rule, RuleParts};
pub use stack::DesiredState;
pub use suppress::Suppression;

use crate::eval::Value;
use crate::source::Span;

/// What a declaration's body set: its attributes and children, kept so that `decl with { … }`
/// can rebuild the declaration with some of them replaced.
#[derive(Default, Clone)]
pub struct DeclBody {
    pub attrs: Vec<Attr>,
    pub children: Vec<Decl>,
}

impl std::fmt::Debug for DeclBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.attrs.iter().map(|a| &*a.name.node).collect();
        write!(f, "DeclBody {{ attrs: {names:?}, children: {} }}", self.children.len())
    }
}

/// A declaration as a kenv value.
#[derive(Clone)]
pub enum Decl {
    Env(Rc<Environment>),
    Role(Rc<Role>),
    Rule(Rc<Rule>),
    Install(Rc<InstallStep>),
    Allow(Rc<Allow>),
    Policy(Rc<Policy>),
    Suppress(Rc<Suppression>),
}

impl Decl {
    pub fn type_name(&self) -> &'static str {
        match self {
            Decl::Env(_) => "environment",
            Decl::Role(_) => "role",
            Decl::Rule(_) => "rule",
            Decl::Install(_) => "install step",
            Decl::Allow(_) => "allow statement",
            Decl::Policy(_) => "policy",
            Decl::Suppress(_) => "suppression",
        }
    }

    /// The declaration's attributes as a record: what field access and JSON output see.
    pub fn to_value(&self) -> Value {
        match self {
            Decl::Env(d) => d.to_value(),
            Decl::Role(d) => d.to_value(),
            Decl::Rule(d) => d.to_value(),
            Decl::Install(d) => d.to_value(),
            Decl::Allow(d) => d.to_value(),
            Decl::Policy(d) => d.to_value(),
            Decl::Suppress(d) => d.to_value(),
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Decl::Env(d) => d.span,
            Decl::Role(d) => d.span,
            Decl::Rule(d) => d.span,
            Decl::Install(d) => d.span,
            Decl::Allow(d) => d.span,
            Decl::Policy(d) => d.span,
            Decl::Suppress(d) => d.span,
        }
    }

    pub fn same(&self, other: &Decl) -> bool {
        match (self, other) {
            (Decl::Env(a), Decl::Env(b)) => Rc::ptr_eq(a, b),
            (Decl::Role(a), Decl::Role(b)) => Rc::ptr_eq(a, b),
            (Decl::Rule(a), Decl::Rule(b)) => a == b,
            (Decl::Install(a), Decl::Install(b)) => Rc::ptr_eq(a, b),
            (Decl::Allow(a), Decl::Allow(b)) => a == b,
            (Decl::Policy(a), Decl::Policy(b)) => Rc::ptr_eq(a, b),
            (Decl::Suppress(a), Decl::Suppress(b)) => a == b,
            _ => false,
        }
    }
}

/// Builds a record value from `(key, value)` pairs. Declarations render to records often (field
/// access, policies, output), so their field names are shared rather than allocated each time.
pub(crate) fn record<const N: usize>(fields: [(&'static str, Value); N]) -> Value {
    Value::record(fields.into_iter().map(|(k, v)| (field_name(k), v)).collect())
}

fn field_name(name: &'static str) -> Rc<str> {
    thread_local! {
        static NAMES: std::cell::RefCell<std::collections::HashMap<&'static str, Rc<str>>> = Default::default();
    }
    NAMES.with(|names| names.borrow_mut().entry(name).or_insert_with(|| Rc::from(name)).clone())
}

pub(crate) fn str_list(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s)).collect())
}

pub(crate) fn suppression_values(items: &[Rc<Suppression>]) -> Value {
    Value::list(items.iter().map(|s| Value::Decl(Decl::Suppress(s.clone()))).collect())
}

pub(crate) fn opt_str(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, Value::str)
}
