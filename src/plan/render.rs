//! A plan as people read it (`+ create`, `~ update`, `-/+ replace`, `- delete`, one line per
//! attribute) and as JSON (`--json`).

use serde_json::json;

use super::{Action, Change, Diff, Plan, Resource};

fn sign(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
    }
}

fn diff_line(d: &Diff) -> String {
    let forces = match (d.forces_replacement, d.attribute.as_str(), &d.before) {
        (true, ..) => " (forces replacement)",
        (false, "instance_type", Some(_)) => " (in place: the instance is stopped, resized and started)",
        (false, "name", Some(_)) => " (moved: the same environment, its group and rules, re-tagged)",
        _ => "",
    };
    match (&d.before, &d.after) {
        (Some(b), Some(a)) => format!("~ {}: {b} → {a}{forces}", d.attribute),
        (None, Some(a)) => format!("+ {}: {a}", d.attribute),
        (Some(b), None) => format!("- {}: {b}", d.attribute),
        (None, None) => format!("~ {}", d.attribute),
    }
}

pub fn summary(plan: &Plan) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete.",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Replace),
        plan.count(Action::Delete)
    )
}

pub fn change_lines(c: &Change) -> String {
    let mut out = format!("  {} {}\n", sign(c.action), c.address);
    for d in &c.diffs {
        out.push_str(&format!("      {}\n", diff_line(d)));
    }
    if let (Resource::Env { live: Some(live), .. }, Action::Replace | Action::Delete) = (&c.resource, c.action) {
        out.push_str(&format!("      ! deletes the {}\n", super::protect::loses(live)));
    }
    out
}

pub fn render(plan: &Plan) -> String {
    let (stack, region, caller) = (&plan.stack, &plan.region, &plan.caller);
    let whose = format!("account {} (as {})", caller.account, caller.arn);
    if plan.is_empty() {
        return format!("No changes: stack `{stack}` in {region}, {whose}, matches the file.\n");
    }
    let mut out = format!("Stack `{stack}` in {region}, {whose}:\n\n");
    for c in &plan.changes {
        out.push_str(&change_lines(c));
    }
    out.push_str(&format!("\n{}\n", summary(plan)));
    out
}

pub fn to_json(plan: &Plan) -> serde_json::Value {
    let changes: Vec<_> =
        plan.changes.iter().map(|c| json!({ "address": c.address, "action": c.action, "diffs": c.diffs })).collect();
    json!({
        "stack": plan.stack,
        "region": plan.region,
        "account": plan.caller.account,
        "caller": plan.caller.arn,
        "changes": changes,
        "summary": {
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "replace": plan.count(Action::Replace),
            "delete": plan.count(Action::Delete),
        },
    })
}
