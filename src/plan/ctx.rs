//! What every step of an apply shares: AWS, the stack, what is done so far, where progress goes;
//! how a failed step stops the apply; and the tags that say what kenv made.

use std::collections::BTreeMap;

use super::{env_address, Action, Change, Resource, TAG_ADDRESS, TAG_STACK};
use crate::aws::{Aws, AwsError, InstanceInfo};
use crate::model::tags::TAG_REGIONS;
use crate::source::Span;

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
    pub fn step<T>(&mut self, c: &Change, f: impl FnOnce(&mut Self) -> Result<T, AwsError>) -> Result<T, Box<Failed>> {
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

    /// The tags of what the stack's regions share (its roles, its developer policy), made in
    /// this region: `kenv:regions` names it (`regions.rs`).
    pub fn shared_tags(&self, address: &str) -> BTreeMap<String, String> {
        let mut tags = self.tags(address);
        let region = self.aws.region().unwrap_or_default();
        tags.insert(TAG_REGIONS.into(), crate::model::tags::regions_tag(&[&region]));
        tags
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
