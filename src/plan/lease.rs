//! One apply at a time per stack. Two applies of one stack at once would each find the other's
//! half-made resources missing and make them again; so `apply` and `destroy` hold a lease on AWS
//! itself (there is no state file to lock): the SSM parameter `/kenv/locks/<stack>`, written only
//! when absent (PutParameter without Overwrite: one writer wins), saying who holds it, since when
//! and until when. The holder renews it while it works and deletes it when done; `plan` never
//! takes it. A lease whose holder is gone is stale: one held by a process of this machine that no
//! longer runs (a killed apply) is broken at once, saying so; one past its expiry is broken with
//! `--break-lock`.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::aws::{timestamp, Aws, AwsError};
use crate::diag::{Diag, ErrorKind};

/// How long a lease lasts unless renewed; the holder renews it every quarter of that.
pub const TERM: Duration = Duration::from_secs(3600);

/// Who holds a stack's lease, as the parameter's JSON value.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    /// `host:pid:nanoseconds`: this lease and no other.
    id: String,
    owner: String,
    host: String,
    pid: u32,
    /// Seconds since the epoch.
    started: u64,
    expires: u64,
}

/// A stack's lease, held until `release`.
pub struct Lease<'a> {
    aws: &'a Aws,
    name: String,
    holder: RefCell<Holder>,
    renewed: Cell<Instant>,
}

/// The parameter holding a stack's lease.
pub fn parameter(stack: &str) -> String {
    format!("/kenv/locks/{stack}")
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::env::var("HOSTNAME"));
    name.map(|n| n.trim().to_string()).unwrap_or_else(|_| "unknown-host".into())
}

/// Whether a process of this machine still runs (where /proc cannot say, it is taken to run).
fn running(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Takes the stack's lease, or says who holds it. `say` hears a stale lease being broken.
/// `caller`: the AWS identity taking it (STS's ARN), named with the person and machine.
pub fn take<'a>(
    aws: &'a Aws,
    stack: &str,
    caller: &str,
    break_stale: bool,
    say: &dyn Fn(&str),
) -> Result<Lease<'a>, Box<Diag>> {
    let error = |e: AwsError| e.diag(None, aws.region().as_deref()).boxed();
    let (name, host, pid, at) = (parameter(stack), host(), std::process::id(), now());
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let mine = Holder {
        id: format!("{host}:{pid}:{}", at.as_nanos()),
        owner: format!("{caller} ({user}@{host})"),
        host,
        pid,
        started: at.as_secs(),
        expires: (at + TERM).as_secs(),
    };
    let text = serde_json::to_string(&mine).unwrap_or_default();
    for _ in 0..3 {
        if aws.put_parameter(&name, &text, false).map_err(error)? {
            return Ok(Lease { aws, name, holder: RefCell::new(mine), renewed: Cell::new(Instant::now()) });
        }
        let Some(found) = aws.parameter_value(&name).map_err(error)? else { continue };
        let held: Option<Holder> = serde_json::from_str(&found).ok();
        match held {
            // Our own write, whose answer was lost and which the SDK sent again.
            Some(h) if h.id == mine.id => {
                return Ok(Lease { aws, name, holder: RefCell::new(mine), renewed: Cell::new(Instant::now()) })
            }
            Some(h) if h.host == mine.host && !running(h.pid) => say(&format!(
                "breaking the lock of stack `{stack}` taken at {} by an apply on this machine (pid {}) that no \
                 longer runs",
                timestamp(h.started),
                h.pid
            )),
            Some(h) if break_stale && h.expires <= mine.started => say(&format!(
                "breaking the lock of stack `{stack}` held by {} since {}: it expired at {}",
                h.owner,
                timestamp(h.started),
                timestamp(h.expires)
            )),
            held => return Err(locked(stack, &name, held.as_ref(), break_stale, mine.started)),
        }
        aws.delete_parameter(&name).map_err(error)?;
    }
    Err(locked(stack, &name, None, break_stale, mine.started))
}

fn locked(stack: &str, name: &str, held: Option<&Holder>, break_stale: bool, now: u64) -> Box<Diag> {
    let Some(h) = held else {
        let message = format!("stack `{stack}` is locked by something kenv cannot read (SSM parameter {name})");
        let help = format!("if no apply of it is running, delete it: `aws ssm delete-parameter --name {name}`");
        return Diag::bare(ErrorKind::Locked(message)).help(help).boxed();
    };
    let message = format!(
        "stack `{stack}` is being changed by {} (pid {}) since {}: one apply at a time",
        h.owner,
        h.pid,
        timestamp(h.started)
    );
    let expires = timestamp(h.expires);
    let help = if h.expires <= now {
        format!("its lock expired at {expires}, so that apply no longer runs: `--break-lock` takes it over")
    } else if break_stale {
        format!("--break-lock takes over only an expired lock; this one expires at {expires}")
    } else {
        format!(
            "wait for it to finish, then run again (`kenv plan` needs no lock); if that apply was stopped where it \
             could not release the lock, `--break-lock` takes it over after it expires at {expires}"
        )
    };
    Diag::bare(ErrorKind::Locked(message)).help(help).boxed()
}

impl Lease<'_> {
    /// Pushes the expiry on when a quarter of the term has passed since the last time (cheap to
    /// call often). A lease someone broke is left alone.
    pub fn renew(&self) -> Result<(), AwsError> {
        if self.renewed.get().elapsed() < TERM / 4 {
            return Ok(());
        }
        self.renewed.set(Instant::now());
        if !self.held()? {
            return Err(AwsError::local(format!("the lock {} was broken by someone else", self.name)));
        }
        let mut holder = self.holder.borrow_mut();
        holder.expires = (now() + TERM).as_secs();
        let text = serde_json::to_string(&*holder).unwrap_or_default();
        self.aws.put_parameter(&self.name, &text, true).map(drop)
    }

    /// Gives the lease up (unless someone broke it meanwhile: then theirs stays).
    pub fn release(self) -> Result<(), AwsError> {
        if self.held()? {
            self.aws.delete_parameter(&self.name)?;
        }
        Ok(())
    }

    fn held(&self) -> Result<bool, AwsError> {
        let found = self.aws.parameter_value(&self.name)?;
        let id = found.and_then(|t| serde_json::from_str::<Holder>(&t).ok()).map(|h| h.id);
        Ok(id.as_deref() == Some(self.holder.borrow().id.as_str()))
    }
}
