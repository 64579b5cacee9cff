//! Install steps rendered to POSIX shell. One wrapper serves both ways a step runs: `kenv run`
//! on this machine (secrets arrive in the process environment, resolved by kenv) and `kenv apply`
//! through SSM Run Command (secrets are read on the instance, with the instance's own role, by
//! the AWS CLI: only their names travel in the command). The wrapper checks the step's guard
//! (`creates`, `unless`) first, so a step that is done is skipped wherever it runs; it then feeds
//! the step's script to `sh -s` (as `user`, in `dir`, when given).

mod local;

pub use local::{fetch_pinned, run_local, StepRun};

use crate::model::InstallStep;
use crate::model::{SecretPart, SecretStore, Value};

/// The line a wrapper prints when its guard says the step is already done.
pub const SKIP_MARKER: &str = "kenv-skip:";

/// Where secrets come from when the wrapper runs.
#[derive(Debug, Clone, Copy)]
pub enum Secrets<'a> {
    /// kenv puts them in the process environment.
    FromEnvironment,
    /// The wrapper reads them on the instance through the AWS CLI, in this region.
    OnInstance { region: &'a str },
}

/// `'text'`, safe for any text in POSIX shell.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The guard lines: exit 0 with the skip marker when the step is already done.
fn guard(step: &InstallStep) -> String {
    let mut out = String::new();
    if let Some(path) = &step.creates {
        let note = quote(&format!("{SKIP_MARKER} {}: {path} exists", step.name));
        out.push_str(&format!("if [ -e {} ]; then echo {note}; exit 0; fi\n", quote(path)));
    }
    if let Some(check) = &step.unless {
        let note = quote(&format!("{SKIP_MARKER} {}: its unless check succeeded", step.name));
        out.push_str(&format!("if sh -c {} >/dev/null 2>&1; then echo {note}; exit 0; fi\n", quote(check)));
    }
    out
}

/// A script that only checks the guard: it prints the skip marker when the step is done.
pub fn guard_only(step: &InstallStep) -> String {
    let cd = step.dir.as_ref().map_or(String::new(), |d| format!("cd {} 2>/dev/null || exit 1\n", quote(d)));
    format!("#!/bin/sh\n{cd}{}exit 1\n", guard(step))
}

/// The shell expression for an environment value on the instance.
fn remote_value(value: &Value, region: &str) -> String {
    let Value::Secret(secret) = value else { return quote(&value.to_text()) };
    secret
        .parts
        .iter()
        .map(|part| match part {
            SecretPart::Text(t) => quote(t),
            SecretPart::Ref(r) => match r.store {
                SecretStore::SecretsManager => format!(
                    "\"$(aws secretsmanager get-secret-value --region {} --secret-id {} --query SecretString --output text)\"",
                    quote(region),
                    quote(&r.name)
                ),
                SecretStore::Parameter => format!(
                    "\"$(aws ssm get-parameter --region {} --name {} --with-decryption --query Parameter.Value --output text)\"",
                    quote(region),
                    quote(&r.name)
                ),
            },
        })
        .collect()
}

/// The wrapper for a step whose script is `body`.
pub fn render(step: &InstallStep, body: &str, secrets: Secrets) -> String {
    let mut out = format!("#!/bin/sh\n# kenv install step {}\nset -eu\n", quote(&step.name));
    // The step's directory first: its guard's paths are relative to it, as its script's are.
    if let Some(dir) = &step.dir {
        out.push_str(&format!("mkdir -p {0}\ncd {0}\n", quote(dir)));
    }
    out.push_str(&guard(step));
    for (name, value) in step.env.iter() {
        match (secrets, value) {
            (Secrets::FromEnvironment, Value::Secret(_)) => {
                out.push_str(&format!(": \"${{{name}:?set by kenv from a secret}}\"\n"));
            }
            (Secrets::FromEnvironment, v) => out.push_str(&format!("{name}={}\nexport {name}\n", quote(&v.to_text()))),
            (Secrets::OnInstance { region }, v) => {
                out.push_str(&format!("{name}={}\nexport {name}\n", remote_value(v, region)));
            }
        }
    }
    let delimiter = format!("KENV_STEP_{}", &hash(body)[..12]);
    let shell = match &step.user {
        Some(user) => format!("runuser -u {} -- sh -s", quote(user)),
        None => "sh -s".to_string(),
    };
    let body = if body.ends_with('\n') { body.to_string() } else { format!("{body}\n") };
    out.push_str(&format!("{shell} <<'{delimiter}'\n{body}{delimiter}\n"));
    out
}

/// The step's script: its own, or none when it is fetched from a pinned URL.
pub fn own_body(step: &InstallStep) -> Option<&str> {
    step.script.as_deref()
}

/// The step's script: its own, or the one at its pinned URL, checked against the pin.
pub fn body(step: &InstallStep) -> Result<String, String> {
    match (&step.script, &step.url, &step.sha256) {
        (Some(script), _, _) => Ok(script.to_string()),
        (None, Some(url), Some(pin)) => fetch_pinned(url, pin),
        _ => Err("it has no script".into()),
    }
}

/// The diagnostic for a step whose script could not be had: nothing was run.
pub fn body_error(step: &InstallStep, detail: String) -> crate::diag::Diag {
    let kind = crate::diag::ErrorKind::Invalid { what: format!("install step `{}`", step.name), detail };
    crate::diag::Diag::new(kind, step.span)
        .help("nothing was run; if the new script is the one you want, update `sha256`")
}

/// sha256 of text, as 64 hex digits.
pub fn hash(text: &str) -> String {
    crate::remote::sha256(text)
}
