//! `policy NAME { severity = error  message = "…"  check = fn(state) => […] }`: a rule over the
//! desired state. The check returns the declarations at fault (or `{ at, message }` records).

use std::rc::Rc;
use std::sync::LazyLock;

use crate::model::Value;
use crate::source::Span;

use super::attribute::{field_count, fields_by_name, fields_of, About, Attribute, Change, Declared, Getter};
use super::{Attrs, Field, FieldList};

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

type Row = Attribute<Policy>;

impl Declared for Policy {
    type Live = ();
    const ATTRIBUTES: &'static [Row] = &[
        Row {
            about: About {
                name: "severity",
                ty: "`error` or `warning`",
                default: "`error`",
                rule: "an error makes `kenv check` exit 1",
                words: &["error", "warning"],
            },
            read: |a, p| {
                p.severity = match a.choice("severity", &["error", "warning"], "error") {
                    "warning" => PolicySeverity::Warning,
                    _ => PolicySeverity::Error,
                }
            },
            field: Some(|p| Field::Word(p.severity_name())),
            change: Change::Ignored,
        },
        Row {
            about: About {
                name: "message",
                ty: "string",
                default: "",
                rule: "what a violation says when its check gives none",
                words: &[],
            },
            read: |a, p| {
                p.message = a.required_string("message", "\"what to fix\"").map_or_else(|| Rc::from(""), |(s, _)| s)
            },
            field: Some(|p| Field::Str(&p.message)),
            change: Change::Ignored,
        },
        Row {
            about: About {
                name: "check",
                ty: "function",
                default: "",
                rule: "`fn(state)` → list of violations (declarations, `{ at, attribute?, message? }`, or messages)",
                words: &[],
            },
            read: read_check,
            field: None,
            change: Change::Ignored,
        },
        Row {
            about: About {
                name: "description",
                ty: "string",
                default: "",
                rule: "shown by `kenv doc` and in SARIF rules",
                words: &[],
            },
            read: |a, p| p.description = a.string("description").map(|(s, _)| s),
            field: Some(|p| Field::opt(&p.description)),
            change: Change::Ignored,
        },
    ];
}

/// What a policy shows besides its attributes: its name.
const PARTS: [(&str, Getter<Policy>); 1] = [("name", |p| Field::Str(&p.name))];

const FIELDS: usize = field_count(Policy::ATTRIBUTES, PARTS.len());

static BY_NAME: LazyLock<Vec<(&str, Getter<Policy>)>> = LazyLock::new(|| fields_by_name(&PARTS));

fn read_check(a: &mut Attrs, p: &mut Policy) {
    p.check = match a.get("check").cloned() {
        Some(attr) if matches!(attr.value, Value::Func(_) | Value::Builtin(_)) => attr.value,
        Some(attr) => {
            let kind =
                crate::diag::ErrorKind::Type { expected: "a function".into(), found: attr.value.type_name().into() };
            a.error(crate::diag::Diag::new(kind, attr.span).help("write `check = fn(state) => [ … ]`"));
            Value::Null
        }
        None => {
            a.missing("check", "fn(state) => [ … ]");
            Value::Null
        }
    };
}

impl Policy {
    pub fn build(name: Rc<str>, a: &mut Attrs) -> Policy {
        let blank = Policy {
            name,
            severity: PolicySeverity::Error,
            message: Rc::from(""),
            description: None,
            check: Value::Null,
            body: Rc::default(),
            span: a.span,
        };
        Policy::read_attributes(blank, a)
    }

    pub fn severity_name(&self) -> &'static str {
        match self.severity {
            PolicySeverity::Error => "error",
            PolicySeverity::Warning => "warning",
        }
    }

    pub fn fields(&self) -> FieldList<'_, FIELDS> {
        fields_of(&BY_NAME, self)
    }
}
