//! SSH to a box without a long-lived key on it, for VS Code Remote-SSH: `kenv ssh-config FILE`
//! writes a `Host` entry per box of the caller's (owner or member), whose ProxyCommand is
//! `kenv ssh-proxy`: it pushes the caller's public key with EC2 Instance Connect (the box's sshd
//! accepts it for 60 seconds), then opens an `AWS-StartSSHSession` session and hands it to the
//! Session Manager plugin, which carries ssh's bytes. Both calls are allowed by the stack's
//! developer policy only on the caller's own boxes; nothing is added to `authorized_keys`.

use std::path::{Path, PathBuf};

use super::daily::{on_path, with_envs, PLUGIN_DOCS};
use super::{report, AwsArgs, StackArgs, FAILED, OK};
use crate::aws::{Aws, AwsError, LiveEnv};
use crate::diag::{Diag, ErrorKind, Style};
use crate::model::tags::{principal_name, TAG_MEMBERS, TAG_OWNER};
use crate::plan::access::os_user;
use crate::plan::TAG_IMAGE;
use crate::source::SourceMap;

/// The key pair `ssh-config` makes when the caller names none.
const DEFAULT_KEY: &str = ".ssh/kenv_ed25519";

fn is_theirs(env: &LiveEnv, name: &str) -> bool {
    let tag = |key: &str| env.instance.tags.get(key).map(String::as_str);
    tag(TAG_OWNER) == Some(name) || tag(TAG_MEMBERS).is_some_and(|m| m.contains(&format!(":{name}:")))
}

/// `kenv ssh-config`: one `Host` entry per box of the caller's (every box with `all`), between
/// marker lines naming the stack.
pub fn ssh_config(args: &StackArgs, to: Option<PathBuf>, key: Option<PathBuf>, all: bool, style: Style) -> i32 {
    with_envs(args, &[], style, |aws, stack, envs| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let path = to.unwrap_or_else(|| home.join(".ssh/config"));
        let key = key.unwrap_or_else(|| home.join(DEFAULT_KEY));
        let region = aws.region().unwrap_or_default();
        let who = aws.whoami().map_err(|e| vec![e.diag(None, Some(&region))])?;
        let name = principal_name(who.arn.as_deref().unwrap_or_default()).to_string();
        let chosen: Vec<&LiveEnv> = envs.iter().filter(|e| all || is_theirs(e, &name)).collect();
        ensure_key(&key)?;
        let kenv = std::env::current_exe().map_or_else(|_| "kenv".into(), |p| p.display().to_string());
        let profile = args.aws.profile.as_deref().map_or(String::new(), |p| format!(" --profile {p}"));
        let mut block = String::new();
        for e in &chosen {
            let user = os_user(e.instance.tags.get(TAG_IMAGE).map_or("", String::as_str));
            block.push_str(&format!(
                "Host {}\n  HostName {}\n  User {user}\n  IdentityFile {key}\n  IdentitiesOnly yes\n  \
                 ProxyCommand {kenv} ssh-proxy %h --port %p --user %r --key {key}.pub --region {region}{profile}\n",
                e.name,
                e.instance.id,
                key = key.display()
            ));
        }
        write_block(&path, stack, &block).map_err(|e| vec![e.diag(None, None)])?;
        let whose = if all { String::new() } else { format!(" (the boxes of `{name}`; --all for every box)") };
        super::out(&format!("{}: {} host entries for stack `{stack}`{whose}\n", path.display(), chosen.len()));
        Ok(OK)
    })
}

/// Makes an ed25519 key pair at `key` (and `key.pub`) unless there is one: the key is pushed for
/// 60 seconds at each connection, so no box keeps it.
fn ensure_key(key: &Path) -> Result<(), Vec<Diag>> {
    if Path::new(&format!("{}.pub", key.display())).exists() {
        return Ok(());
    }
    if let Some(dir) = key.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let cannot = |reason: String| vec![Diag::bare(ErrorKind::CannotRun { program: "ssh-keygen".into(), reason })];
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kenv", "-f"])
        .arg(key)
        .status()
        .map_err(|e| cannot(e.to_string()))?;
    if !made.success() {
        return Err(cannot(format!("it exited with {made}")));
    }
    Ok(())
}

/// `kenv ssh-proxy`: what ssh runs as a ProxyCommand.
pub fn ssh_proxy(instance: &str, port: u16, user: &str, key: &Path, aws_args: &AwsArgs, style: Style) -> i32 {
    let aws = Aws::new(aws_args.options());
    match proxy(&aws, instance, port, user, key, aws_args.profile.as_deref()) {
        Ok(code) => code,
        Err(diags) => report(&diags, &SourceMap::default(), style).max(FAILED),
    }
}

fn proxy(
    aws: &Aws,
    instance: &str,
    port: u16,
    user: &str,
    key: &Path,
    profile: Option<&str>,
) -> Result<i32, Vec<Diag>> {
    let region = aws.region();
    let aws_error = |e: AwsError| vec![e.diag(None, region.as_deref())];
    let public = std::fs::read_to_string(key).map_err(|e| {
        let reason = format!("cannot read the public key {}: {e}", key.display());
        vec![Diag::bare(ErrorKind::CannotRun { program: "ssh-proxy".into(), reason })
            .help("`kenv ssh-config` makes one (~/.ssh/kenv_ed25519), or name yours with --key")]
    })?;
    // Refused by IAM: most likely the box is not the caller's.
    let not_yours = |e: AwsError| {
        let denied = e.class == crate::diag::ErrorClass::Denied;
        let help = "the stack's developer policy opens only the boxes whose owner or members name you \
                    (`kenv ssh-config` writes yours); ask the box's owner to add you to `members`";
        aws_error(e).into_iter().map(|d| if denied { d.help(help) } else { d }).collect::<Vec<_>>()
    };
    aws.push_ssh_key(instance, user, public.trim()).map_err(not_yours)?;
    let port = port.to_string();
    let session = aws.start_session(instance, "AWS-StartSSHSession", &[("portNumber", &port)]).map_err(not_yours)?;
    if !on_path("session-manager-plugin") {
        let reason = "it is not on PATH".to_string();
        let help = format!("install the Session Manager plugin: {PLUGIN_DOCS}");
        let kind = ErrorKind::CannotRun { program: "session-manager-plugin".into(), reason };
        return Err(vec![Diag::bare(kind).help(help)]);
    }
    // The Session Manager plugin's own interface, as the AWS CLI calls it.
    let response = serde_json::json!({
        "SessionId": session.id, "TokenValue": session.token, "StreamUrl": session.stream_url,
    });
    let request = serde_json::json!({
        "Target": instance, "DocumentName": "AWS-StartSSHSession", "Parameters": { "portNumber": [port] },
    });
    let endpoint = aws.ssm_endpoint().map_err(aws_error)?;
    let status = std::process::Command::new("session-manager-plugin")
        .arg(response.to_string())
        .arg(region.unwrap_or_default())
        .arg("StartSession")
        .arg(profile.unwrap_or_default())
        .arg(request.to_string())
        .arg(endpoint)
        .status()
        .map_err(|e| {
            vec![Diag::bare(ErrorKind::CannotRun { program: "session-manager-plugin".into(), reason: e.to_string() })]
        })?;
    Ok(status.code().unwrap_or(FAILED))
}

/// Puts `block` between the stack's marker lines in the file, replacing what was there (or
/// appending it), written whole to a new file then renamed over the old, so an interrupted write
/// loses nothing.
fn write_block(path: &Path, stack: &str, block: &str) -> Result<(), AwsError> {
    let io = |e: std::io::Error| AwsError::local(format!("cannot write {}: {e}", path.display()));
    let begin = format!("# >>> kenv stack {stack}: written by `kenv ssh-config`, replaced when it runs again");
    let end = format!("# <<< kenv stack {stack}");
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let ours = format!("{begin}\n{block}{end}\n");
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            let after = old[e + end.len()..].strip_prefix('\n').unwrap_or(&old[e + end.len()..]);
            format!("{}{ours}{after}", &old[..b])
        }
        _ if old.is_empty() || old.ends_with('\n') => format!("{old}{ours}"),
        _ => format!("{old}\n{ours}"),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temp = path.with_extension("kenv-new");
    std::fs::write(&temp, new).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    std::fs::rename(&temp, path).map_err(io)
}
