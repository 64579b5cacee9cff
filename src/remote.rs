//! Remote content for imports and install steps: https/http in-process, git repositories
//! through the git binary. Everything remote is pinned by the sha256 of its content; fetched
//! content is cached under that hash, so a pinned import never needs the network twice and
//! `--offline` works from the cache. `kenv.lock` records the pins of a program's imports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

/// `--offline`: nothing is fetched; remote imports come from the cache or fail.
static OFFLINE: AtomicBool = AtomicBool::new(false);

pub fn set_offline(offline: bool) {
    OFFLINE.store(offline, Ordering::Relaxed);
}

pub fn offline() -> bool {
    OFFLINE.load(Ordering::Relaxed)
}

/// sha256 of text, as 64 lowercase hex digits.
pub fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A remote import: `git+URL//PATH?ref=REV` or an `https://` (or `http://`) URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    Git { repo: String, path: String, rev: String },
    Url(String),
}

impl Remote {
    /// None when `spec` is not remote; an error when it is, but malformed.
    pub fn parse(spec: &str) -> Option<Result<Remote, String>> {
        if let Some(rest) = spec.strip_prefix("git+") {
            return Some(git_spec(rest));
        }
        if spec.starts_with("https://") || spec.starts_with("http://") {
            return Some(Ok(Remote::Url(spec.to_string())));
        }
        None
    }

    /// The spec of `rel`, imported by relative path from this module: the same repository at
    /// the same ref, or the URL resolved against this one.
    pub fn join(&self, rel: &str) -> String {
        match self {
            Remote::Git { repo, path, rev } => {
                format!("git+{repo}//{}?ref={rev}", normalise(&parent(path), rel))
            }
            Remote::Url(url) => {
                let (origin, path) = split_origin(url);
                format!("{origin}/{}", normalise(&parent(path), rel))
            }
        }
    }

    /// Fetches the content (never from the cache), with the commit a git ref named.
    pub fn fetch(&self) -> Result<(String, Option<String>), String> {
        if offline() {
            return Err("--offline forbids fetching it".into());
        }
        match self {
            Remote::Url(url) => fetch_url(url).map(|text| (text, None)),
            Remote::Git { repo, path, rev } => fetch_git(repo, path, rev).map(|(text, commit)| (text, Some(commit))),
        }
    }
}

fn git_spec(rest: &str) -> Result<Remote, String> {
    let usage = "write `git+URL//PATH?ref=TAG`, e.g. `git+https://github.com/team/envs.git//team.kenv?ref=v1.2.0`";
    let (location, rev) = rest.split_once("?ref=").ok_or_else(|| format!("it names no ref; {usage}"))?;
    let scheme_end = location.find("://").map_or(0, |i| i + 3);
    let (repo, path) = match location[scheme_end..].find("//") {
        Some(i) => (&location[..scheme_end + i], &location[scheme_end + i + 2..]),
        None => return Err(format!("it names no file in the repository; {usage}")),
    };
    if repo.is_empty() || path.is_empty() || rev.is_empty() {
        return Err(usage.into());
    }
    Ok(Remote::Git { repo: repo.into(), path: path.into(), rev: rev.into() })
}

fn parent(path: &str) -> String {
    path.rsplit_once('/').map_or(String::new(), |(dir, _)| dir.to_string())
}

/// `dir` joined with `rel`, `.` and `..` resolved (never above the root).
fn normalise(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// `https://host/a/b` → (`https://host`, `a/b`).
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => (&url[..after_scheme + i], &url[after_scheme + i + 1..]),
        None => (url, ""),
    }
}

/// The body at `url` (https, http or file), fetched in-process: redirects followed (at most
/// 10), two minutes at most, the system's root certificates (and `SSL_CERT_FILE`).
pub fn fetch_url(url: &str) -> Result<String, String> {
    let bytes = match url.strip_prefix("file://") {
        Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {url}: {}", crate::diag::io_text(&e)))?,
        None => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot fetch {url}: {e}"))?;
            let fetch = async { tokio::time::timeout(std::time::Duration::from_secs(120), http_get(url)).await };
            rt.block_on(fetch).map_err(|_| format!("fetching {url} failed: no answer within 120 s"))??
        }
    };
    String::from_utf8(bytes).map_err(|_| format!("{url} is not UTF-8 text"))
}

async fn http_get(url: &str) -> Result<Vec<u8>, String> {
    use http_body_util::{BodyExt, Empty, Limited};
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<hyper::body::Bytes>>(https);
    let mut at = url.to_string();
    for _ in 0..=10 {
        let failed = |e: &dyn std::fmt::Display| format!("fetching {at} failed: {e}");
        let uri: hyper::Uri = at.parse().map_err(|e| failed(&e))?;
        let request = hyper::Request::get(uri)
            .header(hyper::header::USER_AGENT, concat!("kenv/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|e| failed(&e))?;
        let response = client.request(request).await.map_err(|e| failed(&error_chain(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers().get(hyper::header::LOCATION).and_then(|l| l.to_str().ok());
            let location = location.ok_or_else(|| failed(&format!("HTTP {status} without a Location")))?;
            at = redirect(&at, location);
            continue;
        }
        if !status.is_success() {
            return Err(failed(&format!("HTTP {status}")));
        }
        let body = Limited::new(response.into_body(), crate::source::MAX_SOURCE);
        return body.collect().await.map(|b| b.to_bytes().to_vec()).map_err(|e| failed(&e));
    }
    Err(format!("fetching {url} failed: more than 10 redirects"))
}

/// An error with its causes: hyper's own message is "client error (Connect)", the reason is in
/// its sources.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// Where a redirect leads: an absolute URL, or a path on the same origin.
fn redirect(from: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (origin, path) = split_origin(from);
    match location.strip_prefix('/') {
        Some(absolute) => format!("{origin}/{absolute}"),
        None => format!("{origin}/{}", normalise(&parent(path), location)),
    }
}

/// A file of a git repository at a ref (tag, branch or commit), and the commit it names. A
/// shallow clone of the ref first; a full one when the ref is a commit id.
fn fetch_git(repo: &str, path: &str, rev: &str) -> Result<(String, String), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let clone = |args: &[&str]| {
        Command::new("git")
            .args(["clone", "--quiet", "--bare"])
            .args(args)
            .arg(repo)
            .arg(dir.path().join("repo"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
    };
    let shallow = clone(&["--depth", "1", "--branch", rev]).map_err(|e| format!("cannot run git: {e}"))?;
    if !shallow.status.success() {
        let _ = std::fs::remove_dir_all(dir.path().join("repo"));
        let full = clone(&[]).map_err(|e| format!("cannot run git: {e}"))?;
        if !full.status.success() {
            return Err(format!("git clone {repo} failed: {}", String::from_utf8_lossy(&full.stderr).trim()));
        }
    }
    let git = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir.path().join("repo"))
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        String::from_utf8(out.stdout).map_err(|_| format!("{path} is not UTF-8 text"))
    };
    let commit = git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| format!("{repo} has no tag, branch or commit `{rev}`"))?
        .trim()
        .to_string();
    let text =
        git(&["show", &format!("{commit}:{path}")]).map_err(|_| format!("{repo} has no file `{path}` at `{rev}`"))?;
    Ok((text, commit))
}

/// Where fetched content is kept: `$KENV_CACHE_DIR`, else `$XDG_CACHE_HOME/kenv`, else
/// `~/.cache/kenv`; each import under `imports/<sha256>`.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KENV_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kenv")
}

/// Content with this hash, if fetched before (checked again: a damaged entry is a miss).
pub fn cached(sha: &str) -> Option<String> {
    let text = std::fs::read_to_string(cache_dir().join("imports").join(sha)).ok()?;
    (sha256(&text) == sha).then_some(text)
}

/// Keeps content under its hash; a cache that cannot be written only costs a later fetch.
pub fn store(text: &str) {
    let dir = cache_dir().join("imports");
    if std::fs::create_dir_all(&dir).is_ok() {
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(sha256(text)));
        }
    }
}

/// `kenv.lock`, beside the program's file: the kenv versions the program needs (a semver
/// requirement, `>=0.1.0` by default, checked before evaluating), each remote import's pin
/// (and the commit a git ref named when it was locked, for people reading it), and what the team
/// holds every run of the program to, whatever the file says: the policy modules `plan`, `apply`,
/// `destroy` and `check` enforce (`enforce`, relative ones beside the lock), and the one AWS
/// account its stacks may be in (`account`). `kenv lock` keeps those two as they are.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lock {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kenv: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enforce: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default)]
    pub imports: BTreeMap<String, Pin>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pin {
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

pub const LOCK_FILE: &str = "kenv.lock";

impl Lock {
    /// The lock in `dir`; none there is an empty lock.
    pub fn read(dir: &Path) -> Result<Lock, String> {
        let path = dir.join(LOCK_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{} is not a kenv lock file: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock { version: 1, ..Lock::default() }),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Whether this kenv is one the lock admits: Err with what it needs and what to do when not
    /// (or when the requirement is no semver requirement).
    pub fn admits_this_kenv(&self) -> Result<(), (String, &'static str)> {
        let Some(needs) = &self.kenv else { return Ok(()) };
        let req = semver::VersionReq::parse(needs).map_err(|e| {
            let detail = format!("its `kenv` requirement `{needs}` is not a version requirement ({e})");
            (detail, "write a semver requirement, e.g. `\">=0.1.0\"` or `\">=0.2, <0.4\"`")
        })?;
        let this = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the package's version is semver");
        if req.matches(&this) {
            return Ok(());
        }
        let help = "install a kenv this lock admits (README: Installing kenv); `kenv --version` says which one this is";
        Err((format!("it needs kenv {needs}, and this is kenv {}", env!("CARGO_PKG_VERSION")), help))
    }

    /// The requirement `kenv lock` records: the one there if this kenv meets it, else this
    /// version or newer.
    pub fn requirement_for_this_kenv(&self) -> String {
        match &self.kenv {
            Some(needs) if self.admits_this_kenv().is_ok() => needs.clone(),
            _ => format!(">={}", env!("CARGO_PKG_VERSION")),
        }
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(dir.join(LOCK_FILE), format!("{text}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_records_the_kenv_versions_a_program_needs() {
        let this = env!("CARGO_PKG_VERSION");
        let lock = |needs: Option<&str>| Lock { version: 1, kenv: needs.map(String::from), ..Lock::default() };
        assert_eq!(lock(None).requirement_for_this_kenv(), format!(">={this}"));
        assert_eq!(lock(Some(">=0.0.1, <99")).requirement_for_this_kenv(), ">=0.0.1, <99");
        assert_eq!(lock(Some(">=99")).requirement_for_this_kenv(), format!(">={this}"));
        assert!(lock(Some(">=99")).admits_this_kenv().unwrap_err().0.contains(&format!("this is kenv {this}")));
        assert!(lock(Some("nonsense")).admits_this_kenv().is_err());
        assert!(lock(None).admits_this_kenv().is_ok());
    }

    #[test]
    fn git_specs_parse_and_join() {
        let r = Remote::parse("git+https://h/team/envs.git//lib/team.kenv?ref=v1.2.0").unwrap().unwrap();
        assert_eq!(
            r,
            Remote::Git { repo: "https://h/team/envs.git".into(), path: "lib/team.kenv".into(), rev: "v1.2.0".into() }
        );
        assert_eq!(r.join("../net.kenv"), "git+https://h/team/envs.git//net.kenv?ref=v1.2.0");
        let f = Remote::parse("git+file:///tmp/r.git//t.kenv?ref=abc").unwrap().unwrap();
        assert_eq!(f, Remote::Git { repo: "file:///tmp/r.git".into(), path: "t.kenv".into(), rev: "abc".into() });
        assert!(Remote::parse("git+https://h/r.git//t.kenv").unwrap().is_err());
        assert!(Remote::parse("git+https://h/r.git?ref=v1").unwrap().is_err());
        assert!(Remote::parse("./team.kenv").is_none());
        let u = Remote::parse("https://h/a/b.kenv").unwrap().unwrap();
        assert_eq!(u.join("./c.kenv"), "https://h/a/c.kenv");
    }
}
