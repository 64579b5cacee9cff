//! Install steps: the on-instance setup script against the testbed's strict IMDSv2 endpoint,
//! local steps run for real, pinned scripts, and shellcheck over every rendered script.

mod support;

use std::process::{Command, Stdio};

use support::testbed::fresh;

fn shellcheck(name: &str, script: &str) {
    use std::io::Write;
    let mut child = Command::new(support::testbed::venv_program("shellcheck"))
        .args(["-s", "sh", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("shellcheck runs from the testbed's virtualenv (testbed/requirements.txt)");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{name} fails shellcheck:\n{}\n{script}", String::from_utf8_lossy(&out.stdout));
}

/// The rendered install scripts in a case's output: from `#!/bin/sh` + `# kenv install step`
/// to the line closing the step's heredoc.
fn scripts(text: &str) -> Vec<String> {
    let (mut out, mut current): (Vec<String>, Option<String>) = (Vec::new(), None);
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if *line == "#!/bin/sh" && lines.get(i + 1).is_some_and(|l| l.starts_with("# kenv install step")) {
            current = Some(String::new());
        }
        if let Some(script) = current.as_mut() {
            script.push_str(line);
            script.push('\n');
            if line.starts_with("KENV_STEP_") {
                out.extend(current.take());
            }
        }
    }
    out
}

/// A wrapper and the step script inside its heredoc, as two scripts.
fn split(rendered: &str) -> (String, String) {
    let (mut wrapper, mut body, mut inside) = (String::new(), String::new(), false);
    for line in rendered.lines() {
        if line.contains("<<'KENV_STEP_") {
            inside = true;
        } else if inside && line.starts_with("KENV_STEP_") {
            inside = false;
        } else if inside {
            body.push_str(line);
            body.push('\n');
        } else {
            wrapper.push_str(line);
            wrapper.push('\n');
        }
    }
    (wrapper, body)
}

#[test]
fn every_rendered_install_script_is_shellcheck_clean() {
    let dir = support::cases_dir().join("install");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "stdout") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, rendered) in scripts(&text).iter().enumerate() {
                let (wrapper, body) = split(rendered);
                shellcheck(&format!("{} #{i} wrapper", path.display()), &wrapper);
                shellcheck(&format!("{} #{i} script", path.display()), &body);
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "only {checked} scripts found");
}

#[test]
fn the_setup_script_discovers_the_instance_checks_its_rule_read_only_runs_its_steps_and_reruns_as_a_no_op() {
    let tb = fresh();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (instance, group) = rt.block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let run = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Medium)
            .min_count(1)
            .max_count(1)
            .subnet_id(&tb.subnet_id)
            .security_group_ids(&tb.default_sg)
            .metadata_options(
                aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
                    .http_tokens(aws_sdk_ec2::types::HttpTokensState::Required)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        (run.instances()[0].instance_id().unwrap().to_string(), tb.default_sg.clone())
    });
    tb.select_instance(&instance);
    let work = tempfile::tempdir().unwrap();
    let setup = support::repo_dir().join("examples/kobanzaki/setup.kenv");
    let setup = setup.to_str().unwrap();
    let ghe = [("KOBANZAKI_GHE_GROUP", tb.ghe_sg.as_str())];
    let ghe_rules = || {
        rt.block_on(async {
            let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
            let g = ec2.describe_security_groups().group_ids(&tb.ghe_sg).send().await.unwrap();
            g.security_groups()[0].ip_permissions().len()
        })
    };
    let before = ghe_rules();

    // Before apply's `reach` made the rule: said, and nothing is changed.
    let first = tb.kenv(work.path(), &["run", setup, "--yes", "--stats"], &ghe);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first
        .stdout
        .starts_with(&format!("instance {instance} (ap-northeast-1), VPC {}, subnet {}", tb.vpc_id, tb.subnet_id)));
    let missing = format!("GitHub Enterprise ({}) does not admit this box on 443 yet: run `kenv apply`", tb.ghe_sg);
    assert!(first.stdout.contains(&missing), "{}", first.stdout);
    assert!(first.stdout.contains(r#"{ exit_code: 0, name: "workspace", status: "ran" }"#), "{}", first.stdout);
    assert!(first.stderr.contains(" 0 mutating"), "the script only reads AWS: {}", first.stderr);
    assert_eq!(ghe_rules(), before);
    // The steps ran for real, here.
    let id = std::fs::read_to_string(work.path().join("workspace/.instance-id")).unwrap();
    assert_eq!(id.trim(), instance);
    let settings = std::fs::read_to_string(work.path().join("workspace/.vscode/settings.json")).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&settings).unwrap()["telemetry.telemetryLevel"], "off");
    assert_eq!(tb.imds_stats()["tokenless"], 0, "every metadata read carried a token");
    assert!(tb.imds_stats()["requests"].as_u64().unwrap() > 0);

    // The rule as apply's `reach` makes it, on the server's group: seen.
    rt.block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let pair = aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&group).build();
        let https = aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(pair)
            .build();
        ec2.authorize_security_group_ingress().group_id(&tb.ghe_sg).ip_permissions(https).send().await.unwrap();
    });
    let again = tb.kenv(work.path(), &["run", setup, "--stats"], &ghe);
    assert_eq!(again.code, 0, "a second run needs no confirmation: {}", again.stderr);
    let admitted = format!("GitHub Enterprise ({}) admits this box on 443, from {group}", tb.ghe_sg);
    assert!(again.stdout.contains(&admitted), "{}", again.stdout);
    assert!(again.stdout.contains(r#"{ exit_code: 0, name: "workspace", status: "skipped" }"#), "{}", again.stdout);
    assert!(again.stdout.contains(r#"{ exit_code: 0, name: "vscode-settings", status: "skipped" }"#));
    assert!(again.stderr.contains(" 0 mutating"), "{}", again.stderr);
    assert!(!again.stderr.contains("kenv will"), "nothing to confirm: {}", again.stderr);
    assert_eq!(tb.imds_stats()["tokenless"], 0);
}

#[test]
fn a_pinned_script_runs_only_when_its_hash_matches() {
    let work = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\necho pinned > ran.txt\n";
    std::fs::write(work.path().join("setup.sh"), script).unwrap();
    let url = format!("file://{}", work.path().join("setup.sh").display());
    let good = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(script.as_bytes()))
    };
    let bad = "0".repeat(64);
    let program = |pin: &str| format!("run_step(install \"pinned\" = {{ url: \"{url}\", sha256: \"{pin}\" }})\n");
    std::fs::write(work.path().join("bad.kenv"), program(&bad)).unwrap();
    std::fs::write(work.path().join("good.kenv"), program(&good)).unwrap();

    let out = support::kenv(work.path(), &["run".into(), "bad.kenv".into(), "--yes".into()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("does not match its pin"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("expected sha256 {bad}")) && out.stderr.contains(&good), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was run"), "{}", out.stderr);
    assert!(!work.path().join("ran.txt").exists(), "nothing ran");

    let out = support::kenv(work.path(), &["run".into(), "good.kenv".into(), "--yes".into()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(work.path().join("ran.txt")).unwrap(), "pinned\n");
}

#[test]
fn a_failing_step_stops_the_script_with_its_exit_code_and_output() {
    let work = tempfile::tempdir().unwrap();
    let program = "run_step(install \"broken\" = { commands: [\"echo about to fail >&2\", \"exit 3\"] })\nprint(\"not reached\")\n";
    std::fs::write(work.path().join("s.kenv"), program).unwrap();
    let out = support::kenv(work.path(), &["run".into(), "s.kenv".into(), "--yes".into()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("invalid install step `broken`: it exited with code 3"), "{}", out.stderr);
    assert!(out.stderr.contains("about to fail"), "{}", out.stderr);
    assert!(!out.stdout.contains("not reached"));
}
