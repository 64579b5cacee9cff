//! AWS failures, classified so each gets a hint that says what to do about it.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::Op;

pub use crate::diag::ErrorClass;

#[derive(Debug, Clone)]
pub struct AwsError {
    pub class: ErrorClass,
    /// `ec2:DescribeInstances`, when an operation failed.
    pub op: Option<String>,
    /// AWS's error code (`InvalidGroup.NotFound`), when AWS answered.
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    /// EC2 refusing an instance profile IAM has not propagated yet (for some seconds after it is
    /// made): worth waiting out, unlike any other error.
    pub fn is_iam_propagation(&self) -> bool {
        self.code.as_deref() == Some("InvalidParameterValue") && self.message.contains("Invalid IAM Instance Profile")
    }

    /// An answer that may be different next time: throttling, AWS's own failure, or no answer.
    /// The SDK retries these; a caller that cannot let it (a call that is not idempotent) checks.
    pub fn is_transient(&self) -> bool {
        const CODES: &[&str] = &[
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "TooManyRequestsException",
            "RequestThrottled",
            "InternalError",
            "InternalFailure",
            "InternalServerError",
            "ServiceUnavailable",
        ];
        self.class == ErrorClass::Network || self.code.as_deref().is_some_and(|c| CODES.contains(&c))
    }

    /// Whether AWS answered with one of these codes.
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }

    pub fn interrupted() -> AwsError {
        AwsError { class: ErrorClass::Interrupted, op: None, code: None, message: "interrupted (Ctrl-C)".into() }
    }

    pub fn local(message: String) -> AwsError {
        AwsError { class: ErrorClass::Local, op: None, code: None, message }
    }

    pub fn no_region() -> AwsError {
        AwsError { class: ErrorClass::Region, op: None, code: None, message: "no AWS region is configured".into() }
    }

    pub fn from_sdk<E, R>(op: Op, e: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let op_name = format!("{}:{}", op.service, op.name);
        if let Some(code) = e.code() {
            let message = e.message().unwrap_or("").to_string();
            let class = classify(code);
            return AwsError { class, op: Some(op_name), code: Some(code.to_string()), message };
        }
        let text = DisplayErrorContext(&e).to_string();
        // The context ends with the error's Debug form; the first line says it.
        let mut message = text.lines().next().unwrap_or("").to_string();
        let class = if text.contains("no credentials found") {
            message = "no AWS credentials found (looked in the environment, the shared config and credentials \
                files, web identity, ECS and instance metadata)"
                .into();
            ErrorClass::Credentials
        } else if text.contains("credentials") || text.contains("Credentials") {
            ErrorClass::Credentials
        } else if matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)) {
            ErrorClass::Network
        } else {
            ErrorClass::Service
        };
        AwsError { class, op: Some(op_name), code: None, message }
    }

    /// What the user can do about it.
    pub fn hint(&self, region: Option<&str>) -> String {
        let region = region.unwrap_or("the configured region");
        match self.class {
            ErrorClass::Credentials => "configure credentials: set AWS_PROFILE (or pass --profile) for a profile in \
                ~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` \
                checks them"
                .into(),
            ErrorClass::Region => "set AWS_REGION or pass --region with a region such as `ap-northeast-1`".into(),
            ErrorClass::Network => "check the network and the endpoint (AWS_ENDPOINT_URL, when set)".into(),
            ErrorClass::Denied => format!(
                "the caller's IAM policy must allow `{}`; ask for it, or use a profile whose role has it",
                self.op.as_deref().unwrap_or("this action")
            ),
            // SSM's word for an instance it cannot reach: stopped, or its agent not online.
            ErrorClass::NotFound if self.op.as_deref() == Some("ssm:SendCommand") => "Run Command reaches only a \
                running instance whose SSM agent is online (`aws ssm describe-instance-information` lists them); \
                start the instance, or give its role the SSM permissions (AmazonSSMManagedInstanceCore)"
                .into(),
            ErrorClass::NotFound => {
                format!("check the id or name, and that it lives in {region} (pass --region for another)")
            }
            ErrorClass::Service if self.code.as_deref() == Some("EntityAlreadyExists") => {
                "IAM names are per account: another stack or tool has this name; rename it in the file".into()
            }
            ErrorClass::Service | ErrorClass::Local | ErrorClass::Interrupted => String::new(),
        }
    }

    /// The diagnostic for this error at the place in the program that caused it.
    /// (None when nothing in the program caused it, e.g. reading the stack for a plan.)
    pub fn diag(&self, span: Option<crate::source::Span>, region: Option<&str>) -> crate::diag::Diag {
        let hint = self.hint(region);
        let mut d =
            crate::diag::Diag::bare(crate::diag::ErrorKind::Aws { class: self.class, message: self.describe() });
        if let Some(span) = span {
            d = d.at(span);
        }
        if hint.is_empty() {
            d
        } else {
            d.help(hint)
        }
    }

    /// The one-line description used in diagnostics.
    pub fn describe(&self) -> String {
        match (&self.op, &self.code) {
            (Some(op), Some(code)) => format!("{op} failed: {code}: {}", self.message),
            (Some(op), None) => format!("{op} failed: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

fn classify(code: &str) -> ErrorClass {
    match code {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "UnauthorizedAccess" => ErrorClass::Denied,
        "AuthFailure"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "UnrecognizedClientException"
        | "ExpiredToken"
        | "ExpiredTokenException" => ErrorClass::Credentials,
        "OptInRequired" | "InvalidRegion" => ErrorClass::Region,
        c if c.ends_with(".NotFound")
            || c.ends_with(".Malformed")
            || c == "NoSuchEntity"
            || c == "NotFoundException"
            || c == "ResourceNotFoundException"
            || c == "ParameterNotFound"
            || c == "InvalidInstanceId" =>
        {
            ErrorClass::NotFound
        }
        _ => ErrorClass::Service,
    }
}

/// AWS's regions (commercial, China, GovCloud): a region outside them is a typo, not a place.
const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
];

pub fn check_region(region: &str) -> Result<(), AwsError> {
    if REGIONS.contains(&region) {
        return Ok(());
    }
    let near = crate::diag::suggest(region, REGIONS.iter().copied());
    let message = match near {
        Some(n) => format!("`{region}` is not an AWS region ({n})"),
        None => format!("`{region}` is not an AWS region"),
    };
    Err(AwsError { class: ErrorClass::Region, op: None, code: None, message })
}
