//! AWS through the real SDK. `Aws` is made with every interpreter but does nothing until a
//! builtin (or plan/apply) first needs it: then it loads aws-config's standard chain (profile,
//! region, endpoints, retries) on a tokio runtime of its own. Every call goes through `Aws::call`,
//! which counts it by operation (read or mutating) and turns SDK errors into `AwsError`.

mod cloud9;
mod ec2;
mod ec2_write;
mod error;
mod iam;
mod imds;
mod paginate;
mod reach;
mod secrets;
mod ssm;
mod sts;
mod trace;

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use cloud9::Cloud9Env;
pub use cloud9::NewCloud9;
pub use ec2::{
    Filters, GroupInfo, GroupRule, InstanceInfo, MetadataOptions, Route, RouteTable, Subnet, Vpc, VpcEndpoint,
};
pub use ec2_write::NewInstance;
pub use error::{AwsError, ErrorClass};
pub use iam::LiveRole;
pub use reach::TaggedRule;
pub use secrets::SecretInfo;
pub use ssm::{Invocation, Targets, AGENT_WAIT, DELIVERY_TIMEOUT};
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

/// How many calls of each operation were made.
pub type Stats = BTreeMap<Op, u64>;

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

    /// Waits on the runtime (the timer must be made inside it).
    pub fn sleep(&self, duration: std::time::Duration) -> Result<(), AwsError> {
        self.block_on(async { tokio::time::sleep(duration).await })
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
        *self.stats.borrow_mut().entry(op).or_default() += 1;
        if op.mutating {
            // Counted before it is sent: a write that fails may still have changed something.
            self.writes.set(self.writes.get() + 1);
        }
        if !tracing::enabled!(target: "kenv::aws", tracing::Level::DEBUG) {
            return self.block_on(future)?.map_err(|e| AwsError::from_sdk(op, e));
        }
        self.tracer.start();
        let started = std::time::Instant::now();
        let result = self.block_on(future)?.map_err(|e| AwsError::from_sdk(op, e));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let a = self.tracer.attempts();
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed: {}", e.code.as_deref().unwrap_or("no answer")),
        };
        let id = a.request_id.map_or(String::new(), |id| format!(", request {id}"));
        let (service, name, n) = (op.service, op.name, a.count);
        tracing::debug!(target: "kenv::aws", "{service}:{name} at {} {outcome} in {ms:.0} ms ({n} attempt(s){id})", a.endpoint);
        result
    }

    /// How many mutating calls were made: what a cache of reads checks to know it is stale.
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    pub fn stats(&self) -> Stats {
        self.stats.borrow().clone()
    }
}

/// The counts as `--stats` prints them: one line per operation, then the totals.
pub fn render_stats(stats: &Stats) -> String {
    let mut out = String::from("API calls:\n");
    for (op, n) in stats {
        let kind = if op.mutating { "write" } else { "read" };
        out.push_str(&format!("  {:<46} {kind:<5} {n}\n", format!("{}:{}", op.service, op.name)));
    }
    let (writes, reads): (Vec<_>, Vec<_>) = stats.iter().partition(|(op, _)| op.mutating);
    let sum = |v: &[(&Op, &u64)]| v.iter().map(|(_, n)| **n).sum::<u64>();
    out.push_str(&format!("  total: {} read, {} mutating\n", sum(&reads), sum(&writes)));
    out
}
