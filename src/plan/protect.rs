//! Protected environments. People live in them — weeks of work on their disks — so apply replaces
//! or deletes one only when the person names it: `--replace ADDRESS`, `--delete ADDRESS`. An
//! environment is protected while its file says so (`protect`, default true) or AWS does (its
//! `kenv:protect` tag, which apply keeps): lifting protection is an apply of its own. `kenv
//! destroy` asks for the whole stack by name and is not held back; its plan says what is lost.

use super::{Action, Plan, Resource};
use crate::aws::LiveEnv;
use crate::diag::{Diag, ErrorKind};
use crate::model::protected;

/// What replacing or deleting an environment loses, for the plan and the refusals.
pub fn loses(live: &LiveEnv) -> String {
    match &live.cloud9 {
        Some(c9) => {
            format!("Cloud9 environment {} and its instance {}, with everything on its disk", c9.id, live.instance.id)
        }
        None => format!("instance {} and everything on its disk", live.instance.id),
    }
}

/// The changes to protected environments that the person did not name, each a diagnostic; and
/// a name that matches no such change (a typo would otherwise go unnoticed).
pub fn refusals(plan: &Plan, replace: &[String], delete: &[String]) -> Vec<Diag> {
    let mut out = Vec::new();
    for c in &plan.changes {
        let Resource::Env { desired, live: Some(live), .. } = &c.resource else { continue };
        let held = protected(live) || desired.as_ref().is_some_and(|d| d.protect);
        let name = &live.name;
        match c.action {
            Action::Replace if held && !replace.contains(&c.address) => {
                let forcing: Vec<&str> =
                    c.diffs.iter().filter(|d| d.forces_replacement).map(|d| d.attribute.as_str()).collect();
                let message = format!(
                    "environment `{name}` is protected, and changing {} replaces it: the {} would be deleted",
                    forcing.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "),
                    loses(live)
                );
                let help = format!(
                    "to replace it all the same: `--replace {}`; or keep its {} as it is; `protect = false`, \
                     applied first, lifts the protection",
                    c.address,
                    forcing.first().copied().unwrap_or("attributes")
                );
                let mut d = Diag::bare(ErrorKind::Protected(message)).help(help);
                if let Some(env) = desired {
                    d = d.at(env.span_of(forcing.first().copied().unwrap_or("kind")));
                }
                out.push(d);
            }
            Action::Delete if held && !delete.contains(&c.address) => {
                let message = format!(
                    "environment `{name}` is protected, and it is no longer in the file: apply would delete the {}",
                    loses(live)
                );
                let help =
                    format!("to delete it: `--delete {}`; if it was renamed, give it its old name back", c.address);
                out.push(Diag::bare(ErrorKind::Protected(message)).help(help));
            }
            _ => {}
        }
    }
    let named = |flag: &str, addresses: &[String], action: Action| {
        addresses
            .iter()
            .filter(|a| !plan.changes.iter().any(|c| &c.address == *a && c.action == action))
            .map(|a| {
                let what = if action == Action::Replace { "replaces" } else { "deletes" };
                let d = Diag::bare(ErrorKind::Protected(format!("`{flag} {a}`: the plan {what} no `{a}`")));
                let near = crate::diag::suggest(a, plan.changes.iter().map(|c| c.address.as_str()));
                match near {
                    Some(n) => d.help(n),
                    None => d.help("name an address the plan shows with `-/+` (replace) or `-` (delete)"),
                }
            })
            .collect::<Vec<_>>()
    };
    out.extend(named("--replace", replace, Action::Replace));
    out.extend(named("--delete", delete, Action::Delete));
    out
}
