//! What a stack has on AWS, found by its tags: one ListRoles (by the stack's IAM path), one
//! DescribeInstances, DescribeEnvironments for the Cloud9 ones (25 per call, the API's limit),
//! one DescribeSecurityGroups and one DescribeSecurityGroupRules (the rules kenv made on groups
//! it does not own), however many environments there are.

use std::rc::Rc;

use crate::aws::{Aws, AwsError, Filters, GroupInfo, LiveEnv, LiveRole, TaggedRule};
use crate::model::record;
use crate::model::Value;

use super::{group_address, role_path, TAG_ADDRESS, TAG_STACK};

#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub roles: Vec<LiveRole>,
    pub envs: Vec<LiveEnv>,
    pub groups: Vec<GroupInfo>,
    /// Rules kenv made on other groups (reaches).
    pub reaches: Vec<TaggedRule>,
}

pub const CLOUD9_TAG: &str = "aws:cloud9:environment";

pub fn read(aws: &Aws, stack: &str) -> Result<LiveState, AwsError> {
    let mut roles = Vec::new();
    for name in aws.role_names(&role_path(stack))? {
        roles.extend(aws.role(&name)?);
    }
    let envs = envs(aws, stack)?;
    let groups = aws.security_groups(&Filters::from([(format!("tag:{TAG_STACK}"), vec![stack.to_string()])]), &[])?;
    let reaches = aws.tagged_rules(TAG_STACK, stack)?;
    Ok(LiveState { roles, envs, groups, reaches })
}

/// The stack's environments: one DescribeInstances by tag, DescribeEnvironments for the Cloud9 ones.
pub fn envs(aws: &Aws, stack: &str) -> Result<Vec<LiveEnv>, AwsError> {
    let instances = aws.live_instances(TAG_STACK, vec![stack.to_string()])?;
    let cloud9_ids: Vec<String> = instances.iter().filter_map(|i| i.tags.get(CLOUD9_TAG).cloned()).collect();
    let cloud9 = if cloud9_ids.is_empty() { Vec::new() } else { aws.cloud9_describe(&cloud9_ids)? };
    Ok(instances
        .into_iter()
        .filter_map(|instance| {
            let name = instance.tags.get(TAG_ADDRESS)?.strip_prefix("environment.")?.to_string();
            let c9 = instance.tags.get(CLOUD9_TAG).and_then(|id| cloud9.iter().find(|e| &e.id == id).cloned());
            // A Cloud9 instance whose environment is gone is on its way out.
            if instance.tags.contains_key(CLOUD9_TAG) && c9.is_none() {
                return None;
            }
            Some(LiveEnv { name, instance, cloud9: c9, members: None, moved_from: None })
        })
        .collect())
}

/// Environments the file renamed (`renamed_from`): the live one of the old name, when the new
/// name has none and the file no longer declares the old, is taken as the new one — with its
/// group and reach rules — for apply to move (re-tag) rather than replace.
pub fn follow_renames(state: &crate::model::DesiredState, live: &mut LiveState) {
    let declared = |n: &str| state.environments.iter().any(|e| &*e.name == n);
    for env in &state.environments {
        let Some(old) = env.renamed_from.as_deref().filter(|o| !declared(o)) else { continue };
        if live.envs.iter().any(|e| *e.name == *env.name) {
            continue;
        }
        let Some(found) = live.envs.iter_mut().find(|e| e.name == old) else { continue };
        found.moved_from = Some(old.to_string());
        found.name = env.name.to_string();
        for g in live.groups.iter_mut().filter(|g| g.tags.get(TAG_ADDRESS) == Some(&group_address(old))) {
            g.tags.insert(TAG_ADDRESS.into(), group_address(&env.name));
        }
        let prefix = format!("reach.{old}.");
        for r in live.reaches.iter_mut() {
            if let Some(rest) = r.tags.get(TAG_ADDRESS).and_then(|a| a.strip_prefix(&prefix)).map(String::from) {
                r.tags.insert(TAG_ADDRESS.into(), format!("reach.{}.{rest}", env.name));
            }
        }
    }
}

/// What `kenv check --live` gives policies as `state.live`: a record with, for each declared
/// environment, null when it is not on AWS, else `{ instance, cloud9, groups }` in the shapes
/// `ec2_instances`, `cloud9_environments` and `ec2_security_groups` return (`groups`: every group
/// attached to the instance, not only kenv's).
pub fn policy_view(aws: &Aws, stack: &str, names: &[&str]) -> Result<Value, AwsError> {
    let live = envs(aws, stack)?;
    let mut ids: Vec<String> = live.iter().flat_map(|e| e.instance.security_groups.clone()).collect();
    ids.sort();
    ids.dedup();
    let groups = if ids.is_empty() { Vec::new() } else { aws.security_groups(&Filters::new(), &ids)? };
    let view = |env: &LiveEnv| {
        let attached = groups.iter().filter(|g| env.instance.security_groups.contains(&g.id));
        record([
            ("instance", Value::from_serialize(&env.instance)),
            ("cloud9", Value::from_serialize(&env.cloud9)),
            ("groups", Value::from_serialize(&attached.collect::<Vec<_>>())),
        ])
    };
    let fields = names.iter().map(|name| {
        let found = live.iter().find(|e| e.name == *name);
        (Rc::from(*name), found.map_or(Value::Null, view))
    });
    Ok(Value::record(fields.collect()))
}
