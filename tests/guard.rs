//! What holds a stack whoever runs it, against the testbed: policies enforced by the flag, the
//! environment and kenv.lock on apply (refused before any AWS call); the account the file names
//! (refused after STS alone); the stack's origin (a second file of the same name refused unless
//! it adopts the stack); drift seen by `plan --detailed-exitcode`; a destroy in one region that
//! keeps the roles another region's boxes use.

mod support;

use std::path::{Path, PathBuf};

use aws_sdk_ec2::types::Filter;
use support::stack::{example_vars, owned, rt, sdk, totals};
use support::testbed::{fresh, Testbed};

const EXAMPLE: &str = "examples/kobanzaki/main.kenv";

fn run(tb: &Testbed, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> support::Output {
    let mut all = example_vars(tb);
    all.extend(extra);
    tb.kenv(dir, args, &all)
}

/// The example's directory copied to `kobanzaki/` under a new temporary directory (another
/// team's checkout, or a change made in a copy), with `edit` applied to its main.kenv.
fn copy_of_example(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("kobanzaki");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(support::repo_dir().join("examples/kobanzaki")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let main = dir.join("main.kenv");
    std::fs::write(&main, edit(std::fs::read_to_string(&main).unwrap())).unwrap();
    (tmp, dir)
}

#[test]
fn an_enforced_baseline_refuses_a_world_open_stack_before_any_aws_call() {
    let tb = fresh();
    let (_tmp, dir) = copy_of_example(|text| {
        text.replace("policy baseline.all\n", "").replace(
            "  team.dev_env(user)\n",
            "  team.dev_env(user) with {\n    ingress tcp 443 from \"0.0.0.0/0\"\n  }\n",
        )
    });
    // Without enforcement the file passes its own (now empty) policies.
    let check = run(&tb, &dir, &["check", "main.kenv"], &[]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let by_env = run(&tb, &dir, &["apply", "main.kenv", "--yes", "--stats"], &[("KENV_POLICY", "std/baseline")]);
    assert_eq!(by_env.code, 1, "{}", by_env.stderr);
    assert!(by_env.stderr.contains("policy `no-open-ingress`"), "{}", by_env.stderr);
    assert_eq!(totals(&by_env), (0, 0), "{}", by_env.stderr);
    let by_flag = run(&tb, &dir, &["plan", "main.kenv", "--policy", "std/baseline", "--stats"], &[]);
    assert_eq!((by_flag.code, totals(&by_flag)), (1, (0, 0)), "{}", by_flag.stderr);

    std::fs::write(dir.join("kenv.lock"), r#"{"version": 1, "enforce": ["std/baseline", "./rules.kenv"]}"#).unwrap();
    let by_lock = run(&tb, &dir, &["apply", "main.kenv", "--yes", "--stats"], &[]);
    assert_eq!(by_lock.code, 1, "{}", by_lock.stderr);
    assert!(by_lock.stderr.contains("policy `no-open-ingress`"), "{}", by_lock.stderr);
    assert_eq!(totals(&by_lock), (0, 0), "{}", by_lock.stderr);
    assert_eq!(owned(&tb, "kobanzaki"), (0, 0, 0));
    // `check` holds the file to the lock's policies too.
    let checked = run(&tb, &dir, &["check", "main.kenv"], &[]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);

    std::fs::write(dir.join("kenv.lock"), r#"{"version": 1, "enforce": ["./nowhere.kenv"]}"#).unwrap();
    let missing = run(&tb, &dir, &["plan", "main.kenv"], &[]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("kenv.lock enforce"), "{}", missing.stderr);
}

#[test]
fn a_stack_is_held_to_its_account_its_origin_and_its_regions_and_drift_shows_in_the_exit_code() {
    let tb = fresh();
    let repo = support::repo_dir();
    let detailed = |dir: &Path| run(&tb, dir, &["plan", EXAMPLE, "--detailed-exitcode"], &[]).code;
    assert_eq!(detailed(&repo), 2, "changes before the first apply");

    // Another account's credentials (the file names 111122223333): refused after STS alone.
    let wrong = run(&tb, &repo, &["apply", EXAMPLE, "--yes", "--stats"], &[("KOBANZAKI_ACCOUNT", "111122223333")]);
    assert_eq!(wrong.code, 1);
    let flat = support::stack::flat(&wrong.stderr);
    assert!(flat.contains("the credentials are for AWS account 123456789012; this stack's account is 111122223333"));
    assert!(wrong.stderr.contains("sts:GetCallerIdentity") && totals(&wrong) == (1, 0), "{}", wrong.stderr);

    support::stack::ok(run(&tb, &repo, &["apply", EXAMPLE, "--yes"], &[]));
    assert_eq!(detailed(&repo), 0, "no change after the apply");
    revoke_the_reach_rule(&tb);
    assert_eq!(detailed(&repo), 2, "a rule deleted by hand is drift");
    support::stack::ok(run(&tb, &repo, &["apply", EXAMPLE, "--yes"], &[]));

    // Another team's file in a directory also called `kobanzaki`: the same stack name, another
    // origin. Refused, unless it says it adopts the stack.
    let (_tmp, other) = copy_of_example(|text| text);
    let refused = run(&tb, &other, &["plan", "main.kenv"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(refused.stderr.contains("kenv::other-origin"), "{}", refused.stderr);
    let refused = run(&tb, &other, &["destroy", "main.kenv", "--yes"], &[]);
    assert_eq!(refused.code, 1);
    assert_eq!(owned(&tb, "kobanzaki"), (2, 2, 1));
    let adopting = run(&tb, &other, &["plan", "main.kenv", "--adopt"], &[]);
    assert_eq!(adopting.code, 0, "{}", adopting.stderr);

    // A destroy in another region finds no environment there and keeps the roles and the
    // developer policy the boxes here use.
    let elsewhere = run(&tb, &repo, &["destroy", EXAMPLE, "--yes", "--region", "us-west-2"], &[]);
    assert_eq!(elsewhere.code, 0, "{}", elsewhere.stderr);
    assert!(!elsewhere.stdout.contains("- role."), "{}", elsewhere.stdout);
    assert_eq!(owned(&tb, "kobanzaki"), (2, 2, 1));
    assert_eq!(profiles_of_running_boxes(&tb), 2);

    support::stack::ok(run(&tb, &repo, &["destroy", EXAMPLE, "--yes"], &[]));
    assert_eq!(owned(&tb, "kobanzaki"), (0, 0, 0));
}

/// Revokes, through EC2 and not kenv, the rule the example's `reach` put on the GHE group.
fn revoke_the_reach_rule(tb: &Testbed) {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let on = Filter::builder().name("group-id").values(&tb.ghe_sg).build();
        let rules = ec2.describe_security_group_rules().filters(on).send().await.unwrap();
        let ours: Vec<String> = rules
            .security_group_rules()
            .iter()
            .filter(|r| r.tags().iter().any(|t| t.key() == Some("kenv:stack") && t.value() == Some("kobanzaki")))
            .filter_map(|r| r.security_group_rule_id().map(String::from))
            .collect();
        assert!(!ours.is_empty());
        let revoke = ec2.revoke_security_group_ingress().group_id(&tb.ghe_sg).set_security_group_rule_ids(Some(ours));
        revoke.send().await.unwrap();
    })
}

/// How many of the stack's running instances have an instance profile.
fn profiles_of_running_boxes(tb: &Testbed) -> usize {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let tag = Filter::builder().name("tag:kenv:stack").values("kobanzaki").build();
        let live = Filter::builder().name("instance-state-name").values("running").build();
        let found = ec2.describe_instances().filters(tag).filters(live).send().await.unwrap();
        found.reservations().iter().flat_map(|r| r.instances()).filter(|i| i.iam_instance_profile().is_some()).count()
    })
}
