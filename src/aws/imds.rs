//! Instance metadata through aws-config's IMDS client: IMDSv2 only (a token fetched by PUT, then
//! sent with every read), and the endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT when set.

use aws_sdk_ec2::error::DisplayErrorContext;

use super::{read, Aws, AwsError, ErrorClass};

impl Aws {
    /// The text at a metadata path (`/latest/meta-data/instance-id`).
    pub fn imds(&self, path: &str) -> Result<String, AwsError> {
        let client = self.imds_client.get_or_init(|| aws_config::imds::Client::builder().build());
        *self.stats.borrow_mut().entry(read("imds", "GET")).or_default() += 1;
        self.block_on(client.get(path))?.map(String::from).map_err(|e| {
            let text = DisplayErrorContext(&e).to_string();
            let message = text.lines().next().unwrap_or("").to_string();
            let class = if text.contains("404") { ErrorClass::NotFound } else { ErrorClass::Network };
            AwsError { class, op: Some(format!("imds:GET {path}")), code: None, message }
        })
    }
}
