//! plan / apply / destroy against the testbed, through the real binary. Each test has a testbed
//! of its own, so call counts and injected faults are its alone.

mod support;

use aws_sdk_ec2::types::Filter;
use support::testbed::{fresh, fresh_with, Testbed};
use support::Output;

/// `total: R read, M mutating` from `--stats` output.
fn totals(out: &Output) -> (u64, u64) {
    let line = out.stderr.lines().find(|l| l.trim_start().starts_with("total: ")).expect("a --stats total line");
    let nums: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    (nums[0], nums[1])
}

/// Diagnostics without their box drawing and line wrapping, for matching phrases.
fn flat(text: &str) -> String {
    text.replace(['│', '·', '╭', '╰', '─', '┬'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ok(out: Output) -> Output {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    out
}

/// A stack of `count` Cloud9 environments sharing one role.
fn stack(subnet: &str, count: usize, instance_type: &str, hop_limit: i64, rules: &str) -> String {
    named("dev", subnet, count, instance_type, hop_limit, rules)
}

/// The same, with the role and environments named after `name` (names are per account).
fn named(name: &str, subnet: &str, count: usize, instance_type: &str, hop_limit: i64, rules: &str) -> String {
    format!(
        r#"role "{name}" {{
  trust = ["ec2.amazonaws.com", "cloud9.amazonaws.com"]
  allow ["secretsmanager:GetSecretValue"] on "arn:aws:secretsmanager:ap-northeast-1:*:secret:dev/*"
}}
for i in range({count}) {{
  environment "{name}-${{i}}" {{
    kind                = cloud9
    instance_type       = "{instance_type}"
    image               = "amazonlinux-2023-x86_64"
    subnet              = "{subnet}"
    connection          = ssm
    auto_stop           = 30m
    managed_credentials = false
    role                = "{name}"
    imds                = {{ tokens: "required", hop_limit: {hop_limit}, reason: "containers on the box" }}
    {rules}
  }}
}}
"#
    )
}

/// The text without whitespace or box drawing: a diagnostic wraps at the terminal's width,
/// inside an instance id too.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && !"│·╭╰─┬".contains(*c)).collect()
}

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir { dir: tempfile::tempdir().unwrap() }
    }

    fn write(&self, text: &str) {
        std::fs::write(self.dir.path().join("stack.kenv"), text).unwrap();
    }

    fn kenv(&self, tb: &Testbed, args: &[&str]) -> Output {
        let mut all = vec![args[0], "stack.kenv"];
        all.extend(&args[1..]);
        tb.kenv(self.dir.path(), &all, &[])
    }
}

async fn sdk(tb: &Testbed) -> (aws_sdk_ec2::Client, aws_sdk_cloud9::Client, aws_sdk_iam::Client) {
    let config = tb.config().await;
    (aws_sdk_ec2::Client::new(&config), aws_sdk_cloud9::Client::new(&config), aws_sdk_iam::Client::new(&config))
}

/// The instances tagged with a kenv address (a retried or repeated launch shows as more than one).
fn instances_at(tb: &Testbed, address: &str) -> Vec<aws_sdk_ec2::types::Instance> {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let f = Filter::builder().name("tag:kenv:address").values(address).build();
        let found = ec2.describe_instances().filters(f).send().await.unwrap();
        found.reservations().iter().flat_map(|r| r.instances()).cloned().collect()
    })
}

/// The ingress rules on the testbed's GHE group, as `tcp 443 from PEER (description), ADDRESS`.
fn ghe_rules(tb: &Testbed) -> Vec<String> {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let on = Filter::builder().name("group-id").values(&tb.ghe_sg).build();
        let rules = ec2.describe_security_group_rules().filters(on).send().await.unwrap();
        let mut out: Vec<String> = rules
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .map(|r| {
                let peer = r.referenced_group_info().and_then(|g| g.group_id()).or(r.cidr_ipv4()).unwrap_or("");
                let address = r.tags().iter().find(|t| t.key() == Some("kenv:address")).and_then(|t| t.value());
                let (proto, port, desc) =
                    (r.ip_protocol().unwrap(), r.from_port().unwrap(), r.description().unwrap_or(""));
                format!("{proto} {port} from {peer} ({desc}), {}", address.unwrap_or("untagged"))
            })
            .collect();
        out.sort();
        out
    })
}

/// A secret's resource policy, parsed.
fn secret_policy(tb: &Testbed, name: &str) -> Option<serde_json::Value> {
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&tb.config().await);
        let out = sm.get_resource_policy().secret_id(name).send().await.unwrap();
        out.resource_policy().map(|p| serde_json::from_str(p).unwrap())
    })
}

/// Reads a secret as a new IAM user whose own policy allows GetSecretValue on every secret:
/// the error, or the value.
fn read_as_another_user(tb: &Testbed, name: &str) -> String {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.create_user().user_name("reader").send().await.unwrap();
        let everything = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        iam.put_user_policy().user_name("reader").policy_name("all").policy_document(everything).send().await.unwrap();
        let key = iam.create_access_key().user_name("reader").send().await.unwrap();
        let key = key.access_key().unwrap();
        let creds = aws_sdk_secretsmanager::config::Credentials::new(key.access_key_id(), key.secret_access_key(), None, None, "reader");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&tb.endpoint)
            .region(aws_config::Region::new(tb.region.clone()))
            .credentials_provider(creds)
            .load()
            .await;
        let sm = aws_sdk_secretsmanager::Client::new(&config);
        match sm.get_secret_value().secret_id(name).send().await {
            Ok(v) => v.secret_string().unwrap_or("").to_string(),
            Err(e) => format!("{:?}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)),
        }
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Instances (not terminated) and security groups tagged with the stack, and its roles.
fn owned(tb: &Testbed, stack: &str) -> (usize, usize, usize) {
    rt().block_on(async {
        let (ec2, _, iam) = sdk(tb).await;
        let tag = Filter::builder().name("tag:kenv:stack").values(stack).build();
        let live = Filter::builder().name("instance-state-name").values("pending").values("running").build();
        let instances = ec2.describe_instances().filters(tag.clone()).filters(live).send().await.unwrap();
        let instances = instances.reservations().iter().map(|r| r.instances().len()).sum();
        let groups = ec2.describe_security_groups().filters(tag).send().await.unwrap().security_groups().len();
        let roles = iam.list_roles().path_prefix(format!("/kenv/{stack}/")).send().await.unwrap().roles().len();
        (instances, groups, roles)
    })
}

#[test]
fn the_example_applies_then_plans_no_changes_reapplies_nothing_and_destroys_clean() {
    let tb = fresh();
    let repo = support::repo_dir();
    let vars = [
        ("KOBANZAKI_SUBNET", tb.subnet_id.as_str()),
        ("KOBANZAKI_C1WS_MANAGER", tb.c1ws.as_str()),
        ("KOBANZAKI_GHE_GROUP", tb.ghe_sg.as_str()),
    ];
    let run = |args: &[&str]| tb.kenv(&repo, args, &vars);
    let example = "examples/kobanzaki/main.kenv";

    // A canary in the secrets the C1WS step uses (the testbed seeds them, as the team's account
    // has them): it must appear nowhere kenv writes or sends, and reach the C1WS manager.
    let canary = "canary-5e1f0c2d";
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&tb.config().await);
        for name in ["kobanzaki/c1ws-tenant", "kobanzaki/c1ws-token"] {
            sm.put_secret_value().secret_id(name).secret_string(format!("{canary}-{name}")).send().await.unwrap();
        }
    });
    let applied = ok(run(&["apply", example, "--yes", "--stats"]));
    assert!(!applied.stdout.contains(canary) && !applied.stderr.contains(canary));
    assert!(
        applied.stdout.contains("Plan: 11 to create, 0 to update, 0 to replace, 0 to delete."),
        "{}",
        applied.stdout
    );
    assert!(
        applied.stdout.ends_with("Apply complete: 11 change(s) made to stack `kobanzaki`.\n"),
        "{}",
        applied.stdout
    );

    // The project's secrets are locked to the role: the policy exactly as kenv declares it; the
    // role read them on the instances (the activations above), anyone else is refused.
    let role_arn = "arn:aws:iam::123456789012:role/kenv/kobanzaki/kobanzaki-dev";
    for name in ["kobanzaki/c1ws-tenant", "kobanzaki/c1ws-token"] {
        let policy = secret_policy(&tb, name).expect("a resource policy");
        let deny = &policy["Statement"][0];
        assert_eq!((deny["Effect"].as_str(), deny["Principal"].as_str()), (Some("Deny"), Some("*")));
        assert_eq!(deny["Action"], "secretsmanager:GetSecretValue");
        assert_eq!(deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"], role_arn);
    }
    let refused = read_as_another_user(&tb, "kobanzaki/c1ws-token");
    assert!(refused.contains("AccessDeniedException"), "{refused}");
    assert!(refused.contains("with an explicit deny in a resource-based policy"), "{refused}");
    assert!(applied.stderr.contains("environment.kobanzaki-alice ready after"), "{}", applied.stderr);

    // The C1WS step really ran on each instance: it read the secrets there with the instance's
    // role, downloaded the agent from the manager, activated it and asked for a scan.
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
        let (ec2, _, _) = sdk(&tb).await;
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
            let secret = |name: &str| format!("{canary}-kobanzaki/c1ws-{name}");
            (id.clone(), secret("tenant"), secret("token"), "42".to_string())
        })
        .collect();
    assert_eq!(activated, want);
    let mut scanned: Vec<&str> =
        seen["scans"].as_array().unwrap().iter().map(|s| s["instance"].as_str().unwrap()).collect();
    scanned.sort();
    assert_eq!(scanned, ids);

    // Everything the file declares, as AWS sees it.
    rt().block_on(async {
        let (ec2, c9, iam) = sdk(&tb).await;
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
            let kenv_group =
                i.security_groups().iter().find(|g| g.group_name().unwrap().starts_with("kenv-kobanzaki-"));
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
            assert!(!script.contains(canary), "a secret value was sent: {script}");
            assert!(!c.comment().unwrap_or("").contains(canary));
        }
        let role = iam.get_role().role_name("kobanzaki-dev").send().await.unwrap();
        assert_eq!(role.role().unwrap().path(), "/kenv/kobanzaki/");
        let attached = iam.list_attached_role_policies().role_name("kobanzaki-dev").send().await.unwrap();
        let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
        assert_eq!(arns, ["arn:aws:iam::aws:policy/AWSCloud9SSMInstanceProfile"]);
        let inline = iam.get_role_policy().role_name("kobanzaki-dev").policy_name("kenv").send().await.unwrap();
        assert!(inline.policy_document().contains("GetSecretValue"), "{}", inline.policy_document());
    });

    let plan = ok(run(&["plan", example, "--stats"]));
    assert_eq!(plan.stdout, "No changes: stack `kobanzaki` in ap-northeast-1 matches the file.\n");
    assert_eq!(totals(&plan).1, 0);
    let again = ok(run(&["apply", example, "--yes", "--stats"]));
    assert_eq!(totals(&again).1, 0, "a second apply makes no mutating call:\n{}", again.stderr);

    assert_eq!(owned(&tb, "kobanzaki"), (2, 2, 1));
    let destroyed = ok(run(&["destroy", example, "--yes"]));
    assert!(
        destroyed.stdout.contains("Plan: 0 to create, 0 to update, 0 to replace, 9 to delete."),
        "{}",
        destroyed.stdout
    );
    assert_eq!(owned(&tb, "kobanzaki"), (0, 0, 0), "destroy leaves nothing tagged with the stack");
    let after = ok(run(&["plan", example]));
    assert!(after.stdout.contains("Plan: 11 to create"), "{}", after.stdout);
    assert_eq!(secret_policy(&tb, "kobanzaki/c1ws-token"), None, "destroy removed the lock");
    // Destroy took kenv's rules off the GHE group, and left the admins' rule someone else made.
    assert_eq!(ghe_rules(&tb), ["tcp 22 from 10.0.0.0/16 (admins), untagged"]);
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
        "Stack `stack` in ap-northeast-1:\n\n  ~ environment.dev-0\n      ~ imds.hop_limit: 1 → 2\n\n\
         Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"
    );
    let json = ok(d.kenv(&tb, &["plan", "--json"]));
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["changes"][0]["diffs"][0]["attribute"], "imds.hop_limit");
    assert_eq!(json["summary"]["update"], 1);
    let applied = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert!(applied.stderr.contains("ec2:ModifyInstanceMetadataOptions"), "{}", applied.stderr);
    // One for the attribute; the other two take and give back the stack's lock.
    assert_eq!(totals(&applied).1, 3, "one mutating call for one attribute:\n{}", applied.stderr);
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
        "Stack `stack` in ap-northeast-1:\n\n  ~ security_group.dev-0\n      - rule: ingress tcp 5432 from 10.1.0.0/16 \"postgres\"\n\n\
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
    assert!(reads[0] <= 10, "{counts:?}");
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
    assert!(text.contains("applied before the failure, and kept: role.dev."), "{text}");
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
    assert!(declined.stdout.contains("Plan: 3 to create"), "{}", declined.stdout);
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
fn an_ec2_environment_is_launched_private_with_its_role_and_imds_then_updated_and_destroyed() {
    let tb = fresh();
    let d = Dir::new();
    let file = |owner: &str| {
        format!(
            r#"role "box-role" {{ trust = ["ec2.amazonaws.com"] }}
environment "box" {{
  kind          = ec2
  instance_type = "t3.small"
  image         = "ami-12c6146b"
  subnet        = "{}"
  connection    = ssm
  role          = "box-role"
  imds          = {{ tokens: "required", hop_limit: 1 }}
  tags          = {{ owner: "{owner}" }}
  ingress tcp 443 from "10.0.0.0/8" "GHE"
}}
"#,
            tb.subnet_id
        )
    };
    d.write(&file("carol"));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let i = &instances_at(&tb, "environment.box")[0];
    assert_eq!(i.instance_type().unwrap().as_str(), "t3.small");
    assert_eq!(i.subnet_id(), Some(tb.subnet_id.as_str()));
    assert_eq!(i.public_ip_address(), None, "no public IP");
    assert!(i.iam_instance_profile().unwrap().arn().unwrap().ends_with("/box-role"));
    assert_eq!(i.metadata_options().unwrap().http_tokens().unwrap().as_str(), "required");
    let tags: Vec<(&str, &str)> = i.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    for want in [("Name", "box"), ("owner", "carol"), ("kenv:stack", "stack"), ("kenv:address", "environment.box")] {
        assert!(tags.contains(&want), "{want:?} not in {tags:?}");
    }
    assert!(i.security_groups().iter().any(|g| g.group_name().unwrap() == "kenv-stack-box"));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    d.write(&file("dave"));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(
        plan.stdout.contains("  ~ environment.box\n      ~ tags: { owner: \"carol\" } → { owner: \"dave\" }\n"),
        "{}",
        plan.stdout
    );
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    // A bigger box, in place: the same instance, resized.
    d.write(&file("dave").replace("t3.small", "t3.xlarge"));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let resized = &instances_at(&tb, "environment.box")[0];
    assert_eq!((resized.instance_id(), resized.instance_type().unwrap().as_str()), (i.instance_id(), "t3.xlarge"));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    ok(d.kenv(&tb, &["destroy", "--yes"]));
    assert_eq!(owned(&tb, "stack"), (0, 0, 0));
}

#[test]
fn an_ec2_environment_from_an_image_alias_launches_the_ami_the_alias_names_today() {
    // RunInstances takes only AMI ids (the testbed refuses an alias as EC2 does): the plan
    // resolves the alias through its SSM public parameter and shows the AMI it will launch.
    let tb = fresh();
    let d = Dir::new();
    d.write(&format!(
        "environment \"box\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
         subnet = \"{}\"\n}}\n",
        tb.subnet_id
    ));
    let ami = rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        let p = ssm.get_parameter().name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
        p.send().await.unwrap().parameter().unwrap().value().unwrap().to_string()
    });
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains(&format!("image: \"amazonlinux-2023-x86_64\" ({ami})")), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let i = &instances_at(&tb, "environment.box")[0];
    assert_eq!(i.image_id(), Some(ami.as_str()));
    let image_tag = i.tags().iter().find(|t| t.key() == Some("kenv:image")).and_then(|t| t.value());
    assert_eq!(image_tag, Some("amazonlinux-2023-x86_64"), "the tag keeps what the file says");
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));
    ok(d.kenv(&tb, &["destroy", "--yes"]));
}

#[test]
fn a_fresh_instance_profile_is_waited_for_while_iam_propagates_then_used() {
    // As on AWS, EC2 refuses an instance profile for some seconds after it is made (the testbed:
    // 2 s); the first apply of a role and its instance waits that out instead of failing.
    let tb = fresh();
    let d = Dir::new();
    d.write(&format!(
        "role \"fresh-role\" {{ trust = [\"ec2.amazonaws.com\"] }}\nenvironment \"box\" {{\n  kind = ec2\n  \
         instance_type = \"t3.small\"\n  image = \"ami-12c6146b\"\n  subnet = \"{}\"\n  role = \"fresh-role\"\n}}\n",
        tb.subnet_id
    ));
    let applied = ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(
        applied.stderr.contains("environment.box: EC2 does not see instance profile `fresh-role` yet (IAM propagates)"),
        "{}",
        applied.stderr
    );
    let launches = tb.calls().iter().filter(|c| *c == "ec2:RunInstances").count();
    assert!(launches >= 2, "the refused launch was tried again ({launches} RunInstances)");
    let instances = instances_at(&tb, "environment.box");
    assert_eq!(instances.len(), 1, "one instance, however many tries");
    assert!(instances[0].iam_instance_profile().unwrap().arn().unwrap().ends_with("/fresh-role"));
    ok(d.kenv(&tb, &["destroy", "--yes"]));
}

/// A file with one ec2 environment whose role lets its SSM agent register, with `body` added.
fn on_ssm_box(tb: &Testbed, body: &str) -> String {
    format!(
        "let ssm = role \"box-ssm\" {{\n  trust = [\"ec2.amazonaws.com\"]\n  \
         managed = [\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]\n}}\nssm\n\
         environment \"box\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"ami-12c6146b\"\n  \
         subnet = \"{}\"\n  role = ssm\n  {body}\n}}\n",
        tb.subnet_id
    )
}

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

/// Both environments of a two-box stack on SSM, each with `body` added.
fn two_ssm_boxes(tb: &Testbed, body: &str) -> String {
    format!(
        "let ssm = role \"boxes-ssm\" {{\n  trust = [\"ec2.amazonaws.com\"]\n  \
         managed = [\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]\n}}\nssm\n\
         for n in [\"a\", \"b\"] {{\n  environment \"box-${{n}}\" {{\n    kind = ec2\n    instance_type = \"t3.small\"\n    \
         image = \"ami-12c6146b\"\n    subnet = \"{}\"\n    role = ssm\n    {body}\n  }}\n}}\n",
        tb.subnet_id
    )
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

#[test]
fn a_reach_is_one_tagged_rule_on_the_servers_group_managed_exactly_and_leaving_others_rules_alone() {
    let tb = fresh();
    let d = Dir::new();
    let file = |reaches: &str| {
        format!(
            "environment \"web\" {{\n  kind = cloud9\n  instance_type = \"t3.small\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
             subnet = \"{}\"\n  connection = ssm\n{reaches}}}\n",
            tb.subnet_id
        )
    };
    let https = format!("  reach tcp 443 to \"{}\" \"GHE\"\n", tb.ghe_sg);
    let ssh = format!("  reach tcp 22 to \"{}\" \"git over ssh\"\n", tb.ghe_sg);
    d.write(&file(&format!("{https}{ssh}")));
    let applied = ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(applied.stdout.contains(&format!("+ reach.web.{}.tcp.443", tb.ghe_sg)), "{}", applied.stdout);
    let instance = &instances_at(&tb, "environment.web")[0];
    let group = instance.security_groups().iter().find(|g| g.group_name().unwrap().starts_with("kenv-")).unwrap();
    let group = group.group_id().unwrap().to_string();
    let rule = |port: u16, what: &str| format!("tcp {port} from {group} ({what}), reach.web.{}.tcp.{port}", tb.ghe_sg);
    let admins = "tcp 22 from 10.0.0.0/16 (admins), untagged".to_string();
    assert_eq!(ghe_rules(&tb), [admins.clone(), rule(22, "git over ssh"), rule(443, "GHE")]);
    let again = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert_eq!(totals(&again).1, 0, "a second apply makes no mutating call:\n{}", again.stderr);

    // Removed from the file: exactly that rule goes; the admins' rule stays.
    d.write(&file(&https));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains(&format!("- reach.web.{}.tcp.22", tb.ghe_sg)), "{}", plan.stdout);
    assert!(plan.stdout.contains(", 1 to delete."), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert_eq!(ghe_rules(&tb), [admins.clone(), rule(443, "GHE")]);

    // Revoked by hand: planned back.
    rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let tagged = Filter::builder().name("tag:kenv:stack").values("stack").build();
        let found = ec2.describe_security_group_rules().filters(tagged).send().await.unwrap();
        let id = found.security_group_rules()[0].security_group_rule_id().unwrap().to_string();
        ec2.revoke_security_group_ingress().group_id(&tb.ghe_sg).security_group_rule_ids(id).send().await.unwrap();
    });
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains(&format!("+ reach.web.{}.tcp.443", tb.ghe_sg)), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert_eq!(ghe_rules(&tb), [admins.clone(), rule(443, "GHE")]);

    ok(d.kenv(&tb, &["destroy", "--yes"]));
    assert_eq!(ghe_rules(&tb), [admins]);
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

#[test]
fn on_the_box_the_role_may_add_its_rule_to_the_servers_group_and_nothing_to_its_own() {
    // kenv itself runs on the instance (an install step), with the instance role's credentials
    // from the box's IMDS: the testbed enforces that role's policies.
    let tb = fresh();
    let d = Dir::new();
    let kenv = env!("CARGO_BIN_EXE_kenv");
    let script = |target: &str| {
        let path = d.dir.path().join(format!("{target}.kenv"));
        let group = if target == "server" { format!("\"{}\"", tb.ghe_sg) } else { "me.security_groups[0]".into() };
        let text = format!(
            "import \"std/imds\"\nlet me = imds.instance()\n\
             ec2_authorize({group}, ingress tcp 443 from me.security_groups[0] \"from {target}\")\nprint(\"added\")\n"
        );
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let file = |target: &str| {
        let role = format!(
            "let box_role = role \"box-setup\" {{\n  trust = [\"ec2.amazonaws.com\"]\n  \
             managed = [\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]\n  \
             allow [\"ec2:AuthorizeSecurityGroupIngress\"] on \"arn:aws:ec2:ap-northeast-1:*:security-group/{}\"\n  \
             allow [\"ec2:DescribeSecurityGroups\"] on \"*\"\n}}\nbox_role\n",
            tb.ghe_sg
        );
        let step =
            format!("install \"setup-{target}\" = {{ commands: [\"'{kenv}' run --yes '{}'\"] }}", script(target));
        format!(
            "{role}environment \"box\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"ami-12c6146b\"\n  \
             subnet = \"{}\"\n  role = box_role\n  {step}\n}}\n",
            tb.subnet_id
        )
    };
    d.write(&file("server"));
    let out = ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(out.stderr.contains(": added"), "{}", out.stderr);
    let instance = &instances_at(&tb, "environment.box")[0];
    let own = instance.security_groups()[0].group_id().unwrap().to_string();
    assert!(ghe_rules(&tb).contains(&format!("tcp 443 from {own} (from server), untagged")), "{:?}", ghe_rules(&tb));

    d.write(&file("own"));
    let denied = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let said = format!(
        "assumed-role/box-setup/{} is not authorized to perform: ec2:AuthorizeSecurityGroupIngress",
        instance.instance_id().unwrap()
    );
    assert!(squeezed(&denied.stderr).contains(&squeezed(&said)), "{}", denied.stderr);
}

#[test]
fn owner_and_members_are_planned_applied_and_read_back_from_cloud9() {
    let tb = fresh();
    let d = Dir::new();
    let arn = |user: &str| format!("arn:aws:iam::123456789012:user/{user}");
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        for user in ["alice", "bob", "carol", "dave"] {
            iam.create_user().user_name(user).send().await.unwrap();
        }
    });
    let file = |owner: &str, members: &[(&str, &str)]| {
        let members: Vec<String> = members.iter().map(|(u, a)| format!("\"{}\": \"{a}\"", arn(u))).collect();
        format!(
            "environment \"pair\" {{\n  kind = cloud9\n  instance_type = \"t3.small\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
             subnet = \"{}\"\n  connection = ssm\n  owner = \"{}\"\n  members = {{ {} }}\n}}\n",
            tb.subnet_id,
            arn(owner),
            members.join(", ")
        )
    };
    let cloud9 = || {
        rt().block_on(async {
            let c9 = aws_sdk_cloud9::Client::new(&tb.config().await);
            let id = c9.list_environments().send().await.unwrap().environment_ids()[0].clone();
            let env = c9.describe_environments().environment_ids(&id).send().await.unwrap();
            let owner = env.environments()[0].owner_arn().to_string();
            let got = c9.describe_environment_memberships().environment_id(&id).send().await.unwrap();
            let mut members: Vec<String> = got
                .memberships()
                .iter()
                .map(|m| format!("{} {}", m.user_arn().rsplit('/').next().unwrap(), m.permissions().as_str()))
                .collect();
            members.sort();
            (id, owner, members)
        })
    };
    d.write(&file("alice", &[("bob", "read-write")]));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let (id, owner, members) = cloud9();
    assert_eq!(owner, arn("alice"));
    assert_eq!(members, ["alice owner", "bob read-write"]);
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    // Memberships change in place.
    d.write(&file("alice", &[("bob", "read-only"), ("carol", "read-write")]));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains("  ~ environment.pair\n      ~ members: "), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert_eq!(cloud9().2, ["alice owner", "bob read-only", "carol read-write"]);
    d.write(&file("alice", &[("carol", "read-write")]));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let (same, _, members) = cloud9();
    assert_eq!((same, members), (id, vec!["alice owner".to_string(), "carol read-write".to_string()]));
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));

    // Cloud9 cannot change an owner: a new one replaces the environment, which is protected.
    d.write(&file("dave", &[("carol", "read-write")]));
    let refused = d.kenv(&tb, &["apply", "--yes"]);
    assert!(flat(&refused.stderr).contains("changing `owner` replaces it"), "{}", refused.stderr);

    // A member Cloud9 does not know is AWS's error, at the environment.
    d.write(&file("alice", &[("nobody", "read-write")]));
    let failed = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(failed.code, 1);
    assert!(flat(&failed.stderr).contains("is not an IAM user or role of account"), "{}", failed.stderr);
}

#[test]
fn a_renamed_environment_is_moved_keeping_its_instance_group_and_rules() {
    let tb = fresh();
    let d = Dir::new();
    let file = |name: &str, renamed: &str| {
        format!(
            "environment \"{name}\" {{\n  kind = cloud9\n  instance_type = \"t3.small\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
             subnet = \"{}\"\n  connection = ssm\n{renamed}  reach tcp 443 to \"{}\" \"GHE\"\n}}\n",
            tb.subnet_id, tb.ghe_sg
        )
    };
    d.write(&file("alice", ""));
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let what = || {
        rt().block_on(async {
            let (ec2, c9, _) = sdk(&tb).await;
            let ids = c9.list_environments().send().await.unwrap().environment_ids().to_vec();
            let envs = c9.describe_environments().set_environment_ids(Some(ids.clone())).send().await.unwrap();
            let names: Vec<String> = envs.environments().iter().map(|e| e.name().unwrap().to_string()).collect();
            let f = Filter::builder().name("tag:kenv:stack").values("stack").build();
            let groups = ec2.describe_security_groups().filters(f).send().await.unwrap();
            let groups: Vec<String> =
                groups.security_groups().iter().map(|g| g.group_id().unwrap().to_string()).collect();
            (ids, names, groups)
        })
    };
    let (ids, names, groups) = what();
    assert_eq!(names, ["alice"]);
    let instance = instances_at(&tb, "environment.alice")[0].instance_id().unwrap().to_string();
    let rule = ghe_rules(&tb).into_iter().find(|r| r.contains("reach.alice.")).unwrap();

    d.write(&file("alice-dev", "  renamed_from = \"alice\"\n"));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert_eq!(
        plan.stdout,
        "Stack `stack` in ap-northeast-1:\n\n  ~ environment.alice-dev\n      ~ name: \"alice\" → \"alice-dev\" (moved: the \
         same environment, its group and rules, re-tagged)\n\nPlan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"
    );
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let (now_ids, now_names, now_groups) = what();
    assert_eq!((now_ids, now_names, now_groups), (ids, vec!["alice-dev".to_string()], groups));
    assert_eq!(instances_at(&tb, "environment.alice-dev")[0].instance_id(), Some(instance.as_str()));
    assert_eq!(
        ghe_rules(&tb).into_iter().find(|r| r.contains("reach.alice-dev.")),
        Some(rule.replace("reach.alice.", "reach.alice-dev."))
    );
    assert!(ok(d.kenv(&tb, &["plan"])).stdout.starts_with("No changes"));
}
