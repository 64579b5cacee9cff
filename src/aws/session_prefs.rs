//! The account's Session Manager preferences in a region: the Session document
//! `SSM-SessionManagerRunShell` (logging, encryption, timeouts, Run As). Its default version is
//! what Session Manager uses; a change is a new version made the default, so an earlier one can be
//! put back by number.

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{DocumentFormat, DocumentType, ResourceTypeForTagging, Tag};

use super::{read, write, Aws, AwsError};

const SESSION_DOCUMENT: &str = "SSM-SessionManagerRunShell";

/// The preferences as they are on AWS.
#[derive(Debug, Clone)]
pub struct SessionPreferences {
    /// The default version's number.
    pub version: String,
    /// The document's `inputs`.
    pub inputs: serde_json::Value,
    pub tags: BTreeMap<String, String>,
}

impl Aws {
    /// The preferences, or None when the account has never set any in this region.
    pub fn session_preferences(&self) -> Result<Option<SessionPreferences>, AwsError> {
        let ssm = self.ssm()?;
        let got = match self.call(read("ssm", "GetDocument"), ssm.get_document().name(SESSION_DOCUMENT).send()) {
            Err(e) if e.is(&["InvalidDocument"]) => return Ok(None),
            other => other?,
        };
        let content: serde_json::Value = serde_json::from_str(got.content().unwrap_or("{}")).unwrap_or_default();
        let req =
            ssm.list_tags_for_resource().resource_type(ResourceTypeForTagging::Document).resource_id(SESSION_DOCUMENT);
        let tags = self.call(read("ssm", "ListTagsForResource"), req.send())?;
        Ok(Some(SessionPreferences {
            version: got.document_version().unwrap_or_default().to_string(),
            inputs: content["inputs"].clone(),
            tags: tags.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
        }))
    }

    pub fn create_session_preferences(
        &self,
        content: &serde_json::Value,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let tags: Vec<Tag> = tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let req = self
            .ssm()?
            .create_document()
            .name(SESSION_DOCUMENT)
            .document_type(DocumentType::Session)
            .document_format(DocumentFormat::Json)
            .content(content.to_string())
            .set_tags(Some(tags));
        match self.call(write("ssm", "CreateDocument"), req.send()) {
            Err(e) if e.is(&["DocumentAlreadyExists"]) => self.set_session_preferences(content),
            other => other.map(drop),
        }
    }

    /// Makes `content` the default version: a new version, or the earlier one that already says
    /// it (SSM refuses a version whose content another has).
    pub fn set_session_preferences(&self, content: &serde_json::Value) -> Result<(), AwsError> {
        let ssm = self.ssm()?;
        let req = ssm.update_document().name(SESSION_DOCUMENT).document_version("$LATEST").content(content.to_string());
        let version = match self.call(write("ssm", "UpdateDocument"), req.send()) {
            Ok(out) => out.document_description().and_then(|d| d.document_version()).unwrap_or_default().to_string(),
            Err(e) if e.is(&["DuplicateDocumentContent"]) => self.version_saying(content)?.ok_or(e)?,
            Err(e) => return Err(e),
        };
        self.set_session_preferences_version(&version)
    }

    /// The version whose content is `content`, if any (newest first).
    fn version_saying(&self, content: &serde_json::Value) -> Result<Option<String>, AwsError> {
        let ssm = self.ssm()?;
        let described =
            self.call(read("ssm", "DescribeDocument"), ssm.describe_document().name(SESSION_DOCUMENT).send())?;
        let latest: u32 =
            described.document().and_then(|d| d.latest_version()).and_then(|v| v.parse().ok()).unwrap_or(0);
        for number in (1..=latest).rev().map(|n| n.to_string()) {
            let req = ssm.get_document().name(SESSION_DOCUMENT).document_version(&number);
            let got = self.call(read("ssm", "GetDocument"), req.send())?;
            if serde_json::from_str::<serde_json::Value>(got.content().unwrap_or("")).ok().as_ref() == Some(content) {
                return Ok(Some(number));
            }
        }
        Ok(None)
    }

    pub fn set_session_preferences_version(&self, version: &str) -> Result<(), AwsError> {
        let req = self.ssm()?.update_document_default_version().name(SESSION_DOCUMENT).document_version(version);
        self.call(write("ssm", "UpdateDocumentDefaultVersion"), req.send()).map(drop)
    }

    pub fn tag_session_preferences(&self, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let tags: Vec<Tag> = tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
        let req = self
            .ssm()?
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(SESSION_DOCUMENT)
            .set_tags(Some(tags));
        self.call(write("ssm", "AddTagsToResource"), req.send()).map(drop)
    }

    pub fn untag_session_preferences(&self, keys: &[&str]) -> Result<(), AwsError> {
        let req = self
            .ssm()?
            .remove_tags_from_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(SESSION_DOCUMENT)
            .set_tag_keys(Some(keys.iter().map(|k| k.to_string()).collect()));
        self.call(write("ssm", "RemoveTagsFromResource"), req.send()).map(drop)
    }

    pub fn delete_session_preferences(&self) -> Result<(), AwsError> {
        let req = self.ssm()?.delete_document().name(SESSION_DOCUMENT);
        match self.call(write("ssm", "DeleteDocument"), req.send()) {
            Err(e) if e.is(&["InvalidDocument"]) => Ok(()),
            other => other.map(drop),
        }
    }
}
