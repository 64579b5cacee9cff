//! `policy NAME { severity = error  message = "…"  check = fn(state) => […] }`: a rule over the
//! desired state. The check returns the declarations at fault (or `{ at, message }` records).

use std::rc::Rc;

use crate::model::Value;
use crate::source::Span;

use super::{Attrs, Field, FieldList};

pub const ATTRS: &[&str] = &["severity", "message", "check", "description"];

/// Attributes whose value may be written as a bare word: `severity = warning`.
pub const WORD_ATTRS: &[(&str, &[&str])] = &[("severity", &["error", "warning"])];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySeverity {
    Error,
    Warning,
}

pub struct Policy {
    pub name: Rc<str>,
    pub severity: PolicySeverity,
    /// What to fix, shown with each violation that brings no message of its own.
    pub message: Rc<str>,
    pub description: Option<Rc<str>>,
    /// A function from the desired state to a list of violations.
    pub check: Value,
    /// The body it was built from, for `with`.
    pub body: Rc<super::DeclBody>,
    pub span: Span,
}

impl Policy {
    pub fn build(name: Rc<str>, a: &mut Attrs) -> Policy {
        let severity = match a.choice("severity", &["error", "warning"], "error") {
            "warning" => PolicySeverity::Warning,
            _ => PolicySeverity::Error,
        };
        let message = a.required_string("message", "\"what to fix\"").map_or_else(|| Rc::from(""), |(s, _)| s);
        let description = a.string("description").map(|(s, _)| s);
        let check = match a.get("check").cloned() {
            Some(attr) if matches!(attr.value, Value::Func(_) | Value::Builtin(_)) => attr.value,
            Some(attr) => {
                let kind = crate::diag::ErrorKind::Type {
                    expected: "a function".into(),
                    found: attr.value.type_name().into(),
                };
                a.error(crate::diag::Diag::new(kind, attr.span).help("write `check = fn(state) => [ … ]`"));
                Value::Null
            }
            None => {
                a.missing("check", "fn(state) => [ … ]");
                Value::Null
            }
        };
        Policy { name, severity, message, description, check, body: Rc::default(), span: a.span }
    }

    pub fn severity_name(&self) -> &'static str {
        match self.severity {
            PolicySeverity::Error => "error",
            PolicySeverity::Warning => "warning",
        }
    }

    pub fn fields(&self) -> FieldList<'_, 4> {
        [
            ("description", Field::opt(&self.description)),
            ("message", Field::Str(&self.message)),
            ("name", Field::Str(&self.name)),
            ("severity", Field::Word(self.severity_name())),
        ]
    }
}
