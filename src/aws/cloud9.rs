//! Cloud9: EC2 environments, their status, and the calls that make and change them.

use std::collections::BTreeMap;

use aws_sdk_cloud9::types::{ConnectionType, ManagedCredentialsAction, Tag};

use super::{read, write, Aws, AwsError};

/// DescribeEnvironments takes at most this many ids per call.
const DESCRIBE_BATCH: usize = 25;

/// A Cloud9 environment as DescribeEnvironments tells it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cloud9Env {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub arn: String,
    pub owner: String,
    /// `CONNECT_SSM` or `CONNECT_SSH`.
    pub connection: String,
    /// `ENABLED_ON_CREATE`, `DISABLED_BY_OWNER`, …
    pub managed_credentials: String,
    /// `CREATING`, `CREATED`, …
    pub lifecycle: String,
}

impl Cloud9Env {
    /// Whether AWS managed temporary credentials are on.
    pub fn managed_credentials_on(&self) -> bool {
        self.managed_credentials.starts_with("ENABLED")
    }
}

/// What CreateEnvironmentEC2 needs.
pub struct NewCloud9<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub instance_type: &'a str,
    pub image: &'a str,
    pub subnet: &'a str,
    pub connection: &'a str,
    pub auto_stop: Option<i64>,
    /// The owner's ARN (None: the caller).
    pub owner: Option<&'a str>,
    pub tags: &'a BTreeMap<String, String>,
    /// The same token on a retried create returns the environment already made.
    pub token: &'a str,
}

impl Aws {
    pub fn cloud9_ids(&self) -> Result<Vec<String>, AwsError> {
        let c9 = self.cloud9()?;
        self.paginate(|token| {
            let out =
                self.call(read("cloud9", "ListEnvironments"), c9.list_environments().set_next_token(token).send())?;
            Ok((out.environment_ids().to_vec(), out.next_token().map(String::from)))
        })
    }

    /// Describes environments by id, 25 per call.
    pub fn cloud9_describe(&self, ids: &[String]) -> Result<Vec<Cloud9Env>, AwsError> {
        let c9 = self.cloud9()?;
        let mut found = Vec::new();
        for batch in ids.chunks(DESCRIBE_BATCH) {
            let req = c9.describe_environments().set_environment_ids(Some(batch.to_vec()));
            let out = self.call(read("cloud9", "DescribeEnvironments"), req.send())?;
            found.extend(out.environments().iter().map(|e| Cloud9Env {
                id: e.id().unwrap_or("").into(),
                name: e.name().unwrap_or("").into(),
                description: e.description().map(String::from),
                arn: e.arn().into(),
                owner: e.owner_arn().into(),
                connection: e.connection_type().map_or("CONNECT_SSH", |c| c.as_str()).into(),
                managed_credentials: e.managed_credentials_status().map_or("", |s| s.as_str()).into(),
                lifecycle: e.lifecycle().and_then(|l| l.status()).map_or("", |s| s.as_str()).into(),
            }));
        }
        Ok(found)
    }

    /// `ready`, `creating`, `error`, …
    pub fn cloud9_status(&self, id: &str) -> Result<String, AwsError> {
        let req = self.cloud9()?.describe_environment_status().environment_id(id);
        let out = self.call(read("cloud9", "DescribeEnvironmentStatus"), req.send())?;
        Ok(out.status().as_str().to_string())
    }

    pub fn cloud9_create(&self, new: &NewCloud9) -> Result<String, AwsError> {
        let tags = new.tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let req = self
            .cloud9()?
            .create_environment_ec2()
            .name(new.name)
            .set_description(new.description.map(String::from))
            .instance_type(new.instance_type)
            .image_id(new.image)
            .subnet_id(new.subnet)
            .connection_type(ConnectionType::from(new.connection))
            .set_automatic_stop_time_minutes(new.auto_stop.map(|m| m as i32))
            .set_owner_arn(new.owner.map(String::from))
            .client_request_token(new.token)
            .set_tags(Some(tags));
        let out = self.call(write("cloud9", "CreateEnvironmentEC2"), req.send())?;
        Ok(out.environment_id().unwrap_or("").to_string())
    }

    pub fn cloud9_update(
        &self,
        id: &str,
        managed_credentials: Option<bool>,
        description: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), AwsError> {
        let action = managed_credentials.map(|on| {
            if on {
                ManagedCredentialsAction::Enable
            } else {
                ManagedCredentialsAction::Disable
            }
        });
        let req = self
            .cloud9()?
            .update_environment()
            .environment_id(id)
            .set_managed_credentials_action(action)
            .set_description(description.map(String::from))
            .set_name(name.map(String::from));
        self.call(write("cloud9", "UpdateEnvironment"), req.send())?;
        Ok(())
    }

    /// Sets tags on an environment (Cloud9 passes them on to its instance).
    pub fn cloud9_tag(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let tags = tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let req = self.cloud9()?.tag_resource().resource_arn(arn).set_tags(Some(tags));
        self.call(write("cloud9", "TagResource"), req.send())?;
        Ok(())
    }

    pub fn cloud9_untag(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        let req = self.cloud9()?.untag_resource().resource_arn(arn).set_tag_keys(Some(keys.to_vec()));
        self.call(write("cloud9", "UntagResource"), req.send())?;
        Ok(())
    }

    /// Who besides the owner may open an environment: user or role ARN → `read-write` or
    /// `read-only`.
    pub fn cloud9_members(&self, id: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let c9 = self.cloud9()?;
        let found = self.paginate(|token| {
            let req = c9.describe_environment_memberships().environment_id(id).set_next_token(token);
            let out = self.call(read("cloud9", "DescribeEnvironmentMemberships"), req.send())?;
            let members = out
                .memberships()
                .iter()
                .filter(|m| m.permissions().as_str() != "owner")
                .map(|m| (m.user_arn().to_string(), m.permissions().as_str().to_string()))
                .collect();
            Ok((members, out.next_token().map(String::from)))
        })?;
        Ok(found.into_iter().collect())
    }

    /// Gives `user` this access (`read-write`, `read-only`) to an environment, or takes it away
    /// (None); `added`: whether the user is not a member yet.
    pub fn cloud9_set_member(&self, id: &str, user: &str, access: Option<&str>, added: bool) -> Result<(), AwsError> {
        let c9 = self.cloud9()?;
        let result = match access {
            Some(p) if added => {
                let req = c9.create_environment_membership().environment_id(id).user_arn(user).permissions(p.into());
                self.call(write("cloud9", "CreateEnvironmentMembership"), req.send()).map(drop)
            }
            Some(p) => {
                let req = c9.update_environment_membership().environment_id(id).user_arn(user).permissions(p.into());
                self.call(write("cloud9", "UpdateEnvironmentMembership"), req.send()).map(drop)
            }
            None => {
                let req = c9.delete_environment_membership().environment_id(id).user_arn(user);
                self.call(write("cloud9", "DeleteEnvironmentMembership"), req.send()).map(drop)
            }
        };
        match result {
            // A retry whose first answer was lost finds it done.
            Err(e) if e.is(&["ConflictException"]) && added => self.cloud9_set_member(id, user, access, false),
            Err(e) if e.is(&["NotFoundException"]) && access.is_none() => Ok(()),
            other => other,
        }
    }

    pub fn cloud9_delete(&self, id: &str) -> Result<(), AwsError> {
        let req = self.cloud9()?.delete_environment().environment_id(id);
        match self.call(write("cloud9", "DeleteEnvironment"), req.send()) {
            Err(e) if e.is(&["NotFoundException"]) => Ok(()),
            other => other.map(drop),
        }
    }
}

/// An environment as it is: its instance, and for Cloud9 the environment itself.
#[derive(Debug, Clone)]
pub struct LiveEnv {
    pub name: String,
    pub instance: super::InstanceInfo,
    pub cloud9: Option<Cloud9Env>,
    /// A Cloud9 environment's memberships (user ARN → access), read only for environments whose
    /// declaration has `members` (one call each).
    pub members: Option<std::collections::BTreeMap<String, String>>,
    /// The name it has on AWS when the file renamed it (`renamed_from`): apply moves it.
    pub moved_from: Option<String>,
}
