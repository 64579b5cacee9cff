//! Making a plan real, in dependency order: roles; environments (launched in batches of
//! `PARALLEL`, whose long waits overlap); each environment's own settings; its security group;
//! then deletions, dependents first. Every step is idempotent and re-reads what it acts on, so an
//! apply that stopped part-way is finished by running it again: creations carry client request
//! tokens derived from the declaration, and plan finds half-made resources by their tags.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::diff::{inline_policy, rule_changes};
use super::live::{LiveEnv, CLOUD9_TAG};
use super::{env_address, group_address, role_path, Action, Change, Plan, Resource};
use super::{TAG_ADDRESS, TAG_AUTO_STOP, TAG_CONNECTION, TAG_IMAGE, TAG_PROTECT, TAG_STACK};
use crate::aws::{Aws, AwsError, Filters, GroupInfo, InstanceInfo, LiveRole, NewCloud9, NewInstance};
use crate::model::{EnvKind, Environment, Role};
use crate::source::Span;

/// Environments launched at once (each then waits for the others in the batch). Launches are
/// quick calls and the waits are AWS's, so a team's environments go in one batch: 25 is also what
/// one DescribeEnvironments names.
const PARALLEL: usize = 25;
/// How long an environment may take to become ready.
const READY_WAIT: Duration = Duration::from_secs(900);

/// How long apply waits for IAM to make a new instance profile usable to EC2 (AWS documents
/// "a few seconds"; seen up to about 15).
const PROPAGATION_WAIT: Duration = Duration::from_secs(60);

/// What an apply did: the addresses it changed, in order.
#[derive(Debug, Default)]
pub struct Applied {
    pub done: Vec<String>,
}

/// An apply that stopped: where, why, and what was done before.
#[derive(Debug)]
pub struct Failed {
    pub address: String,
    pub span: Option<Span>,
    pub error: AwsError,
    pub done: Vec<String>,
}

pub(super) struct Ctx<'a> {
    pub aws: &'a Aws,
    pub stack: &'a str,
    pub done: Vec<String>,
    pub progress: &'a dyn Fn(super::Progress),
}

impl Ctx<'_> {
    /// Runs one step of a change; an error stops the apply, naming the change.
    /// After Ctrl-C no step starts: the one in flight has finished.
    fn step<T>(&mut self, c: &Change, f: impl FnOnce(&mut Self) -> Result<T, AwsError>) -> Result<T, Box<Failed>> {
        let interrupted = || Err(AwsError::interrupted());
        let result = if crate::host::interrupted() { interrupted() } else { f(self) };
        result.map_err(|error| {
            Box::new(Failed { address: c.address.clone(), span: c.span, error, done: self.done.clone() })
        })
    }

    pub fn finished(&mut self, c: &Change) {
        self.say(&format!("  {} {}", past(c.action), c.address));
        match &c.resource {
            Resource::Env { desired: Some(env), .. } => self.env_is(&env.name, past(c.action)),
            Resource::Install { env, step, .. } => self.env_is(env, &format!("install step `{step}` done")),
            _ => {}
        }
        self.done.push(c.address.clone());
    }

    /// A line of the apply's log.
    pub fn say(&self, line: &str) {
        (self.progress)(super::Progress::Line(line));
    }

    /// Where an environment is now.
    pub fn env_is(&self, env: &str, state: &str) {
        (self.progress)(super::Progress::Env(env, state));
    }

    /// The stack's live instance of an environment (`purpose` says what it is wanted for).
    fn instance_of(&self, env: &str, purpose: &str) -> Result<InstanceInfo, AwsError> {
        let found = self.instances_of(&[env])?.pop().flatten();
        found.ok_or_else(|| AwsError::local(format!("{} has no instance to {purpose}", env_address(env))))
    }

    /// The stack's live instances of these environments, in their order (None where one has
    /// none), read in one call.
    pub fn instances_of(&self, envs: &[&str]) -> Result<Vec<Option<InstanceInfo>>, AwsError> {
        let addresses: Vec<String> = envs.iter().map(|e| env_address(e)).collect();
        let found = self.aws.live_instances(TAG_ADDRESS, addresses.clone())?;
        let tag = |i: &InstanceInfo, key: &str| i.tags.get(key).cloned().unwrap_or_default();
        let ours = |i: &&InstanceInfo, address: &str| tag(i, TAG_ADDRESS) == address && tag(i, TAG_STACK) == self.stack;
        Ok(addresses.iter().map(|a| found.iter().find(|i| ours(i, a)).cloned()).collect())
    }

    pub fn tags(&self, address: &str) -> BTreeMap<String, String> {
        owner_tags(self.stack, address)
    }
}

/// The tags saying what kenv made something as: its stack and its address there.
pub(super) fn owner_tags(stack: &str, address: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(TAG_STACK.to_string(), stack.to_string()), (TAG_ADDRESS.to_string(), address.to_string())])
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
    }
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
        let Resource::Role { desired: Some(role), live } = &c.resource else { continue };
        ctx.step(c, |ctx| converge_role(ctx, role, live.as_deref()))?;
        ctx.finished(c);
    }
    for batch in of(is_env, &[Action::Create, Action::Replace]).chunks(PARALLEL) {
        let mut launched = Vec::new();
        for c in batch {
            let Resource::Env { desired: Some(env), live, ami } = &c.resource else { continue };
            launched.push((c, env, ctx.step(c, |ctx| launch(ctx, env, live.as_deref(), ami.as_deref()))?));
        }
        for (c, env, id) in launched {
            let live = ctx.step(c, |ctx| wait_ready(ctx, env, &id))?;
            ctx.step(c, |ctx| converge_env(ctx, env, &live))?;
            ctx.finished(c);
        }
    }
    for c in of(is_env, &[Action::Update]) {
        let Resource::Env { desired: Some(env), live: Some(live), .. } = &c.resource else { continue };
        ctx.step(c, |ctx| converge_env(ctx, env, live))?;
        ctx.finished(c);
    }
    for c in of(is_group, &[Action::Create, Action::Update]) {
        let Resource::Group { desired: Some(env), live, .. } = &c.resource else { continue };
        ctx.step(c, |ctx| converge_group(ctx, env, live.as_deref()))?;
        ctx.finished(c);
    }
    let is_lock = |r: &Resource| matches!(r, Resource::Lock { .. });
    for c in of(is_lock, &[Action::Create, Action::Update, Action::Delete]) {
        let Resource::Lock { secret, policy } = &c.resource else { continue };
        ctx.step(c, |ctx| super::locks::converge(ctx, secret, policy.as_deref()))?;
        ctx.finished(c);
    }
    let is_reach = |r: &Resource| matches!(r, Resource::Reach { .. });
    for c in of(is_reach, &[Action::Create, Action::Update]) {
        let Resource::Reach { desired: Some(reach), live } = &c.resource else { continue };
        ctx.step(c, |ctx| super::reach::converge(ctx, &c.address, reach, live.as_deref()))?;
        ctx.finished(c);
    }
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
    let tags = ctx.tags(&super::role_address(&role.name));
    let mut trust: Vec<String> = role.trust.iter().map(|t| t.to_string()).collect();
    trust.sort();
    match live {
        None => aws.create_role(&role.name, &path, &trust, &tags)?,
        Some(l) if l.trust != trust => aws.set_trust(&role.name, &trust)?,
        Some(_) => {}
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

/// kenv's own tags on an environment: whose it is, and what AWS does not say about it.
pub(super) fn kenv_tags(stack: &str, env: &Environment) -> BTreeMap<String, String> {
    let mut tags = owner_tags(stack, &env_address(&env.name));
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
            let new = NewInstance {
                image: ami.unwrap_or(&env.image),
                instance_type: &env.instance_type,
                subnet: &env.subnet,
                profile: env.role.as_deref(),
                tokens: &env.imds.tokens,
                hop_limit: env.imds.hop_limit,
                tags: &tags,
                token: &token,
            };
            while_iam_propagates(ctx, env, || ctx.aws.run_instance(&new))
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
                ctx.aws.instances(&Filters::new(), &[id.to_string()])?.into_iter().find(|i| i.state == "running")
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

/// Makes a call that names an instance profile; while EC2 refuses the profile because IAM has not
/// propagated it yet, waits (0.5 s, doubling to 8 s, at most PROPAGATION_WAIT in all) and tries
/// again, saying so. Every other error returns at once.
fn while_iam_propagates<T>(
    ctx: &Ctx,
    env: &Environment,
    mut call: impl FnMut() -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let (started, mut pause) = (Instant::now(), Duration::from_millis(500));
    loop {
        match call() {
            Err(e) if e.is_iam_propagation() && started.elapsed() + pause <= PROPAGATION_WAIT => {
                let profile = env.role.as_deref().unwrap_or_default();
                ctx.say(&format!(
                    "  {}: EC2 does not see instance profile `{profile}` yet (IAM propagates); retrying in {:.1} s",
                    env_address(&env.name),
                    pause.as_secs_f64()
                ));
                ctx.aws.sleep(pause)?;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
            done => return done,
        }
    }
}

/// Brings an existing environment's changeable settings to the file's values.
fn converge_env(ctx: &mut Ctx, env: &Environment, live: &LiveEnv) -> Result<(), AwsError> {
    let aws = ctx.aws;
    let i = &live.instance;
    if let Some(old) = &live.moved_from {
        move_env(ctx, old, env)?;
    }
    if *i.instance_type != *env.instance_type {
        let (from, to) = (&i.instance_type, &env.instance_type);
        ctx.say(&format!(
            "  {}: {from} → {to}: stopping the instance, resizing it, starting it",
            env_address(&env.name)
        ));
        ctx.env_is(&env.name, &format!("resizing to {to} …"));
        aws.resize(&i.id, to, i.state == "running")?;
    }
    if let Some(c9) = &live.cloud9 {
        let amtc = (c9.managed_credentials_on() != env.managed_credentials).then_some(env.managed_credentials);
        let description = (c9.description.as_deref() != env.description.as_deref())
            .then(|| env.description.as_deref().unwrap_or_default().to_string());
        let name = (c9.name != *env.name).then_some(&*env.name);
        if amtc.is_some() || description.is_some() || name.is_some() {
            aws.cloud9_update(&c9.id, amtc, description.as_deref(), name)?;
        }
        if let Some(want) = &env.members {
            converge_members(aws, &c9.id, want)?;
        }
    }
    if let Some(role) = &env.role {
        if i.instance_profile.as_deref().and_then(|a| a.rsplit('/').next()) != Some(&**role) {
            while_iam_propagates(ctx, env, || aws.set_instance_profile(&i.id, role))?;
        }
    }
    if *i.metadata.tokens != *env.imds.tokens || i.metadata.hop_limit != env.imds.hop_limit {
        aws.set_metadata_options(&i.id, &env.imds.tokens, env.imds.hop_limit)?;
    }
    let want = env_tags(ctx, env);
    let set: BTreeMap<String, String> =
        want.iter().filter(|(k, v)| i.tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let drop: Vec<String> =
        i.tags.keys().filter(|k| super::diff::is_user_tag(k) && !want.contains_key(*k)).cloned().collect();
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

/// A Cloud9 environment's memberships made exactly the declared ones (read again first).
fn converge_members(aws: &Aws, id: &str, want: &crate::model::Record) -> Result<(), AwsError> {
    let have = aws.cloud9_members(id)?;
    for (user, access) in want.iter() {
        let access = access.to_text();
        if have.get(&**user) != Some(&access) {
            aws.cloud9_set_member(id, user, Some(&access), !have.contains_key(&**user))?;
        }
    }
    for user in have.keys().filter(|u| want.get(u.as_str()).is_none()) {
        aws.cloud9_set_member(id, user, None, false)?;
    }
    Ok(())
}

/// A renamed environment keeps what it has: its group and its reach rules are re-tagged with its
/// new addresses (the group keeps its EC2 name, which cannot change). The instance's own tags are
/// set last, by `converge_env`, so a move stopped half-way is found and finished by the next plan.
fn move_env(ctx: &Ctx, old: &str, env: &Environment) -> Result<(), AwsError> {
    let aws = ctx.aws;
    let address = |a: String| BTreeMap::from([(TAG_ADDRESS.to_string(), a)]);
    let tagged = |key: &str, value: String| (format!("tag:{key}"), vec![value]);
    let ours = Filters::from([tagged(TAG_STACK, ctx.stack.to_string()), tagged(TAG_ADDRESS, group_address(old))]);
    for g in aws.security_groups(&ours, &[])? {
        aws.create_tags(&g.id, &address(group_address(&env.name)))?;
    }
    let prefix = format!("reach.{old}.");
    for r in aws.tagged_rules(TAG_STACK, ctx.stack)? {
        if let Some(rest) = r.tags.get(TAG_ADDRESS).and_then(|a| a.strip_prefix(&prefix)) {
            aws.create_tags(&r.id, &address(format!("reach.{}.{rest}", env.name)))?;
        }
    }
    ctx.say(&format!(
        "  moving {} to {}: the same instance, group and rules",
        env_address(old),
        env_address(&env.name)
    ));
    Ok(())
}

/// The environment's own group: made in its instance's VPC, holding exactly the declared rules,
/// and attached to the instance beside the groups it has.
fn converge_group(ctx: &mut Ctx, env: &Environment, live: Option<&GroupInfo>) -> Result<(), AwsError> {
    let aws = ctx.aws;
    let address = env_address(&env.name);
    let instance = &ctx.instance_of(&env.name, "attach its security group to")?;
    let group = match live {
        Some(g) => g.clone(),
        None => {
            let name = format!("kenv-{}-{}", ctx.stack, env.name);
            let description = format!("kenv: the rules of {address}");
            let id = aws.create_group(&name, &description, &instance.vpc, &ctx.tags(&group_address(&env.name)))?;
            let fresh = aws.security_groups(&Filters::new(), &[id])?;
            fresh.into_iter().next().ok_or_else(|| AwsError::local(format!("security group {name} vanished")))?
        }
    };
    // From the group as it is now (it may have changed since the plan, or just been made).
    let (add, remove) = rule_changes(env, Some(&group));
    if !remove.is_empty() {
        aws.revoke(&group.id, &remove)?;
    }
    if !add.is_empty() {
        aws.authorize(&group.id, &add)?;
    }
    attach(aws, instance, &group.id, &env.security_groups)
}

fn attach(aws: &Aws, instance: &InstanceInfo, group: &str, extra: &[Rc<str>]) -> Result<(), AwsError> {
    let mut groups = instance.security_groups.clone();
    for g in std::iter::once(group).chain(extra.iter().map(|e| &**e)) {
        if !groups.iter().any(|have| have == g) {
            groups.push(g.to_string());
        }
    }
    if groups != instance.security_groups {
        aws.set_groups(&instance.id, &groups)?;
    }
    Ok(())
}

fn delete_env(aws: &Aws, live: &LiveEnv) -> Result<(), AwsError> {
    match &live.cloud9 {
        Some(c9) => aws.cloud9_delete(&c9.id),
        None => aws.terminate(&live.instance.id),
    }
}
