//! Running the policies turned on in a program over its desired state (and, for
//! `kenv check --live`, what is on AWS), and matching violations with their suppressions.

use std::rc::Rc;

use super::interp::Interp;
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::model::Value;
use crate::model::{Decl, DesiredState, Environment, Policy, PolicySeverity, Role, Suppression};
use crate::source::Span;

pub struct Violation {
    pub policy: Rc<Policy>,
    pub message: String,
    /// The declaration (or attribute) at fault.
    pub span: Span,
    /// The environment or role at fault (for a rule or install step, its environment; for an
    /// allow statement, its role): what output groups by and where suppressions are looked up.
    pub subject: Option<String>,
    /// Why it is accepted, when the subject suppresses this policy.
    pub suppressed: Option<Rc<Suppression>>,
}

impl Violation {
    pub fn severity(&self) -> PolicySeverity {
        self.policy.severity
    }

    pub fn to_diag(&self) -> Diag {
        let label = self.subject.as_ref().map_or_else(|| "here".to_string(), |s| format!("in {s}"));
        let kind = ErrorKind::Policy { policy: self.policy.name.to_string(), message: self.message.clone() };
        let diag = Diag::new(kind, self.span).label(label);
        match self.severity() {
            PolicySeverity::Error => diag,
            PolicySeverity::Warning => diag.warning(),
        }
    }
}

/// What the policies found: violations (suppressed ones included, marked), in the order of their
/// subjects, and warnings about suppressions that name no policy turned on.
pub struct PolicyReport {
    pub violations: Vec<Violation>,
    pub warnings: Vec<Diag>,
}

impl PolicyReport {
    /// Any unsuppressed error-severity violation.
    pub fn failed(&self) -> bool {
        self.violations.iter().any(|v| v.suppressed.is_none() && v.severity() == PolicySeverity::Error)
    }

    /// The diagnostics to show: warnings, then the unsuppressed violations.
    pub fn diags(&self) -> Vec<Diag> {
        let open = self.violations.iter().filter(|v| v.suppressed.is_none()).map(Violation::to_diag);
        self.warnings.iter().cloned().chain(open).collect()
    }

    pub fn suppressed(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.suppressed.is_some())
    }
}

/// Calls each policy's check with the state; each item it returns is a violation. `live` is what
/// the policies see as `state.live`: null, or (with `--live`) a record of each environment's view.
pub fn run_policies(interp: &mut Interp, state: &DesiredState, live: Value) -> Result<PolicyReport> {
    let Value::Record(mut fields) = state.to_value() else { unreachable!("the state is a record") };
    Rc::make_mut(&mut fields).insert("live".into(), live);
    let state_value = Value::Record(fields);
    let mut violations = Vec::new();
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
            violations.push(violation(state, policy, item)?);
        }
    }
    // Grouped by resource: stable, so each subject keeps its policies' order.
    violations.sort_by(|a, b| a.subject.is_none().cmp(&b.subject.is_none()).then(a.subject.cmp(&b.subject)));
    Ok(PolicyReport { violations, warnings: unknown_suppressions(state) })
}

/// A check's item: a declaration, `{ at: declaration, message?, attribute? }`, or a message.
fn violation(state: &DesiredState, policy: &Rc<Policy>, item: Value) -> Result<Violation> {
    let mut v = Violation {
        policy: policy.clone(),
        message: policy.message.to_string(),
        span: policy.span,
        subject: None,
        suppressed: None,
    };
    // The declaration at fault, and the attribute's span when one is named.
    let (at, attr_span) = match item {
        Value::Decl(d) => (Some(d), None),
        Value::Str(s) => {
            v.message = s.to_string();
            (None, None)
        }
        Value::Record(rec) => {
            if let Some(Value::Str(m)) = rec.get("message") {
                v.message = m.to_string();
            }
            match (rec.get("at"), rec.get("attribute")) {
                (Some(Value::Decl(d @ Decl::Env(env))), Some(Value::Str(attr))) => {
                    (Some(d.clone()), Some(env.span_of(attr)))
                }
                (Some(Value::Decl(d)), _) => (Some(d.clone()), None),
                _ => (None, None),
            }
        }
        other => {
            let detail =
                format!("its check returned {}, not a declaration, a message or {{ at, message }}", other.type_name());
            return Diag::new(ErrorKind::Invalid { what: format!("policy `{}`", policy.name), detail }, policy.span)
                .err();
        }
    };
    if let Some(d) = at {
        v.span = attr_span.unwrap_or_else(|| d.span());
        let owner = owner(state, &d);
        v.subject = owner.as_ref().map(Owner::name);
        v.suppressed = owner.and_then(|o| o.suppressions().iter().find(|s| s.policy == policy.name).cloned());
    }
    Ok(v)
}

/// The environment or role a declaration belongs to.
enum Owner {
    Env(Rc<Environment>),
    Role(Rc<Role>),
}

impl Owner {
    fn name(&self) -> String {
        match self {
            Owner::Env(e) => format!("environment `{}`", e.name),
            Owner::Role(r) => format!("role `{}`", r.name),
        }
    }

    fn suppressions(&self) -> &[Rc<Suppression>] {
        match self {
            Owner::Env(e) => &e.suppressions,
            Owner::Role(r) => &r.suppressions,
        }
    }
}

fn owner(state: &DesiredState, d: &Decl) -> Option<Owner> {
    let env_holding = |test: &dyn Fn(&Environment) -> bool| state.environments.iter().find(|e| test(e)).cloned();
    match d {
        Decl::Env(e) => Some(Owner::Env(e.clone())),
        Decl::Role(r) => Some(Owner::Role(r.clone())),
        Decl::Rule(rule) => env_holding(&|e| e.rules.iter().any(|r| Rc::ptr_eq(r, rule))).map(Owner::Env),
        Decl::Install(step) => env_holding(&|e| e.installs.iter().any(|i| Rc::ptr_eq(i, step))).map(Owner::Env),
        Decl::Allow(a) => {
            state.roles.iter().find(|r| r.statements.iter().any(|s| Rc::ptr_eq(s, a))).map(|r| Owner::Role(r.clone()))
        }
        Decl::Policy(_) | Decl::Suppress(_) => None,
    }
}

/// A suppression naming a policy that is not turned on suppresses nothing: most likely a typo.
fn unknown_suppressions(state: &DesiredState) -> Vec<Diag> {
    let names: Vec<&str> = state.policies.iter().map(|p| &*p.name).collect();
    let all = state
        .environments
        .iter()
        .flat_map(|e| e.suppressions.iter())
        .chain(state.roles.iter().flat_map(|r| r.suppressions.iter()));
    let mut out: Vec<Diag> = Vec::new();
    for s in all {
        if names.contains(&&*s.policy) || out.iter().any(|d| d.span == Some(s.span)) {
            continue;
        }
        let kind = ErrorKind::Invalid {
            what: "suppression".into(),
            detail: format!("no policy named `{}` is turned on, so it suppresses nothing", s.policy),
        };
        let help = suggest(&s.policy, names.iter().copied())
            .unwrap_or_else(|| "turn the policy on with `policy …`, or remove the suppression".into());
        out.push(Diag::new(kind, s.span).help(help).warning());
    }
    out
}
