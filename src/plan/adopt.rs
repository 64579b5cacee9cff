//! `kenv import FILE ADDRESS ID`: an environment made before kenv (in the console, as the design's
//! team made theirs) taken into the stack as the file's declaration of it. kenv finds what it owns
//! by its tags, so adopting is tagging — once kenv has checked, as far as AWS can say, that the
//! environment is the one declared: an attribute that would force its replacement (its kind,
//! subnet, connection) is refused, because the next apply would delete it. What AWS does not say
//! of a Cloud9 environment (its image, its auto-stop) is taken from the file. The next plan
//! then shows only real differences, changed in place.

use std::rc::Rc;

use super::live::CLOUD9_TAG;
use super::{env_address, Action, TAG_STACK};
use crate::aws::LiveEnv;
use crate::aws::{Aws, AwsError, Filters};
use crate::diag::{Diag, ErrorKind};
use crate::model::{EnvKind, Environment, Role};

/// Tags the environment `id` (a Cloud9 environment id, or an instance id for `kind = ec2`) as
/// `env` of `stack`; returns what the next plan will change in place.
pub fn adopt(aws: &Aws, stack: &str, env: &Rc<Environment>, id: &str) -> Result<Vec<String>, Box<Diag>> {
    let aws_error = |e: AwsError| e.diag(Some(env.span), aws.region().as_deref()).boxed();
    let refuse = |kind: ErrorKind, help: String| Diag::new(kind, env.span).help(help).boxed();
    let address = env_address(&env.name);
    if super::live::envs(aws, stack).map_err(aws_error)?.iter().any(|e| *e.name == *env.name) {
        let help = "`kenv plan` shows it; to take another environment in its place, delete this one first".to_string();
        return Err(refuse(ErrorKind::AlreadyOnAws { stack: stack.into(), address }, help));
    }
    let mut live = match env.kind {
        EnvKind::Cloud9 => cloud9(aws, &env.name, id).map_err(aws_error)?,
        EnvKind::Ec2 => instance(aws, &env.name, id).map_err(aws_error)?,
    }
    .ok_or_else(|| {
        let what = if env.kind == EnvKind::Cloud9 { "Cloud9 environment" } else { "EC2 instance" };
        let help = format!(
            "{address} is `kind = {}`: give the id of {what} (`aws {}` lists them), in {}",
            env.kind_name(),
            if env.kind == EnvKind::Cloud9 { "cloud9 list-environments" } else { "ec2 describe-instances" },
            aws.region().unwrap_or_default()
        );
        refuse(ErrorKind::NothingToImport { what: what.into(), id: id.into(), address: address.clone() }, help)
    })?;
    let tags = super::apply::kenv_tags(stack, env);
    live.instance.tags.extend(tags.clone());
    let change = super::diff::env_change(Some(env), Some(&live));
    let diffs = change.as_ref().map(|c| c.diffs.clone()).unwrap_or_default();
    if change.as_ref().is_some_and(|c| c.action == Action::Replace) {
        let forcing: Vec<String> = diffs
            .iter()
            .filter(|d| d.forces_replacement)
            .map(|d| format!("{} is {} on AWS", d.attribute, d.before.as_deref().unwrap_or("null")))
            .collect();
        let help = "make the file say what AWS has (these cannot change in place), then import again".to_string();
        let kind = ErrorKind::ImportReplaces { id: id.into(), address, forcing: forcing.join(", ") };
        return Err(refuse(kind, help));
    }
    aws.create_tags(&live.instance.id, &tags).map_err(aws_error)?;
    if let Some(c9) = &live.cloud9 {
        aws.cloud9_tag(&c9.arn, &tags).map_err(aws_error)?;
    }
    Ok(diffs.iter().map(|d| d.attribute.clone()).collect())
}

/// Tags the IAM role `name` as the file's `role` of `stack`; returns what the next plan will
/// change. IAM cannot move a role to the stack's path, so kenv finds an adopted role by its name
/// and tags while the file declares it; once no longer declared (or at destroy) it is left as it is.
pub fn adopt_role(aws: &Aws, stack: &str, role: &Role, name: &str) -> Result<Vec<String>, Box<Diag>> {
    let aws_error = |e: AwsError| e.diag(Some(role.span), aws.region().as_deref()).boxed();
    let refuse = |kind: ErrorKind, help: &str| Diag::new(kind, role.span).help(help).boxed();
    let address = super::role_address(&role.name);
    if name != &*role.name {
        let help = "IAM cannot rename a role: declare it with the name it has";
        return Err(refuse(ErrorKind::ImportRenames { name: name.into(), address }, help));
    }
    let Some(live) = aws.role(name).map_err(aws_error)? else {
        let kind = ErrorKind::NothingToImport { what: "IAM role".into(), id: name.into(), address };
        return Err(refuse(kind, "`aws iam list-roles` lists them"));
    };
    if let Some(owner) = live.tags.get(TAG_STACK) {
        return Err(refuse(
            ErrorKind::OwnedElsewhere { name: name.into(), stack: owner.clone() },
            "`kenv plan` shows it",
        ));
    }
    let change = super::diff::role_change(Some(&Rc::new(role.clone())), Some(&live));
    aws.tag_role(name, &super::ctx::owner_tags(stack, &address)).map_err(aws_error)?;
    Ok(change.map(|c| c.diffs.iter().map(|d| d.attribute.clone()).collect()).unwrap_or_default())
}

/// A Cloud9 environment and its instance, by the environment's id.
fn cloud9(aws: &Aws, name: &str, id: &str) -> Result<Option<LiveEnv>, AwsError> {
    let found = match aws.cloud9_describe(&[id.to_string()]) {
        Err(e) if e.is(&["NotFoundException", "BadRequestException", "ValidationException"]) => return Ok(None),
        other => other?,
    };
    let Some(c9) = found.into_iter().next() else { return Ok(None) };
    let instance = aws.live_instances(CLOUD9_TAG, vec![id.to_string()])?.into_iter().next();
    Ok(instance.map(|instance| LiveEnv {
        name: name.to_string(),
        instance,
        cloud9: Some(c9),
        members: None,
        moved_from: None,
    }))
}

/// An EC2 instance (not one of Cloud9's), by id.
fn instance(aws: &Aws, name: &str, id: &str) -> Result<Option<LiveEnv>, AwsError> {
    let found = match aws.instances(&Filters::new(), &[id.to_string()]) {
        Err(e) if e.is(&["InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"]) => return Ok(None),
        other => other?,
    };
    let live = found.into_iter().find(|i| !i.tags.contains_key(CLOUD9_TAG) && i.state != "terminated");
    Ok(live.map(|instance| LiveEnv { name: name.to_string(), instance, cloud9: None, members: None, moved_from: None }))
}
