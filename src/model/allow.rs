//! `allow ACTIONS on RESOURCES`: one statement of a role's inline policy.

use std::rc::Rc;

use super::typed::string_items;
use super::validate;
use super::{Field, FieldList, Value};
use crate::diag::{Diag, ErrorKind};
use crate::source::{Span, Spanned};

#[derive(Debug, Clone, PartialEq)]
pub struct Allow {
    pub actions: Vec<Rc<str>>,
    pub resources: Vec<Rc<str>>,
    pub span: Span,
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
