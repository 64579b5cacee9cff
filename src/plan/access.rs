//! Sessions only to your own box. Per stack, kenv writes one customer-managed IAM policy for the
//! stack's developers, `kenv-STACK-developers` under the stack's IAM path; the team attaches it to
//! its developers (an IAM group, or an IAM Identity Center permission set as a customer-managed
//! policy). It allows Session Manager sessions (a shell, `AWS-StartSSHSession`, port forwarding)
//! and EC2 Instance Connect keys (for the boxes' OS users only) on the stack's instances whose
//! `kenv:owner` or `kenv:members` tag names the caller — `${aws:username}` for an IAM user, the
//! principal tag `kenv-user` for a role session (Identity Center passes it as an attribute for
//! access control) — and ending or resuming only one's own sessions. Without an owner a box is
//! opened by no one this policy covers.

use serde_json::{json, Value};

use crate::aws::{Aws, AwsError, LivePolicy};
use crate::diag::Diag;
use crate::model::tags::{TAG_MEMBERS, TAG_OWNER};
use crate::model::DesiredState;

use super::ctx::Ctx;
use super::{role_path, Action, Change, Diff, Resource, TAG_STACK};

pub const ADDRESS: &str = "access.developers";
/// The principal tag naming a role session's person (IAM users are named by `aws:username`).
pub const USER_TAG: &str = "kenv-user";

pub fn policy_name(stack: &str) -> String {
    format!("kenv-{stack}-developers")
}

/// The OS user a box's image logs in as (what an SSH key is pushed for).
pub fn os_user(image: &str) -> &'static str {
    if image.contains("ubuntu") {
        "ubuntu"
    } else {
        "ec2-user"
    }
}

/// The developer policy of a stack whose boxes log in as `os_users`. It names no region: IAM is
/// the account's, and one stack applied in two regions shares the policy (`regions.rs`); the
/// `kenv:stack` tag condition keeps it to the stack's boxes wherever they are.
pub fn document(stack: &str, os_users: &[&str]) -> Value {
    let instances = "arn:aws:ec2:*:*:instance/*";
    let me = [String::from("${aws:username}"), format!("${{aws:PrincipalTag/{USER_TAG}}}")];
    let member = me.iter().map(|m| format!("*:{m}:*")).collect::<Vec<_>>();
    let own_sessions = me.iter().map(|m| format!("arn:aws:ssm:*:*:session/{m}-*")).collect::<Vec<_>>();
    let on = |prefix: &str, key: &str| format!("{prefix}/{key}");
    let owned = |prefix: &str| json!({ on(prefix, TAG_STACK): stack, on(prefix, TAG_OWNER): me });
    let shared = |prefix: &str| (json!({ on(prefix, TAG_STACK): stack }), json!({ on(prefix, TAG_MEMBERS): member }));
    let (ssm_stack, ssm_members) = shared("ssm:resourceTag");
    let (ec2_stack, ec2_members) = shared("aws:ResourceTag");
    let mut keys_owned = owned("aws:ResourceTag");
    keys_owned["ec2:osuser"] = json!(os_users);
    let mut keys_shared = ec2_stack;
    keys_shared["ec2:osuser"] = json!(os_users);
    let statement = |sid: &str, action: Value, resource: Value, condition: Value| {
        let mut s = json!({ "Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource });
        if !condition.is_null() {
            s["Condition"] = condition;
        }
        s
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            statement("SessionsOnOwnBoxes", json!("ssm:StartSession"), json!(instances),
                json!({ "StringEquals": owned("ssm:resourceTag") })),
            statement("SessionsOnBoxesOfWhichAMember", json!("ssm:StartSession"), json!(instances),
                json!({ "StringEquals": ssm_stack, "StringLike": ssm_members })),
            statement("SessionDocuments", json!("ssm:StartSession"), json!([
                "arn:aws:ssm:*::document/AWS-StartSSHSession",
                "arn:aws:ssm:*::document/AWS-StartPortForwardingSession",
                "arn:aws:ssm:*:*:document/SSM-SessionManagerRunShell",
            ]), Value::Null),
            statement("OwnSessionsOnly", json!(["ssm:TerminateSession", "ssm:ResumeSession"]), json!(own_sessions),
                Value::Null),
            statement("KeysToOwnBoxes", json!("ec2-instance-connect:SendSSHPublicKey"), json!(instances),
                json!({ "StringEquals": keys_owned })),
            statement("KeysToBoxesOfWhichAMember", json!("ec2-instance-connect:SendSSHPublicKey"),
                json!(instances), json!({ "StringEquals": keys_shared, "StringLike": ec2_members })),
            statement("FindTheBoxes", json!(["ec2:DescribeInstances", "ssm:DescribeInstanceInformation",
                "ssm:DescribeSessions", "ssm:GetConnectionStatus"]), json!("*"), Value::Null),
            statement("FindTheCloud9Boxes", json!("cloud9:DescribeEnvironments"),
                json!("arn:aws:cloud9:*:*:environment:*"), Value::Null),
        ],
    })
}

/// The developer policy's change: made with the stack's first environment, rewritten when what
/// it says differs, deleted with the stack; and the policy as it is on AWS.
pub fn changes(
    state: &DesiredState,
    aws: &Aws,
    stack: &str,
    region: &str,
) -> Result<(Vec<Change>, Option<LivePolicy>), Box<Diag>> {
    let live = aws.policies_under(&role_path(stack)).map_err(|e| e.diag(None, Some(region)).boxed())?;
    let live = live.into_iter().find(|p| p.name == policy_name(stack));
    let mut users: Vec<&str> = state.environments.iter().map(|e| os_user(&e.image)).collect();
    users.sort();
    users.dedup();
    let desired = (!state.environments.is_empty()).then(|| document(stack, &users));
    let statements = |doc: Option<&Value>| -> Vec<(String, Value)> {
        let all = doc.and_then(|d| d["Statement"].as_array().cloned()).unwrap_or_default();
        all.into_iter().map(|s| (s["Sid"].as_str().unwrap_or("").to_string(), s)).collect()
    };
    let (want, have) = (statements(desired.as_ref()), statements(live.as_ref().map(|l| &l.document)));
    let mut diffs = Vec::new();
    for (sid, s) in &want {
        let before = have.iter().find(|(h, _)| h == sid).map(|(_, v)| v);
        if before != Some(s) {
            let text = |v: &Value| v.to_string();
            let attribute = format!("statement.{sid}");
            diffs.push(Diff { attribute, before: before.map(text), after: Some(text(s)), forces_replacement: false });
        }
    }
    for (sid, s) in have.iter().filter(|(h, _)| !want.iter().any(|(w, _)| w == h)) {
        let attribute = format!("statement.{sid}");
        diffs.push(Diff { attribute, before: Some(s.to_string()), after: None, forces_replacement: false });
    }
    let action = match (&desired, &live) {
        (Some(_), None) => {
            let sids: Vec<String> = want.iter().map(|(sid, _)| format!("\"{sid}\"")).collect();
            let named = |attribute: &str, after: String| Diff {
                attribute: attribute.into(),
                before: None,
                after: Some(after),
                forces_replacement: false,
            };
            diffs = vec![
                named("name", format!("\"{}\"", policy_name(stack))),
                named("statements", format!("[{}]", sids.join(", "))),
            ];
            Action::Create
        }
        (None, Some(l)) => {
            let from = format!("\"{}\" (detached from its {} users, groups and roles)", l.name, l.attachments);
            diffs =
                vec![Diff { attribute: "policy".into(), before: Some(from), after: None, forces_replacement: false }];
            Action::Delete
        }
        (Some(_), Some(_)) if !diffs.is_empty() => Action::Update,
        _ => return Ok((Vec::new(), live)),
    };
    let resource = Resource::Access { document: desired, live: live.clone().map(Box::new) };
    Ok((vec![Change { address: ADDRESS.into(), action, diffs, span: None, resource }], live))
}

/// Makes the developer policy say `document`, or deletes it.
pub(super) fn converge(ctx: &Ctx, document: Option<&Value>, live: Option<&LivePolicy>) -> Result<(), AwsError> {
    let name = policy_name(ctx.stack);
    match (document, live) {
        (Some(doc), None) => {
            let what = format!("kenv: sessions and SSH keys on the boxes of stack {} tagged for the caller", ctx.stack);
            ctx.aws.create_policy(&name, &role_path(ctx.stack), &what, doc, &ctx.shared_tags(ADDRESS))
        }
        (Some(doc), Some(l)) if *doc != l.document => ctx.aws.set_policy_document(&l.arn, doc),
        (Some(_), Some(_)) => Ok(()),
        (None, Some(l)) => ctx.aws.delete_policy(&l.arn),
        (None, None) => Ok(()),
    }
}
