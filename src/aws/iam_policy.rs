//! Customer-managed IAM policies kenv writes for people, not for boxes (the stack's developer
//! policy): found by the stack's IAM path, changed by a new default version, deleted after being
//! detached from whoever the team attached them to.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{PolicyScopeType, Tag};

use super::iam::{decode_document, gone_is_done};
use super::{read, write, Aws, AwsError};

/// IAM keeps at most five versions of a policy.
const MAX_VERSIONS: usize = 5;

/// A customer-managed policy as it is on AWS.
#[derive(Debug, Clone)]
pub struct LivePolicy {
    pub name: String,
    pub arn: String,
    /// Its default version's document.
    pub document: serde_json::Value,
    /// How many users, groups and roles it is attached to.
    pub attachments: i32,
    pub tags: BTreeMap<String, String>,
}

impl Aws {
    /// The customer-managed policies under an IAM path, with their documents.
    pub fn policies_under(&self, path: &str) -> Result<Vec<LivePolicy>, AwsError> {
        let iam = self.iam()?;
        let listed = self.paginate(|marker| {
            let req = iam.list_policies().scope(PolicyScopeType::Local).path_prefix(path).set_marker(marker);
            let out = self.call(read("iam", "ListPolicies"), req.send())?;
            let found = out.policies().to_vec();
            Ok((found, out.marker().filter(|_| out.is_truncated()).map(String::from)))
        })?;
        let mut out = Vec::new();
        for p in listed {
            let (arn, version) = (p.arn().unwrap_or_default(), p.default_version_id().unwrap_or_default());
            let req = iam.get_policy_version().policy_arn(arn).version_id(version);
            let got = self.call(read("iam", "GetPolicyVersion"), req.send())?;
            let document =
                got.policy_version().and_then(|v| v.document()).map_or(serde_json::Value::Null, decode_document);
            let tagged = self.call(read("iam", "ListPolicyTags"), iam.list_policy_tags().policy_arn(arn).send())?;
            let tags = tagged.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            out.push(LivePolicy {
                name: p.policy_name().unwrap_or_default().to_string(),
                arn: arn.to_string(),
                document,
                attachments: p.attachment_count().unwrap_or(0),
                tags,
            });
        }
        Ok(out)
    }

    pub fn tag_policy(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let tags: Vec<Tag> = tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let req = self.iam()?.tag_policy().policy_arn(arn).set_tags(Some(tags));
        self.call(write("iam", "TagPolicy"), req.send()).map(drop)
    }

    pub fn create_policy(
        &self,
        name: &str,
        path: &str,
        description: &str,
        document: &serde_json::Value,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let tags: Vec<Tag> = tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let req = self
            .iam()?
            .create_policy()
            .policy_name(name)
            .path(path)
            .description(description)
            .policy_document(document.to_string())
            .set_tags(Some(tags));
        match self.call(write("iam", "CreatePolicy"), req.send()) {
            // A retry (the first answer lost) meets the policy it made.
            Err(e) if e.is(&["EntityAlreadyExists"]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Makes `document` the policy's default version (the oldest other version goes first when
    /// IAM already keeps its five).
    pub fn set_policy_document(&self, arn: &str, document: &serde_json::Value) -> Result<(), AwsError> {
        let iam = self.iam()?;
        let versions =
            self.call(read("iam", "ListPolicyVersions"), iam.list_policy_versions().policy_arn(arn).send())?;
        let mut old: Vec<_> = versions.versions().iter().filter(|v| !v.is_default_version()).collect();
        if versions.versions().len() >= MAX_VERSIONS {
            old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
            if let Some(oldest) = old.first().and_then(|v| v.version_id()) {
                let req = iam.delete_policy_version().policy_arn(arn).version_id(oldest);
                self.call(write("iam", "DeletePolicyVersion"), req.send())?;
            }
        }
        let req =
            iam.create_policy_version().policy_arn(arn).policy_document(document.to_string()).set_as_default(true);
        self.call(write("iam", "CreatePolicyVersion"), req.send()).map(drop)
    }

    /// Detaches the policy from every user, group and role, removes its other versions, then the
    /// policy (IAM refuses to delete a policy that is attached or has versions).
    pub fn delete_policy(&self, arn: &str) -> Result<(), AwsError> {
        let iam = self.iam()?;
        let entities = iam.list_entities_for_policy().policy_arn(arn).send();
        let entities = match self.call(read("iam", "ListEntitiesForPolicy"), entities) {
            Err(e) if e.is(&["NoSuchEntity"]) => return Ok(()),
            other => other?,
        };
        for g in entities.policy_groups() {
            let req = iam.detach_group_policy().group_name(g.group_name().unwrap_or_default()).policy_arn(arn);
            gone_is_done(self.call(write("iam", "DetachGroupPolicy"), req.send()))?;
        }
        for u in entities.policy_users() {
            let req = iam.detach_user_policy().user_name(u.user_name().unwrap_or_default()).policy_arn(arn);
            gone_is_done(self.call(write("iam", "DetachUserPolicy"), req.send()))?;
        }
        for r in entities.policy_roles() {
            let req = iam.detach_role_policy().role_name(r.role_name().unwrap_or_default()).policy_arn(arn);
            gone_is_done(self.call(write("iam", "DetachRolePolicy"), req.send()))?;
        }
        let versions =
            self.call(read("iam", "ListPolicyVersions"), iam.list_policy_versions().policy_arn(arn).send())?;
        for v in versions.versions().iter().filter(|v| !v.is_default_version()) {
            let req = iam.delete_policy_version().policy_arn(arn).version_id(v.version_id().unwrap_or_default());
            gone_is_done(self.call(write("iam", "DeletePolicyVersion"), req.send()))?;
        }
        gone_is_done(self.call(write("iam", "DeletePolicy"), iam.delete_policy().policy_arn(arn).send()))
    }
}
