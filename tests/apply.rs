//! plan / apply / destroy of whole stacks against the testbed, through the real binary: the
//! example end to end, a change of one attribute, removals, the calls a plan makes, an apply
//! stopped part-way, the questions apply asks. Each test has a testbed of its own, so call counts
//! and injected faults are its alone.

mod support;

use aws_sdk_ec2::types::Filter;
use support::stack::{
    flat, ghe_rules, instances_at, named, ok, owned, read_as_another_user, rt, sdk, secret_policy, squeezed, stack,
    totals, Dir,
};
use support::testbed::{fresh, Testbed};

/// A canary in the secrets the C1WS step uses (the testbed seeds them, as the team's account has
/// them): it must appear nowhere kenv writes or sends, and reach the C1WS manager.
const CANARY: &str = "canary-5e1f0c2d";

#[test]
fn the_example_applies_then_plans_no_changes_reapplies_nothing_and_destroys_clean() {
    let tb = fresh();
    let repo = support::repo_dir();
    let vars = support::stack::example_vars(&tb);
    let run = |args: &[&str]| tb.kenv(&repo, args, &vars);
    let example = "examples/kobanzaki/main.kenv";
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&tb.config().await);
        for name in ["kobanzaki/c1ws-tenant", "kobanzaki/c1ws-token"] {
            sm.put_secret_value().secret_id(name).secret_string(format!("{CANARY}-{name}")).send().await.unwrap();
        }
    });
    let applied = ok(run(&["apply", example, "--yes", "--stats"]));
    assert!(!applied.stdout.contains(CANARY) && !applied.stderr.contains(CANARY));
    assert!(
        applied.stdout.contains("Plan: 12 to create, 1 to update, 0 to replace, 0 to delete."),
        "{}",
        applied.stdout
    );
    assert!(
        applied.stdout.ends_with("Apply complete: 13 change(s) made to stack `kobanzaki`.\n"),
        "{}",
        applied.stdout
    );
    assert!(applied.stderr.contains("environment.kobanzaki-alice ready after"), "{}", applied.stderr);
    the_secrets_are_locked_to_the_role(&tb);
    the_c1ws_step_ran_on_each_instance(&tb);
    rt().block_on(the_environments_are_as_declared(&tb));
    rt().block_on(the_step_went_through_ssm_and_the_role_is_as_declared(&tb));

    let plan = ok(run(&["plan", example, "--stats"]));
    assert_eq!(plan.stdout, "No changes: stack `kobanzaki` in ap-northeast-1, account 123456789012 (as arn:aws:sts::123456789012:user/moto), matches the file.\n");
    assert_eq!(totals(&plan).1, 0);
    let again = ok(run(&["apply", example, "--yes", "--stats"]));
    assert_eq!(totals(&again).1, 0, "a second apply makes no mutating call:\n{}", again.stderr);

    assert_eq!(owned(&tb, "kobanzaki"), (2, 2, 1));
    let destroyed = ok(run(&["destroy", example, "--yes"]));
    assert!(
        destroyed.stdout.contains("Plan: 0 to create, 0 to update, 0 to replace, 11 to delete."),
        "{}",
        destroyed.stdout
    );
    assert_eq!(owned(&tb, "kobanzaki"), (0, 0, 0), "destroy leaves nothing tagged with the stack");
    let after = ok(run(&["plan", example]));
    assert!(after.stdout.contains("Plan: 12 to create, 1 to update"), "{}", after.stdout);
    assert_eq!(secret_policy(&tb, "kobanzaki/c1ws-token"), None, "destroy removed the lock");
    // Destroy took kenv's rules off the GHE group, and left the admins' rule someone else made.
    assert_eq!(ghe_rules(&tb), ["tcp 22 from 10.0.0.0/16 (admins), untagged"]);
}

/// The project's secrets are locked to the role: the policy exactly as kenv declares it; the role
/// read them on the instances (the activations), anyone else is refused.
fn the_secrets_are_locked_to_the_role(tb: &Testbed) {
    let role_arn = "arn:aws:iam::123456789012:role/kenv/kobanzaki/kobanzaki-dev";
    for name in ["kobanzaki/c1ws-tenant", "kobanzaki/c1ws-token"] {
        let policy = secret_policy(tb, name).expect("a resource policy");
        let deny = &policy["Statement"][0];
        assert_eq!((deny["Effect"].as_str(), deny["Principal"].as_str()), (Some("Deny"), Some("*")));
        assert_eq!(deny["Action"], "secretsmanager:GetSecretValue");
        assert_eq!(deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"], role_arn);
    }
    let refused = read_as_another_user(tb, "kobanzaki/c1ws-token");
    assert!(refused.contains("AccessDeniedException"), "{refused}");
    assert!(refused.contains("with an explicit deny in a resource-based policy"), "{refused}");
}

/// The C1WS step really ran on each instance: it read the secrets there with the instance's role,
/// downloaded the agent from the manager, activated it and asked for a scan.
fn the_c1ws_step_ran_on_each_instance(tb: &Testbed) {
    let seen = tb.c1ws_records();
    let mut activated: Vec<(String, String, String, String)> = seen["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap().to_string();
            (f("instance"), f("tenant"), f("token"), f("policy"))
        })
        .collect();
    activated.sort();
    let ids = rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let tag = Filter::builder().name("tag:kenv:stack").values("kobanzaki").build();
        let found = ec2.describe_instances().filters(tag).send().await.unwrap();
        let mut ids: Vec<String> = found
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .map(|i| i.instance_id().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    });
    let want: Vec<_> = ids
        .iter()
        .map(|id| {
            let secret = |name: &str| format!("{CANARY}-kobanzaki/c1ws-{name}");
            (id.clone(), secret("tenant"), secret("token"), "42".to_string())
        })
        .collect();
    assert_eq!(activated, want);
    let mut scanned: Vec<&str> =
        seen["scans"].as_array().unwrap().iter().map(|s| s["instance"].as_str().unwrap()).collect();
    scanned.sort();
    assert_eq!(scanned, ids);
}

/// Everything the file declares, as AWS sees it: the environments, their instances' profile and
/// IMDS options, their kenv groups with no way in, and each one's reach rule on the GHE group.
async fn the_environments_are_as_declared(tb: &Testbed) {
    let (ec2, c9, _) = sdk(tb).await;
    let ids = c9.list_environments().send().await.unwrap().environment_ids().to_vec();
    let envs = c9.describe_environments().set_environment_ids(Some(ids)).send().await.unwrap();
    let mut names: Vec<&str> = envs.environments().iter().filter_map(|e| e.name()).collect();
    names.sort();
    assert_eq!(names, ["kobanzaki-alice", "kobanzaki-bob"]);
    for e in envs.environments() {
        assert_eq!(e.connection_type().unwrap().as_str(), "CONNECT_SSM");
        assert_eq!(e.managed_credentials_status().unwrap().as_str(), "DISABLED_BY_OWNER");
        let f = Filter::builder().name("tag:aws:cloud9:environment").values(e.id().unwrap()).build();
        let found = ec2.describe_instances().filters(f).send().await.unwrap();
        let i = &found.reservations()[0].instances()[0];
        assert!(i.iam_instance_profile().unwrap().arn().unwrap().ends_with("/kobanzaki-dev"));
        let m = i.metadata_options().unwrap();
        assert_eq!((m.http_tokens().unwrap().as_str(), m.http_put_response_hop_limit()), ("required", Some(1)));
        let kenv_group = i.security_groups().iter().find(|g| g.group_name().unwrap().starts_with("kenv-kobanzaki-"));
        let gid = kenv_group.expect("the kenv group is attached").group_id().unwrap();
        let g = ec2.describe_security_groups().group_ids(gid).send().await.unwrap();
        assert!(g.security_groups()[0].ip_permissions().is_empty(), "no way into the box");
        // The box reaches the GHE server: one rule on the server's group, from the box's.
        let name = e.name().unwrap();
        let address = format!("reach.{name}.{}.tcp.443", tb.ghe_sg);
        let tagged = Filter::builder().name("tag:kenv:address").values(&address).build();
        let rules = ec2.describe_security_group_rules().filters(tagged).send().await.unwrap();
        let rule = &rules.security_group_rules()[0];
        assert_eq!(rules.security_group_rules().len(), 1);
        assert_eq!(rule.group_id(), Some(tb.ghe_sg.as_str()));
        assert_eq!((rule.is_egress(), rule.ip_protocol(), rule.from_port()), (Some(false), Some("tcp"), Some(443)));
        assert_eq!(rule.referenced_group_info().and_then(|r| r.group_id()), Some(gid));
        assert_eq!(rule.description(), Some("internal GitHub Enterprise"));
    }
}

/// The install step went through SSM: the rendered script, the secrets' names, no value; and
/// the role is at the stack's path with its managed and inline policies.
async fn the_step_went_through_ssm_and_the_role_is_as_declared(tb: &Testbed) {
    let (_, _, iam) = sdk(tb).await;
    // The install step went through SSM: the rendered script, the secrets' names, no value.
    let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
    let commands = ssm.list_commands().send().await.unwrap();
    // One command for the step, to both environments' instances at once (SSM runs them side
    // by side), not one environment after another.
    assert_eq!(commands.commands().len(), 1, "one command for the step");
    assert_eq!(commands.commands()[0].instance_ids().len(), 2, "sent to both instances");
    for c in commands.commands() {
        assert_eq!(c.document_name(), Some("AWS-RunShellScript"));
        // The step's own timeout (std/c1ws: 30m) bounds the script on the instance.
        assert_eq!(c.parameters().unwrap()["executionTimeout"], ["1800"]);
        let script = c.parameters().unwrap()["commands"].join("\n");
        assert!(script.contains("/opt/ds_agent/dsa_control -m \"RecommendationScan:true\""), "{script}");
        assert!(script.contains("--secret-id 'kobanzaki/c1ws-token'"), "{script}");
        let activation = tb.c1ws.replace("http://", "dsm://");
        assert!(script.contains(&format!("ACTIVATION_URL=\"{activation}/\"")), "{script}");
        assert!(!script.contains(CANARY), "a secret value was sent: {script}");
        assert!(!c.comment().unwrap_or("").contains(CANARY));
    }
    let role = iam.get_role().role_name("kobanzaki-dev").send().await.unwrap();
    assert_eq!(role.role().unwrap().path(), "/kenv/kobanzaki/");
    let attached = iam.list_attached_role_policies().role_name("kobanzaki-dev").send().await.unwrap();
    let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/AWSCloud9SSMInstanceProfile"]);
    let inline = iam.get_role_policy().role_name("kobanzaki-dev").policy_name("kenv").send().await.unwrap();
    assert!(inline.policy_document().contains("GetSecretValue"), "{}", inline.policy_document());
}

#[test]
fn one_changed_attribute_plans_exactly_that_change_and_apply_converges() {
    let tb = fresh();
    let d = Dir::new();
    d.write(&stack(&tb.subnet_id, 1, "t3.medium", 1, ""));
    ok(d.kenv(&tb, &["apply", "--yes"]));

    // In place: the IMDS hop limit.
    d.write(&stack(&tb.subnet_id, 1, "t3.medium", 2, ""));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert_eq!(
        plan.stdout,
        "Stack `stack` in ap-northeast-1, account 123456789012 (as arn:aws:sts::123456789012:user/moto):\n\n  ~ environment.dev-0\n      ~ imds.hop_limit: 1 → 2\n\n\
         Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"
    );
    let json = ok(d.kenv(&tb, &["plan", "--json"]));
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["changes"][0]["diffs"][0]["attribute"], "imds.hop_limit");
    assert_eq!(json["summary"]["update"], 1);
    let applied = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert!(applied.stderr.contains("ec2:ModifyInstanceMetadataOptions"), "{}", applied.stderr);
    // One for the attribute; two take and give back the stack's lock, one records who applied.
    assert_eq!(totals(&applied).1, 4, "one mutating call for one attribute:\n{}", applied.stderr);
    assert!(applied.stderr.contains("ssm:PutParameter") && applied.stderr.contains("ssm:DeleteParameter"));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    // In place too: the instance type. The instance is stopped, resized and started; its id (and
    // its disk) stay.
    let before = instances_at(&tb, "environment.dev-0")[0].instance_id().unwrap().to_string();
    d.write(&stack(&tb.subnet_id, 1, "t3.large", 2, ""));
    let plan = ok(d.kenv(&tb, &["plan"]));
    let resized = "  ~ environment.dev-0\n      ~ instance_type: \"t3.medium\" → \"t3.large\" (in place: the instance \
                   is stopped, resized and started)\n";
    assert!(plan.stdout.contains(resized), "{}", plan.stdout);
    let applied = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    for call in ["ec2:StopInstances", "ec2:ModifyInstanceAttribute", "ec2:StartInstances"] {
        assert!(applied.stderr.contains(call), "{call} in {}", applied.stderr);
    }
    let now = &instances_at(&tb, "environment.dev-0")[0];
    assert_eq!(now.instance_id(), Some(before.as_str()), "the same instance");
    assert_eq!(now.instance_type().map(|t| t.as_str()), Some("t3.large"));
    assert_eq!(now.state().and_then(|s| s.name()).map(|n| n.as_str()), Some("running"));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    // Not in place: auto-stop replaces a Cloud9 environment, and this one is protected (the
    // default): plan and apply refuse, saying what would be lost, until it is named.
    let replacing = stack(&tb.subnet_id, 1, "t3.large", 2, "").replace("auto_stop           = 30m", "auto_stop = 1h");
    d.write(&replacing);
    let plan = d.kenv(&tb, &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(plan.stdout.contains("  -/+ environment.dev-0\n"), "{}", plan.stdout);
    assert!(plan.stdout.contains("      ! deletes the Cloud9 environment "), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(&format!("and its instance {before}, with everything on its disk")),
        "{}",
        plan.stdout
    );
    let refused = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(refused.code, 1);
    let said = flat(&refused.stderr);
    assert!(said.contains("environment `dev-0` is protected, and changing `auto_stop` replaces it"), "{said}");
    assert!(said.contains("auto_stop = 1h"), "the diagnostic points at the attribute: {said}");
    assert!(said.contains("`--replace environment.dev-0`"), "{said}");
    assert_eq!(instances_at(&tb, "environment.dev-0")[0].instance_id(), Some(before.as_str()), "nothing was touched");
    let typo = d.kenv(&tb, &["apply", "--yes", "--replace", "environment.dev-9"]);
    assert!(flat(&typo.stderr).contains("`--replace environment.dev-9`: the plan replaces no `environment.dev-9`"));
    ok(d.kenv(&tb, &["apply", "--yes", "--replace", "environment.dev-0"]));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));
    assert_eq!(owned(&tb, "stack").0, 1, "replaced, with no duplicate left behind");

    // Gone from the file: deleting it is refused the same way until it is named.
    d.write("");
    let refused = d.kenv(&tb, &["apply", "--yes"]);
    assert!(flat(&refused.stderr).contains("environment `dev-0` is protected, and it is no longer in the file"));
    ok(d.kenv(&tb, &["apply", "--yes", "--delete", "environment.dev-0"]));
    assert_eq!(owned(&tb, "stack").0, 0);
}

#[test]
fn a_rule_removed_from_the_file_is_planned_away_and_revoked() {
    let tb = fresh();
    let d = Dir::new();
    let two = r#"ingress tcp 443 from "10.0.0.0/8" "GHE"
    ingress tcp 5432 from "10.1.0.0/16" "postgres""#;
    d.write(&stack(&tb.subnet_id, 1, "t3.medium", 1, two));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    d.write(&stack(&tb.subnet_id, 1, "t3.medium", 1, r#"ingress tcp 443 from "10.0.0.0/8" "GHE""#));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert_eq!(
        plan.stdout,
        "Stack `stack` in ap-northeast-1, account 123456789012 (as arn:aws:sts::123456789012:user/moto):\n\n  ~ security_group.dev-0\n      - rule: ingress tcp 5432 from 10.1.0.0/16 \"postgres\"\n\n\
         Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"
    );
    let applied = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert!(applied.stderr.contains("ec2:RevokeSecurityGroupIngress"), "{}", applied.stderr);
    let ports = rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let f = Filter::builder().name("tag:kenv:address").values("security_group.dev-0").build();
        let g = ec2.describe_security_groups().filters(f).send().await.unwrap();
        g.security_groups()[0].ip_permissions().iter().map(|p| p.from_port().unwrap()).collect::<Vec<_>>()
    });
    assert_eq!(ports, [443]);
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));
}

#[test]
fn plan_makes_the_same_few_calls_for_1_10_and_50_environments() {
    let tb = fresh();
    let mut counts = Vec::new();
    for n in [1, 10, 50] {
        let d = Dir::new();
        d.write(&named(
            &format!("s{n}"),
            &tb.subnet_id,
            n,
            "t3.medium",
            1,
            r#"ingress tcp 443 from "10.0.0.0/8" "GHE""#,
        ));
        let out = d.kenv(&tb, &["apply", "--yes", "--stack", &format!("s{n}")]);
        ok(out);
        let plan = ok(d.kenv(&tb, &["plan", "--stack", &format!("s{n}"), "--stats"]));
        assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
        counts.push((n, totals(&plan)));
    }
    eprintln!("plan API calls (read, mutating) by environments: {counts:?}");
    let reads: Vec<u64> = counts.iter().map(|(_, (r, _))| *r).collect();
    // DescribeEnvironments takes 25 ids per call: 50 environments need one more call.
    assert_eq!(reads, [reads[0], reads[0], reads[0] + 1], "{counts:?}");
    // A stack's reads: the caller and the stack's record, then roles, instances, Cloud9, groups,
    // rules, secrets, its developer policy (and its tags) and the account's session preferences —
    // each one call, however many environments.
    assert!(reads[0] <= 17, "{counts:?}");
}

#[test]
fn an_apply_stopped_by_a_failure_keeps_its_work_and_the_next_apply_finishes_it() {
    let tb = fresh();
    let d = Dir::new();
    d.write(&stack(&tb.subnet_id, 2, "t3.medium", 1, r#"ingress tcp 443 from "10.0.0.0/8" "GHE""#));
    // The second environment's IMDS settings fail, after both environments were created.
    tb.fault("ModifyInstanceMetadataOptions", "UnauthorizedOperation", 403, -1);
    let failed = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let text = flat(&failed.stderr);
    assert!(
        text.contains("environment.dev-0: ec2:ModifyInstanceMetadataOptions failed: UnauthorizedOperation"),
        "{text}"
    );
    assert!(text.contains("applied before the failure, and kept: role.dev, access.developers."), "{text}");
    assert!(text.contains("Run `kenv apply` again to finish"), "{text}");
    assert!(text.contains("[stack.kenv:6:3]"), "the diagnostic points at the declaration: {text}");
    support::testbed::http(&tb.endpoint, "DELETE", "/_testbed/faults", &[], "");

    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(!plan.stdout.contains("+ environment."), "created environments are found by their tags:\n{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));
    assert_eq!(owned(&tb, "stack"), (2, 2, 1), "no duplicates");
    let envs =
        rt().block_on(async { sdk(&tb).await.1.list_environments().send().await.unwrap().environment_ids().len() });
    assert_eq!(envs, 2);
}

#[test]
fn apply_asks_first_and_a_stack_failing_its_policies_is_refused() {
    let tb = fresh();
    let d = Dir::new();
    d.write(&stack(&tb.subnet_id, 1, "t3.medium", 1, ""));
    let declined = d.kenv(&tb, &["apply", "--stats"]);
    assert_eq!(declined.code, 1);
    assert!(declined.stdout.contains("Plan: 4 to create"), "{}", declined.stdout);
    assert!(declined.stderr.contains("Apply not confirmed; nothing was changed"), "{}", declined.stderr);
    assert_eq!(totals(&declined).1, 0);

    let open = format!(
        "import \"std/baseline\"\n{}\npolicy baseline.all\n",
        stack(&tb.subnet_id, 1, "t3.medium", 1, r#"ingress tcp 22 from "0.0.0.0/0" "ssh""#)
    );
    d.write(&open);
    let refused = d.kenv(&tb, &["apply", "--yes", "--stats"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("no-open-ingress"), "{}", refused.stderr);
    assert_eq!(totals(&refused), (0, 0), "no AWS call for a stack that fails its policies");
}

#[test]
fn locking_a_secret_that_does_not_exist_is_a_diagnostic_at_the_role_and_nothing_is_made() {
    let tb = fresh();
    let d = Dir::new();
    d.write("role \"locker\" {\n  trust = [\"ec2.amazonaws.com\"]\n  secrets = [\"nope/token\"]\n}\n");
    let made = || tb.calls().iter().filter(|c| *c == "iam:CreateRole").count();
    let before = made();
    let out = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let said = "the secret `nope/token` does not exist, so it cannot be locked to role `locker`";
    assert!(squeezed(&out.stderr).contains(&squeezed(said)), "{}", out.stderr);
    assert!(out.stderr.contains("[stack.kenv:3:13]"), "{}", out.stderr);
    assert!(out.stderr.contains("create it first"), "{}", out.stderr);
    assert_eq!(made(), before, "nothing was made");
}
