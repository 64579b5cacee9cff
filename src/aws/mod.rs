//! AWS through the real SDK. `Aws` is made with every interpreter but does nothing until a
//! builtin (or plan/apply) first needs it: then it loads aws-config's standard chain (profile,
//! region, endpoints, retries) on a tokio runtime of its own. Every call goes through `Aws::call`,
//! which counts it by operation (read or mutating) and turns SDK errors into `AwsError`.

mod cloud9;
mod ec2;
mod ec2_write;
mod error;
mod iam;
mod iam_policy;
mod imds;
mod paginate;
mod reach;
mod secrets;
mod session;
mod session_prefs;
mod ssm;
mod sts;
mod trace;

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use cloud9::NewCloud9;
pub use cloud9::{Cloud9Env, LiveEnv};
pub use ec2::{
    Filters, GroupInfo, GroupRule, InstanceInfo, MetadataOptions, Route, RouteTable, Subnet, Vpc, VpcEndpoint,
};
pub use ec2_write::NewInstance;
pub use error::{AwsError, ErrorClass};
pub use iam::LiveRole;
pub use iam_policy::LivePolicy;
pub use reach::TaggedRule;
pub use secrets::SecretInfo;
pub use session::Session;
pub use session_prefs::SessionPreferences;
pub use ssm::{Earlier, Invocation, Targets, AGENT_WAIT, DELIVERY_TIMEOUT};
pub use sts::Identity;

/// Where to find AWS: `--profile` and `--region`, else aws-config's chain decides.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// One API operation, as counted by `--stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Op {
    pub service: &'static str,
    pub name: &'static str,
    pub mutating: bool,
}

pub const fn read(service: &'static str, name: &'static str) -> Op {
    Op { service, name, mutating: false }
}

pub const fn write(service: &'static str, name: &'static str) -> Op {
    Op { service, name, mutating: true }
}

/// How many calls of an operation were made, and how many of their attempts the SDK retried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub calls: u64,
    pub retries: u64,
}

/// The calls made, by operation.
pub type Stats = BTreeMap<Op, Count>;

/// Attempts per call, unless AWS_MAX_ATTEMPTS or AWS_RETRY_MODE (or a profile's `max_attempts` /
/// `retry_mode`) says otherwise: the SDK's standard mode retries throttling, 5xx and dropped
/// connections with jittered exponential backoff (up to 20 s a pause), and never an error that
/// will not change (AccessDenied, a bad parameter). AWS's default of 3 gives up too soon on a
/// busy account; an apply that gives up half-way costs more than one that waits.
pub const MAX_ATTEMPTS: u32 = 10;

pub struct Aws {
    options: AwsOptions,
    runtime: OnceCell<tokio::runtime::Runtime>,
    config: OnceCell<SdkConfig>,
    clients: Clients,
    stats: RefCell<Stats>,
    /// Mutating calls made so far: a cache of reads is stale once this moves.
    writes: std::cell::Cell<u64>,
    imds_client: OnceCell<aws_config::imds::Client>,
    interruptible: std::cell::Cell<bool>,
    tracer: trace::Tracer,
}

#[derive(Default)]
struct Clients {
    cloud9: OnceCell<aws_sdk_cloud9::Client>,
    ec2: OnceCell<aws_sdk_ec2::Client>,
    instance_connect: OnceCell<aws_sdk_ec2instanceconnect::Client>,
    iam: OnceCell<aws_sdk_iam::Client>,
    ssm: OnceCell<aws_sdk_ssm::Client>,
    sts: OnceCell<aws_sdk_sts::Client>,
    secrets: OnceCell<aws_sdk_secretsmanager::Client>,
}

macro_rules! client {
    ($name:ident, $krate:ident) => {
        pub fn $name(&self) -> Result<&$krate::Client, AwsError> {
            let config = self.config()?;
            let traced = || $krate::config::Builder::from(config).interceptor(self.tracer.clone()).build();
            Ok(self.clients.$name.get_or_init(|| $krate::Client::from_conf(traced())))
        }
    };
}

impl Aws {
    pub fn new(options: AwsOptions) -> Aws {
        Aws {
            options,
            runtime: OnceCell::new(),
            config: OnceCell::new(),
            clients: Clients::default(),
            stats: RefCell::default(),
            writes: std::cell::Cell::new(0),
            imds_client: OnceCell::new(),
            interruptible: std::cell::Cell::new(false),
            tracer: trace::Tracer::default(),
        }
    }

    client!(cloud9, aws_sdk_cloud9);
    client!(ec2, aws_sdk_ec2);
    client!(instance_connect, aws_sdk_ec2instanceconnect);
    client!(iam, aws_sdk_iam);
    client!(ssm, aws_sdk_ssm);
    client!(sts, aws_sdk_sts);
    client!(secrets, aws_sdk_secretsmanager);

    /// Runs a future on kenv's runtime (a current-thread one: evaluation is single-threaded).
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, AwsError> {
        if self.runtime.get().is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| AwsError::local(format!("cannot start the async runtime: {e}")))?;
            let _ = self.runtime.set(rt);
        }
        let rt = self.runtime.get().expect("set above");
        if !self.interruptible.get() {
            return Ok(rt.block_on(future));
        }
        // In the REPL, Ctrl-C cancels the AWS call in flight and the session goes on.
        rt.block_on(async {
            tokio::select! {
                out = future => Ok(out),
                _ = tokio::signal::ctrl_c() => Err(AwsError::local("cancelled (Ctrl-C)".into())),
            }
        })
    }

    /// Lets Ctrl-C cancel AWS calls (the REPL) instead of ending the process.
    pub fn set_interruptible(&self, on: bool) {
        self.interruptible.set(on);
    }

    /// Waits on the runtime (the timer must be made inside it). Every wait of kenv's is a safe
    /// point to stop at: after Ctrl-C (`host::catch_interrupts`) it ends in `interrupted`.
    pub fn sleep(&self, duration: std::time::Duration) -> Result<(), AwsError> {
        let until = std::time::Instant::now() + duration;
        loop {
            if crate::host::interrupted() {
                return Err(AwsError::interrupted());
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            let slice = left.min(std::time::Duration::from_millis(100));
            self.block_on(async { tokio::time::sleep(slice).await })?;
        }
    }

    /// The SDK configuration from aws-config's chain, loaded on first use.
    pub fn config(&self) -> Result<&SdkConfig, AwsError> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        if let Some(region) = &self.options.region {
            error::check_region(region)?;
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if !retries_configured(self.options.profile.as_deref()) {
            loader = loader.retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        }
        if let Some(region) = &self.options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.options.profile {
            loader = loader.profile_name(profile);
        }
        let config = self.block_on(loader.load())?;
        match config.region() {
            None => return Err(AwsError::no_region()),
            Some(r) => error::check_region(r.as_ref())?,
        }
        Ok(self.config.get_or_init(|| config))
    }

    pub fn region(&self) -> Option<String> {
        self.config.get().and_then(|c| c.region()).map(|r| r.to_string())
    }

    /// Makes one API call: counted in the stats, its error classified.
    pub fn call<T, E, R>(
        &self,
        op: Op,
        future: impl Future<Output = Result<T, aws_sdk_ec2::error::SdkError<E, R>>>,
    ) -> Result<T, AwsError>
    where
        E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        if op.mutating {
            // Counted before it is sent: a write that fails may still have changed something.
            self.writes.set(self.writes.get() + 1);
        }
        self.tracer.start();
        let started = std::time::Instant::now();
        let result = self.block_on(future)?.map_err(|e| AwsError::from_sdk(op, e));
        let a = self.tracer.attempts();
        let mut stats = self.stats.borrow_mut();
        let count = stats.entry(op).or_default();
        count.calls += 1;
        count.retries += u64::from(a.count.saturating_sub(1));
        drop(stats);
        if !tracing::enabled!(target: "kenv::aws", tracing::Level::DEBUG) {
            return result;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed: {}", e.code.as_deref().unwrap_or("no answer")),
        };
        let id = a.request_id.map_or(String::new(), |id| format!(", request {id}"));
        let (service, name, n) = (op.service, op.name, a.count);
        tracing::debug!(target: "kenv::aws", "{service}:{name} at {} {outcome} in {ms:.0} ms ({n} attempt(s){id})", a.endpoint);
        result
    }

    /// Another handle on the same AWS for a thread of its own: the loaded configuration (and with
    /// it the credentials' cache) shared, its own runtime and counts, which `absorb` adds to these.
    pub fn sibling(&self) -> Result<Aws, AwsError> {
        let config = self.config()?.clone();
        let aws = Aws::new(self.options.clone());
        let _ = aws.config.set(config);
        Ok(aws)
    }

    /// Adds a sibling's counts to these.
    pub fn absorb(&self, other: Aws) {
        let mut stats = self.stats.borrow_mut();
        for (op, n) in other.stats.take() {
            let count = stats.entry(op).or_default();
            count.calls += n.calls;
            count.retries += n.retries;
        }
        self.writes.set(self.writes.get() + other.writes.get());
    }

    /// How many mutating calls were made: what a cache of reads checks to know it is stale.
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    pub fn stats(&self) -> Stats {
        self.stats.borrow().clone()
    }
}

/// A time as AWS writes it, `2026-12-01T19:31:05Z`, from seconds since the epoch.
pub fn timestamp(secs: u64) -> String {
    let t = aws_sdk_ssm::primitives::DateTime::from_secs(secs as i64);
    t.fmt(aws_sdk_ssm::primitives::DateTimeFormat::DateTime).unwrap_or_else(|_| secs.to_string())
}

/// Whether the person chose how the SDK retries: the environment, or the profile's config file.
fn retries_configured(profile: Option<&str>) -> bool {
    if ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"].iter().any(|v| std::env::var_os(v).is_some()) {
        return true;
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file =
        std::env::var_os("AWS_CONFIG_FILE").map(std::path::PathBuf::from).or(home.map(|h| h.join(".aws/config")));
    let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else { return false };
    let profile = profile.map(String::from).or_else(|| std::env::var("AWS_PROFILE").ok()).unwrap_or("default".into());
    let headers = [format!("[{profile}]"), format!("[profile {profile}]")];
    let mut inside = false;
    text.lines().map(str::trim).any(|line| {
        if line.starts_with('[') {
            inside = headers.iter().any(|h| h == line);
        }
        inside && ["max_attempts", "retry_mode"].iter().any(|k| line.split('=').next().map(str::trim) == Some(k))
    })
}

/// The counts as `--stats` prints them: one line per operation (with the attempts the SDK
/// retried, when it retried any), then the totals.
pub fn render_stats(stats: &Stats) -> String {
    let mut out = String::from("API calls:\n");
    for (op, n) in stats {
        let kind = if op.mutating { "write" } else { "read" };
        let retried = match n.retries {
            0 => String::new(),
            r => format!("  ({r} {})", if r == 1 { "retry" } else { "retries" }),
        };
        out.push_str(&format!("  {:<46} {kind:<5} {}{retried}\n", format!("{}:{}", op.service, op.name), n.calls));
    }
    let sum = |mutating: bool, f: fn(&Count) -> u64| -> u64 {
        stats.iter().filter(|(op, _)| op.mutating == mutating).map(|(_, n)| f(n)).sum()
    };
    let retries: u64 = stats.values().map(|n| n.retries).sum();
    out.push_str(&format!(
        "  total: {} read, {} mutating, {retries} retried\n",
        sum(false, |n| n.calls),
        sum(true, |n| n.calls)
    ));
    out
}
