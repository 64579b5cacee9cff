//! Making a plan real, in dependency order: roles; environments (launched in batches of
//! `PARALLEL`, whose long waits overlap); each environment's own settings; its security group;
//! then deletions, dependents first. Every step is idempotent and re-reads what it acts on, so an
//! apply that stopped part-way is finished by running it again: creations carry client request
//! tokens derived from the declaration, and plan finds half-made resources by their tags.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::converge::{converge, group, own_group, profile_unseen, while_propagating, GroupWork, Settings};
use super::ctx::{owner_tags, Ctx, Failed};
use super::diff::{declared_rules, inline_policy};
use super::live::CLOUD9_TAG;
use super::overlap::overlap;
use super::reach::ReachWork;
use super::regions;
use super::{env_address, role_path, Action, Change, Plan, Resource};
use super::{TAG_AUTO_STOP, TAG_CONNECTION, TAG_IMAGE, TAG_PROTECT};
use crate::aws::{Aws, AwsError, Filters, GroupInfo, LiveEnv, LiveRole, NewCloud9, NewInstance};
use crate::model::{EnvKind, Environment, Role};

/// Environments launched at once (each then waits for the others in the batch). Launches are
/// quick calls and the waits are AWS's, so a team's environments go in one batch: 25 is also what
/// one DescribeEnvironments names.
const PARALLEL: usize = 25;
/// How long an environment may take to become ready.
const READY_WAIT: Duration = Duration::from_secs(900);

/// What an apply did: the addresses it changed, in order.
#[derive(Debug, Default)]
pub struct Applied {
    pub done: Vec<String>,
}

pub fn apply(plan: &Plan, aws: &Aws, progress: &dyn Fn(super::Progress)) -> Result<Applied, Box<Failed>> {
    let mut ctx = Ctx { aws, stack: &plan.stack, done: Vec::new(), progress };
    let of = |want: fn(&Resource) -> bool, actions: &[Action]| -> Vec<&Change> {
        plan.changes.iter().filter(|c| want(&c.resource) && actions.contains(&c.action)).collect()
    };
    let is_role = |r: &Resource| matches!(r, Resource::Role { .. });
    let is_env = |r: &Resource| matches!(r, Resource::Env { .. });
    let is_group = |r: &Resource| matches!(r, Resource::Group { .. });
    for c in of(is_role, &[Action::Create, Action::Update]) {
        let Resource::Role { desired, live } = &c.resource else { continue };
        ctx.step(c, |ctx| {
            if let Some(role) = desired {
                converge_role(ctx, role, live.as_deref())?;
            }
            match (regions::after(c), live) {
                (Some(tags), Some(l)) => ctx.aws.tag_role(&l.name, &tags),
                _ => Ok(()),
            }
        })?;
        ctx.finished(c);
    }
    let is_access = |r: &Resource| matches!(r, Resource::Access { .. });
    for c in of(is_access, &[Action::Create, Action::Update, Action::Delete]) {
        let Resource::Access { document, live } = &c.resource else { continue };
        ctx.step(c, |ctx| {
            // An update without a document only takes this region off the policy's tag.
            if c.action != Action::Update || document.is_some() {
                super::access::converge(ctx, document.as_ref(), live.as_deref())?;
            }
            match (regions::after(c), live) {
                (Some(tags), Some(l)) => ctx.aws.tag_policy(&l.arn, &tags),
                _ => Ok(()),
            }
        })?;
        ctx.finished(c);
    }
    let is_sessions = |r: &Resource| matches!(r, Resource::Sessions { .. });
    for c in of(is_sessions, &[Action::Create, Action::Update, Action::Delete]) {
        let Resource::Sessions { desired, live } = &c.resource else { continue };
        ctx.step(c, |ctx| super::sessions::converge(ctx, desired.as_deref(), live.as_deref()))?;
        ctx.finished(c);
    }
    for batch in of(is_env, &[Action::Create, Action::Replace]).chunks(PARALLEL) {
        let mut launched = Vec::new();
        for c in batch {
            let Resource::Env { desired: Some(env), live, ami } = &c.resource else { continue };
            launched.push((c, env, ctx.step(c, |ctx| launch(ctx, env, live.as_deref(), ami.as_deref()))?));
        }
        let mut ready = Vec::new();
        for (c, env, id) in launched {
            let live = ctx.step(c, |ctx| wait_ready(ctx, env, &id))?;
            ready.push((*c, (Settings::of(ctx.stack, env, env_tags(&ctx, env)), live)));
        }
        overlap(&mut ctx, ready, converge)?;
    }
    let mut updates = Vec::new();
    for c in of(is_env, &[Action::Update]) {
        let Resource::Env { desired: Some(env), live: Some(live), .. } = &c.resource else { continue };
        updates.push((c, (Settings::of(ctx.stack, env, env_tags(&ctx, env)), (**live).clone())));
    }
    overlap(&mut ctx, updates, converge)?;
    let groups: Vec<(&Change, &Rc<Environment>, Option<&GroupInfo>)> = of(is_group, &[Action::Create, Action::Update])
        .into_iter()
        .filter_map(|c| match &c.resource {
            Resource::Group { desired: Some(env), live } => Some((c, env, live.as_deref())),
            _ => None,
        })
        .collect();
    if let Some((first, ..)) = groups.first() {
        // Every environment's instance in one read, for its group's VPC and attachment.
        let names: Vec<&str> = groups.iter().map(|(_, env, _)| &*env.name).collect();
        let instances = ctx.step(first, |ctx| ctx.instances_of(&names))?;
        let mut work = Vec::new();
        for ((c, env, live), instance) in groups.into_iter().zip(instances) {
            let instance = ctx.step(c, |_| {
                let none = || {
                    AwsError::local(format!(
                        "{} has no instance to attach its security group to",
                        env_address(&env.name)
                    ))
                };
                instance.ok_or_else(none)
            })?;
            let extra = env.security_groups.iter().map(|g| g.to_string()).collect();
            let (stack, name, rules) = (ctx.stack.to_string(), env.name.to_string(), declared_rules(env));
            work.push((c, GroupWork { stack, name, rules, extra, live: live.cloned(), instance }));
        }
        overlap(&mut ctx, work, group)?;
    }
    let is_lock = |r: &Resource| matches!(r, Resource::Lock { .. });
    for c in of(is_lock, &[Action::Create, Action::Update, Action::Delete]) {
        let Resource::Lock { secret, policy } = &c.resource else { continue };
        ctx.step(c, |ctx| super::locks::converge(ctx, secret, policy.as_deref()))?;
        ctx.finished(c);
    }
    let is_reach = |r: &Resource| matches!(r, Resource::Reach { .. });
    let mut reaches = Vec::new();
    for c in of(is_reach, &[Action::Create, Action::Update]) {
        let Resource::Reach { desired: Some(reach), live } = &c.resource else { continue };
        reaches.push((c, ReachWork::of(ctx.stack, &c.address, reach, live.as_deref())));
    }
    overlap(&mut ctx, reaches, super::reach::converge)?;
    let is_install = |r: &Resource| matches!(r, Resource::Install { .. });
    super::deliver::deliver_all(&mut ctx, &of(is_install, &[Action::Create, Action::Update]))?;
    // A reach names its environment's group as a source: it goes before that group can.
    for c in of(is_reach, &[Action::Delete]) {
        let Resource::Reach { live: Some(rule), .. } = &c.resource else { continue };
        ctx.step(c, |ctx| ctx.aws.revoke_rule(&rule.group, &rule.id))?;
        ctx.finished(c);
    }
    for c in of(is_env, &[Action::Delete]) {
        let Resource::Env { live: Some(live), .. } = &c.resource else { continue };
        ctx.step(c, |ctx| delete_env(ctx.aws, live))?;
        ctx.finished(c);
    }
    for c in of(is_group, &[Action::Delete]) {
        let Resource::Group { live: Some(group), .. } = &c.resource else { continue };
        ctx.step(c, |ctx| ctx.aws.delete_group(&group.id))?;
        ctx.finished(c);
    }
    for c in of(is_role, &[Action::Delete]) {
        let Resource::Role { live: Some(role), .. } = &c.resource else { continue };
        ctx.step(c, |ctx| ctx.aws.delete_role(role))?;
        ctx.finished(c);
    }
    Ok(Applied { done: ctx.done })
}

fn converge_role(ctx: &mut Ctx, role: &Role, live: Option<&LiveRole>) -> Result<(), AwsError> {
    let aws = ctx.aws;
    let path = role_path(ctx.stack);
    let tags = ctx.shared_tags(&super::role_address(&role.name));
    let mut trust: Vec<String> = role.trust.iter().map(|t| t.to_string()).collect();
    trust.sort();
    let boundary = role.boundary.as_deref();
    match live {
        None => aws.create_role(&role.name, &path, &trust, boundary, &tags)?,
        Some(l) => {
            if l.trust != trust {
                aws.set_trust(&role.name, &trust)?;
            }
            if l.boundary.as_deref() != boundary {
                aws.set_boundary(&role.name, boundary)?;
            }
        }
    }
    let policy = inline_policy(role);
    if policy != live.and_then(|l| l.inline.clone()) {
        match &policy {
            Some(doc) => aws.put_inline_policy(&role.name, doc)?,
            None => aws.delete_inline_policy(&role.name)?,
        }
    }
    let attached: Vec<&str> = live.map_or_else(Vec::new, |l| l.managed.iter().map(String::as_str).collect());
    let managed: Vec<&str> = role.managed.iter().map(|m| &**m).collect();
    for arn in managed.iter().filter(|a| !attached.contains(a)) {
        aws.attach_policy(&role.name, arn)?;
    }
    for arn in attached.iter().filter(|a| !managed.contains(a)) {
        aws.detach_policy(&role.name, arn)?;
    }
    if !live.is_some_and(|l| l.instance_profiles.iter().any(|p| *p == *role.name)) {
        aws.create_instance_profile(&role.name, &path, &tags)?;
    }
    Ok(())
}

/// A client request token: the same declaration (in what cannot change in place) gets the same
/// token, so a repeated create returns what the first one made.
fn token(stack: &str, env: &Environment) -> String {
    let key = format!(
        "{stack}\n{}\n{}\n{}\n{}\n{}\n{}\n{:?}",
        env.name,
        env.kind_name(),
        env.instance_type,
        env.image,
        env.subnet,
        env.connection_name(),
        env.auto_stop
    );
    format!("kenv-{}", &hex::encode(Sha256::digest(key.as_bytes()))[..40])
}

fn env_tags(ctx: &Ctx, env: &Environment) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = env.tags.iter().map(|(k, v)| (k.to_string(), v.to_text())).collect();
    tags.extend(kenv_tags(ctx.stack, env));
    tags
}

/// kenv's own tags on an environment: its stack's, who may open it, and what AWS does not say
/// about it.
pub(super) fn kenv_tags(stack: &str, env: &Environment) -> BTreeMap<String, String> {
    let mut tags = owner_tags(stack, &env_address(&env.name));
    tags.extend(crate::model::access_tags(env));
    tags.insert(TAG_IMAGE.into(), env.image.to_string());
    tags.insert(TAG_PROTECT.into(), env.protect.to_string());
    match env.kind {
        EnvKind::Cloud9 => {
            tags.insert(TAG_AUTO_STOP.into(), env.auto_stop.map_or("never".into(), |m| m.to_string()));
        }
        EnvKind::Ec2 => {
            tags.insert(TAG_CONNECTION.into(), env.connection_name().into());
            tags.insert("Name".into(), env.name.to_string());
        }
    }
    tags
}

/// Starts making an environment (after removing the one it replaces); returns the id to wait on:
/// the Cloud9 environment's, or the instance's. `ami`: what an EC2 image alias resolved to at plan time.
fn launch(ctx: &mut Ctx, env: &Environment, replaced: Option<&LiveEnv>, ami: Option<&str>) -> Result<String, AwsError> {
    if let Some(old) = replaced {
        ctx.say(&format!("  deleting {} to replace it", env_address(&env.name)));
        delete_env(ctx.aws, old)?;
    }
    ctx.say(&format!("  creating {} …", env_address(&env.name)));
    ctx.env_is(&env.name, "launching …");
    let tags = env_tags(ctx, env);
    let token = token(ctx.stack, env);
    match env.kind {
        EnvKind::Cloud9 => ctx.aws.cloud9_create(&NewCloud9 {
            name: &env.name,
            description: env.description.as_deref(),
            instance_type: &env.instance_type,
            image: &env.image,
            subnet: &env.subnet,
            connection: env.connection.aws(),
            auto_stop: env.auto_stop,
            owner: env.owner.as_deref(),
            tags: &tags,
            token: &token,
        }),
        EnvKind::Ec2 => {
            // Launched into its own group (and the declared ones), never the VPC's default group.
            let subnet = ctx.aws.subnets(&Filters::new(), &[env.subnet.to_string()])?.into_iter().next();
            let vpc = subnet.and_then(|s| s.vpc).ok_or_else(|| AwsError {
                class: crate::diag::ErrorClass::NotFound,
                op: None,
                code: Some("InvalidSubnetID.NotFound".into()),
                message: format!("the subnet '{}' does not exist", env.subnet),
            })?;
            let own = own_group(ctx.aws, ctx.stack, &env.name, &vpc)?;
            let groups: Vec<String> =
                std::iter::once(own).chain(env.security_groups.iter().map(|g| g.to_string())).collect();
            let new = NewInstance {
                image: ami.unwrap_or(&env.image),
                instance_type: &env.instance_type,
                subnet: &env.subnet,
                groups: &groups,
                profile: env.role.as_deref(),
                tokens: &env.imds.tokens,
                hop_limit: env.imds.hop_limit,
                tags: &tags,
                token: &token,
            };
            let (profile, address) = (env.role.as_deref().unwrap_or_default(), env_address(&env.name));
            // The group made just above may not be visible to RunInstances yet (EC2's eventual
            // consistency), nor a profile made by this apply (IAM's).
            let profile_unseen = profile_unseen(profile);
            let unseen = |e: &AwsError| {
                let group = e.is(&["InvalidGroup.NotFound"]) && e.message.contains(&groups[0]);
                let group = group.then(|| (format!("its new security group `{}`", groups[0]), "EC2 propagates"));
                group.or_else(|| profile_unseen(e))
            };
            while_propagating(ctx.aws, &address, &|line| ctx.say(line), &unseen, || ctx.aws.run_instance(&new))
        }
    }
}

fn wait_ready(ctx: &mut Ctx, env: &Environment, id: &str) -> Result<LiveEnv, AwsError> {
    let started = Instant::now();
    loop {
        let found = match env.kind {
            EnvKind::Cloud9 => match ctx.aws.cloud9_status(id)?.as_str() {
                "ready" => ctx.aws.live_instances(CLOUD9_TAG, vec![id.to_string()])?.into_iter().next(),
                "error" | "deleting" => {
                    return Err(AwsError::local(format!("Cloud9 environment {id} failed to become ready")));
                }
                _ => None,
            },
            EnvKind::Ec2 => {
                let found = ctx.aws.instances(&Filters::new(), &[id.to_string()])?.into_iter().next();
                if let Some(gone) =
                    found.as_ref().filter(|i| matches!(i.state.as_str(), "terminated" | "shutting-down"))
                {
                    return Err(AwsError::local(format!("instance {id} is {} instead of starting", gone.state)));
                }
                found.filter(|i| i.state == "running")
            }
        };
        if let Some(instance) = found {
            let cloud9 = match env.kind {
                EnvKind::Cloud9 => ctx.aws.cloud9_describe(&[id.to_string()])?.into_iter().next(),
                EnvKind::Ec2 => None,
            };
            let secs = started.elapsed().as_secs_f64();
            ctx.say(&format!("  {} ready after {secs:.1} s", env_address(&env.name)));
            ctx.env_is(&env.name, &format!("ready after {secs:.1} s; configuring …"));
            return Ok(LiveEnv { name: env.name.to_string(), instance, cloud9, members: None, moved_from: None });
        }
        if started.elapsed() > READY_WAIT {
            return Err(AwsError::local(format!(
                "{} was not ready after {} s",
                env_address(&env.name),
                READY_WAIT.as_secs()
            )));
        }
        ctx.aws.sleep(Duration::from_millis(250))?;
    }
}

fn delete_env(aws: &Aws, live: &LiveEnv) -> Result<(), AwsError> {
    match &live.cloud9 {
        Some(c9) => aws.cloud9_delete(&c9.id),
        None => aws.terminate(&live.instance.id),
    }
}
