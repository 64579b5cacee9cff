//! Install steps delivered by apply through SSM Run Command, against the testbed: waited for,
//! run on the instance with its role, refused, timed out, failing on one box of several.

mod support;

use support::stack::{instances_at, ok, on_ssm_box, rt, sdk, squeezed, totals, two_ssm_boxes, Dir};
use support::testbed::{fresh, fresh_with};

#[test]
fn an_install_step_for_a_stopped_instance_is_refused_naming_the_instance_and_the_fix() {
    let tb = fresh();
    let d = Dir::new();
    let file = |script: &str| on_ssm_box(&tb, &format!("install \"hello\" = \"{script}\""));
    d.write(&file("echo hello"));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let id = instances_at(&tb, "environment.box")[0].instance_id().unwrap().to_string();
    rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        ec2.stop_instances().instance_ids(&id).send().await.unwrap();
    });
    d.write(&file("echo hello again"));
    let sent_before = tb.calls().iter().filter(|c| *c == "ssm:SendCommand").count();
    let refused = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    for said in [
        format!("its instance {id} is stopped, and SSM reaches only a running instance"),
        format!("aws ec2 start-instances --instance-ids {id}"),
    ] {
        assert!(squeezed(&refused.stderr).contains(&squeezed(&said)), "{said:?} not in {}", refused.stderr);
    }
    let sent_after = tb.calls().iter().filter(|c| *c == "ssm:SendCommand").count();
    assert_eq!(sent_after, sent_before, "nothing was sent to the stopped instance");
}

#[test]
fn install_steps_wait_for_the_agent_then_really_run_on_the_instance_with_its_role() {
    // The agent registers 3 s after launch: sent at once, the command would be refused.
    let tb = fresh_with(&["--agent-register-seconds=3"]);
    let d = Dir::new();
    let step =
        "install \"hello\" = { commands: [\"aws sts get-caller-identity --query Arn --output text > /opt/whoami\", \
                \"echo hello from $(id -u) on $(grep ^ID= /etc/os-release)\"], creates: \"/opt/whoami\" }";
    d.write(&on_ssm_box(&tb, step));
    let out = ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(out.stderr.contains("waiting for the SSM agent of 1 instance(s) to come online"), "{}", out.stderr);
    let calls = tb.calls();
    let sent = calls.iter().position(|c| c == "ssm:SendCommand").expect("the step was sent");
    assert!(calls[..sent].iter().any(|c| c == "ssm:DescribeInstanceInformation"), "{calls:?}");
    // It ran on the box, as its root, with the role's credentials from the box's own IMDS.
    let id = instances_at(&tb, "environment.box")[0].instance_id().unwrap().to_string();
    assert!(out.stderr.contains(&format!("{id}: hello from 0 on ID=\"amzn\"")), "{}", out.stderr);
    let whoami = std::fs::read_to_string(tb.instances.join(&id).join("opt/whoami")).unwrap();
    assert_eq!(whoami.trim(), format!("arn:aws:sts::123456789012:assumed-role/box-ssm/{id}"));
    let again = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert_eq!(totals(&again).1, 0, "a second apply makes no mutating call:\n{}", again.stderr);
}

#[test]
fn an_on_instance_read_the_role_may_not_make_is_access_denied_as_a_diagnostic() {
    let tb = fresh();
    let d = Dir::new();
    let step = "install \"token\" = { commands: [\"test -n \\\"$TOKEN\\\"\"], env: { TOKEN: secret(\"kobanzaki/c1ws-token\") } }";
    d.write(&on_ssm_box(&tb, step));
    let denied = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let id = instances_at(&tb, "environment.box")[0].instance_id().unwrap().to_string();
    for said in [
        format!("install step `token` on {id} failed with exit code"),
        "AccessDeniedException".to_string(),
        format!("assumed-role/box-ssm/{id} is not authorized to perform: secretsmanager:GetSecretValue"),
    ] {
        assert!(squeezed(&denied.stderr).contains(&squeezed(&said)), "{said:?} not in {}", denied.stderr);
    }
    assert!(!denied.stderr.contains("testbed-token-7a91") && !denied.stdout.contains("testbed-token-7a91"));
    // With the permission on the role, the same step reads the secret on the box.
    let allowed = on_ssm_box(&tb, step).replace(
        "managed = [",
        "allow [\"secretsmanager:GetSecretValue\"] on \"arn:aws:secretsmanager:*:*:secret:kobanzaki/*\"\n  managed = [",
    );
    d.write(&allowed);
    let out = ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(!out.stderr.contains("testbed-token-7a91") && !out.stdout.contains("testbed-token-7a91"));
}

#[test]
fn a_step_that_outlives_its_timeout_is_stopped_and_reported_timed_out() {
    let tb = fresh();
    let d = Dir::new();
    d.write(&on_ssm_box(&tb, "install \"slow\" = { commands: [\"sleep 600\"], timeout: 1s }"));
    let out = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let id = instances_at(&tb, "environment.box")[0].instance_id().unwrap().to_string();
    let said = format!("install step `slow` on {id} was stopped at its timeout (1 s)");
    assert!(squeezed(&out.stderr).contains(&squeezed(&said)), "{said:?} not in {}", out.stderr);
}

#[test]
fn a_step_failing_on_one_instance_fails_the_apply_naming_it_and_keeps_the_others_results() {
    let tb = fresh();
    let d = Dir::new();
    d.write(&two_ssm_boxes(&tb, ""));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    // Box a is broken in a way only running the step finds out.
    let a = instances_at(&tb, "environment.box-a")[0].instance_id().unwrap().to_string();
    std::fs::create_dir_all(tb.instances.join(&a).join("opt")).unwrap();
    std::fs::write(tb.instances.join(&a).join("opt/broken"), "").unwrap();
    let step =
        "install \"check\" = \"if [ -e /opt/broken ]; then echo 'this box is broken' >&2; exit 3; fi; echo fine\"";
    d.write(&two_ssm_boxes(&tb, step));
    let out = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let said = format!("install step `check` on {a} failed with exit code 3; its output ends: this box is broken");
    assert!(squeezed(&out.stderr).contains(&squeezed(&said)), "{said:?} not in {}", out.stderr);
    assert!(out.stderr.contains("created install.box-b.check"), "{}", out.stderr);
    // Only the failed instance's step is left to do.
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains("+ install.box-a.check"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("install.box-b.check"), "{}", plan.stdout);
}
