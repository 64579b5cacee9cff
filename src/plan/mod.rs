//! Plan, apply, destroy: the desired state against live AWS. There is no state file: everything
//! kenv creates carries the tags `kenv:stack` and `kenv:address`, and `live::read` finds it again
//! with one batched describe per resource type. `diff` turns the two into changes with
//! attribute-level diffs; `apply` makes them in dependency order; `render` shows them.

pub mod access;
pub mod adopt;
mod apply;
mod converge;
mod ctx;
mod deliver;
mod diff;
pub mod guard;
pub mod lease;
mod live;
mod locks;
pub mod operator;
mod overlap;
pub mod protect;
mod reach;
mod regions;
mod render;
mod sessions;

use std::path::Path;
use std::rc::Rc;

pub use apply::apply;
pub use apply::Applied;

/// What apply tells whoever shows its progress.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A line of the log (what a non-terminal shows, one after another).
    Line(&'a str),
    /// Where an environment is now (`launching`, `waiting for the SSM agent`, …): what a terminal
    /// shows as one live line per environment.
    Env(&'a str, &'a str),
}
pub use live::{envs as live_envs, policy_view, LiveState};
pub use render::{render, to_json};

use crate::aws::{Aws, AwsError, GroupInfo, LiveEnv, LiveRole};
use crate::diag::Diag;
use crate::install;
use crate::model::{validate, DesiredState, EnvKind, Environment, Role};
use crate::source::Span;

pub use crate::model::tags::{TAG_ADDRESS, TAG_AUTO_STOP, TAG_CONNECTION, TAG_IMAGE, TAG_PROTECT, TAG_STACK};

/// The stack's name: `--stack`, else the file's name (`team.kenv` → `team`), except that a
/// `main.kenv` is named after its directory (`kobanzaki/main.kenv` → `kobanzaki`).
pub fn stack_name(file: &Path, flag: Option<&str>) -> String {
    if let Some(name) = flag {
        return name.to_string();
    }
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = std::fs::canonicalize(file)
        .ok()
        .and_then(|p| p.parent()?.file_name().map(|d| d.to_string_lossy().into_owned()));
    match (stem.as_str(), dir) {
        ("main", Some(dir)) => dir,
        _ => stem,
    }
}

/// IAM path of a stack's roles: ListRoles finds them all in one call.
pub fn role_path(stack: &str) -> String {
    format!("/kenv/{stack}/")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

/// One attribute's change; values are rendered (a secret would show as `(secret)`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diff {
    pub attribute: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub forces_replacement: bool,
}

/// What a change acts on, with what apply needs to make it.
#[derive(Debug, Clone)]
pub enum Resource {
    Role {
        desired: Option<Rc<Role>>,
        live: Option<Box<LiveRole>>,
    },
    Env {
        desired: Option<Rc<Environment>>,
        live: Option<Box<LiveEnv>>,
        /// For a plain EC2 instance made from an image alias: the AMI the alias resolved to when
        /// the plan was made (RunInstances takes only AMI ids).
        ami: Option<String>,
    },
    /// An install step delivered to an environment's instance through SSM Run Command.
    Install {
        env: String,
        step: String,
        script: String,
        hash: String,
        /// The step's `timeout`, in seconds: SSM stops the script after it (executionTimeout).
        timeout: i64,
    },
    /// The kenv-owned security group of an environment, holding its rules.
    Group {
        desired: Option<Rc<Environment>>,
        live: Option<Box<GroupInfo>>,
    },
    /// A Secrets Manager secret's resource policy locking it to a role (`secrets = […]`); no
    /// policy: remove kenv's lock.
    Lock {
        secret: crate::aws::SecretInfo,
        policy: Option<String>,
    },
    /// The stack's developer policy (`access.rs`); no document: delete it.
    Access {
        document: Option<serde_json::Value>,
        live: Option<Box<crate::aws::LivePolicy>>,
    },
    /// The account's Session Manager preferences (`sessions.rs`); none desired: put back what was there.
    Sessions {
        desired: Option<Rc<crate::model::Sessions>>,
        live: Option<Box<crate::aws::SessionPreferences>>,
    },
    /// A rule on a group kenv does not own, letting an environment in (`reach … to "sg-…"`).
    Reach {
        desired: Option<reach::Reach>,
        live: Option<Box<crate::aws::TaggedRule>>,
    },
}

#[derive(Debug, Clone)]
pub struct Change {
    /// `role.kobanzaki-dev`, `environment.kobanzaki-alice`, `security_group.kobanzaki-alice`
    pub address: String,
    pub action: Action,
    pub diffs: Vec<Diff>,
    /// The declaration, when the file has it.
    pub span: Option<Span>,
    pub resource: Resource,
}

pub struct Plan {
    pub stack: String,
    pub region: String,
    /// Who the plan was made as (STS).
    pub caller: guard::Caller,
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The rendered script of each install step, by environment and step name, as SSM will run it.
type Scripts = std::collections::BTreeMap<(String, String), String>;

/// The instance tag recording which script of a step last succeeded there.
pub fn install_tag(step: &str) -> String {
    format!("kenv:install:{step}")
}

/// The one way to a plan, for `plan`, `apply`, `destroy` and the REPL's `:plan`: install steps
/// rendered as SSM will run them (a pinned script fetched and checked before anything is
/// planned), the stack read from AWS, and the file's desired state compared with it. For
/// destroy, `state` is None: everything the stack owns goes. First of all, the caller's account
/// and the stack's origin are held to `guard`.
pub fn prepare(state: Option<&DesiredState>, aws: &Aws, stack: &str, guard: &guard::Guard) -> Result<Plan, Box<Diag>> {
    let aws_error = |e: AwsError| e.diag(None, aws.region().as_deref()).boxed();
    aws.config().map_err(aws_error)?;
    let caller = guard::check(aws, stack, guard)?;
    let region = aws.region().unwrap_or_default();
    let empty = DesiredState::default();
    let state = state.unwrap_or(&empty);
    let scripts = scripts(state, &region)?;
    reach::refuse_other_networks(state, aws)?;
    let mut live = live::read(aws, stack).map_err(aws_error)?;
    live::follow_renames(state, &mut live);
    // A role kenv adopted keeps the IAM path it was made with: found by its name and tags.
    let unseen: Vec<&str> =
        state.roles.iter().map(|r| &*r.name).filter(|n| !live.roles.iter().any(|l| l.name == *n)).collect();
    for name in unseen {
        let adopted = aws.role(name).map_err(aws_error)?.filter(|r| {
            r.tags.get(TAG_STACK).map(String::as_str) == Some(stack)
                && r.tags.get(TAG_ADDRESS) == Some(&role_address(name))
        });
        live.roles.extend(adopted);
    }
    for env in live.envs.iter_mut() {
        let declared = state.environments.iter().find(|d| *d.name == *env.name && d.members.is_some());
        if let (Some(_), Some(c9)) = (declared, &env.cloud9) {
            env.members = Some(aws.cloud9_members(&c9.id).map_err(aws_error)?);
        }
    }
    let mut plan =
        Plan { stack: stack.into(), region: region.clone(), caller, changes: diff::changes(state, &live, &scripts) };
    plan.changes.extend(locks::changes(state, aws, stack)?);
    let (access, policy) = access::changes(state, aws, stack, &region)?;
    plan.changes.extend(access);
    regions::share(&mut plan.changes, &live.roles, policy.as_ref(), &region);
    plan.changes.extend(sessions::changes(state, aws, stack, &region)?);
    resolve_images(&mut plan, aws)?;
    Ok(plan)
}

/// The AMI of each EC2 instance the plan launches from an image alias, read from the SSM public
/// parameter AWS keeps current for it (once per alias, however many environments use it), and
/// shown in the plan beside the alias.
fn resolve_images(plan: &mut Plan, aws: &Aws) -> Result<(), Box<Diag>> {
    let mut read: std::collections::BTreeMap<&str, Option<String>> = Default::default();
    for change in plan.changes.iter_mut().filter(|c| matches!(c.action, Action::Create | Action::Replace)) {
        let Resource::Env { desired: Some(env), ami, .. } = &mut change.resource else { continue };
        let Some(parameter) = validate::ec2_image_parameter(&env.image).filter(|_| env.kind == EnvKind::Ec2) else {
            continue;
        };
        if !read.contains_key(parameter) {
            let at = Some(env.span_of("image"));
            let (_, value) = aws.parameter(parameter).map_err(|e| e.diag(at, aws.region().as_deref()).boxed())?;
            read.insert(parameter, value);
        }
        let Some(found) = read[parameter].clone() else { continue };
        if let Some(d) = change.diffs.iter_mut().find(|d| d.attribute == "image") {
            d.after = d.after.take().map(|alias| format!("{alias} ({found})"));
        }
        *ami = Some(found);
    }
    Ok(())
}

/// Every install step rendered as SSM will run it.
fn scripts(state: &DesiredState, region: &str) -> Result<Scripts, Box<Diag>> {
    let mut out = Scripts::new();
    for env in &state.environments {
        for step in &env.installs {
            let body = install::body(step).map_err(|e| install::body_error(step, e).boxed())?;
            let script = install::render(step, &body, install::Secrets::OnInstance { region });
            out.insert((env.name.to_string(), step.name.to_string()), script);
        }
    }
    Ok(out)
}

pub fn env_address(name: &str) -> String {
    format!("environment.{name}")
}

pub fn role_address(name: &str) -> String {
    format!("role.{name}")
}

pub fn group_address(env: &str) -> String {
    format!("security_group.{env}")
}
