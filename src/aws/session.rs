//! Opening a box as a developer: an SSH public key pushed with EC2 Instance Connect (the box's
//! sshd accepts it for 60 seconds), and a Session Manager session whose byte stream the Session
//! Manager plugin carries.

use super::{write, Aws, AwsError};

/// A session Session Manager started: what the Session Manager plugin needs to carry it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub stream_url: String,
}

impl Aws {
    /// Pushes a public key for the instance's OS user; EC2 Instance Connect keeps it 60 s.
    pub fn push_ssh_key(&self, instance: &str, os_user: &str, public_key: &str) -> Result<(), AwsError> {
        let req = self
            .instance_connect()?
            .send_ssh_public_key()
            .instance_id(instance)
            .instance_os_user(os_user)
            .ssh_public_key(public_key);
        self.call(write("ec2-instance-connect", "SendSSHPublicKey"), req.send()).map(drop)
    }

    /// Starts a session on an instance with a session document and its parameters.
    pub fn start_session(
        &self,
        target: &str,
        document: &str,
        parameters: &[(&str, &str)],
    ) -> Result<Session, AwsError> {
        let mut req = self.ssm()?.start_session().target(target).document_name(document);
        for (name, value) in parameters {
            req = req.parameters(*name, vec![value.to_string()]);
        }
        let out = self.call(write("ssm", "StartSession"), req.send())?;
        Ok(Session {
            id: out.session_id().unwrap_or_default().to_string(),
            token: out.token_value().unwrap_or_default().to_string(),
            stream_url: out.stream_url().unwrap_or_default().to_string(),
        })
    }

    /// The endpoint SSM is called at (what the Session Manager plugin is told).
    pub fn ssm_endpoint(&self) -> Result<String, AwsError> {
        let config = self.config()?;
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        Ok(config.endpoint_url().map_or_else(|| format!("https://ssm.{region}.amazonaws.com"), String::from))
    }
}
