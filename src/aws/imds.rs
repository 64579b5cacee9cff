//! Instance metadata through aws-config's IMDS client: IMDSv2 only (a token fetched by PUT, then
//! sent with every read), and the endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT when set.

use aws_sdk_ec2::error::DisplayErrorContext;

use super::{read, Aws, AwsError, ErrorClass};

impl Aws {
    /// The text at a metadata path (`/latest/meta-data/instance-id`), or None when the instance
    /// has nothing there (404: no role, say).
    pub fn imds(&self, path: &str) -> Result<Option<String>, AwsError> {
        let client = self.imds_client.get_or_init(|| aws_config::imds::Client::builder().build());
        self.stats.borrow_mut().entry(read("imds", "GET")).or_default().calls += 1;
        match self.block_on(client.get(path))? {
            Ok(text) => Ok(Some(text.into())),
            Err(aws_config::imds::client::error::ImdsError::ErrorResponse(r))
                if r.response().status().as_u16() == 404 =>
            {
                Ok(None)
            }
            Err(e) => {
                let message = DisplayErrorContext(&e).to_string().lines().next().unwrap_or("").to_string();
                Err(AwsError { class: ErrorClass::Network, op: Some(format!("imds:GET {path}")), code: None, message })
            }
        }
    }
}
