//! `role NAME { trust = […]  managed = […]  allow […] on "…" }`: the IAM role bound to the
//! environments instead of AWS managed temporary credentials.

use std::rc::Rc;

use crate::diag::{Diag, ErrorKind};
use crate::model::Value;
use crate::source::{Span, Spanned};

use super::typed::string_items;
use super::validate;
use super::{Attrs, Children, Decl, Field, FieldList, Suppression};

pub const ATTRS: &[&str] = &["trust", "managed", "secrets", "description"];

#[derive(Debug, Clone)]
pub struct Role {
    pub name: Rc<str>,
    /// Principals allowed to assume the role (`ec2.amazonaws.com`, …).
    pub trust: Vec<Rc<str>>,
    /// Managed policy ARNs to attach.
    pub managed: Vec<Rc<str>>,
    /// Secrets Manager secrets (names, or prefixes ending in `*`) that only this role may read:
    /// apply puts a resource policy on each that denies reading it to every other principal.
    pub secrets: Vec<Rc<str>>,
    pub statements: Vec<Rc<Allow>>,
    pub suppressions: Vec<Rc<Suppression>>,
    pub description: Option<Rc<str>>,
    /// The body it was built from, for `with`.
    pub body: Rc<super::DeclBody>,
    pub span: Span,
}

/// `allow ACTIONS on RESOURCES`: one statement of the role's inline policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Allow {
    pub actions: Vec<Rc<str>>,
    pub resources: Vec<Rc<str>>,
    pub span: Span,
}

impl Role {
    pub fn build(name: Rc<str>, a: &mut Attrs, children: Children) -> Role {
        if let Err(e) = validate::role_name(&name) {
            a.invalid(a.span, "role name", e, None);
        }
        if a.get("trust").is_none() {
            a.missing("trust", "[\"ec2.amazonaws.com\"]");
        }
        let trust = checked_list(a, "trust", validate::trust_principal);
        let managed = checked_list(a, "managed", validate::policy_arn);
        let secrets = checked_list(a, "secrets", validate::secret_pattern);
        let description = a.string("description").map(|(s, _)| s);
        let (statements, suppressions) = (children.allows, children.suppressions);
        Role { name, trust, managed, secrets, statements, suppressions, description, body: Rc::default(), span: a.span }
    }

    /// The allow statements and suppressions it was built with (for `with`).
    pub fn children(&self) -> Children {
        Children { allows: self.statements.clone(), suppressions: self.suppressions.clone(), ..Children::default() }
    }

    pub fn fields(&self) -> FieldList<'_, 7> {
        [
            ("allow", Field::decls(&self.statements, Decl::Allow)),
            ("description", Field::opt(&self.description)),
            ("managed", Field::Strs(&self.managed)),
            ("name", Field::Str(&self.name)),
            ("secrets", Field::Strs(&self.secrets)),
            ("suppressions", Field::decls(&self.suppressions, Decl::Suppress)),
            ("trust", Field::Strs(&self.trust)),
        ]
    }
}

fn checked_list(a: &mut Attrs, name: &str, check: fn(&str) -> Result<(), String>) -> Vec<Rc<str>> {
    let items = a.strings(name);
    for item in &items {
        if let Err(e) = check(item) {
            a.invalid(a.span_of(name), name, e, None);
        }
    }
    items
}

impl Allow {
    pub fn build(actions: Spanned<Value>, resources: Spanned<Value>, span: Span, errors: &mut Vec<Diag>) -> Allow {
        let actions = checked_items(actions, "action", validate::iam_action, errors);
        let resources = checked_items(resources, "resource", validate::iam_resource, errors);
        Allow { actions, resources, span }
    }

    pub fn fields(&self) -> FieldList<'_, 2> {
        [("actions", Field::Strs(&self.actions)), ("resources", Field::Strs(&self.resources))]
    }
}

fn checked_items(
    v: Spanned<Value>,
    what: &str,
    check: fn(&str) -> Result<(), String>,
    errors: &mut Vec<Diag>,
) -> Vec<Rc<str>> {
    let items = match string_items(&v.node) {
        Ok(items) => items,
        Err(found) => {
            errors.push(Diag::new(ErrorKind::Type { expected: format!("an {what} or a list of them"), found }, v.span));
            return Vec::new();
        }
    };
    if items.is_empty() {
        errors.push(Diag::new(
            ErrorKind::Invalid { what: what.into(), detail: format!("the list of {what}s is empty") },
            v.span,
        ));
    }
    for item in &items {
        if let Err(detail) = check(item) {
            errors.push(Diag::new(ErrorKind::Invalid { what: what.into(), detail }, v.span));
        }
    }
    items
}
