//! Daily use of a stack's environments without the console: `kenv start|stop FILE [ENV…]`,
//! `kenv connect FILE ENV` (a shell through SSM Session Manager); `ssh.rs` has the SSH entries
//! VS Code Remote-SSH needs. They act on the stack's
//! environments as AWS has them (found by the stack's tags); the file only names the stack, so a
//! file that does not evaluate today still lets its people reach their boxes.

use super::{report, StackArgs, FAILED, OK};
use crate::aws::Aws;
use crate::aws::LiveEnv;
use crate::diag::{Diag, ErrorKind, Style};
use crate::plan;
use crate::source::SourceMap;

/// Where the Session Manager plugin's installation is documented.
pub(super) const PLUGIN_DOCS: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";

/// The stack's live environments: those named (each must be there), or all.
fn chosen(args: &StackArgs, aws: &Aws, names: &[String]) -> Result<(String, Vec<LiveEnv>), Vec<Diag>> {
    let stack = plan::stack_name(&args.file, args.stack.as_deref());
    let region = || aws.region();
    let mut live = plan::live_envs(aws, &stack).map_err(|e| vec![e.diag(None, region().as_deref())])?;
    live.sort_by(|a, b| a.name.cmp(&b.name));
    if names.is_empty() {
        if live.is_empty() {
            let kind = ErrorKind::EmptyStack { stack: stack.clone(), region: region().unwrap_or_default() };
            let help = "`kenv apply` makes them; `--stack` names another stack, `--region` another region";
            return Err(vec![Diag::bare(kind).help(help)]);
        }
        return Ok((stack, live));
    }
    let mut missing = Vec::new();
    for name in names.iter().filter(|n| !live.iter().any(|e| &e.name == *n)) {
        let d = Diag::bare(ErrorKind::NoSuchEnv { stack: stack.clone(), name: name.to_string() });
        let near = crate::diag::suggest(name, live.iter().map(|e| e.name.as_str()));
        missing.push(d.help(near.unwrap_or_else(|| "`kenv plan` shows what the stack has".into())));
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok((stack, live.into_iter().filter(|e| names.contains(&e.name)).collect()))
}

/// Runs `body` with AWS and the chosen environments; reports what fails.
pub(super) fn with_envs(
    args: &StackArgs,
    names: &[String],
    style: Style,
    body: impl FnOnce(&Aws, &str, Vec<LiveEnv>) -> Result<i32, Vec<Diag>>,
) -> i32 {
    let aws = Aws::new(args.aws.options());
    let result = aws.config().map_err(|e| vec![e.diag(None, None)]).and_then(|_| {
        let (stack, envs) = chosen(args, &aws, names)?;
        body(&aws, &stack, envs)
    });
    match result {
        Ok(code) => code,
        Err(diags) => report(&diags, &SourceMap::default(), style).max(FAILED),
    }
}

/// `kenv start` (`on`) or `kenv stop`: the environments not yet so, in one call, then waited for.
pub fn power(args: &StackArgs, names: &[String], on: bool, style: Style) -> i32 {
    with_envs(args, names, style, |aws, _, envs| {
        let (from, to, verb) = if on { ("stopped", "running", "started") } else { ("running", "stopped", "stopped") };
        let (act, skip): (Vec<_>, Vec<_>) = envs.iter().partition(|e| e.instance.state == from);
        for e in skip {
            super::out(&format!("{} ({}): {}\n", plan::env_address(&e.name), e.instance.id, e.instance.state));
        }
        if act.is_empty() {
            return Ok(OK);
        }
        let ids: Vec<String> = act.iter().map(|e| e.instance.id.clone()).collect();
        let done = if on { aws.start(&ids) } else { aws.stop(&ids) };
        done.map_err(|e| vec![e.diag(None, aws.region().as_deref())])?;
        for e in act {
            super::out(&format!("{} ({}): {verb}, now {to}\n", plan::env_address(&e.name), e.instance.id));
        }
        Ok(OK)
    })
}

/// The arguments of `aws` that open a session on an instance.
fn session_args(instance: &str, region: &str, profile: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> =
        ["ssm", "start-session", "--target", instance, "--region", region].map(String::from).into();
    if let Some(p) = profile {
        args.extend(["--profile".to_string(), p.to_string()]);
    }
    args
}

/// Whether a program is on PATH.
pub(super) fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

/// `kenv connect`: `aws ssm start-session` on the environment's instance, in this terminal.
pub fn connect(args: &StackArgs, name: &str, style: Style) -> i32 {
    with_envs(args, &[name.to_string()], style, |aws, stack, envs| {
        let env = &envs[0];
        if env.instance.state != "running" {
            let kind = ErrorKind::NotRunning { name: name.to_string(), state: env.instance.state.clone() };
            let help = format!("start it: `kenv start {} {name}`", args.file.display());
            return Err(vec![Diag::bare(kind).help(help)]);
        }
        let region = aws.region().unwrap_or_default();
        let session = session_args(&env.instance.id, &region, args.aws.profile.as_deref());
        let missing: Vec<&str> = ["aws", "session-manager-plugin"].into_iter().filter(|p| !on_path(p)).collect();
        if !missing.is_empty() {
            super::out(&format!("aws {}\n", session.join(" ")));
            let missing = missing.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" and ");
            let kind = ErrorKind::ToolsMissing { name: name.to_string(), stack: stack.to_string(), missing };
            let help = format!(
                "install the AWS CLI and the Session Manager plugin ({PLUGIN_DOCS}; on Debian or Ubuntu: `curl -o \
                 plugin.deb https://s3.amazonaws.com/session-manager-downloads/plugin/latest/ubuntu_64bit/\
                 session-manager-plugin.deb && sudo dpkg -i plugin.deb`), then run it"
            );
            return Err(vec![Diag::bare(kind).help(help)]);
        }
        match std::process::Command::new("aws").args(&session).status() {
            Ok(status) => Ok(status.code().unwrap_or(FAILED)),
            Err(e) => Err(vec![Diag::bare(ErrorKind::CannotRun { program: "aws".into(), reason: e.to_string() })]),
        }
    })
}
