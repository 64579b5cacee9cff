//! Running the real `kenv` binary in tests.
#![allow(dead_code)]

pub mod stack;
pub mod term;
pub mod testbed;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose name ends in `.EXT`, in sorted order.
pub fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    let mut out = Vec::new();
    for path in entries {
        if path.is_dir() {
            out.extend(files_under(&path, ext));
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out
}

/// Runs kenv in `dir` without colour, at a fixed width, so output is stable.
pub fn kenv(dir: &Path, args: &[String]) -> Output {
    kenv_with_stdin(dir, args, "")
}

pub fn kenv_with_stdin(dir: &Path, args: &[String], stdin: &str) -> Output {
    kenv_env(dir, args, stdin, &[])
}

/// Runs kenv with extra environment variables; AWS settings of the test's own environment are
/// removed first, so only what the test sets reaches the SDK.
pub fn kenv_env(dir: &Path, args: &[String], stdin: &str, vars: &[(String, String)]) -> Output {
    let mut child = kenv_command(dir, args, vars).spawn().expect("kenv runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// The kenv binary to run in `dir` with these variables (and no AWS settings of the test's own
/// environment), without colour, at a fixed width, its streams piped.
pub fn kenv_command(dir: &Path, args: &[String], vars: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kenv"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .current_dir(dir)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A temporary directory with files in it, and the kenv binary to run there.
pub struct Test {
    pub dir: tempfile::TempDir,
}

impl Test {
    pub fn new() -> Test {
        Test { dir: tempfile::tempdir().unwrap() }
    }

    pub fn file(self, name: &str, content: &str) -> Test {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        kenv(self.dir.path(), &args)
    }
}

/// A server a test starts on 127.0.0.1 (a site, kenv's releases), stopped when dropped.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
}

impl Server {
    /// Runs `program ARGS… PORT` in `dir` with a free port and waits until it accepts connections.
    pub fn start(dir: &Path, program: &Path, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(program)
            .args(args)
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program the tests need but do not install (git, which kenv runs for git imports; openssl,
/// which makes a test site's certificates). When it is missing, one clear message and exit 1, not a panic in every test.
pub fn require(program: &str, used_for: &str) {
    let found = Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if found.is_err() {
        eprintln!(
            "\nkenv tests: `{program}` is not installed, and the tests need it for {used_for}.\n\
             Install it (on Debian or Ubuntu: `apt-get install {program}`) and run `cargo test` again.\n"
        );
        std::process::exit(1);
    }
}
