//! SSM (parameters, Run Command) and Secrets Manager. Secret content is returned only as a plain
//! `String` to the code that hands it to a process; it never becomes a kenv value.

use std::time::Duration;

use aws_sdk_ssm::types::{
    CommandFilter, CommandFilterKey, InstanceInformationStringFilter, ParameterType, PingStatus, Target,
};

use super::{read, write, Aws, AwsError};

/// Where a Run Command goes: named instances, or a fleet chosen by tags, run at most
/// `max_concurrency` at a time and stopped after `max_errors` failures (SSM's own syntax: "10",
/// "25%").
pub enum Targets<'a> {
    Instances(&'a [String]),
    Tags { tags: &'a std::collections::BTreeMap<String, Vec<String>>, max_concurrency: &'a str, max_errors: &'a str },
}

/// One instance's result of a Run Command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invocation {
    pub instance: String,
    /// `Success`, `Failed`, `TimedOut`, `Cancelled`, …
    pub status: String,
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// An instance's invocation of an earlier Run Command.
#[derive(Debug, Clone)]
pub struct Earlier {
    pub command: String,
    pub instance: String,
    pub finished: bool,
    pub succeeded: bool,
}

const TERMINAL: &[&str] = &["Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated"];

/// How long SSM may take to hand a command to the instance's agent (SendCommand's
/// TimeoutSeconds); once it runs, the document's `executionTimeout` bounds it.
pub const DELIVERY_TIMEOUT: i32 = 600;

/// How long a new instance's SSM agent may take to register (AWS: usually under a minute).
pub const AGENT_WAIT: Duration = Duration::from_secs(600);

impl Aws {
    /// A parameter's type and, unless it is a SecureString, its value.
    pub fn parameter(&self, name: &str) -> Result<(String, Option<String>), AwsError> {
        let req = self.ssm()?.get_parameter().name(name).with_decryption(false);
        let out = self.call(read("ssm", "GetParameter"), req.send())?;
        let p = out.parameter();
        let kind = p.and_then(|p| p.r#type()).map_or("String", |t| t.as_str()).to_string();
        let value = p.and_then(|p| p.value()).filter(|_| kind != "SecureString").map(String::from);
        Ok((kind, value))
    }

    /// A String parameter's value, or None when there is no such parameter.
    pub fn parameter_value(&self, name: &str) -> Result<Option<String>, AwsError> {
        let req = self.ssm()?.get_parameter().name(name);
        match self.call(read("ssm", "GetParameter"), req.send()) {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(String::from)),
            Err(e) if e.is(&["ParameterNotFound"]) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes a String parameter; unless `overwrite`, only when there is none of that name
    /// (false: there was one, and it is unchanged).
    pub fn put_parameter(&self, name: &str, value: &str, overwrite: bool) -> Result<bool, AwsError> {
        let req =
            self.ssm()?.put_parameter().name(name).value(value).r#type(ParameterType::String).overwrite(overwrite);
        match self.call(write("ssm", "PutParameter"), req.send()) {
            Ok(_) => Ok(true),
            Err(e) if e.is(&["ParameterAlreadyExists"]) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes a parameter (one already gone is no error).
    pub fn delete_parameter(&self, name: &str) -> Result<(), AwsError> {
        let req = self.ssm()?.delete_parameter().name(name);
        match self.call(write("ssm", "DeleteParameter"), req.send()) {
            Err(e) if e.is(&["ParameterNotFound"]) => Ok(()),
            other => other.map(drop),
        }
    }

    /// The content of a secret, for handing to a process. Never turn it into a kenv value.
    pub fn secret_text(&self, name: &str, parameter: bool) -> Result<String, AwsError> {
        if parameter {
            let req = self.ssm()?.get_parameter().name(name).with_decryption(true);
            let out = self.call(read("ssm", "GetParameter"), req.send())?;
            return Ok(out.parameter().and_then(|p| p.value()).unwrap_or("").to_string());
        }
        let req = self.secrets()?.get_secret_value().secret_id(name);
        let out = self.call(read("secretsmanager", "GetSecretValue"), req.send())?;
        Ok(out.secret_string().unwrap_or("").to_string())
    }

    /// Waits, at most `wait`, until the SSM agent of every instance (at most 50) is Online:
    /// Run Command reaches nothing else. `waiting` hears once how many are not online yet.
    pub fn wait_online(&self, ids: &[String], wait: Duration, waiting: &dyn Fn(usize)) -> Result<(), AwsError> {
        let ssm = self.ssm()?;
        let filter = InstanceInformationStringFilter::builder().key("InstanceIds").set_values(Some(ids.to_vec()));
        let filter = filter.build().map_err(|e| AwsError::local(e.to_string()))?;
        let deadline = std::time::Instant::now() + wait;
        let (mut delay, mut told) = (Duration::from_millis(250), false);
        loop {
            let req = ssm.describe_instance_information().filters(filter.clone());
            let out = self.call(read("ssm", "DescribeInstanceInformation"), req.send())?;
            let online: Vec<&str> = out
                .instance_information_list()
                .iter()
                .filter(|i| i.ping_status() == Some(&PingStatus::Online))
                .filter_map(|i| i.instance_id())
                .collect();
            let offline: Vec<&str> = ids.iter().map(String::as_str).filter(|i| !online.contains(i)).collect();
            if offline.is_empty() {
                return Ok(());
            }
            if std::time::Instant::now() + delay > deadline {
                return Err(AwsError::local(format!(
                    "the SSM agent of {} is not online after {} s; Run Command reaches an instance only through its \
                     agent, which registers when the instance profile's role allows ssm:UpdateInstanceInformation \
                     (AmazonSSMManagedInstanceCore or AWSCloud9SSMInstanceProfile) and the instance reaches the ssm, \
                     ssmmessages and ec2messages endpoints",
                    offline.join(", "),
                    wait.as_secs()
                )));
            }
            if !told {
                waiting(offline.len());
                told = true;
            }
            self.sleep(delay)?;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Sends `AWS-RunShellScript` to instances and returns the command id.
    pub fn send_command(
        &self,
        to: &Targets,
        commands: &[String],
        comment: &str,
        execution_timeout: i64,
    ) -> Result<String, AwsError> {
        let req = self
            .ssm()?
            .send_command()
            .document_name("AWS-RunShellScript")
            .parameters("commands", commands.to_vec())
            .parameters("executionTimeout", vec![execution_timeout.to_string()])
            .comment(comment)
            .timeout_seconds(DELIVERY_TIMEOUT);
        let req = match to {
            Targets::Instances(ids) => req.set_instance_ids(Some(ids.to_vec())),
            Targets::Tags { tags, max_concurrency, max_errors } => {
                let targets = tags
                    .iter()
                    .map(|(k, v)| Target::builder().key(format!("tag:{k}")).set_values(Some(v.clone())).build())
                    .collect();
                req.set_targets(Some(targets)).max_concurrency(*max_concurrency).max_errors(*max_errors)
            }
        };
        // SendCommand has no client token: a retry after an answer lost on the way back would run
        // the script twice. So the SDK does not retry it; the caller looks for the command first.
        let once = aws_sdk_ssm::config::Builder::default().retry_config(aws_config::retry::RetryConfig::disabled());
        let out = self.call(write("ssm", "SendCommand"), req.customize().config_override(once).send())?;
        Ok(out.command().and_then(|c| c.command_id()).unwrap_or("").to_string())
    }

    /// Each instance's invocation of the recent (a day) Run Commands sent with this comment,
    /// newest command first: what an apply that was stopped, or lost SendCommand's answer, sent.
    pub fn commands_with_comment(&self, comment: &str) -> Result<Vec<Earlier>, AwsError> {
        let ssm = self.ssm()?;
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let since = super::timestamp(since.as_secs().saturating_sub(24 * 3600));
        let filter = |key: CommandFilterKey, value: &str| CommandFilter::builder().key(key).value(value).build();
        let filters = [
            filter(CommandFilterKey::InvokedAfter, &since),
            filter(CommandFilterKey::DocumentName, "AWS-RunShellScript"),
        ];
        let filters: Vec<CommandFilter> =
            filters.into_iter().collect::<Result<_, _>>().map_err(|e| AwsError::local(e.to_string()))?;
        let mut commands = self.paginate(|token| {
            let req = ssm.list_commands().set_filters(Some(filters.clone())).set_next_token(token);
            let out = self.call(read("ssm", "ListCommands"), req.send())?;
            let ours = out.commands().iter().filter(|c| c.comment() == Some(comment));
            let found = ours.map(|c| {
                (c.requested_date_time().map_or(0.0, |t| t.as_secs_f64()), c.command_id().unwrap_or("").to_string())
            });
            Ok((found.collect::<Vec<_>>(), out.next_token().map(String::from)))
        })?;
        commands.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut found = Vec::new();
        for (_, command) in commands {
            let req = ssm.list_command_invocations().command_id(&command);
            let out = self.call(read("ssm", "ListCommandInvocations"), req.send())?;
            for i in out.command_invocations() {
                let status = i.status().map_or("", |s| s.as_str());
                found.push(Earlier {
                    command: command.clone(),
                    instance: i.instance_id().unwrap_or("").to_string(),
                    finished: TERMINAL.contains(&status),
                    succeeded: status == "Success",
                });
            }
        }
        Ok(found)
    }

    /// Waits until each instance's invocation of a command has finished.
    /// Waits for a command's invocations to finish, at most `wait` in all.
    pub fn wait_command(
        &self,
        command: &str,
        instances: &[String],
        wait: Duration,
    ) -> Result<Vec<Invocation>, AwsError> {
        let ssm = self.ssm()?;
        let deadline = std::time::Instant::now() + wait;
        let mut done = Vec::new();
        for instance in instances {
            loop {
                let req = ssm.get_command_invocation().command_id(command).instance_id(instance);
                match self.call(read("ssm", "GetCommandInvocation"), req.send()) {
                    Ok(out) if TERMINAL.contains(&out.status().map_or("", |s| s.as_str())) => {
                        done.push(Invocation {
                            instance: instance.clone(),
                            status: out.status().map_or("", |s| s.as_str()).into(),
                            exit_code: out.response_code().into(),
                            stdout: out.standard_output_content().unwrap_or("").into(),
                            stderr: out.standard_error_content().unwrap_or("").into(),
                        });
                        break;
                    }
                    // Right after SendCommand the invocation may not exist yet.
                    Ok(_) => {}
                    Err(e) if e.code.as_deref() == Some("InvocationDoesNotExist") => {}
                    Err(e) => return Err(e),
                }
                if std::time::Instant::now() > deadline {
                    return Err(AwsError::local(format!("command {command} did not finish on {instance} in time")));
                }
                self.sleep(Duration::from_millis(500))?;
            }
        }
        Ok(done)
    }
}
