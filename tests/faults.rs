//! Apply under faults: killed anywhere, throttled and failing, two at once, interrupted, its file
//! changed under it. Each ends in a converged stack with nothing doubled — read back through EC2,
//! Cloud9 and IAM, and the C1WS manager's activations (a script run twice shows there) — and an
//! apply after it that makes no mutating call. Each test has a testbed of its own.

mod support;

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use support::term::Term;
use support::testbed::{fresh, Testbed};
use support::Output;

const EXAMPLE: &str = "examples/kobanzaki/main.kenv";
const STACK: &str = "kobanzaki";
const LOCK: &str = "/kenv/locks/kobanzaki";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Runs kenv on the example, in the repository.
fn kenv(tb: &Testbed, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.push(EXAMPLE);
    tb.kenv(&support::repo_dir(), &all, &support::stack::example_vars(tb))
}

/// Starts kenv on the example, its output going to files in `logs`.
fn start(tb: &Testbed, args: &[&str], logs: &std::path::Path) -> Child {
    let mut all = args.to_vec();
    all.push(EXAMPLE);
    let mut command = tb.kenv_command(&support::repo_dir(), &all, &support::stack::example_vars(tb));
    command.stdout(std::fs::File::create(logs.join("stdout")).unwrap());
    command.stderr(std::fs::File::create(logs.join("stderr")).unwrap());
    command.spawn().unwrap()
}

fn ok(out: Output) -> Output {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    out
}

/// `total: R read, M mutating, K retried` from `--stats` output.
fn totals(out: &Output) -> (u64, u64, u64) {
    let line = out.stderr.lines().find(|l| l.trim_start().starts_with("total: ")).expect("a --stats total line");
    let nums: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    (nums[0], nums[1], nums[2])
}

/// Applies again: it must find nothing to do and write nothing (no lock either).
fn converged(tb: &Testbed) {
    let again = ok(kenv(tb, &["apply", "--yes", "--stats"]));
    assert!(again.stdout.contains("No changes:"), "{}\n{}", again.stdout, again.stderr);
    assert_eq!(totals(&again).1, 0, "an apply of a converged stack writes nothing:\n{}", again.stderr);
}

/// Everything of the stack, counted by what it is and its address, read back through EC2, Cloud9,
/// IAM and the C1WS manager (activations per instance). More than one of anything is a duplicate.
fn census(tb: &Testbed) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let mut count = |key: String| *seen.entry(key).or_insert(0) += 1;
    let mut live = Vec::new();
    rt().block_on(async {
        let config = tb.config().await;
        let (ec2, iam) = (aws_sdk_ec2::Client::new(&config), aws_sdk_iam::Client::new(&config));
        let cloud9 = aws_sdk_cloud9::Client::new(&config);
        let tag = |i: &[aws_sdk_ec2::types::Tag], k: &str| {
            i.iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).unwrap_or("").to_string()
        };
        let alive = Filter::builder().name("instance-state-name").values("pending").values("running").build();
        let ours = Filter::builder().name("tag:kenv:stack").values(STACK).build();
        let found = ec2.describe_instances().filters(alive).filters(ours.clone()).send().await.unwrap();
        for i in found.reservations().iter().flat_map(|r| r.instances()) {
            count(format!("instance {}", tag(i.tags(), "kenv:address")));
            live.push(i.instance_id().unwrap_or("").to_string());
        }
        let ids = cloud9.list_environments().send().await.unwrap().environment_ids().to_vec();
        if !ids.is_empty() {
            let envs = cloud9.describe_environments().set_environment_ids(Some(ids)).send().await.unwrap();
            envs.environments().iter().for_each(|e| count(format!("cloud9 {}", e.name().unwrap_or(""))));
        }
        for g in ec2.describe_security_groups().filters(ours).send().await.unwrap().security_groups() {
            count(format!("group {}", tag(g.tags(), "kenv:address")));
            for p in g.ip_permissions() {
                count(format!("rule on {} {:?}", tag(g.tags(), "kenv:address"), p));
            }
        }
        let on_ghe = Filter::builder().name("group-id").values(&tb.ghe_sg).build();
        let rules = ec2.describe_security_group_rules().filters(on_ghe).send().await.unwrap();
        for r in rules.security_group_rules() {
            if let Some(address) = r.tags().iter().find(|t| t.key() == Some("kenv:address")).and_then(|t| t.value()) {
                count(format!("rule on the GHE group {address}"));
            }
        }
        let path = format!("/kenv/{STACK}/");
        for r in iam.list_roles().path_prefix(&path).send().await.unwrap().roles() {
            count(format!("role {}", r.role_name()));
        }
        let profiles = iam.list_instance_profiles().path_prefix(&path).send().await.unwrap();
        for p in profiles.instance_profiles().iter().filter(|p| p.path() == path) {
            count(format!("instance profile {}", p.instance_profile_name()));
            for r in p.roles() {
                count(format!("role in instance profile {}: {}", p.instance_profile_name(), r.role_name()));
            }
        }
    });
    // The agent activated on each of the stack's instances (those of earlier stacks are gone).
    for a in tb.c1ws_records()["activations"].as_array().unwrap() {
        let instance = a["instance"].as_str().unwrap();
        if live.iter().any(|i| i == instance) {
            count(format!("C1WS activation on {instance}"));
        }
    }
    seen
}

/// What a converged example stack holds, each once, and nothing more than once.
fn no_duplicates(tb: &Testbed) -> usize {
    let seen = census(tb);
    let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "doubled: {doubled:?}");
    for one in [
        "instance environment.kobanzaki-alice",
        "instance environment.kobanzaki-bob",
        "cloud9 kobanzaki-alice",
        "group security_group.kobanzaki-bob",
        "role kobanzaki-dev",
        "instance profile kobanzaki-dev",
        "rule on the GHE group reach.kobanzaki-alice.",
    ] {
        assert!(seen.keys().any(|k| k.starts_with(one)), "{one} missing from {seen:#?}");
    }
    let activations = seen.keys().filter(|k| k.starts_with("C1WS activation")).count();
    assert_eq!(activations, 2, "one C1WS activation per instance: {seen:#?}");
    seen.values().sum()
}

/// Prints a test's figures, and keeps them where CI prints them at the end of its run (a passing
/// test's output is not shown).
fn figures(test: &str, text: &str) {
    eprintln!("{text}");
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("faults-{test}.txt")),
        format!("{text}\n"),
    )
    .unwrap();
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(120), "{what} did not happen in 2 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lock_value(tb: &Testbed) -> Option<String> {
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        let got = ssm.get_parameter().name(LOCK).send().await;
        got.ok().and_then(|o| o.parameter().and_then(|p| p.value()).map(String::from))
    })
}

fn flat(text: &str) -> String {
    text.replace(['│', '·', '╭', '╰', '─', '┬'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn apply_converges_through_throttling_and_failures_and_a_denial_fails_at_once() {
    let tb = fresh();
    // A third of the calls fail: throttled, or AWS failing before or after doing what was asked.
    tb.chaos(0.35, 0.5, 7);
    let applied = kenv(&tb, &["apply", "--yes", "--stats"]);
    let injected = tb.chaos(0.0, 0.0, 0);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert!(applied.stdout.contains("Apply complete: 13 change(s)"), "{}", applied.stdout);
    let (_, _, retried) = totals(&applied);
    let faults: u64 = injected.as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    let after: u64 = injected
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with(" after"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert!(faults >= 10 && after >= 2, "the chaos hit: {injected}");
    assert!(retried >= faults / 2, "the SDK retried ({retried}) what failed ({faults}):\n{}", applied.stderr);
    // --stats names the retries per operation.
    assert!(applied.stderr.lines().any(|l| l.contains("retr") && l.contains(':')), "{}", applied.stderr);
    let things = no_duplicates(&tb);
    converged(&tb);
    figures(
        "throttling",
        &format!(
            "throttling run: {faults} faults injected ({after} after the change was made), {retried} retries by the \
             SDK, {things} resources read back, duplicates found: 0"
        ),
    );

    // A refusal that will not change is not retried: one call, and the diagnostic at once.
    ok(kenv(&tb, &["destroy", "--yes"]));
    tb.fault("CreateSecurityGroup", "UnauthorizedOperation", 403, -1);
    let before = tb.calls().iter().filter(|c| *c == "ec2:CreateSecurityGroup").count();
    let denied = kenv(&tb, &["apply", "--yes", "--stats"]);
    assert_eq!(denied.code, 1);
    assert!(flat(&denied.stderr).contains("UnauthorizedOperation"), "{}", denied.stderr);
    let sent = tb.calls().iter().filter(|c| *c == "ec2:CreateSecurityGroup").count() - before;
    // The two environments' groups are made side by side: each refused once, neither retried.
    assert_eq!(sent, 2, "a denial is sent once per group, never retried");
    let line = denied.stderr.lines().find(|l| l.contains("ec2:CreateSecurityGroup")).unwrap();
    assert!(!line.contains("retr"), "{line}");
    assert_eq!(lock_value(&tb), None, "the failed apply released the stack's lock");
}

#[test]
fn killed_at_twenty_moments_of_an_apply_the_next_apply_converges_with_nothing_doubled() {
    let tb = fresh();
    let logs = tempfile::tempdir().unwrap();
    // How long a whole apply of the example takes here, to spread the kills over it.
    let started = Instant::now();
    ok(kenv(&tb, &["apply", "--yes"]));
    let whole = started.elapsed();
    ok(kenv(&tb, &["destroy", "--yes"]));
    let trials = 20;
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let (mut killed_mid_install, mut taken_up, mut locks_broken) = (0, 0, 0);
    for trial in 0..trials {
        // One moment in each twentieth of the run, at random within it.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let slice = whole.as_secs_f64() / trials as f64;
        let at = Duration::from_secs_f64(slice * (trial as f64 + (seed % 1000) as f64 / 1000.0));
        let mut child = start(&tb, &["apply", "--yes"], logs.path());
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL: nothing runs after it.
        child.wait().unwrap();
        let log = std::fs::read_to_string(logs.path().join("stderr")).unwrap();
        if log.contains("running install step") && !log.contains("created install.kobanzaki-bob") {
            killed_mid_install += 1;
        }
        let again = kenv(&tb, &["apply", "--yes"]);
        assert_eq!(again.code, 0, "trial {trial} (killed at {at:?}):\n{}\n{}", again.stdout, again.stderr);
        taken_up += again.stderr.matches("sent earlier").count();
        locks_broken += usize::from(again.stderr.contains("breaking the lock"));
        no_duplicates(&tb);
        converged(&tb);
        ok(kenv(&tb, &["destroy", "--yes"]));
        assert_eq!(census(&tb), BTreeMap::new(), "destroy left nothing");
    }
    figures(
        "kills",
        &format!(
        "kill trials: {trials} (a whole apply takes {:.1} s; {killed_mid_install} killed while the install step ran; \
         {taken_up} earlier command(s) taken up instead of sent again; {locks_broken} lock(s) of a killed apply \
         broken), duplicates found: 0",
        whole.as_secs_f64()
    ),
    );
    assert!(killed_mid_install >= 3 && locks_broken >= 10, "the kills fell across the whole run");
}

#[test]
fn a_second_apply_while_one_runs_is_refused_naming_the_first_and_plan_needs_no_lock() {
    let tb = fresh();
    let logs = tempfile::tempdir().unwrap();
    let mut first = start(&tb, &["apply", "--yes"], logs.path());
    wait_for("the first apply taking the lock", || lock_value(&tb).is_some());
    let second = kenv(&tb, &["apply", "--yes"]);
    assert_eq!(second.code, 1, "{}\n{}", second.stdout, second.stderr);
    let said = flat(&second.stderr);
    assert!(said.contains("stack `kobanzaki` is being changed by"), "{said}");
    assert!(said.contains(&format!("(pid {})", first.id())), "{said}");
    assert!(said.contains("wait for it to finish"), "{said}");
    ok(kenv(&tb, &["plan"]));
    assert!(first.wait().unwrap().success(), "{}", std::fs::read_to_string(logs.path().join("stderr")).unwrap());
    assert_eq!(lock_value(&tb), None);
    let things = no_duplicates(&tb);
    converged(&tb);
    figures(
        "concurrent",
        &format!(
            "concurrent run: the second apply refused naming the first (pid {}), plan ran meanwhile, the first \
             converged: {things} resources read back, duplicates found: 0",
            first.id()
        ),
    );
}

#[test]
fn a_stale_lock_is_broken_only_when_it_is_certainly_stale() {
    let tb = fresh();
    let put = |value: &str| {
        rt().block_on(async {
            let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
            let p = ssm.put_parameter().name(LOCK).value(value).r#type(aws_sdk_ssm::types::ParameterType::String);
            p.overwrite(true).send().await.unwrap();
        })
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let holder = |host: &str, pid: u32, expires: u64| {
        format!(
            r#"{{"id":"{host}:{pid}:1","owner":"carol@{host}","host":"{host}","pid":{pid},"started":{},"expires":{expires}}}"#,
            now - 7200
        )
    };
    // Another machine's apply, still within its lease: refused, even with --break-lock.
    put(&holder("elsewhere", 4242, now + 600));
    let refused = kenv(&tb, &["apply", "--yes", "--break-lock"]);
    assert_eq!(refused.code, 1);
    let said = flat(&refused.stderr);
    assert!(said.contains("being changed by carol@elsewhere (pid 4242)"), "{said}");
    assert!(said.contains("--break-lock takes over only an expired lock"), "{said}");
    // Expired: refused without the flag, which the help names; taken over with it.
    put(&holder("elsewhere", 4242, now - 60));
    let refused = kenv(&tb, &["apply", "--yes"]);
    assert!(flat(&refused.stderr).contains("its lock expired at"), "{}", refused.stderr);
    assert!(flat(&refused.stderr).contains("`--break-lock` takes it over"), "{}", refused.stderr);
    let taken = ok(kenv(&tb, &["apply", "--yes", "--break-lock"]));
    assert!(
        flat(&taken.stderr).contains("breaking the lock of stack `kobanzaki` held by carol@elsewhere"),
        "{}",
        taken.stderr
    );
    assert_eq!(lock_value(&tb), None);
    // A killed apply of this machine (its process is gone): broken at once, saying so.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    put(&holder(&host, pid, now + 3000));
    let out = ok(kenv(&tb, &["destroy", "--yes"]));
    assert!(flat(&out.stderr).contains(&format!("on this machine (pid {pid}) that no longer runs")), "{}", out.stderr);
    assert_eq!(lock_value(&tb), None);
}

#[test]
fn ctrl_c_stops_after_the_step_in_flight_releases_the_lock_and_exits_130() {
    let tb = fresh();
    let logs = tempfile::tempdir().unwrap();
    let mut child = start(&tb, &["apply", "--yes"], logs.path());
    let stderr = || std::fs::read_to_string(logs.path().join("stderr")).unwrap_or_default();
    wait_for("the install step to start", || stderr().contains("running install step"));
    let sent = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    let said = flat(&stderr());
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(said.contains("Apply interrupted (Ctrl-C) before install.kobanzaki-"), "{said}");
    assert!(said.contains("Run `kenv apply` again to finish"), "{said}");
    assert!(said.contains("kept: role.kobanzaki-dev"), "{said}");
    assert_eq!(lock_value(&tb), None, "the lock was released");
    // The command it left running is taken up, not sent again.
    let again = ok(kenv(&tb, &["apply", "--yes"]));
    assert!(
        again.stderr.contains("install step `c1ws` already ran on") || again.stderr.contains("is still running on"),
        "{}",
        again.stderr
    );
    no_duplicates(&tb);
    converged(&tb);
}

#[test]
fn a_file_changed_while_apply_asks_is_planned_again_not_applied_blind() {
    let tb = fresh();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("stack.kenv");
    let declare = |port: u16| {
        std::fs::write(
            &file,
            format!(
                r#"environment "box" {{
  kind          = ec2
  instance_type = "t3.micro"
  image         = "amazonlinux-2023-x86_64"
  subnet        = "{}"
  connection    = ssm
  imds          = {{ tokens: "required", hop_limit: 1 }}
  ingress tcp {port} from "10.0.0.0/8" "GHE"
}}
"#,
                tb.subnet_id
            ),
        )
        .unwrap()
    };
    declare(443);
    let vars = tb.env(home.path());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut t = Term::spawn(home.path(), &["apply", "stack.kenv"], &vars);
    t.wait_for("Apply these changes to stack `stack`? [y/N]");
    declare(8443);
    t.keys(&["y", "Enter"]);
    let screen = t.wait_for("8443");
    assert!(screen.contains("changed since this plan was made: loading and planning again"), "{screen}");
    // Asked again, about the new plan.
    let started = Instant::now();
    while !t.screen().rsplit("loading and planning again").next().unwrap_or("").contains("Apply these changes") {
        assert!(started.elapsed() < Duration::from_secs(30), "{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
    t.keys(&["y", "Enter"]);
    t.wait_for("Apply complete");
    let out = ok(tb.kenv(home.path(), &["plan", "stack.kenv"], &[]));
    assert!(out.stdout.contains("No changes:"), "{}", out.stdout);
    let rules = rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let f = Filter::builder().name("tag:kenv:stack").values("stack").build();
        let groups = ec2.describe_security_groups().filters(f).send().await.unwrap();
        groups.security_groups()[0].ip_permissions().iter().map(|p| p.from_port().unwrap_or(-1)).collect::<Vec<_>>()
    });
    assert_eq!(rules, vec![8443], "the rule applied is the file's new one");
}
