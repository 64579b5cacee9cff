//! Secrets Manager secrets as resources kenv locks to a role: which exist, their tags and their
//! resource policies. No secret's value is ever read here.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};

use super::{read, write, Aws, AwsError};

/// A secret as ListSecrets describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretInfo {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

impl Aws {
    /// The secrets a filter finds (`name`: names starting with the value; `tag-key`).
    fn list_secrets(&self, key: FilterNameStringType, value: &str) -> Result<Vec<SecretInfo>, AwsError> {
        let sm = self.secrets()?;
        let filter = Filter::builder().key(key).values(value).build();
        self.paginate(|token| {
            let req = sm.list_secrets().filters(filter.clone()).set_next_token(token);
            let out = self.call(read("secretsmanager", "ListSecrets"), req.send())?;
            let found = out.secret_list().iter().map(|s| SecretInfo {
                name: s.name().unwrap_or("").to_string(),
                arn: s.arn().unwrap_or("").to_string(),
                tags: s.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect(),
            });
            Ok((found.collect(), out.next_token().map(String::from)))
        })
    }

    /// The secrets a pattern names: one name, or every name with a prefix (`project/*`).
    pub fn secrets_matching(&self, pattern: &str) -> Result<Vec<SecretInfo>, AwsError> {
        let prefix = pattern.strip_suffix('*');
        let found = self.list_secrets(FilterNameStringType::Name, prefix.unwrap_or(pattern))?;
        Ok(found.into_iter().filter(|s| prefix.is_some_and(|p| s.name.starts_with(p)) || s.name == pattern).collect())
    }

    /// The secrets tagged `key = value`.
    pub fn secrets_tagged(&self, key: &str, value: &str) -> Result<Vec<SecretInfo>, AwsError> {
        let found = self.list_secrets(FilterNameStringType::TagKey, key)?;
        Ok(found.into_iter().filter(|s| s.tags.get(key).map(String::as_str) == Some(value)).collect())
    }

    /// A secret's resource policy, if it has one.
    pub fn secret_policy(&self, arn: &str) -> Result<Option<String>, AwsError> {
        let req = self.secrets()?.get_resource_policy().secret_id(arn);
        let out = self.call(read("secretsmanager", "GetResourcePolicy"), req.send())?;
        Ok(out.resource_policy().map(String::from))
    }

    /// Puts a resource policy on a secret and tags it (so kenv finds what it locked).
    pub fn lock_secret(&self, arn: &str, policy: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let sm = self.secrets()?;
        let req = sm.put_resource_policy().secret_id(arn).resource_policy(policy).block_public_policy(true);
        self.call(write("secretsmanager", "PutResourcePolicy"), req.send())?;
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let req = sm.tag_resource().secret_id(arn).set_tags(Some(tags));
        self.call(write("secretsmanager", "TagResource"), req.send()).map(drop)
    }

    /// Removes the resource policy kenv put on a secret, and kenv's tags.
    pub fn unlock_secret(&self, arn: &str, tag_keys: &[&str]) -> Result<(), AwsError> {
        let sm = self.secrets()?;
        self.call(write("secretsmanager", "DeleteResourcePolicy"), sm.delete_resource_policy().secret_id(arn).send())?;
        let keys = tag_keys.iter().map(|k| k.to_string()).collect();
        let req = sm.untag_resource().secret_id(arn).set_tag_keys(Some(keys));
        self.call(write("secretsmanager", "UntagResource"), req.send()).map(drop)
    }
}
