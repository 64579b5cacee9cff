//! Builtins for testing policies (`kenv test`): running them over fixtures.

use super::{Args, Builtin, Effect::Pure};
use crate::diag::Result;
use crate::model::{policies_of, run_policies, Context, Decl, DesiredState, Enforcement, Record, Value};

pub const BUILTINS: &[Builtin] = &[Builtin {
    name: "violations",
    params: &["policies", "declarations: list"],
    effect: Pure,
    doc: "Runs a policy (or a list of them) over the declarations given — environments and roles, a \
    test's fixtures — with their suppressions, as `kenv check` would, and returns each violation as \
    `{ policy, subject, message, suppressed }` (`suppressed`: the reason, or null), grouped by subject. \
    For `kenv test`: `assert violations(team.small_instances, [big]) == [ … ]`.",
    func: violations,
}];

fn violations(ctx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let Some(policies) = policies_of(&a.value(0)) else {
        return a.invalid(0, "expected a policy or a list of policies");
    };
    let mut state = DesiredState::default();
    for p in policies {
        let _ = state.add(Decl::Policy(p)); // a policy always joins (once)
    }
    for item in a.list(1)?.iter() {
        let accepted = match item {
            Value::Decl(d @ (Decl::Env(_) | Decl::Role(_) | Decl::Sessions(_))) => state.add(d.clone()).is_ok(),
            _ => false,
        };
        if !accepted {
            let detail = format!("the declarations are environments, roles and sessions, not {}", item.type_name());
            return a.invalid(1, detail);
        }
    }
    let mut errors = Vec::new();
    state.validate(&mut errors);
    if let Some(first) = errors.into_iter().next() {
        return Err(Box::new(first));
    }
    let report = run_policies(ctx, &state, Value::Null, &Enforcement::default())?;
    let found = report.violations.iter().map(|v| {
        let fields: Record = [
            ("policy", Value::Str(v.policy.name.clone().into())),
            ("subject", v.subject.as_deref().map_or(Value::Null, Value::str)),
            ("message", Value::str(&v.message)),
            ("suppressed", v.suppressed.as_ref().map_or(Value::Null, |s| Value::Str(s.reason.clone().into()))),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect();
        Value::record(fields)
    });
    Ok(Value::list(found.collect()))
}
