//! Running the policies turned on in a program, and those enforced from outside it, over its
//! desired state (and, for `kenv check --live`, what is on AWS), and matching violations with
//! their suppressions: a suppression counts unless it has expired, or its policy is enforced and
//! it names no owner or expiry, or `--no-suppress` is given.

use std::rc::Rc;

use super::{Context, Decl, DesiredState, Environment, Policy, PolicySeverity, Role, Suppression, Value};
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::source::Span;

pub struct Violation {
    pub policy: Rc<Policy>,
    pub message: String,
    /// The declaration (or attribute) at fault.
    pub span: Span,
    /// The environment or role at fault (for a rule or install step, its environment; for an
    /// allow statement, its role): what output groups by and where suppressions are looked up.
    pub subject: Option<String>,
    /// Why it is accepted, when the subject suppresses this policy (and the suppression counts).
    pub suppressed: Option<Rc<Suppression>>,
    /// A suppression of it that does not count, and why not.
    pub ignored: Option<(Rc<Suppression>, String)>,
    /// Whether its policy is enforced from outside the file (`--policy`).
    pub enforced: bool,
}

impl Violation {
    pub fn severity(&self) -> PolicySeverity {
        self.policy.severity
    }

    pub fn to_diag(&self) -> Diag {
        let label = self.subject.as_ref().map_or_else(|| "here".to_string(), |s| format!("in {s}"));
        let kind = ErrorKind::Policy { policy: self.policy.name.to_string(), message: self.message.clone() };
        let mut diag = Diag::new(kind, self.span).label(label);
        if let Some((s, why)) = &self.ignored {
            diag = diag.note(s.span, format!("this suppression does not count: {why}"));
        }
        match self.severity() {
            PolicySeverity::Error => diag,
            PolicySeverity::Warning => diag.warning(),
        }
    }
}

/// What the policies found: violations (suppressed ones included, marked), in the order of their
/// subjects, and warnings about suppressions that name no policy turned on.
#[derive(Default)]
pub struct PolicyReport {
    /// The policies run, each with whether it is enforced from outside the file.
    pub policies: Vec<(Rc<Policy>, bool)>,
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

    /// The names of the policies enforced from outside the file.
    pub fn enforced(&self) -> Vec<Rc<str>> {
        self.policies.iter().filter(|(_, enforced)| *enforced).map(|(p, _)| p.name.clone()).collect()
    }

    pub fn suppressed(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.suppressed.is_some())
    }
}

/// The rules a check runs under from outside the file: `kenv check --policy … --no-suppress`.
pub struct Enforcement {
    /// Policies run whatever the file turns on; one of the file's own of the same name is
    /// replaced by it (a file cannot weaken an enforced policy by redefining it).
    pub policies: Vec<Rc<Policy>>,
    /// No suppression counts.
    pub no_suppress: bool,
    /// `YYYY-MM-DD`: a suppression expiring before it has expired.
    pub today: String,
}

impl Default for Enforcement {
    fn default() -> Enforcement {
        Enforcement { policies: Vec::new(), no_suppress: false, today: super::today() }
    }
}

impl Enforcement {
    fn enforces(&self, name: &str) -> bool {
        self.policies.iter().any(|p| &*p.name == name)
    }

    /// The policies to run: the file's (enforced ones in place of those of their names), then
    /// the enforced ones it does not turn on.
    fn policies(&self, state: &DesiredState) -> Vec<Rc<Policy>> {
        let mut all: Vec<Rc<Policy>> = state
            .policies
            .iter()
            .map(|p| self.policies.iter().find(|e| e.name == p.name).unwrap_or(p).clone())
            .collect();
        for p in &self.policies {
            if !all.iter().any(|q| q.name == p.name) {
                all.push(p.clone());
            }
        }
        all
    }

    /// Why a suppression of a violation of `policy` does not count, if it does not.
    fn refuses(&self, s: &Suppression, policy: &str) -> Option<String> {
        let owner = s.owner.as_deref().map_or(String::new(), |o| format!(" (owner {o})"));
        if self.no_suppress {
            Some("--no-suppress is given".into())
        } else if let Some(day) = s.expired(&self.today) {
            Some(format!("it expired on {day}{owner}"))
        } else if self.enforces(policy) && (s.owner.is_none() || s.expires.is_none()) {
            Some(format!(
                "policy `{policy}` is enforced (--policy), and a suppression of it needs an owner and an expiry: \
                 `owner \"…\" expires \"YYYY-MM-DD\"`"
            ))
        } else {
            None
        }
    }
}

/// The policies a value holds — a policy, or a list of them (nested too) — in order; None when
/// anything in it is not a policy.
pub fn policies_of(v: &Value) -> Option<Vec<Rc<Policy>>> {
    fn walk(v: &Value, out: &mut Vec<Rc<Policy>>) -> Option<()> {
        match v {
            Value::Decl(Decl::Policy(p)) => {
                out.push(p.clone());
                Some(())
            }
            Value::List(items) => items.iter().try_for_each(|i| walk(i, out)),
            _ => None,
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out).map(|()| out)
}

/// Calls each policy's check with the state; each item it returns is a violation. `live` is what
/// the policies see as `state.live`: null, or (with `--live`) a record of each environment's view.
pub fn run_policies(
    ctx: &mut dyn Context,
    state: &DesiredState,
    live: Value,
    rules: &Enforcement,
) -> Result<PolicyReport> {
    let Value::Record(mut fields) = state.to_value() else { unreachable!("the state is a record") };
    fields.insert("live".into(), live);
    let state_value = Value::Record(fields);
    let mut violations = Vec::new();
    let policies = rules.policies(state);
    for policy in &policies {
        if matches!(policy.check, Value::Null) {
            continue;
        }
        let found = ctx.call(&policy.check, vec![state_value.clone()], policy.span)?;
        let items = match found {
            Value::List(items) => items.iter().cloned().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        for item in items {
            violations.push(violation(state, policy, item, rules)?);
        }
    }
    // Grouped by resource: stable, so each subject keeps its policies' order.
    violations.sort_by(|a, b| a.subject.is_none().cmp(&b.subject.is_none()).then(a.subject.cmp(&b.subject)));
    let policies = policies.into_iter().map(|p| (p.clone(), rules.enforces(&p.name))).collect();
    Ok(PolicyReport { policies, violations, warnings: unknown_suppressions(state, rules) })
}

/// A check's item: a declaration, `{ at: declaration, message?, attribute? }`, or a message.
fn violation(state: &DesiredState, policy: &Rc<Policy>, item: Value, rules: &Enforcement) -> Result<Violation> {
    let mut v = Violation {
        policy: policy.clone(),
        message: policy.message.to_string(),
        span: policy.span,
        subject: None,
        suppressed: None,
        ignored: None,
        enforced: rules.enforces(&policy.name),
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
        let found = owner.and_then(|o| o.suppressions().iter().find(|s| s.policy == policy.name).cloned());
        match found.as_ref().and_then(|s| rules.refuses(s, &policy.name)) {
            Some(why) => v.ignored = found.map(|s| (s, why)),
            None => v.suppressed = found,
        }
    }
    Ok(v)
}

/// The environment or role a declaration belongs to.
enum Owner {
    Env(Rc<Environment>),
    Role(Rc<Role>),
    Sessions(Rc<super::Sessions>),
}

impl Owner {
    fn name(&self) -> String {
        match self {
            Owner::Env(e) => format!("environment `{}`", e.name),
            Owner::Role(r) => format!("role `{}`", r.name),
            Owner::Sessions(s) => format!("sessions `{}`", s.name),
        }
    }

    fn suppressions(&self) -> &[Rc<Suppression>] {
        match self {
            Owner::Env(e) => &e.suppressions,
            Owner::Role(r) => &r.suppressions,
            Owner::Sessions(_) => &[],
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
        Decl::Sessions(s) => Some(Owner::Sessions(s.clone())),
        Decl::Policy(_) | Decl::Suppress(_) => None,
    }
}

/// A suppression naming a policy that is not turned on suppresses nothing: most likely a typo.
fn unknown_suppressions(state: &DesiredState, rules: &Enforcement) -> Vec<Diag> {
    let names: Vec<&str> = state.policies.iter().chain(&rules.policies).map(|p| &*p.name).collect();
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
