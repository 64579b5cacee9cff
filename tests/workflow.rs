//! examples/ci/github-actions.yml, the workflow teams copy: valid against GitHub's workflow
//! schema (SchemaStore's, shipped in tests/schemas), clean under shellcheck, and its shell steps
//! pass when run as a runner runs them (bash -eo pipefail, the workflow's env, GITHUB_PATH,
//! GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, `if:` on a step's output), with kenv installed from a
//! release tarball served on 127.0.0.1: a clean push passes and uploads clean SARIF; a pull
//! request that drops the baseline and suppresses without an owner fails; the plan job plans the
//! example against the testbed.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::repo_dir;
use support::testbed::{python, testbed, venv_program};

const WORKFLOW: &str = "examples/ci/github-actions.yml";

/// The workflow as JSON (YAML anchors resolved), after validating it against the schema. It is
/// read as GitHub reads it, YAML 1.2: only true and false are booleans (PyYAML's YAML 1.1 would
/// make the `on:` key `True`).
fn workflow() -> Value {
    let script = "import json, re, sys, yaml, jsonschema\n\
                  class Loader(yaml.SafeLoader): pass\n\
                  BOOL = 'tag:yaml.org,2002:bool'\n\
                  Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] != BOOL] for k, v in Loader.yaml_implicit_resolvers.items()}\n\
                  Loader.add_implicit_resolver(BOOL, re.compile('^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF'))\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft7Validator.check_schema(schema)\n\
                  workflow = yaml.load(open(sys.argv[2]), Loader=Loader)\n\
                  jsonschema.Draft7Validator(schema).validate(workflow)\n\
                  print(json.dumps(workflow))\n";
    let schema = repo_dir().join("tests/schemas/github-workflow.json");
    let out = Command::new(python()).args(["-c", script]).arg(schema).arg(repo_dir().join(WORKFLOW)).output().unwrap();
    assert!(out.status.success(), "{WORKFLOW} is not a valid workflow:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_workflow_is_valid_and_its_shell_steps_are_clean_under_shellcheck() {
    let wf = workflow();
    assert!(wf["on"]["pull_request"].is_null() && wf["on"].get("pull_request").is_some(), "{}", wf["on"]);
    let jobs = wf["jobs"].as_object().unwrap();
    assert_eq!(jobs.keys().collect::<Vec<_>>(), ["check", "drift", "plan"]);
    assert_eq!(jobs["check"]["permissions"]["security-events"], "write");
    assert_eq!(jobs["plan"]["permissions"]["id-token"], "write", "OIDC credentials");
    assert_eq!(jobs["drift"]["permissions"]["id-token"], "write", "OIDC credentials");
    assert!(wf["on"]["schedule"][0]["cron"].is_string(), "nightly: {}", wf["on"]);
    let uses: Vec<&str> = jobs.values().flat_map(steps).filter_map(|s| s["uses"].as_str()).collect();
    let unpinned: Vec<&&str> = uses.iter().filter(|u| !pinned_by_commit(u)).collect();
    assert!(unpinned.is_empty(), "actions not pinned by a commit's full SHA: {unpinned:?}");
    let actions: Vec<&str> = uses.iter().filter_map(|u| u.split_once('@')).map(|(a, _)| a).collect();
    assert!(actions.contains(&"github/codeql-action/upload-sarif"), "{uses:?}");
    assert!(actions.contains(&"aws-actions/configure-aws-credentials"), "{uses:?}");
    let check_runs: Vec<&str> = steps(&jobs["check"]).iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(check_runs.iter().any(|r| r.contains("kenv fmt --check")));
    assert!(check_runs.iter().any(|r| r.contains("kenv check --policy \"$KENV_POLICY\" --format sarif")));
    assert_eq!(wf["env"]["KENV_POLICY"], "std/baseline,examples/kobanzaki/rules.kenv");
    assert!(check_runs.contains(&"kenv test ."), "{check_runs:?}");

    let dir = tempfile::tempdir().unwrap();
    for (i, run) in jobs.values().flat_map(steps).filter_map(|s| s["run"].as_str()).enumerate() {
        let file = dir.path().join(format!("step-{i}.sh"));
        std::fs::write(&file, run).unwrap();
        let out = Command::new(venv_program("shellcheck")).args(["--shell", "bash"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "shellcheck on:\n{run}\n{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// `owner/repo[/path]@<40 hex digits>`: a commit, which no one can move as a tag can be moved.
fn pinned_by_commit(uses: &str) -> bool {
    uses.split_once('@').is_some_and(|(_, pin)| pin.len() == 40 && pin.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn an_action_pinned_by_a_tag_or_a_short_sha_is_refused() {
    assert!(pinned_by_commit("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"));
    for moved in ["actions/checkout@v4", "actions/checkout@v7.0.1", "actions/checkout@3d3c42e", "actions/checkout"] {
        assert!(!pinned_by_commit(moved), "{moved}");
    }
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_array().map_or(&[], |s| s.as_slice())
}

/// A GitHub runner, as far as `run` steps see it: a checkout, RUNNER_TEMP, and the files steps
/// write their PATH additions, outputs and summary to.
struct Runner {
    checkout: tempfile::TempDir,
    temp: tempfile::TempDir,
    env: BTreeMap<String, String>,
    /// Each step id's outputs.
    outputs: BTreeMap<String, BTreeMap<String, String>>,
}

/// A step that ran: its exit code and what it printed.
struct Ran {
    name: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Runner {
    /// A checkout of the example (its files as a team's repository would hold them), with the
    /// workflow's env and `extra` over it.
    fn new(wf: &Value, extra: &[(String, String)]) -> Runner {
        let checkout = tempfile::tempdir().unwrap();
        let example = checkout.path().join("examples/kobanzaki");
        std::fs::create_dir_all(&example).unwrap();
        for f in ["main.kenv", "team.kenv", "setup.kenv", "rules.kenv", "policies_test.kenv"] {
            std::fs::copy(repo_dir().join("examples/kobanzaki").join(f), example.join(f)).unwrap();
        }
        let temp = tempfile::tempdir().unwrap();
        let mut env: BTreeMap<String, String> =
            wf["env"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
        env.extend(extra.iter().cloned());
        for (name, file) in [("GITHUB_PATH", "path"), ("GITHUB_OUTPUT", "output"), ("GITHUB_STEP_SUMMARY", "summary")] {
            let path = temp.path().join(file);
            std::fs::write(&path, "").unwrap();
            env.insert(name.into(), path.display().to_string());
        }
        env.insert("RUNNER_TEMP".into(), temp.path().display().to_string());
        env.insert("HOME".into(), temp.path().display().to_string());
        Runner { checkout, temp, env, outputs: BTreeMap::new() }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.temp.path().join(name)).unwrap()
    }

    /// Runs a job's `run` steps in order, as the runner would: `uses` steps are the runner's
    /// (checkout: the directory is the checkout; credentials: `extra` above), a step whose `if:`
    /// is false is skipped, and the job stops at the first failing step.
    fn job(&mut self, job: &Value) -> Vec<Ran> {
        let mut ran = Vec::new();
        for step in steps(job) {
            let Some(script) = step["run"].as_str() else { continue };
            if let Some(condition) = step["if"].as_str() {
                if !self.condition(condition) {
                    continue;
                }
            }
            let step_ran = self.run(step["name"].as_str().unwrap_or("run"), script);
            if let Some(id) = step["id"].as_str() {
                let outputs = self.file("output");
                let pairs = outputs.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.into(), v.into()));
                self.outputs.insert(id.into(), pairs.collect());
            }
            std::fs::write(self.temp.path().join("output"), "").unwrap();
            let failed = step_ran.code != 0;
            ran.push(step_ran);
            if failed {
                break;
            }
        }
        ran
    }

    /// `steps.ID.outputs.KEY != 'V'` (or `==`): the only kind of `if:` a run step of the workflow
    /// may have; another kind fails the test, so it is not silently taken as true.
    fn condition(&self, condition: &str) -> bool {
        let (lhs, rhs, equal) = match (condition.split_once(" != "), condition.split_once(" == ")) {
            (Some((l, r)), _) => (l, r, false),
            (_, Some((l, r))) => (l, r, true),
            _ => panic!("the test cannot evaluate `if: {condition}`"),
        };
        let path: Vec<&str> = lhs.trim().split('.').collect();
        let ["steps", id, "outputs", key] = path[..] else { panic!("the test cannot evaluate `if: {condition}`") };
        let value = self.outputs.get(id).and_then(|o| o.get(key)).map_or("", String::as_str);
        (value == rhs.trim().trim_matches('\'')) == equal
    }

    fn run(&self, name: &str, script: &str) -> Ran {
        let added: Vec<String> = self.file("path").lines().map(String::from).collect();
        let path = added.into_iter().chain(std::env::var("PATH").ok()).collect::<Vec<_>>().join(":");
        let script_file = self.temp.path().join("step.sh");
        std::fs::write(&script_file, script).unwrap();
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .current_dir(self.checkout.path())
            .env_clear()
            .envs(&self.env)
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Ran {
            name: name.into(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }
}

/// kenv's release as the workflow downloads it: `vVERSION/kenv-VERSION-TARGET.tar.gz` and its
/// `.sha256`, made from the binary under test, served over HTTP on 127.0.0.1.
struct Releases {
    _dir: tempfile::TempDir,
    _server: support::Server,
    url: String,
}

impl Releases {
    fn new(wf: &Value) -> Releases {
        support::require("curl", "the workflow's install step, which downloads kenv with curl");
        let (version, target) =
            (wf["env"]["KENV_VERSION"].as_str().unwrap(), wf["env"]["KENV_TARGET"].as_str().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let name = format!("kenv-{version}-{target}");
        let stage: PathBuf = dir.path().join(&name).join("bin");
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_kenv"), stage.join("kenv")).unwrap();
        let release = dir.path().join(format!("v{version}"));
        std::fs::create_dir_all(&release).unwrap();
        let sh = |script: &str, cwd: &Path| {
            let ok = Command::new("sh").args(["-c", script]).current_dir(cwd).status().unwrap().success();
            assert!(ok, "{script}");
        };
        sh(&format!("tar -czf v{version}/{name}.tar.gz {name}"), dir.path());
        sh(&format!("sha256sum {name}.tar.gz > {name}.tar.gz.sha256"), &release);
        let server = support::Server::start(dir.path(), python(), &["-m", "http.server", "--bind", "127.0.0.1"]);
        let url = format!("http://127.0.0.1:{}", server.port);
        Releases { _dir: dir, _server: server, url }
    }
}

fn show(ran: &[Ran]) -> String {
    ran.iter().map(|r| format!("--- {} (exit {})\n{}{}", r.name, r.code, r.stdout, r.stderr)).collect()
}

fn names(ran: &[Ran]) -> Vec<&str> {
    ran.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn the_check_job_passes_a_clean_push_and_fails_a_pull_request_that_drops_the_baseline() {
    let wf = workflow();
    let releases = Releases::new(&wf);
    let over = [("KENV_RELEASES".to_string(), releases.url.clone())];

    let mut clean = Runner::new(&wf, &over);
    let ran = clean.job(&wf["jobs"]["check"]);
    let steps = ["Install kenv", "kenv fmt --check", "kenv test (the team's policy tests)", "kenv check (SARIF)"];
    assert_eq!(names(&ran), steps, "{}", show(&ran));
    assert!(ran[2].stdout.ends_with("8 tests: 8 passed, 0 failed\n"), "{}", show(&ran));
    assert!(ran.iter().all(|r| r.code == 0), "{}", show(&ran));
    assert!(ran[0].stdout.contains("kenv 0.1.0 (commit "), "{}", show(&ran));
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(clean.checkout.path().join("kenv.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 0, "{results:?}");
    assert!(sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["properties"]["enforced"] == true));

    let mut pull_request = Runner::new(&wf, &over);
    let main = pull_request.checkout.path().join("examples/kobanzaki/main.kenv");
    let text = std::fs::read_to_string(&main).unwrap();
    let changed = text.replace("policy baseline.all\n", "").replace(
        "team.dev_env(user)\n}",
        "team.dev_env(user) with {\n    ingress tcp 22 from \"10.0.0.0/8\"\n    \
         suppress baseline.no_ssh_port because \"just for now\"\n  }\n}",
    );
    std::fs::write(&main, changed).unwrap();
    // Its author ran `kenv fmt`: the change is only the policy's.
    let fmt = support::kenv(pull_request.checkout.path(), &["fmt".into(), "examples/kobanzaki/main.kenv".into()]);
    assert_eq!(fmt.code, 0, "{}", fmt.stderr);
    let ran = pull_request.job(&wf["jobs"]["check"]);
    assert_eq!(names(&ran), [&steps[..], &["Fail on violations"]].concat(), "{}", show(&ran));
    assert_eq!(ran[3].code, 0, "the SARIF step keeps going so the SARIF is uploaded: {}", show(&ran));
    assert_eq!(pull_request.outputs["check"]["status"], "1");
    assert_eq!(ran[4].code, 1, "{}", show(&ran));
    assert!(
        ran[4].stderr.contains("policy `no-ssh-port`") && ran[4].stderr.contains("does not count"),
        "{}",
        ran[4].stderr
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(pull_request.checkout.path().join("kenv.sarif")).unwrap())
            .unwrap();
    let rules: Vec<&str> =
        sarif["runs"][0]["results"].as_array().unwrap().iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert!(rules.contains(&"no-ssh-port") && rules.contains(&"no-ingress"), "{rules:?}");
}

/// What configure-aws-credentials leaves in a job's environment (here: the testbed's), where the
/// releases are, and the example's settings a team keeps in repository variables.
fn on_aws(tb: &support::testbed::Testbed, releases: &Releases) -> Vec<(String, String)> {
    let mut over: Vec<(String, String)> = tb.env(Path::new("/nonexistent"));
    over.retain(|(k, _)| k != "HOME");
    over.push(("KENV_RELEASES".into(), releases.url.clone()));
    over.extend(support::stack::example_vars(tb).into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
    over
}

#[test]
fn the_plan_job_plans_the_example_with_the_roles_credentials() {
    let wf = workflow();
    let releases = Releases::new(&wf);
    let tb = testbed();
    let mut runner = Runner::new(&wf, &on_aws(tb, &releases));
    let ran = runner.job(&wf["jobs"]["plan"]);
    assert_eq!(names(&ran), ["Install kenv", "kenv plan"], "{}", show(&ran));
    assert!(ran.iter().all(|r| r.code == 0), "{}", show(&ran));
    assert!(ran[1].stdout.contains("environment.kobanzaki-alice"), "{}", show(&ran));
    assert!(ran[1].stderr.contains("mutating"), "--stats: {}", show(&ran));
    let summary = runner.file("summary");
    assert!(summary.starts_with("### kenv plan\n#### examples/kobanzaki/main.kenv\n```\n"), "{summary}");
    assert!(summary.contains("environment.kobanzaki-bob"), "{summary}");
}

#[test]
fn the_nightly_job_passes_a_stack_as_its_files_say_and_fails_on_drift() {
    let wf = workflow();
    let releases = Releases::new(&wf);
    let tb = support::testbed::fresh();
    let mut runner = Runner::new(&wf, &on_aws(&tb, &releases));
    let job = &wf["jobs"]["drift"];
    let all = ["Install kenv", "kenv check --live (SARIF)", "kenv plan --detailed-exitcode"];
    // Before the stack is applied, everything is to be made: drift.
    let ran = runner.job(job);
    assert_eq!(names(&ran), [&all[..], &["Fail on drift"]].concat(), "{}", show(&ran));
    assert_ne!(ran.last().unwrap().code, 0);
    let applied = runner.run("apply", "kenv apply --yes examples/kobanzaki/main.kenv");
    assert_eq!(applied.code, 0, "{}", applied.stderr);

    let ran = runner.job(job);
    assert_eq!(names(&ran), all, "{}", show(&ran));
    assert!(ran.iter().all(|r| r.code == 0), "{}", show(&ran));
    assert!(runner.file("summary").contains("examples/kobanzaki/main.kenv: as the file says"));
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(runner.checkout.path().join("kenv-live.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(0), "{sarif}");

    // An ingress rule opened to the world by hand, outside kenv: drift, and a live violation.
    open_a_box_by_hand(&tb);
    let ran = runner.job(job);
    assert_eq!(names(&ran), [&all[..], &["Fail on live violations"]].concat(), "{}", show(&ran));
    assert!(runner.file("summary").contains("#### examples/kobanzaki/main.kenv has drifted"), "{}", show(&ran));
    assert!(ran.last().unwrap().stderr.contains("no-open-ingress"), "{}", show(&ran));
}

/// Adds an ingress rule from 0.0.0.0/0 to alice's kenv group, through EC2.
fn open_a_box_by_hand(tb: &support::testbed::Testbed) {
    support::stack::rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let name =
            aws_sdk_ec2::types::Filter::builder().name("group-name").values("kenv-kobanzaki-kobanzaki-alice").build();
        let groups = ec2.describe_security_groups().filters(name).send().await.unwrap();
        let group = groups.security_groups()[0].group_id().unwrap().to_string();
        let ip = aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        ec2.authorize_security_group_ingress().group_id(group).ip_permissions(ip).send().await.unwrap();
    })
}
