//! `reach tcp 443 to "sg-…"`: the environment may reach a server kenv does not own. It is one
//! ingress rule on the server's group whose source is the environment's own kenv group, tagged
//! with the stack and its address (`reach.<env>.<group>.<protocol>.<ports>`), so plan and apply
//! see exactly the rules kenv made there: someone else's rules on that group are never read as
//! kenv's, never changed, never removed.

use std::rc::Rc;

use crate::aws::{Aws, AwsError, Filters, GroupInfo, GroupRule, TaggedRule};
use crate::diag::{Diag, ErrorKind};
use crate::model::{DesiredState, Environment, Rule};
use crate::source::Span;

use super::ctx::owner_tags;
use super::overlap::Said;
use super::{env_address, group_address, Action, Change, Diff, Resource, TAG_ADDRESS, TAG_STACK};

/// Where a reach is: the environment, the group it reaches, the rule's protocol and ports.
pub fn address(env: &str, group: &str, rule: &Rule) -> String {
    let ports = match rule.ports_text() {
        p if p.is_empty() => "all".to_string(),
        p => p,
    };
    format!("reach.{env}.{group}.{}.{ports}", rule.protocol.name())
}

/// A reach as plan shows it: the rule on the reached group, from the environment's group.
fn summary(group: &str, env: &str, rule: &GroupRule) -> String {
    let source = GroupRule { peer: format!("{} ({})", group_address(env), rule.peer), ..rule.clone() };
    format!("on {group}: {}", source.summary())
}

/// The changes that make the stack's reaches what the file says: `groups` are the stack's live
/// kenv groups (a reach's source), `live` the tagged rules kenv made on other groups.
pub fn changes(state: &DesiredState, groups: &[GroupInfo], live: &[TaggedRule]) -> Vec<Change> {
    let mut out = Vec::new();
    let mut wanted = Vec::new();
    for env in &state.environments {
        let source = groups.iter().find(|g| g.tags.get(TAG_ADDRESS) == Some(&group_address(&env.name)));
        let source = source.map_or("its new group", |g| g.id.as_str());
        for rule in &env.rules {
            for group in rule.reached_groups() {
                let address = address(&env.name, group, rule);
                let desired = rule.with_peer(true, source);
                let found = live.iter().find(|r| r.tags.get(TAG_ADDRESS) == Some(&address));
                wanted.push(address.clone());
                if found.is_some_and(|f| f.group == group && f.rule == desired) {
                    continue;
                }
                let diff = Diff {
                    attribute: "rule".into(),
                    before: found.map(|f| summary(&f.group, &env.name, &f.rule)),
                    after: Some(summary(group, &env.name, &desired)),
                    forces_replacement: false,
                };
                let reach = Reach { env: env.clone(), group: group.to_string(), rule: desired };
                out.push(change(address, Some(reach), found, diff, Some(rule.span)));
            }
        }
    }
    for gone in live.iter().filter(|r| !r.tags.get(TAG_ADDRESS).is_some_and(|a| wanted.contains(a))) {
        let address = gone.tags.get(TAG_ADDRESS).cloned().unwrap_or_default();
        let env = address.split('.').nth(1).unwrap_or("");
        let diff = Diff {
            attribute: "rule".into(),
            before: Some(summary(&gone.group, env, &gone.rule)),
            after: None,
            forces_replacement: false,
        };
        out.push(change(address, None, Some(gone), diff, None));
    }
    out
}

/// Refuses a reach to a group in another network: a security group can name another as a rule's
/// source only within one VPC, or across two peered ones (EC2 answers InvalidGroup.NotFound, "two
/// resources that belong to different networks"). Read only for stacks with reaches: the
/// environments' subnets and the reached groups, one call each, and the peerings when one differs.
pub fn refuse_other_networks(state: &DesiredState, aws: &Aws) -> Result<(), Box<Diag>> {
    let reaches: Vec<(&Environment, &Rule, &str)> = state
        .environments
        .iter()
        .flat_map(|e| e.rules.iter().flat_map(move |r| r.reached_groups().into_iter().map(move |g| (&**e, &**r, g))))
        .collect();
    if reaches.is_empty() {
        return Ok(());
    }
    let region = aws.region();
    let error = |e: AwsError, at: Span| e.diag(Some(at), region.as_deref()).boxed();
    let mut subnets: Vec<String> = reaches.iter().map(|(e, ..)| e.subnet.to_string()).collect();
    let mut groups: Vec<String> = reaches.iter().map(|(_, _, g)| g.to_string()).collect();
    subnets.sort();
    subnets.dedup();
    groups.sort();
    groups.dedup();
    let first = reaches[0].1.span;
    let subnets = aws.subnets(&Filters::new(), &subnets).map_err(|e| error(e, reaches[0].0.span_of("subnet")))?;
    let groups = aws.security_groups(&Filters::new(), &groups).map_err(|e| error(e, first))?;
    let mut peered: Option<Vec<(String, String)>> = None;
    for (env, rule, group) in reaches {
        let ours = subnets.iter().find(|s| s.id.as_deref() == Some(&*env.subnet)).and_then(|s| s.vpc.clone());
        let theirs = groups.iter().find(|g| g.id == group).map(|g| g.vpc.clone());
        let (Some(ours), Some(theirs)) = (ours, theirs) else { continue };
        if ours == theirs {
            continue;
        }
        if peered.is_none() {
            peered = Some(aws.peered_vpcs().map_err(|e| error(e, rule.span))?);
        }
        let joined = |(a, b): &(String, String)| (*a == ours && *b == theirs) || (*a == theirs && *b == ours);
        if peered.as_ref().is_some_and(|p| p.iter().any(joined)) {
            continue;
        }
        let detail = format!(
            "{group} is in {theirs} and environment `{}` in {ours}: a group admits another group only in its own \
             VPC or a peered one",
            env.name
        );
        let help = "reach the server by its network instead (`reach tcp 443 to \"10.1.0.0/16\"`), or peer the two VPCs";
        return Diag::new(ErrorKind::Invalid { what: "reach".into(), detail }, rule.span).help(help).err();
    }
    Ok(())
}

/// A reach the file declares: its environment, the group it reaches and the rule there (the
/// source is filled in by apply, once the environment's group exists).
#[derive(Debug, Clone)]
pub struct Reach {
    pub env: Rc<Environment>,
    pub group: String,
    pub rule: GroupRule,
}

fn change(
    address: String,
    desired: Option<Reach>,
    live: Option<&TaggedRule>,
    diff: Diff,
    span: Option<crate::source::Span>,
) -> Change {
    let action = match (&desired, live) {
        (Some(_), None) => Action::Create,
        (Some(_), Some(_)) => Action::Update,
        _ => Action::Delete,
    };
    let resource = Resource::Reach { desired, live: live.cloned().map(Box::new) };
    Change { address, action, diffs: vec![diff], span, resource }
}

/// What adding a reach's rule needs, owned (reaches go side by side: `converge::overlap`).
pub(super) struct ReachWork {
    stack: String,
    address: String,
    env: String,
    group: String,
    rule: GroupRule,
    live: Option<TaggedRule>,
}

impl ReachWork {
    pub fn of(stack: &str, address: &str, reach: &Reach, live: Option<&TaggedRule>) -> ReachWork {
        let (stack, address, env) = (stack.to_string(), address.to_string(), reach.env.name.to_string());
        ReachWork { stack, address, env, group: reach.group.clone(), rule: reach.rule.clone(), live: live.cloned() }
    }
}

/// Adds (or replaces) the rule of a reach: from the environment's group as it is now.
pub(super) fn converge(aws: &Aws, w: &ReachWork, _: &dyn Fn(Said)) -> Result<(), AwsError> {
    let ours = Filters::from([
        (format!("tag:{TAG_STACK}"), vec![w.stack.clone()]),
        (format!("tag:{TAG_ADDRESS}"), vec![group_address(&w.env)]),
    ]);
    let source = aws.security_groups(&ours, &[])?.into_iter().next();
    let source = source.ok_or_else(|| AwsError::local(format!("{} has no security group yet", env_address(&w.env))))?;
    if let Some(old) = &w.live {
        aws.revoke_rule(&old.group, &old.id)?;
    }
    let rule = GroupRule { peer: source.id, ..w.rule.clone() };
    aws.authorize_tagged(&w.group, &rule, &owner_tags(&w.stack, &w.address)).map(drop)
}
