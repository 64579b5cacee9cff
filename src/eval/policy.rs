//! Running the policies turned on in a program over its desired state.

use super::interp::Interp;
use super::value::Value;
use crate::diag::{Diag, ErrorKind, Result};
use crate::model::{Decl, DesiredState, Policy, PolicySeverity};
use crate::source::Span;

pub struct Violation {
    pub policy: String,
    pub severity: PolicySeverity,
    pub message: String,
    /// The declaration (or attribute) at fault.
    pub span: Span,
    /// Which declaration, when the span alone may not tell (a template makes many).
    pub subject: Option<String>,
}

impl Violation {
    pub fn to_diag(&self) -> Diag {
        let label = self.subject.as_ref().map_or_else(|| "here".to_string(), |s| format!("in {s}"));
        let diag =
            Diag::new(ErrorKind::Policy { policy: self.policy.clone(), message: self.message.clone() }, self.span)
                .label(label);
        match self.severity {
            PolicySeverity::Error => diag,
            PolicySeverity::Warning => diag.warning(),
        }
    }
}

/// Calls each policy's check with the state; each item it returns is a violation.
pub fn run_policies(interp: &mut Interp, state: &DesiredState) -> Result<Vec<Violation>> {
    let state_value = state.to_value();
    let mut out = Vec::new();
    for policy in &state.policies {
        if matches!(policy.check, Value::Null) {
            continue;
        }
        let found = interp.call_with(&policy.check, vec![state_value.clone()], policy.span)?;
        let items = match found {
            Value::List(items) => items.iter().cloned().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        for item in items {
            out.push(violation(policy, item)?);
        }
    }
    Ok(out)
}

/// A check's item: a declaration, `{ at: declaration, message?, attribute? }`, or a message.
fn violation(policy: &Policy, item: Value) -> Result<Violation> {
    let mut v = Violation {
        policy: policy.name.clone(),
        severity: policy.severity,
        message: policy.message.clone(),
        span: policy.span,
        subject: None,
    };
    match item {
        Value::Decl(d) => {
            v.span = d.span();
            v.subject = subject(&d);
        }
        Value::Str(s) => v.message = s.to_string(),
        Value::Record(rec) => {
            if let Some(Value::Str(m)) = rec.get("message") {
                v.message = m.to_string();
            }
            match (rec.get("at"), rec.get("attribute")) {
                (Some(Value::Decl(d @ Decl::Env(env))), Some(Value::Str(attr))) => {
                    v.span = env.span_of(attr);
                    v.subject = subject(d);
                }
                (Some(Value::Decl(d)), _) => {
                    v.span = d.span();
                    v.subject = subject(d);
                }
                _ => {}
            }
        }
        other => {
            let detail =
                format!("its check returned {}, not a declaration, a message or {{ at, message }}", other.type_name());
            return Diag::new(ErrorKind::Invalid { what: format!("policy `{}`", policy.name), detail }, policy.span)
                .err();
        }
    }
    Ok(v)
}

fn subject(d: &Decl) -> Option<String> {
    match d {
        Decl::Env(e) => Some(format!("environment `{}`", e.name)),
        Decl::Role(r) => Some(format!("role `{}`", r.name)),
        Decl::Install(i) => Some(format!("install step `{}`", i.name)),
        _ => None,
    }
}
