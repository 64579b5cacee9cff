//! STS: who the configured credentials belong to.

use super::{read, Aws, AwsError};
use crate::eval::Value;
use crate::model::record;

impl Aws {
    pub fn whoami(&self) -> Result<Value, AwsError> {
        let out = self.call(read("sts", "GetCallerIdentity"), self.sts()?.get_caller_identity().send())?;
        let opt = |s: Option<&str>| s.map_or(Value::Null, Value::str);
        Ok(record([("account", opt(out.account())), ("arn", opt(out.arn())), ("user_id", opt(out.user_id()))]))
    }
}
