//! Running a rendered step on this machine, and fetching a pinned script.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{hash, SKIP_MARKER};

/// What running a step did.
#[derive(Debug)]
pub struct StepRun {
    pub skipped: bool,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The script at `url` (https, http or file), if its sha256 is `pinned`; otherwise
/// an error saying what was expected and what came.
pub fn fetch_pinned(url: &str, pinned: &str) -> Result<String, String> {
    let text = crate::remote::fetch_url(url)?;
    let actual = hash(&text);
    if !actual.eq_ignore_ascii_case(pinned) {
        return Err(format!("{url} does not match its pin: expected sha256 {pinned}, got {actual}"));
    }
    Ok(text)
}

/// Runs a script with `sh` in `dir`, with extra environment variables, for at most `timeout`.
/// Every text in `redact` (secret values) is replaced by `(secret)` in what it printed.
pub fn run_local(
    script: &str,
    dir: &Path,
    env: &[(String, String)],
    redact: &[String],
    timeout: Duration,
) -> std::io::Result<StepRun> {
    let file = tempfile::Builder::new().prefix("kenv-step-").suffix(".sh").tempfile()?;
    std::fs::write(file.path(), script)?;
    let mut child = Command::new("sh")
        .arg(file.path())
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both pipes on threads so a chatty step cannot fill one and stall.
    let mut out_pipe = child.stdout.take().expect("piped");
    let mut err_pipe = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let clean =
        |text: String| redact.iter().filter(|s| !s.is_empty()).fold(text, |t, s| t.replace(s.as_str(), "(secret)"));
    let stdout = clean(out_reader.join().unwrap_or_default());
    let mut stderr = clean(err_reader.join().unwrap_or_default());
    let exit_code = match status {
        Some(s) => s.code().unwrap_or(-1),
        None => {
            stderr.push_str(&format!("kenv: stopped after the step's timeout of {} s\n", timeout.as_secs()));
            124
        }
    };
    let skipped = exit_code == 0 && stdout.starts_with(SKIP_MARKER);
    Ok(StepRun { skipped, exit_code, stdout, stderr })
}
