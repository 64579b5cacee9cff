//! Desired against live: one `Change` per resource that differs, with attribute-level diffs, in
//! the order apply makes them (roles, environments, their groups; then deletions, dependents first).

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::aws::{GroupInfo, GroupRule, InstanceInfo, LiveRole};
use crate::model::attribute::{opt_quoted, quoted};
use crate::model::{Declared, DesiredState, Environment, Role};

use super::live::{LiveState, CLOUD9_TAG};
use super::TAG_ADDRESS;
use super::{env_address, group_address, install_tag, role_address, Action, Change, Diff, Resource, Scripts};
use crate::aws::LiveEnv;

/// Attribute (or part, `imds.tokens`) → its value as text.
type Texts = BTreeMap<String, String>;

pub fn changes(state: &DesiredState, live: &LiveState, scripts: &Scripts) -> Vec<Change> {
    let mut out = Vec::new();
    for role in &state.roles {
        let found = live.roles.iter().find(|r| *r.name == *role.name);
        out.extend(role_change(Some(role), found));
    }
    let mut replaced = Vec::new();
    for env in &state.environments {
        let found = live.envs.iter().find(|e| *e.name == *env.name);
        if let Some(change) = env_change(Some(env), found) {
            if change.action != Action::Update {
                replaced.push(env.name.to_string());
            }
            out.push(change);
        }
    }
    for env in &state.environments {
        let found = live.groups.iter().find(|g| g.tags.get(TAG_ADDRESS) == Some(&group_address(&env.name)));
        let instance = live.envs.iter().find(|e| *e.name == *env.name && !replaced.contains(&e.name));
        out.extend(group_change(env, found, instance));
    }
    for ((env, step), script) in scripts {
        let instance = live.envs.iter().find(|e| &e.name == env && !replaced.contains(&e.name));
        let declared = state
            .environments
            .iter()
            .find(|e| *e.name == **env)
            .and_then(|e| e.installs.iter().find(|i| *i.name == **step));
        out.extend(install_change(env, step, script, instance, declared.map(|i| i.as_ref())));
    }
    out.extend(super::reach::changes(state, &live.groups, &live.reaches));
    let declared = |name: &str| state.environments.iter().any(|e| &*e.name == name);
    for env in live.envs.iter().filter(|e| !declared(&e.name)) {
        out.extend(env_change(None, Some(env)));
    }
    for group in &live.groups {
        let env = group.tags.get(TAG_ADDRESS).and_then(|a| a.strip_prefix("security_group.")).unwrap_or("");
        if !declared(env) {
            out.push(Change {
                address: group_address(env),
                action: Action::Delete,
                diffs: Vec::new(),
                span: None,
                resource: Resource::Group { desired: None, live: Some(Box::new(group.clone())) },
            });
        }
    }
    for role in live.roles.iter().filter(|r| !state.roles.iter().any(|d| *d.name == *r.name)) {
        out.extend(role_change(None, Some(role)));
    }
    out
}

/// Attribute by attribute, what is wanted against what is there, and the action that follows;
/// None when nothing differs. A change to an attribute whose row says so replaces the resource.
pub(super) fn compare<D: Declared>(want: &Texts, have: Option<&Texts>) -> Option<(Action, Vec<Diff>)> {
    if want.is_empty() {
        return have.map(|_| (Action::Delete, Vec::new()));
    }
    let diffs: Vec<Diff> = want
        .iter()
        .filter(|(k, v)| have.and_then(|h| h.get(*k)) != Some(*v))
        .map(|(k, v)| Diff {
            attribute: k.to_string(),
            before: have.and_then(|h| h.get(k).cloned()),
            after: Some(v.clone()),
            forces_replacement: have.is_some() && D::replaces(k),
        })
        .collect();
    let action = match have {
        None => Action::Create,
        Some(_) if diffs.is_empty() => return None,
        Some(_) if diffs.iter().any(|d| d.forces_replacement) => Action::Replace,
        Some(_) => Action::Update,
    };
    Some((action, diffs))
}

pub(super) fn env_change(desired: Option<&Rc<Environment>>, live: Option<&LiveEnv>) -> Option<Change> {
    let name = desired.map(|d| d.name.to_string()).or_else(|| live.map(|l| l.name.clone()))?;
    let want = desired.map(|d| d.desired_texts()).unwrap_or_default();
    let compared = compare::<Environment>(&want, live.map(Environment::live_texts).as_ref());
    let moved = live.and_then(|l| l.moved_from.as_deref()).filter(|_| desired.is_some());
    let (action, mut diffs) = match (compared, moved) {
        (Some(found), _) => found,
        (None, Some(_)) => (Action::Update, Vec::new()),
        (None, None) => return None,
    };
    if let Some(old) = moved {
        let (before, after) = (Some(quoted(old)), Some(quoted(&name)));
        diffs.insert(0, Diff { attribute: "name".into(), before, after, forces_replacement: false });
    }
    Some(Change {
        address: env_address(&name),
        action,
        diffs,
        span: desired.map(|d| d.span),
        resource: Resource::Env { desired: desired.cloned(), live: live.cloned().map(Box::new), ami: None },
    })
}

/// The rules an environment's own group holds.
pub fn declared_rules(env: &Environment) -> Vec<GroupRule> {
    env.rules.iter().flat_map(|r| r.group_rules()).collect()
}

/// The rules to add to and remove from an environment's group so that it holds exactly the
/// declared ones. Egress is managed only when the file declares some: otherwise the group keeps
/// EC2's default (all traffic out).
pub fn rule_changes(want: &[GroupRule], group: Option<&GroupInfo>) -> (Vec<GroupRule>, Vec<GroupRule>) {
    let manage_egress = want.iter().any(|r| !r.ingress);
    let have: Vec<GroupRule> =
        group.map(|g| g.rules.iter().filter(|r| r.ingress || manage_egress).cloned().collect()).unwrap_or_default();
    let add = want.iter().filter(|w| !have.contains(w)).cloned().collect();
    let remove = have.iter().filter(|h| !want.contains(h)).cloned().collect();
    (add, remove)
}

/// The security groups an environment's instance has, exactly: Cloud9's own group for a Cloud9
/// instance (its environment's stack made it), the environment's kenv group `own`, and the
/// declared `extra` ones — never the VPC's default group, whose rule admits every other member.
pub fn box_groups(instance: &InstanceInfo, own: &str, extra: &[String]) -> Vec<String> {
    let cloud9 = instance.tags.contains_key(CLOUD9_TAG);
    let is_cloud9s = |g: &&String| cloud9 && instance.group_names.get(*g).is_some_and(|n| n.starts_with("aws-cloud9-"));
    let mut groups: Vec<String> = instance.security_groups.iter().filter(is_cloud9s).cloned().collect();
    for g in std::iter::once(own).chain(extra.iter().map(String::as_str)) {
        if !groups.iter().any(|h| h == g) {
            groups.push(g.to_string());
        }
    }
    groups
}

fn group_change(env: &Rc<Environment>, live: Option<&GroupInfo>, instance: Option<&LiveEnv>) -> Option<Change> {
    let (add, remove) = rule_changes(&declared_rules(env), live);
    let mut diffs: Vec<Diff> = remove
        .iter()
        .map(|r| Diff { attribute: "rule".into(), before: Some(r.summary()), after: None, forces_replacement: false })
        .chain(add.iter().map(|r| Diff {
            attribute: "rule".into(),
            before: None,
            after: Some(r.summary()),
            forces_replacement: false,
        }))
        .collect();
    let attached = match (live, instance) {
        (Some(g), Some(e)) => e.instance.security_groups.contains(&g.id),
        _ => false,
    };
    if let Some(e) = instance {
        let own = live.map_or("", |g| g.id.as_str());
        let want = box_groups(&e.instance, own, &env.security_groups.iter().map(|g| g.to_string()).collect::<Vec<_>>());
        for g in e.instance.security_groups.iter().filter(|g| !want.contains(g)) {
            let named = e.instance.group_names.get(g).map_or(g.clone(), |n| format!("{g} ({n})"));
            diffs.push(Diff {
                attribute: "attached".into(),
                before: Some(quoted(&named)),
                after: None,
                forces_replacement: false,
            });
        }
        for g in want.iter().filter(|g| !g.is_empty() && *g != own && !e.instance.security_groups.contains(g)) {
            diffs.push(Diff {
                attribute: "attached".into(),
                before: None,
                after: Some(quoted(g)),
                forces_replacement: false,
            });
        }
    }
    if !attached {
        let before = live.map(|_| "null".to_string());
        diffs.push(Diff {
            attribute: "attached_to".into(),
            before,
            after: Some(quoted(&env.name)),
            forces_replacement: false,
        });
    }
    if diffs.is_empty() {
        return None;
    }
    Some(Change {
        address: group_address(&env.name),
        action: if live.is_some() { Action::Update } else { Action::Create },
        diffs,
        span: Some(env.span),
        resource: Resource::Group { desired: Some(env.clone()), live: live.cloned().map(Box::new) },
    })
}

/// A step to (re)send: its script is not the one that last succeeded on the instance.
fn install_change(
    env: &str,
    step: &str,
    script: &str,
    live: Option<&LiveEnv>,
    declared: Option<&crate::model::InstallStep>,
) -> Option<Change> {
    let hash = crate::install::hash(script);
    let done = live.and_then(|l| l.instance.tags.get(&install_tag(step)));
    if done == Some(&hash) {
        return None;
    }
    let short = |h: &str| format!("sha256:{}", &h[..h.len().min(12)]);
    Some(Change {
        address: format!("install.{env}.{step}"),
        action: if done.is_some() { Action::Update } else { Action::Create },
        diffs: vec![Diff {
            attribute: "script".into(),
            before: done.map(|h| short(h)),
            after: Some(short(&hash)),
            forces_replacement: false,
        }],
        span: declared.map(|i| i.span),
        resource: Resource::Install {
            env: env.into(),
            step: step.into(),
            script: script.into(),
            hash,
            timeout: declared.map_or(crate::model::DEFAULT_TIMEOUT, |i| i.timeout),
        },
    })
}

/// The inline policy a role's `allow` statements make, or None without statements.
pub fn inline_policy(role: &Role) -> Option<serde_json::Value> {
    if role.statements.is_empty() {
        return None;
    }
    let statements: Vec<serde_json::Value> = role
        .statements
        .iter()
        .map(|s| serde_json::json!({ "Effect": "Allow", "Action": s.actions, "Resource": s.resources }))
        .collect();
    Some(serde_json::json!({ "Version": "2012-10-17", "Statement": statements }))
}

/// A role's compared attributes, and what its declaration makes beside them: the inline policy
/// of its `allow` statements and its instance profile.
fn desired_role(r: &Role) -> Texts {
    let mut texts = r.desired_texts();
    texts.insert("policy".into(), inline_policy(r).map_or("null".into(), |p| p.to_string()));
    texts.insert("instance_profile".into(), quoted(&r.name));
    texts
}

fn live_role(r: &LiveRole) -> Texts {
    let mut texts = Role::live_texts(r);
    texts.insert("policy".into(), r.inline.as_ref().map_or("null".into(), |p| p.to_string()));
    let profile = r.instance_profiles.iter().find(|p| **p == r.name).map(String::as_str);
    texts.insert("instance_profile".into(), opt_quoted(profile));
    texts
}

pub(super) fn role_change(desired: Option<&Rc<Role>>, live: Option<&LiveRole>) -> Option<Change> {
    let name = desired.map(|d| d.name.to_string()).or_else(|| live.map(|l| l.name.clone()))?;
    let want = desired.map(|d| desired_role(d)).unwrap_or_default();
    let (action, diffs) = compare::<Role>(&want, live.map(live_role).as_ref())?;
    Some(Change {
        address: role_address(&name),
        action,
        diffs,
        span: desired.map(|d| d.span),
        resource: Resource::Role { desired: desired.cloned(), live: live.cloned().map(Box::new) },
    })
}
