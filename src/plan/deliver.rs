//! Install steps through SSM Run Command. One command per distinct script goes to every instance
//! that needs it at once, so SSM runs them side by side (a C1WS install takes minutes: twenty
//! environments one after another would take an hour); each instance's result is its own, and the
//! instances that succeeded are tagged even when another failed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ctx::{Ctx, Failed};
use super::{env_address, install_tag, Change, Resource};
use crate::aws::{AwsError, Earlier, InstanceInfo, Invocation, Targets, AGENT_WAIT, DELIVERY_TIMEOUT, MAX_ATTEMPTS};

/// SendCommand names at most this many instances.
const MAX_TARGETS: usize = 50;

/// Delivers every install change, grouped by step and script.
pub(super) fn deliver_all(ctx: &mut Ctx, changes: &[&Change]) -> Result<(), Box<Failed>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Change>> = BTreeMap::new();
    for c in changes {
        if let Resource::Install { step, hash, .. } = &c.resource {
            groups.entry((step.as_str(), hash.as_str())).or_default().push(c);
        }
    }
    for group in groups.values() {
        for chunk in group.chunks(MAX_TARGETS) {
            deliver(ctx, chunk)?;
        }
    }
    Ok(())
}

/// One script (the same step, the same hash) to the instances of `changes`. A command an earlier
/// apply sent with this script and did not live to record is taken up where it is: one that
/// succeeded is recorded, one still running is waited for; only the rest are sent the script.
fn deliver(ctx: &mut Ctx, changes: &[&Change]) -> Result<(), Box<Failed>> {
    let Resource::Install { step, script, hash, timeout, .. } = &changes[0].resource else { return Ok(()) };
    let fail = |ctx: &Ctx, e| failed(ctx, changes[0], e);
    let targets = instances(ctx, changes, step)?;
    let comment = comment(ctx.stack, step, hash);
    let earlier = ctx.aws.commands_with_comment(&comment).map_err(|e| fail(ctx, e))?;
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut fresh = Vec::new();
    for (c, id) in &targets {
        match earlier.iter().find(|e| &e.instance == id) {
            Some(e) if e.succeeded || !e.finished => {
                let what = if e.succeeded { "already ran" } else { "is still running" };
                ctx.say(&format!("  install step `{step}` {what} on {id} (command {}, sent earlier)", e.command));
                runs.entry(e.command.clone()).or_default().push(id.clone());
            }
            _ => fresh.push((*c, id.clone())),
        }
    }
    if !fresh.is_empty() {
        let ids: Vec<String> = fresh.iter().map(|(_, id)| id.clone()).collect();
        let each = |state: &str| fresh.iter().for_each(|(c, _)| ctx.env_is(env_of(c), state));
        let waiting = |n: usize| {
            ctx.say(&format!("  waiting for the SSM agent of {n} instance(s) to come online …"));
            each("waiting for the SSM agent …");
        };
        ctx.aws.wait_online(&ids, AGENT_WAIT, &waiting).map_err(|e| fail(ctx, e))?;
        let lines: Vec<String> = script.lines().map(String::from).collect();
        let command = send(ctx, &ids, &lines, &comment, *timeout, &earlier).map_err(|e| fail(ctx, e))?;
        ctx.say(&format!("  running install step `{step}` on {} (command {command}) …", ids.join(", ")));
        each(&format!("running install step `{step}` …"));
        runs.entry(command).or_default().extend(ids);
    }
    // SSM stops the script at its timeout; the wait allows for delivery on top.
    let wait = Duration::from_secs(timeout.unsigned_abs() + DELIVERY_TIMEOUT as u64);
    let mut done = Vec::new();
    for (command, ids) in &runs {
        done.extend(ctx.aws.wait_command(command, ids, wait).map_err(|e| fail(ctx, e))?);
    }
    let mut first_failure = None;
    for (c, id) in &targets {
        let Some(run) = done.iter().find(|i| &i.instance == id) else { continue };
        if run.status != "Success" {
            ctx.env_is(env_of(c), &format!("install step `{step}` {}", run.status));
            first_failure = first_failure.or_else(|| Some(failed(ctx, c, step_failed(step, run, *timeout))));
            continue;
        }
        let out = run.stdout.trim();
        if !out.is_empty() {
            ctx.say(&format!("    {id}: {}", out.replace('\n', &format!("\n    {id}: "))));
        }
        let tagged = ctx.aws.create_tags(id, &BTreeMap::from([(install_tag(step), hash.to_string())]));
        tagged.map_err(|e| failed(ctx, c, e))?;
        ctx.finished(c);
    }
    first_failure.map_or(Ok(()), Err)
}

/// What a step's Run Command is sent with, and found again by: the stack, the step, its script.
fn comment(stack: &str, step: &str, hash: &str) -> String {
    let text = format!("kenv {stack}: install {step} {}", &hash[..hash.len().min(12)]);
    // SSM's limit.
    text.chars().take(100).collect()
}

/// Sends the script; when the answer does not come (throttled, AWS failing, the network), looks
/// for the command before sending again, since SSM may have taken it: SendCommand is not
/// idempotent, and a script must not run twice because an answer was lost.
fn send(
    ctx: &Ctx,
    ids: &[String],
    lines: &[String],
    comment: &str,
    timeout: i64,
    earlier: &[Earlier],
) -> Result<String, AwsError> {
    let (mut pause, mut attempt) = (Duration::from_millis(500), 0);
    loop {
        attempt += 1;
        let error = match ctx.aws.send_command(&Targets::Instances(ids), lines, comment, timeout) {
            Ok(command) => return Ok(command),
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => e,
            Err(e) => return Err(e),
        };
        let known = |c: &str| earlier.iter().any(|e| e.command == c);
        let now = ctx.aws.commands_with_comment(comment)?;
        if let Some(made) = now.iter().find(|e| !known(&e.command) && ids.contains(&e.instance)) {
            return Ok(made.command.clone());
        }
        ctx.say(&format!("  SendCommand: {}; sending again in {:.1} s", error.describe(), pause.as_secs_f64()));
        ctx.aws.sleep(pause)?;
        pause = (pause * 2).min(Duration::from_secs(20));
    }
}

/// The running instance each change's environment has, read in one call.
fn instances<'c>(ctx: &Ctx, changes: &[&'c Change], step: &str) -> Result<Vec<(&'c Change, String)>, Box<Failed>> {
    let envs: Vec<&str> = changes.iter().map(|c| env_of(c)).collect();
    let found = ctx.instances_of(&envs).map_err(|e| failed(ctx, changes[0], e))?;
    let mut out = Vec::new();
    for ((c, env), instance) in changes.iter().zip(&envs).zip(found) {
        let Some(instance) = instance else {
            let error =
                AwsError::local(format!("{} has no instance to run install step `{step}` on", env_address(env)));
            return Err(failed(ctx, c, error));
        };
        // Run Command reaches only a running instance's agent. Starting a box someone stopped
        // is not apply's call to make (it costs money, and it may be stopped for a reason).
        if instance.state != "running" {
            return Err(failed(ctx, c, stopped(step, env, &instance)));
        }
        if instance.instance_profile.is_none() {
            return Err(failed(ctx, c, no_profile(step, env, &instance)));
        }
        out.push((*c, instance.id));
    }
    Ok(out)
}

/// The environment an install change is for.
fn env_of(c: &Change) -> &str {
    match &c.resource {
        Resource::Install { env, .. } => env,
        _ => "",
    }
}

fn failed(ctx: &Ctx, c: &Change, error: AwsError) -> Box<Failed> {
    Box::new(Failed { address: c.address.clone(), span: c.span, error, done: ctx.done.clone() })
}

fn stopped(step: &str, env: &str, instance: &InstanceInfo) -> AwsError {
    AwsError::local(format!(
        "install step `{step}` cannot run on {env}: its instance {id} is {state}, and SSM reaches only a running \
         instance; start it (`aws ec2 start-instances --instance-ids {id}`), then apply again",
        id = instance.id,
        state = instance.state
    ))
}

fn no_profile(step: &str, env: &str, instance: &InstanceInfo) -> AwsError {
    AwsError::local(format!(
        "install step `{step}` cannot run on {env}: its instance {} has no instance profile, so its SSM agent cannot \
         register and Run Command cannot reach it; give the environment a `role` that carries \
         arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        instance.id
    ))
}

fn step_failed(step: &str, run: &Invocation, timeout: i64) -> AwsError {
    let what = match run.status.as_str() {
        "Failed" => format!("failed with exit code {}", run.exit_code),
        "TimedOut" => format!("was stopped at its timeout ({timeout} s)"),
        other => format!("ended {other}"),
    };
    let output = if run.stderr.trim().is_empty() { &run.stdout } else { &run.stderr };
    // Enough lines for a diagnostic (kenv's own, run on the box, takes about ten).
    let tail: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).rev().take(12).collect();
    let tail = tail.into_iter().rev().map(|l| format!("\n    {l}")).collect::<String>();
    let ends = if tail.is_empty() { "it wrote nothing".to_string() } else { format!("its output ends:{tail}") };
    AwsError::local(format!("install step `{step}` on {} {what}; {ends}", run.instance))
}
