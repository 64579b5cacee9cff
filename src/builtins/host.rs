//! Builtins about the machine kenv runs on: its instance metadata (IMDSv2) and install steps run
//! here as real processes.

use std::time::Duration;

use super::{Args, Builtin, Effect::Exec, Effect::Pure, Effect::ReadsAws};
use crate::diag::{Diag, ErrorKind, Result};
use crate::install::{self, Secrets};
use crate::model::Context;
use crate::model::{record, Decl, InstallStep};
use crate::model::{SecretPart, SecretStore, Value};

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "imds",
        params: &["path: string"],
        effect: ReadsAws,
        doc: "The text at an instance metadata path (`/latest/meta-data/instance-id`), read with an IMDSv2 token \
        (never a tokenless request); null when the instance has nothing there. Credentials are not readable this way.",
        func: imds,
    },
    Builtin {
        name: "install_script",
        params: &["step", "region?: string"],
        effect: Pure,
        doc: "The POSIX shell script kenv runs for an install step: as `kenv run` runs it (secrets in its \
        environment), or with `region` as `kenv apply` sends it through SSM (secrets read on the instance with its own \
        role). Secret values never appear in it.",
        func: install_script,
    },
    Builtin {
        name: "run_step",
        params: &["steps"],
        effect: Exec,
        doc: "Runs install steps (`install \"name\" = …` values) on this machine, in order: each is skipped when its \
        `creates`/`unless` guard says it is done, else shown, confirmed and run with its secrets in its environment. \
        Returns `[{name, status, exit_code}]` (`status` is \"ran\" or \"skipped\").",
        func: run_step,
    },
];

fn imds(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let path = a.str(0)?;
    let normal = path.trim_end_matches('/');
    if normal.contains("/iam/security-credentials/")
        || normal.ends_with("/identity-credentials/ec2/security-credentials/ec2-instance")
    {
        return a.invalid(0, "instance credentials are not readable as values; the AWS SDK uses them itself");
    }
    let aws = &cx.aws();
    let key = format!("imds({path})");
    let read = || aws.imds(&path).map(|text| text.map_or(Value::Null, |t| Value::str(&t)));
    cx.cache().get_or_read(aws, key, read).map_err(|e| e.diag(Some(a.span), aws.region().as_deref()).boxed())
}

fn install_script(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let Some(Value::Decl(Decl::Install(step))) = a.get(0) else {
        return a.invalid(0, "expected an install step (`install \"name\" = …`)");
    };
    let Some(body) = install::own_body(step) else {
        return a.invalid(0, "this step's script comes from its pinned URL when it runs");
    };
    let region = a.opt_str(1)?;
    let secrets = match region.as_deref() {
        Some(region) => Secrets::OnInstance { region },
        None => Secrets::FromEnvironment,
    };
    Ok(Value::str(&install::render(step, body, secrets)))
}

fn steps(a: &Args) -> Result<Vec<std::rc::Rc<InstallStep>>> {
    let items = match a.get(0) {
        Some(Value::List(items)) => items.to_vec(),
        Some(one) => vec![one.clone()],
        None => vec![],
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::Decl(Decl::Install(step)) => Ok(step),
            other => a.invalid(0, format!("expected install steps, found {}", other.type_name())),
        })
        .collect()
}

/// A step's environment variables (secrets resolved), and the secret texts (kept out of output).
type StepEnv = (Vec<(String, String)>, Vec<String>);

fn environment(cx: &dyn Context, step: &InstallStep) -> Result<StepEnv> {
    let (mut vars, mut secrets) = (Vec::new(), Vec::new());
    for (name, value) in step.env.iter() {
        let Value::Secret(secret) = value else {
            vars.push((name.to_string(), value.to_text()));
            continue;
        };
        let mut text = String::new();
        for part in &secret.parts {
            match part {
                SecretPart::Text(t) => text.push_str(t),
                SecretPart::Ref(r) => {
                    let got = cx.aws().secret_text(&r.name, r.store == SecretStore::Parameter);
                    let got = got.map_err(|e| e.diag(Some(r.span), cx.aws().region().as_deref()).boxed())?;
                    secrets.push(got.clone());
                    text.push_str(&got);
                }
            }
        }
        vars.push((name.to_string(), text));
    }
    Ok((vars, secrets))
}

fn result(name: &str, status: &str, code: i32) -> Value {
    record([("name", Value::str(name)), ("status", Value::str(status)), ("exit_code", Value::Int(code.into()))])
}

fn run_step(cx: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let here = std::env::current_dir().map_err(|e| {
        Diag::new(ErrorKind::Invalid { what: "working directory".into(), detail: e.to_string() }, a.span).boxed()
    })?;
    let io_error = |e: std::io::Error| {
        Diag::new(ErrorKind::Invalid { what: "install step".into(), detail: format!("cannot run sh: {e}") }, a.span)
            .boxed()
    };
    let mut results = Vec::new();
    for step in steps(a)? {
        let body = install::body(&step).map_err(|e| install::body_error(&step, e).boxed())?;
        if step.creates.is_some() || step.unless.is_some() {
            let check = install::run_local(&install::guard_only(&step), &here, &[], &[], Duration::from_secs(60));
            let check = check.map_err(io_error)?;
            if check.skipped {
                cx.host().err(&format!("kenv: install step `{}` skipped ({})\n", step.name, check.stdout.trim()));
                results.push(result(&step.name, "skipped", 0));
                continue;
            }
        }
        let script = install::render(&step, &body, Secrets::FromEnvironment);
        let shown = script.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n");
        cx.confirm(&format!("run install step `{}` here, in {}:\n{shown}", step.name, here.display()), a.span)?;
        let (vars, secrets) = environment(cx, &step)?;
        let run = install::run_local(&script, &here, &vars, &secrets, Duration::from_secs(step.timeout as u64));
        let run = run.map_err(io_error)?;
        cx.host().out(&run.stdout);
        cx.host().err(&run.stderr);
        if run.exit_code != 0 {
            let tail: Vec<&str> = run.stderr.lines().rev().take(5).collect();
            let detail = format!("it exited with code {}", run.exit_code);
            let kind = ErrorKind::Invalid { what: format!("install step `{}`", step.name), detail };
            let help = format!("its last error output: {}", tail.into_iter().rev().collect::<Vec<_>>().join(" / "));
            return Diag::new(kind, a.span).note(step.span, "the step is declared here").help(help).err();
        }
        results.push(result(&step.name, if run.skipped { "skipped" } else { "ran" }, 0));
    }
    Ok(Value::list(results))
}
