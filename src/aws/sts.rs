//! STS: who the configured credentials belong to.

use super::{read, Aws, AwsError};

/// The caller's identity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Identity {
    pub account: Option<String>,
    pub arn: Option<String>,
    pub user_id: Option<String>,
}

impl Aws {
    pub fn whoami(&self) -> Result<Identity, AwsError> {
        let out = self.call(read("sts", "GetCallerIdentity"), self.sts()?.get_caller_identity().send())?;
        let own = |s: Option<&str>| s.map(String::from);
        Ok(Identity { account: own(out.account()), arn: own(out.arn()), user_id: own(out.user_id()) })
    }
}
