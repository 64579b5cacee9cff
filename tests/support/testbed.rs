//! The local AWS testbed for tests: one per test binary, started on first use by running
//! `testbed/testbed.py` with the Python `testbed/kenv-testbed python` provides (installing moto
//! when missing). The testbed exits when its standard input closes, which happens when the test
//! process ends, however it ends (a failed or panicking test included).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Testbed {
    pub endpoint: String,
    pub imds: String,
    pub region: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub default_sg: String,
    /// The security group of the internal GitHub Enterprise stand-in (not kenv's: environments
    /// reach it).
    pub ghe_sg: String,
    /// The Cloud One Workload Security manager stand-in.
    pub c1ws: String,
    /// Where the instances' commands run, a directory per instance.
    pub instances: PathBuf,
    /// How long the testbed took from start to ready (Python and moto already installed).
    pub ready_after: Duration,
    _process: Mutex<(Child, ChildStdin)>,
}

/// An instance profile the testbed seeds, whose role lets the SSM agent register.
pub const SSM_PROFILE: &str = "AWSCloud9SSMInstanceProfile";

static TESTBED: OnceLock<Testbed> = OnceLock::new();

/// The test binary's shared testbed: tests on it make their own resources and find them by id.
pub fn testbed() -> &'static Testbed {
    TESTBED.get_or_init(|| start(&[]))
}

/// A testbed of the test's own, for tests that inject faults or count every call.
pub fn fresh() -> Testbed {
    start(&[])
}

/// A testbed of the test's own, started with these options of testbed.py.
pub fn fresh_with(options: &[&str]) -> Testbed {
    start(options)
}

/// The testbed's Python, with moto and the other pinned tools installed (on first use).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let script = super::repo_dir().join("testbed/kenv-testbed");
        let out = Command::new(script).arg("python").stderr(Stdio::inherit()).output().expect("kenv-testbed runs");
        assert!(out.status.success(), "kenv-testbed could not provide Python with moto");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// A program the testbed's virtualenv installs (shellcheck), so the tests need no system copy.
pub fn venv_program(name: &str) -> PathBuf {
    python().with_file_name(name)
}

fn start(options: &[&str]) -> Testbed {
    let dir = super::repo_dir().join("testbed");
    let started = Instant::now();
    let mut child = Command::new(python())
        .arg(dir.join("testbed.py"))
        .arg("--watch-stdin")
        .arg("--create-seconds=0.5")
        .args(options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the testbed starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("the testbed did not start: {line:?}"));
    let text = |k: &str| info[k].as_str().unwrap().to_string();
    let stdin = child.stdin.take().unwrap();
    Testbed {
        endpoint: text("endpoint"),
        imds: text("imds"),
        region: text("region"),
        subnet_id: text("subnet_id"),
        vpc_id: text("vpc_id"),
        default_sg: text("default_sg"),
        c1ws: text("c1ws"),
        ghe_sg: text("ghe_sg"),
        instances: PathBuf::from(text("instances")),
        ready_after: started.elapsed(),
        _process: Mutex::new((child, stdin)),
    }
}

impl Testbed {
    /// SDK configuration pointing every service at the testbed, with dummy credentials.
    pub async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(self.region.clone()))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "testbed"))
            .load()
            .await
    }

    /// Waits until these instances' SSM agents are Online (the testbed registers them some
    /// seconds after launch, as AWS does), at most 30 s.
    pub async fn online(&self, ids: &[String]) {
        let ssm = aws_sdk_ssm::Client::new(&self.config().await);
        let filter = aws_sdk_ssm::types::InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .set_values(Some(ids.to_vec()))
            .build()
            .unwrap();
        for _ in 0..300 {
            let found = ssm.describe_instance_information().filters(filter.clone()).send().await.unwrap();
            let online = found
                .instance_information_list()
                .iter()
                .filter(|i| i.ping_status() == Some(&aws_sdk_ssm::types::PingStatus::Online))
                .count();
            if online == ids.len() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SSM agents of {ids:?} did not come online in 30 s");
    }

    /// What the C1WS manager stand-in recorded: downloads, activations, scans.
    pub fn c1ws_records(&self) -> Value {
        let (status, _, body) = http(&self.c1ws, "GET", "/_testbed/c1ws", &[], "");
        assert_eq!(status, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// Makes the IMDS endpoint answer for this instance.
    pub fn select_instance(&self, instance_id: &str) {
        let (status, _, _) =
            http(&self.imds, "POST", "/_testbed/instance", &[], &format!("{{\"instance_id\":\"{instance_id}\"}}"));
        assert_eq!(status, 200);
    }

    /// The environment that points kenv at this testbed, with dummy credentials and no shared
    /// config files (HOME is the test's directory).
    pub fn env(&self, home: &std::path::Path) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.imds.as_str()),
            ("AWS_REGION", self.region.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("HOME", home.to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Runs kenv against this testbed in `dir`.
    pub fn kenv(&self, dir: &std::path::Path, args: &[&str], extra: &[(&str, &str)]) -> super::Output {
        let (args, vars) = self.kenv_args(dir, args, extra);
        super::kenv_env(dir, &args, "", &vars)
    }

    /// kenv against this testbed in `dir`, to start and watch (or stop) while it runs.
    pub fn kenv_command(&self, dir: &std::path::Path, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let (args, vars) = self.kenv_args(dir, args, extra);
        super::kenv_command(dir, &args, &vars)
    }

    fn kenv_args(
        &self,
        dir: &std::path::Path,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> (Vec<String>, Vec<(String, String)>) {
        let mut vars = self.env(dir);
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        (args.iter().map(|s| s.to_string()).collect(), vars)
    }

    /// Makes that share of the operator's calls fail at random (throttled, or AWS failing before or
    /// after carrying the request out); rate 0 stops it. Returns what was injected so far.
    pub fn chaos(&self, rate: f64, after: f64, seed: u64) -> Value {
        let (method, body) = if rate > 0.0 {
            ("POST", format!(r#"{{"rate":{rate},"after":{after},"seed":{seed}}}"#))
        } else {
            ("DELETE", String::new())
        };
        let (got, _, body) = http(&self.endpoint, method, "/_testbed/chaos", &[], &body);
        assert_eq!(got, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// Makes the next `count` calls of `action` fail with `code` (every call when count is -1).
    pub fn fault(&self, action: &str, code: &str, status: u16, count: i64) {
        let body = format!(r#"{{"action":"{action}","code":"{code}","status":{status},"count":{count}}}"#);
        let (got, _, _) = http(&self.endpoint, "POST", "/_testbed/faults", &[], &body);
        assert_eq!(got, 200);
    }

    /// The actions served so far, in order, as `service:Action`.
    pub fn calls(&self) -> Vec<String> {
        let (_, _, body) = http(&self.endpoint, "GET", "/_testbed/calls", &[], "");
        let calls: Vec<Value> = serde_json::from_str(&body).unwrap();
        calls.iter().map(|c| format!("{}:{}", c["service"].as_str().unwrap(), c["action"].as_str().unwrap())).collect()
    }

    pub fn imds_stats(&self) -> Value {
        let (_, _, body) = http(&self.imds, "GET", "/_testbed/stats", &[], "");
        serde_json::from_str(&body).unwrap()
    }
}

/// A raw HTTP/1.1 request, for what the SDKs will not send (malformed bodies, missing headers):
/// returns the status, the headers (lowercased names) and the body.
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
    (status, headers, body.to_string())
}
