//! The desired state: typed declarations built from evaluated attributes, validated against what
//! the AWS APIs accept. Everything after evaluation (plan, apply, policies) works on these types.

mod allow;
pub mod attribute;
mod attrs;
mod children;
mod environment;
mod environment_read;
mod environment_table;
mod fields;
mod install;
pub mod json;
mod native;
mod policy;
mod record;
mod role;
mod rule;
pub mod schema;
pub mod scope;
pub mod sessions;
mod stack;
mod suppress;
pub mod tags;
mod text;
pub mod typed;
pub mod validate;
mod value;
mod violations;

use std::rc::Rc;

pub use allow::Allow;
pub use attribute::Declared;
pub use attrs::{Attr, Attrs};
pub use children::{Child, Children};
pub use environment::{Connection, EnvKind, Environment, Imds};
pub use environment_table::{access_tags, is_kept_tag, is_user_tag, protected};
pub use fields::{Field, FieldList};
pub use install::{InstallStep, DEFAULT_TIMEOUT};
pub use native::{param_name, param_type, Args, Builtin, BuiltinFn, Context, Effect, Grants, Mode, ReadCache};
pub use policy::{Policy, PolicySeverity};
pub use record::{Builder as RecordBuilder, Record};
pub use role::Role;
pub use rule::{PeerKind, Protocol, Rule, RuleParts};
pub use schema::{schema, Schema};
pub use scope::Scope;
pub use sessions::Sessions;
pub use stack::{plural, DesiredState};
pub use suppress::{today, Suppression};
pub use text::Text;
pub use value::{write_quoted, Closure, Concat, Secret, SecretPart, SecretRef, SecretStore, Value, SECRET_SHOWN};
pub use violations::{policies_of, run_policies, Enforcement, PolicyReport, Violation};

use crate::source::Span;

/// The attributes a declaration's body set, kept so that `decl with { … }` can rebuild the
/// declaration with some of them replaced. (Its children, the rules, steps, statements and
/// suppressions, are the declaration's own: `children()`.)
#[derive(Default, Clone)]
pub struct DeclBody {
    pub attrs: Vec<Attr>,
}

impl DeclBody {
    /// Where an attribute was set, else `otherwise` (the declaration, when it was left to its
    /// default): for diagnostics that come later (policies, plan, apply).
    pub fn span_of(&self, attr: &str, otherwise: Span) -> Span {
        self.attrs.iter().rev().find(|a| &*a.name.node == attr).map_or(otherwise, |a| a.span)
    }
}

impl std::fmt::Debug for DeclBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.attrs.iter().map(|a| &*a.name.node).collect();
        write!(f, "DeclBody {{ attrs: {names:?} }}")
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
    Sessions(Rc<Sessions>),
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
            Decl::Sessions(_) => "sessions",
        }
    }

    /// Calls `f` with the declaration's fields: what field access and JSON output see.
    fn with_fields<R>(&self, f: impl FnOnce(&[(&'static str, Field)]) -> R) -> R {
        match self {
            Decl::Env(d) => f(&d.fields()),
            Decl::Role(d) => f(&d.fields()),
            Decl::Rule(d) => f(&d.fields()),
            Decl::Install(d) => f(&d.fields()),
            Decl::Allow(d) => f(&d.fields()),
            Decl::Policy(d) => f(&d.fields()),
            Decl::Suppress(d) => f(&d.fields()),
            Decl::Sessions(d) => f(&d.fields()),
        }
    }

    /// The declaration's fields as a record.
    pub fn to_value(&self) -> Value {
        self.with_fields(fields::record_of)
    }

    /// `decl.name`: one field, without making the others.
    pub fn field(&self, name: &str) -> Option<Value> {
        self.with_fields(|fields| fields::field_of(fields, name))
    }

    pub fn field_names(&self) -> Vec<&'static str> {
        self.with_fields(|fields| fields.iter().map(|(k, _)| *k).collect())
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
            Decl::Sessions(d) => d.span,
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
            (Decl::Sessions(a), Decl::Sessions(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl serde::Serialize for Decl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_fields(|fields| fields::serialize_fields(fields, s))
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
