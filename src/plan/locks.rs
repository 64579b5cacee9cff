//! `secrets = ["project/*"]` in a role: those Secrets Manager secrets may be read by that role
//! alone. Each matching secret gets a resource policy whose one statement denies
//! `secretsmanager:GetSecretValue` to every principal whose ARN is not the role's (an explicit
//! deny beats any identity policy, even `*` on `*`). Only reading is denied: whoever runs apply
//! keeps managing the secret (its policy, its value, its tags) with their own IAM rights, so
//! nobody locks themselves out. A locked secret is tagged with the stack and its address, so
//! destroy, or a role no longer naming it, removes exactly the policies kenv put there.

use crate::aws::{Aws, AwsError, SecretInfo};
use crate::diag::{Diag, ErrorKind};
use crate::model::{DesiredState, Role};

use super::ctx::Ctx;
use super::{role_path, Action, Change, Diff, Resource, TAG_ADDRESS, TAG_STACK};

pub fn address(secret: &str) -> String {
    format!("secret_lock.{secret}")
}

/// The resource policy that locks a secret to `role`, in the secret's own account.
pub fn policy(secret_arn: &str, stack: &str, role: &str) -> String {
    let account = secret_arn.split(':').nth(4).unwrap_or("");
    let role_arn = format!("arn:aws:iam::{account}:role{}{role}", role_path(stack));
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "KenvLockedToRole",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": { "StringNotEquals": { "aws:PrincipalArn": role_arn } },
        }],
    })
    .to_string()
}

/// Whether two policy documents say the same (AWS may lay a document out anew).
fn same(a: &str, b: &str) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    parse(a).is_some_and(|a| Some(a) == parse(b))
}

/// The changes that lock the secrets each role names, and unlock those kenv locked that no role
/// names any more. A pattern naming one secret that does not exist is a diagnostic at the role.
pub fn changes(state: &DesiredState, aws: &Aws, stack: &str) -> Result<Vec<Change>, Box<Diag>> {
    let region = aws.region();
    let aws_error =
        |e: AwsError, role: &Role| e.diag(Some(role.body.span_of("secrets", role.span)), region.as_deref()).boxed();
    let mut out = Vec::new();
    let mut wanted = Vec::new();
    for role in &state.roles {
        for pattern in &role.secrets {
            let found = aws.secrets_matching(pattern).map_err(|e| aws_error(e, role))?;
            if found.is_empty() && !pattern.ends_with('*') {
                let detail =
                    format!("the secret `{pattern}` does not exist, so it cannot be locked to role `{}`", role.name);
                let kind = ErrorKind::Invalid { what: "secrets".into(), detail };
                let help = "create it first (aws secretsmanager create-secret), or lock a prefix (`name/*`)";
                return Err(Diag::new(kind, role.body.span_of("secrets", role.span)).help(help).boxed());
            }
            for secret in found {
                let desired = policy(&secret.arn, stack, &role.name);
                let live = aws.secret_policy(&secret.arn).map_err(|e| aws_error(e, role))?;
                wanted.push(secret.name.clone());
                if live.as_deref().is_some_and(|l| same(l, &desired)) {
                    continue;
                }
                let diff = Diff {
                    attribute: "policy".into(),
                    before: live.clone(),
                    after: Some(desired.clone()),
                    forces_replacement: false,
                };
                let action = if live.is_some() { Action::Update } else { Action::Create };
                let address = address(&secret.name);
                let resource = Resource::Lock { secret, policy: Some(desired) };
                out.push(Change { address, action, diffs: vec![diff], span: Some(role.span), resource });
            }
        }
    }
    let locked = aws.secrets_tagged(TAG_STACK, stack).map_err(|e| e.diag(None, region.as_deref()).boxed())?;
    for secret in locked.into_iter().filter(|s| !wanted.contains(&s.name)) {
        let diff = Diff {
            attribute: "policy".into(),
            before: Some("(kenv's lock)".into()),
            after: None,
            forces_replacement: false,
        };
        out.push(Change {
            address: address(&secret.name),
            action: Action::Delete,
            diffs: vec![diff],
            span: None,
            resource: Resource::Lock { secret, policy: None },
        });
    }
    Ok(out)
}

/// Locks (or unlocks, without a policy) one secret.
pub(super) fn converge(ctx: &Ctx, secret: &SecretInfo, policy: Option<&str>) -> Result<(), AwsError> {
    match policy {
        Some(policy) => ctx.aws.lock_secret(&secret.arn, policy, &ctx.tags(&address(&secret.name))),
        None => ctx.aws.unlock_secret(&secret.arn, &[TAG_STACK, TAG_ADDRESS]),
    }
}
