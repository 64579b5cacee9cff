//! Rules kenv adds to security groups it does not own (a server's group that lets an environment
//! in): each is one ingress rule, tagged (EC2 security group rule tags), so kenv finds, changes and
//! removes exactly its own rules by id and never touches anyone else's on that group.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType};

use super::ec2::GroupRule;
use super::ec2_write::tag_spec;
use super::{read, write, Aws, AwsError};

/// A rule kenv made on another group, as EC2 has it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedRule {
    pub id: String,
    /// The group the rule is on.
    pub group: String,
    /// The rule itself; its peer is the source group (or CIDR).
    pub rule: GroupRule,
    pub tags: BTreeMap<String, String>,
}

impl Aws {
    /// Every security group rule tagged `key = value`, on any group.
    pub fn tagged_rules(&self, key: &str, value: &str) -> Result<Vec<TaggedRule>, AwsError> {
        let ec2 = self.ec2()?;
        let filter = Filter::builder().name(format!("tag:{key}")).values(value).build();
        self.paginate(|token| {
            let req = ec2.describe_security_group_rules().filters(filter.clone()).set_next_token(token);
            let out = self.call(read("ec2", "DescribeSecurityGroupRules"), req.send())?;
            let rules = out.security_group_rules().iter().map(|r| {
                let peer = r.referenced_group_info().and_then(|g| g.group_id()).or(r.cidr_ipv4()).or(r.cidr_ipv6());
                TaggedRule {
                    id: r.security_group_rule_id().unwrap_or("").to_string(),
                    group: r.group_id().unwrap_or("").to_string(),
                    rule: GroupRule {
                        ingress: !r.is_egress().unwrap_or(false),
                        protocol: r.ip_protocol().unwrap_or("-1").to_string(),
                        from_port: r.from_port().unwrap_or(-1),
                        to_port: r.to_port().unwrap_or(-1),
                        peer: peer.unwrap_or("").to_string(),
                        description: r.description().map(String::from),
                    },
                    tags: r
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect(),
                }
            });
            Ok((rules.collect(), out.next_token().map(String::from)))
        })
    }

    /// Adds one ingress rule to `group`, tagged; returns the new rule's id.
    pub fn authorize_tagged(
        &self,
        group: &str,
        rule: &GroupRule,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let spec = tag_spec(ResourceType::SecurityGroupRule, tags);
        let req = self
            .ec2()?
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(rule.permission())
            .tag_specifications(spec);
        let out = match self.call(write("ec2", "AuthorizeSecurityGroupIngress"), req.send()) {
            // A retry (the first answer lost) meets the rule it made: that rule, tagged as asked.
            Err(e) if e.is(&["InvalidPermission.Duplicate"]) => {
                let (key, value) = tags.iter().next().ok_or_else(|| e.clone())?;
                let made = self.tagged_rules(key, value)?.into_iter();
                let mut mine = made.filter(|r| r.group == group && r.tags == *tags);
                return mine.next().map(|r| r.id).ok_or(e);
            }
            other => other?,
        };
        let made = out.security_group_rules().first().and_then(|r| r.security_group_rule_id());
        Ok(made.unwrap_or("").to_string())
    }

    /// Removes one ingress rule from `group` by its id (a rule already gone is no error).
    pub fn revoke_rule(&self, group: &str, id: &str) -> Result<(), AwsError> {
        let req = self.ec2()?.revoke_security_group_ingress().group_id(group).security_group_rule_ids(id);
        match self.call(write("ec2", "RevokeSecurityGroupIngress"), req.send()) {
            Err(e) if e.is(&["InvalidSecurityGroupRuleId.NotFound"]) => Ok(()),
            other => other.map(drop),
        }
    }
}
