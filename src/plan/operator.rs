//! `kenv iam-policy`: the least-privilege IAM policy of whoever runs plan, apply or destroy of a
//! stack, derived from its declarations and the calls kenv makes. `GRANTS` is the one table from
//! each AWS operation kenv calls to the IAM action that authorizes it, with the commands that
//! call it and what it may act on; a test holds it equal to the operations `src/aws` calls.
//!
//! What a write may touch is what the stack owns: its roles, instance profiles and developer
//! policy by the stack's IAM path, its instances, groups and Cloud9 environments by their
//! `kenv:stack` tag (`aws:ResourceTag` on existing ones, `aws:RequestTag` on new ones), its lock
//! and record parameters by name, the secrets its roles lock by their names, the groups it reaches
//! by their ids; its roles are passed to EC2 only (`iam:PassedToService`) and attached only the
//! managed policies the file names (`iam:PolicyARN`). Reads that AWS cannot scope (`Describe*`,
//! `List*`) are on `*`.

use serde_json::{json, Value};

use super::role_path;
use super::TAG_STACK;
use crate::model::{DesiredState, EnvKind};

/// The commands a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Plan,
    Apply,
    Destroy,
}

const P: u8 = 1;
const A: u8 = 2;
const D: u8 = 4;
const ALL: u8 = P | A | D;

impl Command {
    fn bit(self) -> u8 {
        match self {
            Command::Plan => P,
            Command::Apply => A,
            Command::Destroy => D,
        }
    }
}

/// What a grant's statement is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// `*`: calls AWS does not scope to a resource.
    Any,
    /// Reads of what IAM, Cloud9, Secrets Manager and SSM can name (`role/*`, …).
    AnyRole,
    AnyPolicy,
    AnyCloud9,
    AnySecret,
    AnyDocument,
    /// The stack's lock and record parameters.
    StackParameters,
    /// The public parameters naming the current AMI of an image alias.
    PublicParameters,
    StackRoles,
    /// New roles of the stack, and their boundaries: only the boundaries the file names when
    /// every role has one.
    NewRoles,
    /// The stack's roles, with only the managed policies the file names.
    StackRolesManaged,
    StackProfiles,
    /// The stack's roles handed to EC2 (an instance profile on an instance).
    PassStackRoles,
    StackPolicy,
    /// Users, groups and roles, to detach the stack's developer policy from them.
    DetachStackPolicy,
    /// Instances and groups tagged with the stack.
    TaggedEc2,
    /// What a new instance or group is made of and in.
    Launch,
    /// Denied: a new instance, or group, not tagged with the stack as it is made.
    DenyUntaggedInstances,
    DenyUntaggedGroups,
    /// Tags written by the call that makes the resource.
    TagOnCreate,
    /// New Cloud9 environments (CreateEnvironmentEC2 has no resource), tagged with the stack.
    NewCloud9,
    TaggedCloud9,
    /// The groups the stack's environments reach (rules kenv adds there, tagged).
    ReachedGroups,
    /// Secrets the stack's roles lock.
    LockedSecrets,
    /// Secrets kenv locked for the stack, by their tag (to unlock them).
    TaggedSecrets,
    /// The document install steps are sent with, and instances.
    RunCommand,
    /// Denied: commands to instances not tagged with the stack.
    DenyOtherInstances,
    /// The account's Session Manager preferences document.
    SessionDocument,
}

/// A call kenv makes: its service and operation, the IAM action, and the commands that make it.
pub struct Call {
    pub service: &'static str,
    pub operation: &'static str,
    pub action: &'static str,
    by: u8,
}

const fn call(service: &'static str, operation: &'static str, action: &'static str, by: u8) -> Call {
    Call { service, operation, action, by }
}

/// One statement of the policy: its Sid, what it is on, and the calls it allows (or, for the
/// `Deny…` ones, refuses where they would reach beyond the stack).
struct Grant {
    sid: &'static str,
    on: On,
    calls: &'static [Call],
}

/// Every call plan, apply and destroy make (and `check --live`, whose reads are plan's).
const GRANTS: &[Grant] = &[
    Grant {
        sid: "ReadWhatHasNoResource",
        on: On::Any,
        calls: &[
            call("ec2", "DescribeInstances", "ec2:DescribeInstances", ALL),
            call("ec2", "DescribeSecurityGroups", "ec2:DescribeSecurityGroups", ALL),
            call("ec2", "DescribeSecurityGroupRules", "ec2:DescribeSecurityGroupRules", ALL),
            call("ec2", "DescribeIamInstanceProfileAssociations", "ec2:DescribeIamInstanceProfileAssociations", ALL),
            call("ec2", "DescribeSubnets", "ec2:DescribeSubnets", ALL),
            call("ec2", "DescribeVpcPeeringConnections", "ec2:DescribeVpcPeeringConnections", ALL),
            call("ec2", "DescribeVpcs", "ec2:DescribeVpcs", P),
            call("ec2", "DescribeRouteTables", "ec2:DescribeRouteTables", P),
            call("ec2", "DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints", P),
            call("iam", "ListRoles", "iam:ListRoles", ALL),
            call("iam", "ListPolicies", "iam:ListPolicies", ALL),
            call("secretsmanager", "ListSecrets", "secretsmanager:ListSecrets", ALL),
            call("ssm", "DescribeInstanceInformation", "ssm:DescribeInstanceInformation", A),
            call("ssm", "ListCommands", "ssm:ListCommands", A),
            call("ssm", "ListCommandInvocations", "ssm:ListCommandInvocations", A),
            call("ssm", "GetCommandInvocation", "ssm:GetCommandInvocation", A),
        ],
    },
    Grant {
        sid: "ReadRoles",
        on: On::AnyRole,
        calls: &[
            call("iam", "GetRole", "iam:GetRole", ALL),
            call("iam", "GetRolePolicy", "iam:GetRolePolicy", ALL),
            call("iam", "ListAttachedRolePolicies", "iam:ListAttachedRolePolicies", ALL),
            call("iam", "ListInstanceProfilesForRole", "iam:ListInstanceProfilesForRole", ALL),
        ],
    },
    Grant {
        sid: "ReadPolicies",
        on: On::AnyPolicy,
        calls: &[
            call("iam", "ListPolicyVersions", "iam:ListPolicyVersions", ALL),
            call("iam", "GetPolicyVersion", "iam:GetPolicyVersion", ALL),
            call("iam", "ListEntitiesForPolicy", "iam:ListEntitiesForPolicy", ALL),
            call("iam", "ListPolicyTags", "iam:ListPolicyTags", ALL),
        ],
    },
    Grant {
        sid: "ReadCloud9Environments",
        on: On::AnyCloud9,
        calls: &[
            call("cloud9", "DescribeEnvironments", "cloud9:DescribeEnvironments", ALL),
            call("cloud9", "DescribeEnvironmentStatus", "cloud9:DescribeEnvironmentStatus", ALL),
            call("cloud9", "DescribeEnvironmentMemberships", "cloud9:DescribeEnvironmentMemberships", ALL),
        ],
    },
    Grant {
        sid: "ReadSecretPolicies",
        on: On::AnySecret,
        calls: &[call("secretsmanager", "GetResourcePolicy", "secretsmanager:GetResourcePolicy", ALL)],
    },
    Grant {
        sid: "ReadDocuments",
        on: On::AnyDocument,
        calls: &[
            call("ssm", "GetDocument", "ssm:GetDocument", ALL),
            call("ssm", "DescribeDocument", "ssm:DescribeDocument", ALL),
            call("ssm", "ListTagsForResource", "ssm:ListTagsForResource", ALL),
        ],
    },
    Grant {
        sid: "TheStacksLockAndRecord",
        on: On::StackParameters,
        calls: &[
            call("ssm", "GetParameter", "ssm:GetParameter", ALL),
            call("ssm", "PutParameter", "ssm:PutParameter", A | D),
            call("ssm", "DeleteParameter", "ssm:DeleteParameter", A | D),
        ],
    },
    Grant {
        sid: "CurrentImages",
        on: On::PublicParameters,
        calls: &[call("ssm", "GetParameter", "ssm:GetParameter", P | A)],
    },
    Grant {
        sid: "TheStacksRoles",
        on: On::StackRoles,
        calls: &[
            call("iam", "CreateRole", "iam:TagRole", A),
            call("iam", "TagRole", "iam:TagRole", A | D),
            call("iam", "UpdateAssumeRolePolicy", "iam:UpdateAssumeRolePolicy", A),
            call("iam", "PutRolePolicy", "iam:PutRolePolicy", A),
            call("iam", "DeleteRolePolicy", "iam:DeleteRolePolicy", A | D),
            call("iam", "DetachRolePolicy", "iam:DetachRolePolicy", A | D),
            call("iam", "DeleteRole", "iam:DeleteRole", A | D),
        ],
    },
    Grant {
        sid: "NewRolesWithinTheirBoundaries",
        on: On::NewRoles,
        calls: &[
            call("iam", "CreateRole", "iam:CreateRole", A),
            call("iam", "PutRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", A),
            call("iam", "DeleteRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", A),
        ],
    },
    Grant {
        sid: "TheManagedPoliciesTheFileNames",
        on: On::StackRolesManaged,
        calls: &[call("iam", "AttachRolePolicy", "iam:AttachRolePolicy", A)],
    },
    Grant {
        sid: "TheStacksInstanceProfiles",
        on: On::StackProfiles,
        calls: &[
            call("iam", "CreateInstanceProfile", "iam:CreateInstanceProfile", A),
            call("iam", "CreateInstanceProfile", "iam:TagInstanceProfile", A),
            call("iam", "AddRoleToInstanceProfile", "iam:AddRoleToInstanceProfile", A),
            call("iam", "RemoveRoleFromInstanceProfile", "iam:RemoveRoleFromInstanceProfile", A | D),
            call("iam", "DeleteInstanceProfile", "iam:DeleteInstanceProfile", A | D),
        ],
    },
    Grant {
        sid: "PassTheStacksRolesToEc2",
        on: On::PassStackRoles,
        calls: &[
            call("ec2", "RunInstances", "iam:PassRole", A),
            call("ec2", "AssociateIamInstanceProfile", "iam:PassRole", A),
            call("ec2", "ReplaceIamInstanceProfileAssociation", "iam:PassRole", A),
            call("iam", "AddRoleToInstanceProfile", "iam:PassRole", A),
        ],
    },
    Grant {
        sid: "TheStacksDeveloperPolicy",
        on: On::StackPolicy,
        calls: &[
            call("iam", "CreatePolicy", "iam:CreatePolicy", A),
            call("iam", "CreatePolicy", "iam:TagPolicy", A),
            call("iam", "CreatePolicyVersion", "iam:CreatePolicyVersion", A),
            call("iam", "TagPolicy", "iam:TagPolicy", A | D),
            call("iam", "DeletePolicyVersion", "iam:DeletePolicyVersion", A | D),
            call("iam", "DeletePolicy", "iam:DeletePolicy", A | D),
        ],
    },
    Grant {
        sid: "DetachTheDeveloperPolicy",
        on: On::DetachStackPolicy,
        calls: &[
            call("iam", "DetachUserPolicy", "iam:DetachUserPolicy", A | D),
            call("iam", "DetachGroupPolicy", "iam:DetachGroupPolicy", A | D),
            call("iam", "DetachRolePolicy", "iam:DetachRolePolicy", A | D),
        ],
    },
    Grant {
        sid: "TheStacksInstancesAndGroups",
        on: On::TaggedEc2,
        calls: &[
            call("ec2", "CreateTags", "ec2:CreateTags", A),
            call("ec2", "DeleteTags", "ec2:DeleteTags", A),
            call("ec2", "ModifyInstanceAttribute", "ec2:ModifyInstanceAttribute", A),
            call("ec2", "ModifyInstanceMetadataOptions", "ec2:ModifyInstanceMetadataOptions", A),
            call("ec2", "AssociateIamInstanceProfile", "ec2:AssociateIamInstanceProfile", A),
            call("ec2", "ReplaceIamInstanceProfileAssociation", "ec2:ReplaceIamInstanceProfileAssociation", A),
            call("ec2", "StopInstances", "ec2:StopInstances", A),
            call("ec2", "StartInstances", "ec2:StartInstances", A),
            call("ec2", "AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress", A),
            call("ec2", "AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress", A),
            call("ec2", "RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", A | D),
            call("ec2", "RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress", A | D),
            call("ec2", "TerminateInstances", "ec2:TerminateInstances", A | D),
            call("ec2", "DeleteSecurityGroup", "ec2:DeleteSecurityGroup", A | D),
        ],
    },
    Grant {
        sid: "LaunchInstancesAndGroups",
        on: On::Launch,
        calls: &[
            call("ec2", "RunInstances", "ec2:RunInstances", A),
            call("ec2", "CreateSecurityGroup", "ec2:CreateSecurityGroup", A),
        ],
    },
    Grant {
        sid: "DenyInstancesNotTaggedForTheStack",
        on: On::DenyUntaggedInstances,
        calls: &[call("ec2", "RunInstances", "ec2:RunInstances", A)],
    },
    Grant {
        sid: "DenyGroupsNotTaggedForTheStack",
        on: On::DenyUntaggedGroups,
        calls: &[call("ec2", "CreateSecurityGroup", "ec2:CreateSecurityGroup", A)],
    },
    Grant {
        sid: "TagWhatIsMade",
        on: On::TagOnCreate,
        calls: &[
            call("ec2", "RunInstances", "ec2:CreateTags", A),
            call("ec2", "CreateSecurityGroup", "ec2:CreateTags", A),
            call("ec2", "AuthorizeSecurityGroupIngress", "ec2:CreateTags", A),
        ],
    },
    Grant {
        sid: "NewCloud9EnvironmentsOfTheStack",
        on: On::NewCloud9,
        calls: &[call("cloud9", "CreateEnvironmentEC2", "cloud9:CreateEnvironmentEC2", A)],
    },
    Grant {
        sid: "TheStacksCloud9Environments",
        on: On::TaggedCloud9,
        calls: &[
            call("cloud9", "UpdateEnvironment", "cloud9:UpdateEnvironment", A),
            call("cloud9", "TagResource", "cloud9:TagResource", A),
            call("cloud9", "UntagResource", "cloud9:UntagResource", A),
            call("cloud9", "CreateEnvironmentMembership", "cloud9:CreateEnvironmentMembership", A),
            call("cloud9", "UpdateEnvironmentMembership", "cloud9:UpdateEnvironmentMembership", A),
            call("cloud9", "DeleteEnvironmentMembership", "cloud9:DeleteEnvironmentMembership", A),
            call("cloud9", "DeleteEnvironment", "cloud9:DeleteEnvironment", A | D),
        ],
    },
    Grant {
        sid: "RulesOnTheGroupsTheStackReaches",
        on: On::ReachedGroups,
        calls: &[
            call("ec2", "AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress", A),
            call("ec2", "RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", A | D),
        ],
    },
    Grant {
        sid: "LockTheRolesSecrets",
        on: On::LockedSecrets,
        calls: &[
            call("secretsmanager", "PutResourcePolicy", "secretsmanager:PutResourcePolicy", A),
            call("secretsmanager", "TagResource", "secretsmanager:TagResource", A),
        ],
    },
    Grant {
        sid: "UnlockTheStacksSecrets",
        on: On::TaggedSecrets,
        calls: &[
            call("secretsmanager", "DeleteResourcePolicy", "secretsmanager:DeleteResourcePolicy", A | D),
            call("secretsmanager", "UntagResource", "secretsmanager:UntagResource", A | D),
        ],
    },
    Grant { sid: "InstallSteps", on: On::RunCommand, calls: &[call("ssm", "SendCommand", "ssm:SendCommand", A)] },
    Grant {
        sid: "DenyCommandsToOtherInstances",
        on: On::DenyOtherInstances,
        calls: &[call("ssm", "SendCommand", "ssm:SendCommand", A)],
    },
    Grant {
        sid: "SessionManagerPreferences",
        on: On::SessionDocument,
        calls: &[
            call("ssm", "CreateDocument", "ssm:CreateDocument", A),
            call("ssm", "UpdateDocument", "ssm:UpdateDocument", A | D),
            call("ssm", "UpdateDocumentDefaultVersion", "ssm:UpdateDocumentDefaultVersion", A | D),
            call("ssm", "AddTagsToResource", "ssm:AddTagsToResource", A),
            call("ssm", "RemoveTagsFromResource", "ssm:RemoveTagsFromResource", A | D),
            call("ssm", "DeleteDocument", "ssm:DeleteDocument", A | D),
        ],
    },
];

/// Calls kenv makes that are not plan's, apply's or destroy's (the REPL's and `kenv run`'s
/// builtins, `connect`, `ssh-proxy`, the instance's own reads), so the operator needs none of them.
pub const NOT_DEPLOYING: &[(&str, &str)] = &[
    ("cloud9", "ListEnvironments"),
    ("secretsmanager", "GetSecretValue"),
    ("ssm", "StartSession"),
    ("ec2-instance-connect", "SendSSHPublicKey"),
    ("imds", "GET"),
    ("sts", "GetCallerIdentity"),
];

/// Every call in the table, for the test that holds it equal to what `src/aws` calls.
pub fn calls() -> impl Iterator<Item = &'static Call> {
    GRANTS.iter().flat_map(|g| g.calls.iter())
}

/// Where the policy's ARNs point.
pub struct Scope<'a> {
    pub stack: &'a str,
    pub region: &'a str,
    pub account: &'a str,
}

/// The policy document for `command` on the stack `state` declares.
pub fn policy(state: &DesiredState, scope: &Scope, command: Command) -> Value {
    let statements: Vec<Value> = GRANTS
        .iter()
        .filter_map(|g| {
            let mut actions: Vec<&str> =
                g.calls.iter().filter(|c| c.by & command.bit() != 0).map(|c| c.action).collect();
            actions.sort_unstable();
            actions.dedup();
            if actions.is_empty() {
                return None;
            }
            let (effect, resources, condition) = on(g.on, state, scope)?;
            let mut s = json!({ "Sid": g.sid, "Effect": effect, "Action": actions, "Resource": resources });
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            Some(s)
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// A grant's effect, resources and condition for this stack; None when the stack needs none of it.
fn on(on: On, state: &DesiredState, scope: &Scope) -> Option<(&'static str, Vec<String>, Option<Value>)> {
    let Scope { stack, region, account } = *scope;
    let path = role_path(stack);
    let ec2 = |kind: &str| format!("arn:aws:ec2:{region}:{account}:{kind}/*");
    let iam = |kind: &str| format!("arn:aws:iam::{account}:{kind}");
    let ssm = |what: &str| format!("arn:aws:ssm:{region}:{account}:{what}");
    let tagged = |key: &str| Some(json!({ "StringEquals": { format!("{key}/{TAG_STACK}"): stack } }));
    let untagged = |key: &str| Some(json!({ "StringNotEquals": { format!("{key}/{TAG_STACK}"): stack } }));
    let roles = vec![iam(&format!("role{path}*"))];
    let has_roles = !state.roles.is_empty();
    let allow = |present: bool, resources: Vec<String>, condition: Option<Value>| {
        present.then_some(("Allow", resources, condition))
    };
    let kind = |k: crate::model::EnvKind| state.environments.iter().any(|e| e.kind == k);
    let steps = state.environments.iter().any(|e| !e.installs.is_empty());
    match on {
        On::Any => allow(true, vec!["*".into()], None),
        On::AnyRole => allow(true, vec![iam("role/*")], None),
        On::AnyPolicy => allow(true, vec![iam("policy/*")], None),
        On::AnyCloud9 => allow(true, vec![format!("arn:aws:cloud9:{region}:{account}:environment:*")], None),
        On::AnySecret => allow(true, vec![format!("arn:aws:secretsmanager:{region}:{account}:secret:*")], None),
        On::AnyDocument => allow(true, vec![ssm("document/*")], None),
        On::StackParameters => {
            let names = [super::lease::parameter(stack), super::guard::parameter(stack)];
            allow(true, names.iter().map(|p| ssm(&format!("parameter{p}"))).collect(), None)
        }
        On::PublicParameters => {
            allow(kind(EnvKind::Ec2), vec![format!("arn:aws:ssm:{region}:*:parameter/aws/service/*")], None)
        }
        On::StackRoles => allow(has_roles, roles, None),
        On::NewRoles => {
            let mut bounds: Vec<&str> = state.roles.iter().filter_map(|r| r.boundary.as_deref()).collect();
            bounds.sort_unstable();
            bounds.dedup();
            // Bounded only when every role is: a role without a boundary is made without one.
            let all = state.roles.iter().all(|r| r.boundary.is_some());
            let condition = all.then(|| json!({ "StringEquals": { "iam:PermissionsBoundary": bounds } }));
            allow(has_roles, roles.clone(), condition)
        }
        On::StackRolesManaged => {
            let mut managed: Vec<&str> = state.roles.iter().flat_map(|r| r.managed.iter().map(|m| &**m)).collect();
            managed.sort_unstable();
            managed.dedup();
            let condition = json!({ "ArnEquals": { "iam:PolicyARN": managed } });
            allow(!managed.is_empty(), roles, Some(condition))
        }
        On::StackProfiles => allow(has_roles, vec![iam(&format!("instance-profile{path}*"))], None),
        On::PassStackRoles => {
            let condition = json!({ "StringEquals": { "iam:PassedToService": "ec2.amazonaws.com" } });
            allow(has_roles, roles, Some(condition))
        }
        On::StackPolicy => allow(true, vec![iam(&format!("policy{path}*"))], None),
        On::DetachStackPolicy => {
            let policy = iam(&format!("policy{path}{}", super::access::policy_name(stack)));
            let condition = json!({ "ArnEquals": { "iam:PolicyARN": policy } });
            allow(true, vec![iam("group/*"), iam("role/*"), iam("user/*")], Some(condition))
        }
        On::TaggedEc2 => allow(true, vec![ec2("instance"), ec2("security-group")], tagged("aws:ResourceTag")),
        On::Launch => {
            let mut resources: Vec<String> =
                ["instance", "network-interface", "security-group", "subnet", "volume", "vpc"].map(ec2).to_vec();
            resources.push(format!("arn:aws:ec2:{region}::image/*"));
            allow(true, resources, None)
        }
        On::DenyUntaggedInstances => Some(("Deny", vec![ec2("instance")], untagged("aws:RequestTag"))),
        On::DenyUntaggedGroups => Some(("Deny", vec![ec2("security-group")], untagged("aws:RequestTag"))),
        On::TagOnCreate => {
            let made = ["AuthorizeSecurityGroupIngress", "CreateSecurityGroup", "RunInstances"];
            let condition = json!({ "StringEquals": { "ec2:CreateAction": made } });
            allow(true, vec![format!("arn:aws:ec2:{region}:{account}:*/*")], Some(condition))
        }
        On::NewCloud9 => allow(kind(EnvKind::Cloud9), vec!["*".into()], tagged("aws:RequestTag")),
        On::TaggedCloud9 => allow(
            kind(EnvKind::Cloud9),
            vec![format!("arn:aws:cloud9:{region}:{account}:environment:*")],
            tagged("aws:ResourceTag"),
        ),
        On::ReachedGroups => {
            let mut groups: Vec<String> = state
                .environments
                .iter()
                .flat_map(|e| e.rules.iter().flat_map(|r| r.reached_groups()))
                .map(|g| format!("arn:aws:ec2:{region}:{account}:security-group/{g}"))
                .collect();
            groups.sort_unstable();
            groups.dedup();
            allow(!groups.is_empty(), groups, None)
        }
        On::LockedSecrets => {
            let mut secrets: Vec<String> = state
                .roles
                .iter()
                .flat_map(|r| r.secrets.iter())
                .map(|s| format!("arn:aws:secretsmanager:{region}:{account}:secret:{s}"))
                .collect();
            secrets.sort_unstable();
            secrets.dedup();
            allow(!secrets.is_empty(), secrets, None)
        }
        On::TaggedSecrets => {
            allow(true, vec![format!("arn:aws:secretsmanager:{region}:{account}:secret:*")], tagged("aws:ResourceTag"))
        }
        // AWS-owned documents have no account in their ARN.
        On::RunCommand => {
            allow(steps, vec![format!("arn:aws:ssm:{region}:*:document/AWS-RunShellScript"), ec2("instance")], None)
        }
        On::DenyOtherInstances => steps.then(|| ("Deny", vec![ec2("instance")], untagged("ssm:resourceTag"))),
        On::SessionDocument => {
            allow(!state.sessions.is_empty(), vec![ssm("document/SSM-SessionManagerRunShell")], None)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The table holds every operation `src/aws` calls, and nothing it does not.
    #[test]
    fn the_table_is_the_calls_kenv_makes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
        let mut made = BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            // `read("ec2", "DescribeInstances")`, `write(…)`, however it is wrapped.
            for (at, _) in text.match_indices("read(").chain(text.match_indices("write(")) {
                let quoted: Vec<&str> = text[at..].split('"').skip(1).step_by(2).take(2).collect();
                let between = text[at..].split('"').nth(2).unwrap_or_default();
                if text[at..].split_once('(').is_some_and(|(_, r)| r.trim_start().starts_with('"'))
                    && between.trim() == ","
                {
                    made.insert((quoted[0].to_string(), quoted[1].to_string()));
                }
            }
        }
        let named: BTreeSet<(String, String)> = super::calls()
            .map(|c| (c.service, c.operation))
            .chain(super::NOT_DEPLOYING.iter().copied())
            .map(|(s, o)| (s.to_string(), o.to_string()))
            .collect();
        let missing: Vec<_> = made.difference(&named).collect();
        let extra: Vec<_> = named.difference(&made).collect();
        assert!(missing.is_empty() && extra.is_empty(), "not in the table: {missing:?}; never called: {extra:?}");
    }
}
