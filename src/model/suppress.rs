//! `suppress POLICY because "reason"`: inside an environment or a role, accepts that policy's
//! violations there. The reason is required; it is shown and counted wherever the violation is.

use crate::diag::{Diag, ErrorKind};
use crate::model::Value;
use crate::source::{Span, Spanned};
use std::rc::Rc;

use super::{Decl, Field, FieldList};

#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The policy's name.
    pub policy: Rc<str>,
    pub reason: Rc<str>,
    pub span: Span,
}

impl Suppression {
    /// POLICY is a policy's name or the policy itself (`baseline.no_ssh_port`).
    pub fn build(policy: Spanned<Value>, reason: Spanned<Value>, span: Span, errors: &mut Vec<Diag>) -> Suppression {
        let policy_name = match &policy.node {
            Value::Str(s) => s.clone(),
            Value::Decl(Decl::Policy(p)) => p.name.clone(),
            other => {
                let found = other.type_name().to_string();
                errors.push(Diag::new(ErrorKind::Type { expected: "a policy or its name".into(), found }, policy.span));
                Rc::from("")
            }
        };
        let reason_text = match &reason.node {
            Value::Str(s) if !s.trim().is_empty() => Rc::from(s.trim()),
            Value::Str(_) => {
                let detail = "the reason is empty".to_string();
                errors.push(
                    Diag::new(ErrorKind::Invalid { what: "suppression".into(), detail }, reason.span)
                        .help("say why the violation is accepted: `because \"ticket SEC-12: …\"`"),
                );
                Rc::from("")
            }
            other => {
                let found = other.type_name().to_string();
                errors.push(Diag::new(ErrorKind::Type { expected: "a string reason".into(), found }, reason.span));
                Rc::from("")
            }
        };
        Suppression { policy: policy_name, reason: reason_text, span }
    }

    pub fn fields(&self) -> FieldList<'_, 2> {
        [("policy", Field::Str(&self.policy)), ("reason", Field::Str(&self.reason))]
    }
}
