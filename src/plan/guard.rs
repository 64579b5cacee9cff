//! What a stack holds to before anything of it is read: the caller (STS, the one call made
//! first), the AWS account the file or kenv.lock names, and the stack's origin — where it is
//! applied from. Stack names are short and chosen by directory, so two teams can pick the same
//! one; the origin (the repository's remote and the file's path in it) is the same for every
//! clone of one team's repository and different for another's. Apply records it, with who
//! applied and when, in the SSM parameter `/kenv/stacks/<stack>` (its version history is the
//! stack's audit trail); a plan from another origin is refused unless `--adopt` takes the stack
//! over. Destroy deletes the record last.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError};
use crate::diag::{Diag, ErrorKind};
use crate::source::Span;

/// Who a plan is made as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

/// An account the stack must be in: its id, where it was written (the file's `account`, with
/// its span) or `kenv.lock`.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub span: Option<Span>,
}

/// What plan, apply and destroy hold a stack to. The default holds it to nothing (the REPL's
/// `:plan`).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub accounts: Vec<Account>,
    /// This file's origin (`origin_of`); None: not compared, not recorded.
    pub origin: Option<String>,
    /// `--adopt`: a stack recorded with another origin is taken over.
    pub adopt: bool,
}

impl Guard {
    /// The guard a file's desired state asks for: its `account`.
    pub fn of(state: &crate::model::DesiredState) -> Guard {
        let accounts = state.account.iter().map(|(id, span)| Account { id: id.to_string(), span: Some(*span) });
        Guard { accounts: accounts.collect(), ..Guard::default() }
    }
}

/// The stack's record: where it was last applied from, by whom, when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub origin: String,
    pub by: String,
    /// Seconds since the epoch.
    pub at: u64,
    pub kenv: String,
}

/// The parameter holding a stack's record.
pub fn parameter(stack: &str) -> String {
    format!("/kenv/stacks/{stack}")
}

/// The caller, checked against the accounts named; then the stack's record, checked against the
/// origin. Nothing but STS is called before the account is known to be right.
pub fn check(aws: &Aws, stack: &str, guard: &Guard) -> Result<Caller, Box<Diag>> {
    let error = |e: AwsError| e.diag(None, aws.region().as_deref()).boxed();
    let me = aws.whoami().map_err(error)?;
    let caller = Caller { account: me.account.unwrap_or_default(), arn: me.arn.unwrap_or_default() };
    if let Some(want) = guard.accounts.iter().find(|a| a.id != caller.account) {
        let kind = ErrorKind::WrongAccount { expected: want.id.clone(), actual: caller.account.clone() };
        let (d, from) = match want.span {
            Some(span) => (Diag::new(kind, span), "the file's `account`"),
            None => (Diag::bare(kind), "kenv.lock's `account`"),
        };
        let help = format!(
            "{from} names {}; use credentials of that account (--profile, AWS_PROFILE), or change the account if the \
             stack has moved. Nothing was read or changed.",
            want.id
        );
        return Err(d.help(help).boxed());
    }
    let Some(ours) = &guard.origin else { return Ok(caller) };
    let text = aws.parameter_value(&parameter(stack)).map_err(error)?;
    let recorded = text.and_then(|t| serde_json::from_str::<Record>(&t).ok());
    match recorded {
        Some(r) if r.origin != *ours && !guard.adopt => {
            let kind = ErrorKind::OtherOrigin { stack: stack.into(), theirs: r.origin.clone(), ours: ours.clone() };
            let help = format!(
                "another file already uses the name (last applied by {} at {}): name this stack apart with --stack, \
                 or pass --adopt if this file now holds that stack",
                r.by,
                crate::aws::timestamp(r.at)
            );
            Err(Diag::bare(kind).help(help).boxed())
        }
        _ => Ok(caller),
    }
}

/// Records the stack as applied now from `origin` by `caller`.
pub fn record(aws: &Aws, stack: &str, origin: &str, caller: &Caller) -> Result<(), AwsError> {
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let record = Record { origin: origin.into(), by: caller.arn.clone(), at, kenv: env!("CARGO_PKG_VERSION").into() };
    aws.put_parameter(&parameter(stack), &serde_json::to_string(&record).unwrap_or_default(), true).map(drop)
}

/// Where a file is applied from: `REMOTE/PATH` for a file in a git repository with a remote (the
/// remote's URL without credentials, scheme or `.git`; the file's path in the repository), the
/// repository's own directory for one without, else the file's absolute path.
pub fn origin_of(file: &Path) -> String {
    let absolute = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = absolute.parent().unwrap_or(Path::new("/"));
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let Some(top) = git(&["rev-parse", "--show-toplevel"]) else { return absolute.display().to_string() };
    let inside = absolute.strip_prefix(&top).map(|p| p.display().to_string()).unwrap_or_default();
    let repo = git(&["config", "--get", "remote.origin.url"]).map_or(top, |url| plain_remote(&url));
    format!("{repo}/{inside}")
}

/// `https://user:token@github.com/org/repo.git` and `git@github.com:org/repo.git` are both
/// `github.com/org/repo`: the same repository however it was cloned, and no credential kept.
fn plain_remote(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = match rest.split_once(':') {
        // scp-like `host:path` (a `host:port/path` keeps its port out too)
        Some((host, path)) if !url.contains("://") => format!("{host}/{path}"),
        Some((host, path)) => format!("{host}/{}", path.split_once('/').map_or(path, |(_, p)| p)),
        None => rest.to_string(),
    };
    rest.trim_end_matches('/').trim_end_matches(".git").to_string()
}

#[cfg(test)]
mod tests {
    use super::plain_remote;

    #[test]
    fn a_remote_is_named_the_same_however_it_was_cloned() {
        let want = "github.com/org/repo";
        assert_eq!(plain_remote("https://github.com/org/repo.git"), want);
        assert_eq!(plain_remote("https://alice:ghp_secret@github.com/org/repo"), want);
        assert_eq!(plain_remote("git@github.com:org/repo.git"), want);
        assert_eq!(plain_remote("ssh://git@github.com/org/repo.git"), want);
        assert_eq!(plain_remote("ssh://git@github.com:22/org/repo.git"), want);
        assert_eq!(plain_remote("/srv/git/repo.git"), "/srv/git/repo");
    }
}
