//! `kenv iam-policy FILE [--for plan|apply|destroy]`: the operator's least-privilege policy for the
//! file's stack (`plan::operator`), as JSON for IAM. The account is the one the file or kenv.lock
//! names, else the caller's (STS); the region is the configured one.

use std::rc::Rc;

use super::{report, ForCommand, StackArgs, FAILED, OK};
use crate::aws::Aws;
use crate::diag::{Diag, ErrorKind, Style};
use crate::eval::{self, Failure, Interp, Mode};
use crate::plan::operator::{self, Command, Scope};

pub fn run(args: &StackArgs, command: ForCommand, style: Style) -> i32 {
    let aws = Rc::new(Aws::new(args.aws.options()));
    let program = match eval::load_with(&args.file, Interp::with_aws(Mode::Plan, aws.clone(), false)) {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return report(&diags, &sources, style).max(FAILED),
    };
    let sources = &program.interp.sources;
    let aws_error = |e: crate::aws::AwsError| e.diag(None, aws.region().as_deref()).boxed();
    let scope = (|| -> crate::diag::Result<(String, String)> {
        aws.config().map_err(aws_error)?;
        let region = aws.region().ok_or_else(|| {
            Diag::bare(ErrorKind::Aws {
                class: crate::diag::ErrorClass::Region,
                message: "no AWS region is configured".into(),
            })
            .help("pass --region, or set AWS_REGION")
            .boxed()
        })?;
        let declared = program.state.account.as_ref().map(|(a, _)| a.to_string());
        let account = match declared.or(super::enforce::lock_beside(&args.file)?.account) {
            Some(a) => a,
            None => aws.whoami().map_err(aws_error)?.account.unwrap_or_default(),
        };
        Ok((region, account))
    })();
    let (region, account) = match scope {
        Ok(s) => s,
        Err(d) => return report(&[*d], sources, style).max(FAILED),
    };
    let stack = crate::plan::stack_name(&args.file, args.stack.as_deref());
    let command = match command {
        ForCommand::Plan => Command::Plan,
        ForCommand::Apply => Command::Apply,
        ForCommand::Destroy => Command::Destroy,
    };
    let policy =
        operator::policy(&program.state, &Scope { stack: &stack, region: &region, account: &account }, command);
    super::out(&format!("{}\n", serde_json::to_string_pretty(&policy).unwrap_or_default()));
    OK
}
