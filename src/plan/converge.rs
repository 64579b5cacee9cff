//! An environment's changeable settings brought to the file's values — its Cloud9 settings and
//! members, instance type, instance profile, IMDS options, tags, a rename — for many environments
//! at once: each on a thread of its own (at most `PARALLEL` at a time) with its own handle on AWS
//! (`Aws::sibling`: the configuration and credentials shared), so that on AWS, where each of
//! these calls takes a tenth of a second or more, twenty environments take about as long as a few.
//! A thread owns what it works on (`Settings`, `LiveEnv`); what it has to say goes back to the
//! apply's thread, which shows it and records the results in the plan's order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::ctx::owner_tags;
use super::diff::{box_groups, rule_changes};
use super::overlap::Said;
use super::{env_address, group_address, TAG_ADDRESS, TAG_STACK};
use crate::aws::{Aws, AwsError, Filters, GroupInfo, GroupRule, InstanceInfo, LiveEnv};
use crate::model::Environment;

/// How long apply waits for IAM to make a new instance profile usable to EC2 (AWS documents
/// "a few seconds"; seen up to about 15).
const PROPAGATION_WAIT: Duration = Duration::from_secs(60);

/// What converging an environment needs of its declaration, owned, for a thread of its own.
pub(super) struct Settings {
    stack: String,
    name: String,
    instance_type: String,
    managed_credentials: bool,
    description: Option<String>,
    members: Option<BTreeMap<String, String>>,
    role: Option<String>,
    tokens: String,
    hop_limit: i64,
    /// Every tag the environment should carry (the user's and kenv's).
    tags: BTreeMap<String, String>,
}

impl Settings {
    pub fn of(stack: &str, env: &Environment, tags: BTreeMap<String, String>) -> Settings {
        Settings {
            stack: stack.to_string(),
            name: env.name.to_string(),
            instance_type: env.instance_type.to_string(),
            managed_credentials: env.managed_credentials,
            description: env.description.as_deref().map(String::from),
            members: env.members.as_ref().map(|m| m.iter().map(|(k, v)| (k.to_string(), v.to_text())).collect()),
            role: env.role.as_deref().map(String::from),
            tokens: env.imds.tokens.to_string(),
            hop_limit: env.imds.hop_limit,
            tags,
        }
    }
}

/// Brings one environment's changeable settings to the file's values.
pub(super) fn converge(aws: &Aws, (s, live): &(Settings, LiveEnv), say: &dyn Fn(Said)) -> Result<(), AwsError> {
    let i = &live.instance;
    let address = env_address(&s.name);
    if let Some(old) = &live.moved_from {
        move_env(aws, &s.stack, old, &s.name)?;
        say(Said::Line(format!("  moving {} to {address}: the same instance, group and rules", env_address(old))));
    }
    if i.instance_type != s.instance_type {
        let (from, to) = (&i.instance_type, &s.instance_type);
        say(Said::Line(format!("  {address}: {from} → {to}: stopping the instance, resizing it, starting it")));
        say(Said::Env(s.name.clone(), format!("resizing to {to} …")));
        aws.resize(&i.id, to, i.state == "running")?;
    }
    if let Some(c9) = &live.cloud9 {
        let amtc = (c9.managed_credentials_on() != s.managed_credentials).then_some(s.managed_credentials);
        let description = (c9.description != s.description).then(|| s.description.clone().unwrap_or_default());
        let name = (c9.name != s.name).then_some(s.name.as_str());
        if amtc.is_some() || description.is_some() || name.is_some() {
            aws.cloud9_update(&c9.id, amtc, description.as_deref(), name)?;
        }
        if let Some(want) = &s.members {
            converge_members(aws, &c9.id, want)?;
        }
    }
    if let Some(role) = &s.role {
        if i.instance_profile.as_deref().and_then(|a| a.rsplit('/').next()) != Some(role) {
            let say_line = |line: &str| say(Said::Line(line.to_string()));
            let unseen = profile_unseen(role);
            while_propagating(aws, &address, &say_line, &unseen, || aws.set_instance_profile(&i.id, role))?;
        }
    }
    if i.metadata.tokens != s.tokens || i.metadata.hop_limit != s.hop_limit {
        aws.set_metadata_options(&i.id, &s.tokens, s.hop_limit)?;
    }
    let want = &s.tags;
    let set: BTreeMap<String, String> =
        want.iter().filter(|(k, v)| i.tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let drop: Vec<String> =
        i.tags.keys().filter(|k| crate::model::is_kept_tag(k.as_str()) && !want.contains_key(*k)).cloned().collect();
    match &live.cloud9 {
        Some(c9) => {
            if !set.is_empty() {
                aws.cloud9_tag(&c9.arn, &set)?;
            }
            if !drop.is_empty() {
                aws.cloud9_untag(&c9.arn, &drop)?;
            }
        }
        None => {
            if !set.is_empty() {
                aws.create_tags(&i.id, &set)?;
            }
            if !drop.is_empty() {
                aws.delete_tags(&i.id, &drop)?;
            }
        }
    }
    Ok(())
}

/// What making an environment's own group needs, owned.
pub(super) struct GroupWork {
    pub stack: String,
    pub name: String,
    /// The declared rules.
    pub rules: Vec<GroupRule>,
    /// Groups the file names to attach beside it (`security_groups`).
    pub extra: Vec<String>,
    pub live: Option<GroupInfo>,
    pub instance: InstanceInfo,
}

/// The environment's own group: made in its instance's VPC, holding exactly the declared rules;
/// the instance gets exactly the groups `box_groups` names (the VPC's default group goes).
pub(super) fn group(aws: &Aws, w: &GroupWork, _: &dyn Fn(Said)) -> Result<(), AwsError> {
    let group = match &w.live {
        Some(g) => g.clone(),
        None => {
            // An ec2 box was launched into it: the group is on the instance already.
            let on_box = w.instance.group_names.iter().find(|(_, n)| **n == group_name(&w.stack, &w.name));
            let id = match on_box {
                Some((id, _)) => id.clone(),
                None => own_group(aws, &w.stack, &w.name, &w.instance.vpc)?,
            };
            let fresh = aws.security_groups(&Filters::new(), &[id])?;
            let vanished = || AwsError::local(format!("the security group of {} vanished", env_address(&w.name)));
            fresh.into_iter().next().ok_or_else(vanished)?
        }
    };
    // From the group as it is now (it may have changed since the plan, or just been made).
    let (add, remove) = rule_changes(&w.rules, Some(&group));
    if !remove.is_empty() {
        aws.revoke(&group.id, &remove)?;
    }
    if !add.is_empty() {
        aws.authorize(&group.id, &add)?;
    }
    let groups = box_groups(&w.instance, &group.id, &w.extra);
    let sorted = |g: &[String]| -> Vec<String> {
        let mut g = g.to_vec();
        g.sort();
        g
    };
    if sorted(&groups) != sorted(&w.instance.security_groups) {
        aws.set_groups(&w.instance.id, &groups)?;
    }
    Ok(())
}

/// Makes an environment's own group in a VPC (or finds the one an earlier, interrupted call
/// made); returns its id. An EC2 instance is launched into it, a Cloud9 one gets it afterwards.
pub(super) fn own_group(aws: &Aws, stack: &str, env: &str, vpc: &str) -> Result<String, AwsError> {
    let description = format!("kenv: the rules of {}", env_address(env));
    aws.create_group(&group_name(stack, env), &description, vpc, &owner_tags(stack, &group_address(env)))
}

/// An environment's own group's EC2 name (it cannot change: a renamed environment keeps it).
fn group_name(stack: &str, env: &str) -> String {
    format!("kenv-{stack}-{env}")
}

/// What EC2 does not see yet in a refusal, and why: (`instance profile \`dev\``, `IAM propagates`).
pub(super) type Unseen<'a> = &'a dyn Fn(&AwsError) -> Option<(String, &'static str)>;

/// An instance profile EC2 refuses while IAM propagates it.
pub(super) fn profile_unseen(profile: &str) -> impl Fn(&AwsError) -> Option<(String, &'static str)> + '_ {
    move |e| e.is_iam_propagation().then(|| (format!("instance profile `{profile}`"), "IAM propagates"))
}

/// Makes a call that names something made moments ago; while EC2 does not see it yet (AWS's
/// eventual consistency: `unseen` says what, for the errors that mean it), waits (0.5 s, doubling
/// to 8 s, at most PROPAGATION_WAIT in all) and tries again, saying so. Every other error returns
/// at once.
pub(super) fn while_propagating<T>(
    aws: &Aws,
    address: &str,
    say: &dyn Fn(&str),
    unseen: Unseen,
    mut call: impl FnMut() -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let (started, mut pause) = (Instant::now(), Duration::from_millis(500));
    loop {
        match call() {
            Err(e) if started.elapsed() + pause <= PROPAGATION_WAIT && unseen(&e).is_some() => {
                let (what, why) = unseen(&e).unwrap_or_default();
                say(&format!(
                    "  {address}: EC2 does not see {what} yet ({why}); retrying in {:.1} s",
                    pause.as_secs_f64()
                ));
                aws.sleep(pause)?;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
            done => return done,
        }
    }
}

/// A Cloud9 environment's memberships made exactly the declared ones (read again first).
fn converge_members(aws: &Aws, id: &str, want: &BTreeMap<String, String>) -> Result<(), AwsError> {
    let have = aws.cloud9_members(id)?;
    for (user, access) in want {
        if have.get(user) != Some(access) {
            aws.cloud9_set_member(id, user, Some(access), !have.contains_key(user))?;
        }
    }
    for user in have.keys().filter(|u| !want.contains_key(*u)) {
        aws.cloud9_set_member(id, user, None, false)?;
    }
    Ok(())
}

/// A renamed environment keeps what it has: its group and its reach rules are re-tagged with its
/// new addresses (the group keeps its EC2 name, which cannot change). The instance's own tags are
/// set last, by `converge`, so a move stopped half-way is found and finished by the next plan.
fn move_env(aws: &Aws, stack: &str, old: &str, new: &str) -> Result<(), AwsError> {
    let tagged = |key: &str, value: String| (format!("tag:{key}"), vec![value]);
    let ours = Filters::from([tagged(TAG_STACK, stack.to_string()), tagged(TAG_ADDRESS, group_address(old))]);
    for g in aws.security_groups(&ours, &[])? {
        aws.create_tags(&g.id, &owner_tags(stack, &group_address(new)))?;
    }
    let prefix = format!("reach.{old}.");
    for r in aws.tagged_rules(TAG_STACK, stack)? {
        if let Some(rest) = r.tags.get(TAG_ADDRESS).and_then(|a| a.strip_prefix(&prefix)) {
            aws.create_tags(&r.id, &owner_tags(stack, &format!("reach.{new}.{rest}")))?;
        }
    }
    Ok(())
}
