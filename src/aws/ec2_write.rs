//! EC2 writes: security group rules, instance settings, kenv's own groups and instances.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{
    HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest,
    InstanceNetworkInterfaceSpecification, InstanceType, ResourceType, Tag, TagSpecification,
};

use sha2::Digest;

use super::ec2::{filters, Filters, GroupRule, InstanceInfo};
use super::{read, write, Aws, AwsError};

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The tags a resource is made with.
pub(super) fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder().resource_type(kind).set_tags(Some(tag_list(tags))).build()
}

/// What RunInstances needs for a kenv `ec2` environment.
pub struct NewInstance<'a> {
    pub image: &'a str,
    pub instance_type: &'a str,
    pub subnet: &'a str,
    /// The instance's security groups: exactly these, never the VPC's default one.
    pub groups: &'a [String],
    pub profile: Option<&'a str>,
    pub tokens: &'a str,
    pub hop_limit: i64,
    pub tags: &'a BTreeMap<String, String>,
    /// The same token on a retried launch returns the instance already launched.
    pub token: &'a str,
}

impl Aws {
    /// Adds rules to a group, one call per direction; rules already there count as added.
    pub fn authorize(&self, group: &str, rules: &[GroupRule]) -> Result<(), AwsError> {
        let ec2 = self.ec2()?;
        for ingress in [true, false] {
            let perms: Vec<_> = rules.iter().filter(|r| r.ingress == ingress).map(GroupRule::permission).collect();
            if perms.is_empty() {
                continue;
            }
            let result = if ingress {
                let req = ec2.authorize_security_group_ingress().group_id(group).set_ip_permissions(Some(perms));
                self.call(write("ec2", "AuthorizeSecurityGroupIngress"), req.send()).map(drop)
            } else {
                let req = ec2.authorize_security_group_egress().group_id(group).set_ip_permissions(Some(perms));
                self.call(write("ec2", "AuthorizeSecurityGroupEgress"), req.send()).map(drop)
            };
            match result {
                Err(e) if e.is(&["InvalidPermission.Duplicate"]) => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Removes rules from a group, one call per direction.
    pub fn revoke(&self, group: &str, rules: &[GroupRule]) -> Result<(), AwsError> {
        let ec2 = self.ec2()?;
        for ingress in [true, false] {
            let perms: Vec<_> = rules.iter().filter(|r| r.ingress == ingress).map(GroupRule::permission).collect();
            if perms.is_empty() {
                continue;
            }
            let result = if ingress {
                let req = ec2.revoke_security_group_ingress().group_id(group).set_ip_permissions(Some(perms));
                self.call(write("ec2", "RevokeSecurityGroupIngress"), req.send()).map(drop)
            } else {
                let req = ec2.revoke_security_group_egress().group_id(group).set_ip_permissions(Some(perms));
                self.call(write("ec2", "RevokeSecurityGroupEgress"), req.send()).map(drop)
            };
            match result {
                Err(e) if e.is(&["InvalidPermission.NotFound"]) => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Requires IMDSv2 tokens (or not) and sets the hop limit on an instance.
    pub fn set_metadata_options(&self, instance: &str, tokens: &str, hop_limit: i64) -> Result<(), AwsError> {
        let req = self
            .ec2()?
            .modify_instance_metadata_options()
            .instance_id(instance)
            .http_tokens(HttpTokensState::from(tokens))
            .http_put_response_hop_limit(hop_limit as i32);
        self.call(write("ec2", "ModifyInstanceMetadataOptions"), req.send())?;
        Ok(())
    }

    /// Binds an instance profile to an instance, replacing the one it has.
    pub fn set_instance_profile(&self, instance: &str, profile: &str) -> Result<(), AwsError> {
        let ec2 = self.ec2()?;
        let f = Filters::from([("instance-id".to_string(), vec![instance.to_string()])]);
        let req = ec2.describe_iam_instance_profile_associations().set_filters(filters(&f));
        let out = self.call(read("ec2", "DescribeIamInstanceProfileAssociations"), req.send())?;
        let spec = IamInstanceProfileSpecification::builder().name(profile).build();
        let current = out
            .iam_instance_profile_associations()
            .iter()
            .find(|a| a.state().is_some_and(|s| matches!(s.as_str(), "associated" | "associating")));
        let result = match current.and_then(|a| a.association_id()) {
            Some(id) => {
                let req = ec2.replace_iam_instance_profile_association().association_id(id).iam_instance_profile(spec);
                self.call(write("ec2", "ReplaceIamInstanceProfileAssociation"), req.send()).map(drop)
            }
            None => {
                let req = ec2.associate_iam_instance_profile().instance_id(instance).iam_instance_profile(spec);
                self.call(write("ec2", "AssociateIamInstanceProfile"), req.send()).map(drop)
            }
        };
        // A retry (the first answer lost) finds the association it made, and is refused: the
        // instance has the profile all the same.
        let Err(e) = result else { return Ok(()) };
        let now = self.instances(&Filters::new(), &[instance.to_string()])?;
        let has = now.first().and_then(|i| i.instance_profile.as_deref()).and_then(|a| a.rsplit('/').next());
        if has == Some(profile) && !e.is_iam_propagation() {
            return Ok(());
        }
        Err(e)
    }

    pub fn create_tags(&self, resource: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let req = self.ec2()?.create_tags().resources(resource).set_tags(Some(tags));
        self.call(write("ec2", "CreateTags"), req.send())?;
        Ok(())
    }

    pub fn delete_tags(&self, resource: &str, keys: &[String]) -> Result<(), AwsError> {
        let tags = keys.iter().map(|k| Tag::builder().key(k).build()).collect();
        let req = self.ec2()?.delete_tags().resources(resource).set_tags(Some(tags));
        self.call(write("ec2", "DeleteTags"), req.send())?;
        Ok(())
    }

    /// Launches one instance in a private subnet (no public IP), returning its id. EC2 keeps a
    /// client token for a day after its instance is terminated and answers it with that instance,
    /// in the launch's own answer (`pending`): the instance's state is read back, and a
    /// declaration launched again after a destroy launches with a token derived from the
    /// terminated instance's id (the same on a retry, so it stays idempotent).
    pub fn run_instance(&self, new: &NewInstance) -> Result<String, AwsError> {
        let mut token = new.token.to_string();
        loop {
            let id = self.run_instance_once(new, &token)?;
            let found = self.instances(&Filters::new(), std::slice::from_ref(&id))?;
            let state = found.first().map_or("", |i| i.state.as_str());
            if !matches!(state, "terminated" | "shutting-down") {
                return Ok(id);
            }
            let derived = sha2::Sha256::digest(format!("{token}\n{id}").as_bytes());
            token = format!("kenv-{}", &hex::encode(derived)[..40]);
        }
    }

    fn run_instance_once(&self, new: &NewInstance, token: &str) -> Result<String, AwsError> {
        let nic = InstanceNetworkInterfaceSpecification::builder()
            .device_index(0)
            .subnet_id(new.subnet)
            .set_groups(Some(new.groups.to_vec()))
            .associate_public_ip_address(false)
            .build();
        let metadata = InstanceMetadataOptionsRequest::builder()
            .http_tokens(HttpTokensState::from(new.tokens))
            .http_put_response_hop_limit(new.hop_limit as i32)
            .build();
        let tags = tag_spec(ResourceType::Instance, new.tags);
        let req = self
            .ec2()?
            .run_instances()
            .image_id(new.image)
            .instance_type(InstanceType::from(new.instance_type))
            .min_count(1)
            .max_count(1)
            .network_interfaces(nic)
            .set_iam_instance_profile(new.profile.map(|p| IamInstanceProfileSpecification::builder().name(p).build()))
            .metadata_options(metadata)
            .tag_specifications(tags)
            .client_token(token);
        let out = self.call(write("ec2", "RunInstances"), req.send())?;
        Ok(out.instances().first().and_then(|i| i.instance_id()).unwrap_or("").to_string())
    }

    pub fn terminate(&self, instance: &str) -> Result<(), AwsError> {
        let req = self.ec2()?.terminate_instances().instance_ids(instance);
        match self.call(write("ec2", "TerminateInstances"), req.send()) {
            Err(e) if e.is(&["InvalidInstanceID.NotFound"]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// The instances (not terminated) carrying a tag, e.g. the instance of a Cloud9 environment.
    pub fn live_instances(&self, tag: &str, values: Vec<String>) -> Result<Vec<InstanceInfo>, AwsError> {
        let states = ["pending", "running", "stopping", "stopped"].map(String::from).to_vec();
        let f = Filters::from([(format!("tag:{tag}"), values), ("instance-state-name".into(), states)]);
        self.instances(&f, &[])
    }

    /// A security group in a VPC, tagged; returns its id.
    pub fn create_group(
        &self,
        name: &str,
        description: &str,
        vpc: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let spec = tag_spec(ResourceType::SecurityGroup, tags);
        let req = self
            .ec2()?
            .create_security_group()
            .group_name(name)
            .description(description)
            .vpc_id(vpc)
            .tag_specifications(spec);
        match self.call(write("ec2", "CreateSecurityGroup"), req.send()) {
            Ok(out) => Ok(out.group_id().unwrap_or("").to_string()),
            // A retry (the first answer lost) meets the group it made: that group, tagged as asked.
            Err(e) if e.is(&["InvalidGroup.Duplicate"]) => {
                let named =
                    Filters::from([("group-name".into(), vec![name.into()]), ("vpc-id".into(), vec![vpc.into()])]);
                let found = self.security_groups(&named, &[])?.into_iter();
                let mut made = found.filter(|g| tags.iter().all(|(k, v)| g.tags.get(k) == Some(v)));
                made.next().map(|g| g.id).ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes a group, waiting (up to a minute) while a terminating instance still holds it.
    pub fn delete_group(&self, id: &str) -> Result<(), AwsError> {
        let ec2 = self.ec2()?;
        for attempt in 0.. {
            match self.call(write("ec2", "DeleteSecurityGroup"), ec2.delete_security_group().group_id(id).send()) {
                Err(e) if e.code.as_deref() == Some("DependencyViolation") && attempt < 30 => {
                    self.sleep(Duration::from_secs(2))?;
                }
                Err(e) if e.code.as_deref() == Some("InvalidGroup.NotFound") => break,
                other => {
                    other?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Changes an instance's type. EC2 changes only a stopped instance's, so a running one is
    /// stopped, resized and started again: its id, disk and private address stay.
    pub fn resize(&self, instance: &str, instance_type: &str, running: bool) -> Result<(), AwsError> {
        let ids = [instance.to_string()];
        if running {
            self.stop(&ids)?;
        }
        let value = aws_sdk_ec2::types::AttributeValue::builder().value(instance_type).build();
        let req = self.ec2()?.modify_instance_attribute().instance_id(instance).instance_type(value);
        self.call(write("ec2", "ModifyInstanceAttribute"), req.send())?;
        if running {
            self.start(&ids)?;
        }
        Ok(())
    }

    /// Starts instances and waits until each runs.
    pub fn start(&self, ids: &[String]) -> Result<(), AwsError> {
        let req = self.ec2()?.start_instances().set_instance_ids(Some(ids.to_vec()));
        self.call(write("ec2", "StartInstances"), req.send())?;
        ids.iter().try_for_each(|id| self.wait_state(id, "running"))
    }

    /// Stops instances and waits until each has stopped.
    pub fn stop(&self, ids: &[String]) -> Result<(), AwsError> {
        let req = self.ec2()?.stop_instances().set_instance_ids(Some(ids.to_vec()));
        self.call(write("ec2", "StopInstances"), req.send())?;
        ids.iter().try_for_each(|id| self.wait_state(id, "stopped"))
    }

    /// Waits (at most 10 minutes) until an instance is in `state`.
    fn wait_state(&self, instance: &str, state: &str) -> Result<(), AwsError> {
        let started = std::time::Instant::now();
        loop {
            let now = self.instances(&Filters::new(), &[instance.to_string()])?;
            if now.first().is_some_and(|i| i.state == state) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(AwsError::local(format!("instance {instance} was not {state} after 600 s")));
            }
            self.sleep(Duration::from_millis(500))?;
        }
    }

    /// Sets the security groups of an instance's primary network interface.
    pub fn set_groups(&self, instance: &str, groups: &[String]) -> Result<(), AwsError> {
        let req = self.ec2()?.modify_instance_attribute().instance_id(instance).set_groups(Some(groups.to_vec()));
        self.call(write("ec2", "ModifyInstanceAttribute"), req.send())?;
        Ok(())
    }
}
