//! What a stack has on AWS, found by its tags: one ListRoles (by the stack's IAM path), one
//! DescribeInstances, DescribeEnvironments for the Cloud9 ones (25 per call, the API's limit),
//! and one DescribeSecurityGroups, however many environments there are.

use crate::aws::{Aws, AwsError, Cloud9Env, Filters, GroupInfo, InstanceInfo, LiveRole};

use super::{role_path, TAG_ADDRESS, TAG_STACK};

/// An environment as it is: its instance, and for Cloud9 the environment itself.
#[derive(Debug, Clone)]
pub struct LiveEnv {
    pub name: String,
    pub instance: InstanceInfo,
    pub cloud9: Option<Cloud9Env>,
}

#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub roles: Vec<LiveRole>,
    pub envs: Vec<LiveEnv>,
    pub groups: Vec<GroupInfo>,
}

pub const CLOUD9_TAG: &str = "aws:cloud9:environment";

pub fn read(aws: &Aws, stack: &str) -> Result<LiveState, AwsError> {
    let mut roles = Vec::new();
    for name in aws.role_names(&role_path(stack))? {
        roles.extend(aws.role(&name)?);
    }
    let instances = aws.live_instances(TAG_STACK, vec![stack.to_string()])?;
    let cloud9_ids: Vec<String> = instances.iter().filter_map(|i| i.tags.get(CLOUD9_TAG).cloned()).collect();
    let cloud9 = if cloud9_ids.is_empty() { Vec::new() } else { aws.cloud9_describe(&cloud9_ids)? };
    let envs = instances
        .into_iter()
        .filter_map(|instance| {
            let name = instance.tags.get(TAG_ADDRESS)?.strip_prefix("environment.")?.to_string();
            let c9 = instance.tags.get(CLOUD9_TAG).and_then(|id| cloud9.iter().find(|e| &e.id == id).cloned());
            // A Cloud9 instance whose environment is gone is on its way out.
            if instance.tags.contains_key(CLOUD9_TAG) && c9.is_none() {
                return None;
            }
            Some(LiveEnv { name, instance, cloud9: c9 })
        })
        .collect();
    let groups = aws.security_groups(&Filters::from([(format!("tag:{TAG_STACK}"), vec![stack.to_string()])]), &[])?;
    Ok(LiveState { roles, envs, groups })
}
