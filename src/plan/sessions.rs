//! The account's Session Manager preferences (`sessions`): one document per account and region,
//! so one stack holds it, known by its tags; the version that was the default before the stack
//! took it is kept in a tag, and destroy makes that version the default again (or deletes the
//! document, when the stack made it).

use std::rc::Rc;

use crate::aws::{AwsError, SessionPreferences};
use crate::diag::{Diag, ErrorKind};
use crate::model::sessions::address;
use crate::model::tags::TAG_PREVIOUS;
use crate::model::{Declared, DesiredState, Sessions};

use super::ctx::Ctx;
use super::diff::compare;
use super::{Action, Change, Diff, Resource, TAG_ADDRESS, TAG_STACK};

/// What `TAG_PREVIOUS` says when the stack made the document.
const NONE: &str = "none";

pub fn changes(
    state: &DesiredState,
    aws: &crate::aws::Aws,
    stack: &str,
    region: &str,
) -> Result<Vec<Change>, Box<Diag>> {
    let desired = state.sessions.first();
    let at = desired.map(|d| d.span);
    let live = aws.session_preferences().map_err(|e| e.diag(at, Some(region)).boxed())?;
    let holder = live.as_ref().and_then(|l| l.tags.get(TAG_STACK)).map(String::as_str);
    let change = |action, diffs, name: &str, desired: Option<&Rc<Sessions>>| Change {
        address: address(name),
        action,
        diffs,
        span: desired.map(|d| d.span),
        resource: Resource::Sessions { desired: desired.cloned(), live: live.clone().map(Box::new) },
    };
    match (desired, &live) {
        (Some(d), Some(_)) if holder.is_some_and(|h| h != stack) => {
            let holder = holder.unwrap_or_default();
            let what = format!("the account's Session Manager preferences in {region}");
            let kind = ErrorKind::HeldElsewhere { what, stack: holder.to_string() };
            let help = format!(
                "declare them in stack `{holder}` (one stack of an account and region holds them), or destroy that \
                 stack's `sessions` first"
            );
            Err(Diag::new(kind, d.span).help(help).boxed())
        }
        (Some(d), _) => {
            let have = live.as_ref().map(Sessions::live_texts);
            let Some((action, mut diffs)) = compare::<Sessions>(&d.desired_texts(), have.as_ref()).or_else(|| {
                // The same preferences, held by no stack yet: the stack takes them.
                holder.is_none().then(|| (Action::Update, Vec::new()))
            }) else {
                return Ok(Vec::new());
            };
            if holder.is_none() && live.is_some() {
                let after = Some(format!(
                    "\"{stack}\" (destroy puts back version {})",
                    live.as_ref().map_or("", |l| &l.version)
                ));
                diffs.insert(0, Diff { attribute: "held_by".into(), before: None, after, forces_replacement: false });
            }
            Ok(vec![change(action, diffs, &d.name, Some(d))])
        }
        (None, Some(l)) if holder == Some(stack) => {
            let name =
                l.tags.get(TAG_ADDRESS).and_then(|a| a.strip_prefix("sessions.")).unwrap_or("sessions").to_string();
            let back = match l.tags.get(TAG_PREVIOUS).map(String::as_str) {
                Some(NONE) | None => "(deleted: the account had none)".to_string(),
                Some(v) => format!("version {v}, as before the stack"),
            };
            let diff = Diff {
                attribute: "preferences".into(),
                before: Some(format!("version {}", l.version)),
                after: Some(back),
                forces_replacement: false,
            };
            Ok(vec![change(Action::Delete, vec![diff], &name, None)])
        }
        _ => Ok(Vec::new()),
    }
}

/// Makes the preferences the declared ones, or puts back what was there before the stack.
pub(super) fn converge(
    ctx: &Ctx,
    desired: Option<&Sessions>,
    live: Option<&SessionPreferences>,
) -> Result<(), AwsError> {
    let aws = ctx.aws;
    match (desired, live) {
        (Some(d), None) => {
            let mut tags = ctx.tags(&address(&d.name));
            tags.insert(TAG_PREVIOUS.into(), NONE.into());
            aws.create_session_preferences(&d.document(ctx.stack), &tags)
        }
        (Some(d), Some(l)) => {
            if !l.tags.contains_key(TAG_STACK) {
                let mut tags = ctx.tags(&address(&d.name));
                tags.insert(TAG_PREVIOUS.into(), l.version.clone());
                aws.tag_session_preferences(&tags)?;
            }
            if d.desired_texts() != Sessions::live_texts(l) {
                aws.set_session_preferences(&d.document(ctx.stack))?;
            }
            Ok(())
        }
        (None, Some(l)) => match l.tags.get(TAG_PREVIOUS).map(String::as_str) {
            Some(NONE) | None => aws.delete_session_preferences(),
            Some(version) => {
                aws.set_session_preferences_version(version)?;
                aws.untag_session_preferences(&[TAG_STACK, TAG_ADDRESS, TAG_PREVIOUS])
            }
        },
        (None, None) => Ok(()),
    }
}
