//! End-to-end tests of the real binary: exit codes, formats, limits, and the example.

mod support;

use std::process::Command;

use support::{repo_dir, Test};

fn run_in_repo(args: &[&str]) -> support::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    support::kenv(&repo_dir(), &args)
}

#[test]
fn kobanzaki_example_checks_and_summarises() {
    let out = run_in_repo(&["check", "examples/kobanzaki/main.kenv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let first = out.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        "examples/kobanzaki/main.kenv: ok (2 environments, 1 role, 2 rules, 2 install steps, 16 policies)"
    );
    for line in [
        "environment kobanzaki-alice  (cloud9 t3.medium amazonlinux-2023-x86_64)",
        "  role kobanzaki-dev, managed credentials off, imds tokens required (hop limit 1)",
        "  reach tcp 443 to sg-0123456789abcdef0  \"internal GitHub Enterprise\"",
        "  install c1ws",
        "role kobanzaki-dev",
        "sessions kobanzaki",
    ] {
        assert!(out.stdout.lines().any(|l| l == line), "missing line {line:?} in\n{}", out.stdout);
    }
}

#[test]
fn kobanzaki_example_json_has_the_same_content() {
    let out = run_in_repo(&["check", "--format", "json", "examples/kobanzaki/main.kenv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    assert_eq!(json["ok"], true);
    let envs = json["state"]["environments"].as_array().unwrap();
    let names: Vec<&str> = envs.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kobanzaki-alice", "kobanzaki-bob"]);
    assert_eq!(envs[0]["managed_credentials"], false);
    assert_eq!(envs[0]["connection"], "ssm");
    assert_eq!(envs[0]["rules"][0]["direction"], "reach");
    assert_eq!(envs[0]["rules"][0]["peers"], serde_json::json!(["sg-0123456789abcdef0"]));
    assert_eq!(envs[0]["installs"][0]["env"]["C1WS_TOKEN"], "(secret)");
    assert_eq!(json["state"]["roles"][0]["name"], "kobanzaki-dev");
    assert_eq!(json["state"]["policies"].as_array().unwrap().len(), 16);
    assert_eq!(json["state"]["sessions"][0]["log_group"], "/kenv/kobanzaki/sessions");
    assert_eq!(envs[0]["owner"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(json["diagnostics"], serde_json::json!([]));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(run_in_repo(&["frobnicate"]).code, 2);
    assert_eq!(run_in_repo(&["check"]).code, 2);
    assert_eq!(run_in_repo(&["check", "--format", "xml", "x.kenv"]).code, 2);
    let two = run_in_repo(&["check", "--stack", "s", "examples/kobanzaki/main.kenv", "tests/cases/fixtures/stacks"]);
    assert_eq!(two.code, 2, "--stack names one stack: {}", two.stderr);
    assert!(two.stderr.contains("--stack names one stack"), "{}", two.stderr);
    let help = run_in_repo(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("check"));
    assert_eq!(run_in_repo(&["check", "--help"]).code, 0);
}

/// `kenv check`'s exit codes as CI reads them: 0 clean, 1 a violation or a diagnostic (in any of
/// several files), 2 bad usage (above).
#[test]
fn check_exits_0_clean_1_on_a_violation_or_diagnostic() {
    let clean = ["examples/kobanzaki/main.kenv", "tests/cases/fixtures/stacks"];
    assert_eq!(run_in_repo(&["check", clean[0], clean[1]]).code, 0);
    assert_eq!(run_in_repo(&["check", "--policy", "std/baseline", clean[0]]).code, 0);
    let violation = run_in_repo(&["check", "--policy", "std/baseline", clean[0], clean[1]]);
    assert_eq!(violation.code, 1, "the stacks fixture breaks the baseline");
    assert!(violation.stdout.contains("examples/kobanzaki/main.kenv: ok"), "{}", violation.stdout);
    assert!(violation.stdout.contains("tests/cases/fixtures/stacks/alice.kenv: failed"), "{}", violation.stdout);
    assert_eq!(run_in_repo(&["check", clean[0], "tests/cases/fixtures/broken.kenv"]).code, 1);
    assert_eq!(run_in_repo(&["check", "no-such.kenv"]).code, 1);
    let json = run_in_repo(&["check", "--format", "json", clean[0], clean[1]]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let files: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        [
            "examples/kobanzaki/main.kenv",
            "tests/cases/fixtures/stacks/alice.kenv",
            "tests/cases/fixtures/stacks/bob.kenv"
        ]
    );
    assert_eq!(report["ok"], true);
}

#[test]
fn completions_are_generated() {
    let out = run_in_repo(&["completions", "bash"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("_kenv"));
}

#[test]
fn missing_file_is_a_user_error() {
    let out = run_in_repo(&["check", "no/such/file.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot read `no/such/file.kenv`: no such file or directory"), "{}", out.stderr);
}

#[test]
fn a_file_that_is_not_text_is_a_user_error() {
    let t = Test::new();
    std::fs::write(t.dir.path().join("bin.kenv"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let out = t.run(&["check", "bin.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
}

#[test]
fn eval_expression_prints_kenv_and_json() {
    let t = Test::new();
    let out = t.run(&["eval", "-e", "{ a: [1, 2m], b: \"x\" }"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "{ a: [1, 2m], b: \"x\" }\n"));
    let out = t.run(&["eval", "--json", "-e", "[1, null]"]);
    assert_eq!(out.stdout, "[\n  1,\n  null\n]\n");
    let out = t.run(&["eval", "--json", "--compact", "-e", "[1, { a: \"x y\", b: 2m }]"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "[1,{\"a\":\"x y\",\"b\":\"2m\"}]\n"));
    let out = t.run(&["eval", "--compact", "-e", "1"]);
    assert_eq!(out.code, 2, "--compact without --json is bad usage");
    assert!(out.stderr.contains("--json"), "{}", out.stderr);
}

#[test]
fn eval_expression_sees_the_file() {
    let out = run_in_repo(&["eval", "examples/kobanzaki/main.kenv", "-e", "[len(team.members), team.region]"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "[2, \"ap-northeast-1\"]\n");
}

#[test]
fn runaway_recursion_ends_in_a_diagnostic() {
    let t = Test::new().file("r.kenv", "fn f(x) = f(x)\nlet y = f(1)\n");
    let out = t.run(&["check", "r.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("recursion limit of 512 nested calls exceeded"), "{}", out.stderr);
    assert!(out.stderr.contains("in a call to `f`"), "{}", out.stderr);
}

#[test]
fn the_step_budget_stops_long_evaluation() {
    let t = Test::new().file("s.kenv", "let y = [x for x in range(100000)]\n");
    let out = Command::new(env!("CARGO_BIN_EXE_kenv"))
        .args(["check", "s.kenv"])
        .current_dir(t.dir.path())
        .env("KENV_MAX_STEPS", "5000")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("evaluation took more than 5000 steps"), "{stderr}");
}

#[test]
fn a_hundred_thousand_nested_brackets_end_in_a_diagnostic() {
    let deep = format!("let x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let t = Test::new().file("deep.kenv", &deep);
    let out = t.run(&["check", "deep.kenv"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nesting is deeper than 256 levels"), "{}", out.stderr);
    assert!(out.stderr.contains("at deep.kenv:1:265"), "{}", out.stderr);
}

#[test]
fn a_long_operator_chain_ends_in_a_diagnostic_not_a_crash() {
    let chain = format!("let x = {}1\n", "1 + ".repeat(30_000));
    let t = Test::new().file("chain.kenv", &chain);
    let out = t.run(&["check", "chain.kenv"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("nesting is deeper than 20000 levels"), "{}", out.stderr);
}

#[test]
fn a_ten_megabyte_file_evaluates() {
    let mut text = String::with_capacity(10 << 20);
    let mut i = 0;
    while text.len() < 10 << 20 {
        text.push_str(&format!("let v{i} = {{ name: \"item-{i}\", ports: [{i}, 443], on: true }}\n"));
        i += 1;
    }
    text.push_str("let result = len([v0, v1])\n");
    let t = Test::new().file("big.kenv", &text);
    let out = t.run(&["eval", "big.kenv", "-e", "result"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "2\n"), "{}", out.stderr);
}

#[test]
fn many_syntax_errors_are_reported_together() {
    let t = Test::new().file("e.kenv", "let a = (1 +\nlet b = 2\nlet c = ]\n");
    let out = t.run(&["check", "e.kenv"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr.matches("kenv::syntax").count(), 2, "{}", out.stderr);
}

#[test]
fn check_json_reports_diagnostics_on_failure() {
    let t = Test::new().file("e.kenv", "let x = nope\n");
    let out = t.run(&["check", "--format", "json", "e.kenv"]);
    assert_eq!(out.code, 1);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "kenv::unknown-name");
    assert_eq!(d["location"]["line"], 1);
    assert_eq!(d["location"]["column"], 9);
}

#[test]
fn secrets_never_reach_output() {
    let t = Test::new().file("s.kenv", "let t = secret(\"team/token\")\nlet u = \"Bearer ${t}\"\nprint(u)\nprint(t)\n");
    let out = t.run(&["eval", "s.kenv", "-e", "[t, u, to_json(u), to_yaml({ k: t })]"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "[(secret), (secret), \"\\\"(secret)\\\"\", \"\\\"k\\\": \\\"(secret)\\\"\\n\"]\n");
    assert_eq!(out.stderr, "(secret)\n(secret)\n");
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kenv"))
        .args(["eval", "-e", "range(200000)"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn doc_shows_what_each_declaration_kind_takes_from_its_schema() {
    let t = Test::new();
    let env = t.run(&["doc", "environment"]);
    assert_eq!(env.code, 0, "{}", env.stderr);
    assert!(
        env.stdout.starts_with("environment \"NAME\" { … }\n  attributes:\n    kind = cloud9 | ec2\n"),
        "{}",
        env.stdout
    );
    // Under each attribute, its row of the table: type, default, what a change does, the rule.
    let auto_stop = "    auto_stop\n        duration, default never; a change on AWS: replaces — 0–20160 minutes";
    assert!(env.stdout.contains(auto_stop), "{}", env.stdout);
    assert!(env.stdout.ends_with("  its body may also hold: rule, install step, suppression\n"), "{}", env.stdout);
    let policy = t.run(&["doc", "policy"]);
    assert!(
        policy.stdout.contains("    severity = error | warning\n") && !policy.stdout.contains("body"),
        "{}",
        policy.stdout
    );
    let typo = t.run(&["doc", "enviroment"]);
    assert_eq!(typo.code, 1);
    assert!(typo.stderr.contains("did you mean `environment`?"), "{}", typo.stderr);
}

/// `--timings` of an expression: its parse comes after the file's evaluation (it once made the
/// evaluation's time negative, and kenv panicked).
#[test]
fn eval_timings_of_an_expression() {
    let out = run_in_repo(&["eval", "--timings", "-e", "1 + 1"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "2\n"), "{}", out.stderr);
    assert!(out.stderr.starts_with("parse ") && out.stderr.contains(" ms, evaluate "), "{}", out.stderr);
}

/// A diagnostic on a huge expression shows its first line, not all of it.
#[test]
fn a_diagnostic_on_a_long_expression_shows_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let items: String = (0..1000).map(|i| format!("  {{ id: {i} }},\n")).collect();
    std::fs::write(dir.path().join("data.kenv"), format!("[\n{items}]\n")).unwrap();
    let out = support::kenv(dir.path(), &["check".into(), "data.kenv".into()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not a declaration") && out.stderr.contains(" 1 │ ["), "{}", out.stderr);
    assert!(out.stderr.lines().count() < 15, "the whole list was shown:\n{}", out.stderr);
}
