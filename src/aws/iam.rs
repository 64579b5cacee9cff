//! IAM: roles, their trust, inline and managed policies, and instance profiles.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;

use super::{read, write, Aws, AwsError};

/// The inline policy kenv writes from a role's `allow` statements.
pub const INLINE_POLICY: &str = "kenv";

/// A role as it is on AWS.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveRole {
    pub name: String,
    pub arn: String,
    pub path: String,
    /// Services the trust policy lets assume the role.
    pub trust: Vec<String>,
    pub managed: Vec<String>,
    /// The `kenv` inline policy document, when there is one.
    #[serde(skip)]
    pub inline: Option<serde_json::Value>,
    pub instance_profiles: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// Its permissions boundary's policy ARN.
    pub boundary: Option<String>,
}

/// IAM returns policy documents URL-encoded.
pub(super) fn decode_document(doc: &str) -> serde_json::Value {
    let bytes = doc.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
}

/// The services in a trust policy's `Principal.Service`.
fn trusted_services(doc: &serde_json::Value) -> Vec<String> {
    let statements = doc.get("Statement").and_then(|s| s.as_array()).cloned().unwrap_or_default();
    let mut services: Vec<String> = statements
        .iter()
        .filter_map(|s| s.get("Principal")?.get("Service"))
        .flat_map(|s| match s {
            serde_json::Value::String(one) => vec![one.clone()],
            serde_json::Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
            _ => vec![],
        })
        .collect();
    services.sort();
    services
}

/// A trust policy letting these services assume the role.
pub fn trust_document(services: &[String]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}],
    })
    .to_string()
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Option<Vec<Tag>> {
    Some(tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect())
}

impl Aws {
    /// The role with this name, or None when there is none.
    pub fn role(&self, name: &str) -> Result<Option<LiveRole>, AwsError> {
        let iam = self.iam()?;
        let got = match self.call(read("iam", "GetRole"), iam.get_role().role_name(name).send()) {
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => return Ok(None),
            other => other?,
        };
        let Some(role) = got.role() else { return Ok(None) };
        let trust = role.assume_role_policy_document().map(decode_document).unwrap_or_default();
        let managed = self.paginate(|marker| {
            let req = iam.list_attached_role_policies().role_name(name).set_marker(marker);
            let out = self.call(read("iam", "ListAttachedRolePolicies"), req.send())?;
            let arns = out.attached_policies().iter().filter_map(|p| p.policy_arn()).map(String::from).collect();
            Ok((arns, out.marker().filter(|_| out.is_truncated()).map(String::from)))
        })?;
        let req = iam.get_role_policy().role_name(name).policy_name(INLINE_POLICY);
        let inline = match self.call(read("iam", "GetRolePolicy"), req.send()) {
            Ok(out) => Some(decode_document(out.policy_document())),
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => None,
            Err(e) => return Err(e),
        };
        let req = iam.list_instance_profiles_for_role().role_name(name);
        let profiles = self.call(read("iam", "ListInstanceProfilesForRole"), req.send())?;
        Ok(Some(LiveRole {
            name: role.role_name().into(),
            arn: role.arn().into(),
            path: role.path().into(),
            trust: trusted_services(&trust),
            managed,
            inline,
            instance_profiles: profiles.instance_profiles().iter().map(|p| p.instance_profile_name().into()).collect(),
            tags: role.tags().iter().map(|t| (t.key().into(), t.value().into())).collect(),
            boundary: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(String::from),
        }))
    }

    /// The names of the roles under an IAM path (kenv puts a stack's roles under its own path).
    pub fn role_names(&self, path_prefix: &str) -> Result<Vec<String>, AwsError> {
        let iam = self.iam()?;
        self.paginate(|marker| {
            let req = iam.list_roles().path_prefix(path_prefix).set_marker(marker);
            let out = self.call(read("iam", "ListRoles"), req.send())?;
            let names = out.roles().iter().map(|r| r.role_name().to_string()).collect();
            Ok((names, out.marker().filter(|_| out.is_truncated()).map(String::from)))
        })
    }

    pub fn create_role(
        &self,
        name: &str,
        path: &str,
        trust: &[String],
        boundary: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let req = self
            .iam()?
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust_document(trust))
            .set_permissions_boundary(boundary.map(String::from))
            .set_tags(iam_tags(tags));
        // A role of this name that plan did not find under the stack's path belongs to someone
        // else: EntityAlreadyExists is an error, not something to adopt; unless the role has this
        // path and these tags: a retry (the first answer lost) met the role it made.
        match self.call(write("iam", "CreateRole"), req.send()) {
            Err(e) if e.is(&["EntityAlreadyExists"]) => match self.role(name)? {
                Some(r) if r.path == path && tags.iter().all(|(k, v)| r.tags.get(k) == Some(v)) => Ok(()),
                _ => Err(e),
            },
            other => other.map(drop),
        }
    }

    /// Tags a role (kenv's tags on a role it adopts).
    pub fn tag_role(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let req = self.iam()?.tag_role().role_name(name).set_tags(iam_tags(tags));
        self.call(write("iam", "TagRole"), req.send()).map(drop)
    }

    /// Sets or removes a role's permissions boundary.
    pub fn set_boundary(&self, name: &str, boundary: Option<&str>) -> Result<(), AwsError> {
        let iam = self.iam()?;
        match boundary {
            Some(arn) => {
                let req = iam.put_role_permissions_boundary().role_name(name).permissions_boundary(arn);
                self.call(write("iam", "PutRolePermissionsBoundary"), req.send()).map(drop)
            }
            None => {
                let req = iam.delete_role_permissions_boundary().role_name(name);
                gone_is_done(self.call(write("iam", "DeleteRolePermissionsBoundary"), req.send()).map(drop))
            }
        }
    }

    pub fn set_trust(&self, name: &str, trust: &[String]) -> Result<(), AwsError> {
        let req = self.iam()?.update_assume_role_policy().role_name(name).policy_document(trust_document(trust));
        self.call(write("iam", "UpdateAssumeRolePolicy"), req.send()).map(drop)
    }

    pub fn put_inline_policy(&self, role: &str, document: &serde_json::Value) -> Result<(), AwsError> {
        let req = self
            .iam()?
            .put_role_policy()
            .role_name(role)
            .policy_name(INLINE_POLICY)
            .policy_document(document.to_string());
        self.call(write("iam", "PutRolePolicy"), req.send()).map(drop)
    }

    pub fn delete_inline_policy(&self, role: &str) -> Result<(), AwsError> {
        let req = self.iam()?.delete_role_policy().role_name(role).policy_name(INLINE_POLICY);
        gone_is_done(self.call(write("iam", "DeleteRolePolicy"), req.send()))
    }

    pub fn attach_policy(&self, role: &str, arn: &str) -> Result<(), AwsError> {
        let req = self.iam()?.attach_role_policy().role_name(role).policy_arn(arn);
        self.call(write("iam", "AttachRolePolicy"), req.send()).map(drop)
    }

    pub fn detach_policy(&self, role: &str, arn: &str) -> Result<(), AwsError> {
        let req = self.iam()?.detach_role_policy().role_name(role).policy_arn(arn);
        gone_is_done(self.call(write("iam", "DetachRolePolicy"), req.send()))
    }

    /// An instance profile of the role's name and path holding the role.
    pub fn create_instance_profile(
        &self,
        role: &str,
        path: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let iam = self.iam()?;
        let req = iam.create_instance_profile().instance_profile_name(role).path(path).set_tags(iam_tags(tags));
        match self.call(write("iam", "CreateInstanceProfile"), req.send()) {
            Err(e) if e.code.as_deref() == Some("EntityAlreadyExists") => {}
            other => other.map(drop)?,
        }
        let req = iam.add_role_to_instance_profile().instance_profile_name(role).role_name(role);
        match self.call(write("iam", "AddRoleToInstanceProfile"), req.send()) {
            Err(e) if e.code.as_deref() == Some("LimitExceeded") => Ok(()),
            other => other.map(drop),
        }
    }

    /// Deletes a role and everything that hangs on it: instance profiles, policies.
    pub fn delete_role(&self, role: &LiveRole) -> Result<(), AwsError> {
        let iam = self.iam()?;
        for profile in &role.instance_profiles {
            let req = iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(&role.name);
            gone_is_done(self.call(write("iam", "RemoveRoleFromInstanceProfile"), req.send()))?;
            let req = iam.delete_instance_profile().instance_profile_name(profile);
            gone_is_done(self.call(write("iam", "DeleteInstanceProfile"), req.send()))?;
        }
        for arn in &role.managed {
            self.detach_policy(&role.name, arn)?;
        }
        if role.inline.is_some() {
            self.delete_inline_policy(&role.name)?;
        }
        gone_is_done(self.call(write("iam", "DeleteRole"), iam.delete_role().role_name(&role.name).send()))
    }
}

/// A deletion that finds nothing to delete has what it wanted (a retry whose first answer was
/// lost, an apply finishing what a stopped one began).
pub(super) fn gone_is_done<T>(result: Result<T, AwsError>) -> Result<(), AwsError> {
    match result {
        Err(e) if e.is(&["NoSuchEntity"]) => Ok(()),
        other => other.map(drop),
    }
}
