//! Policies: each baseline fixture fails exactly its own rule, SARIF output is valid SARIF 2.1.0
//! (checked against the OASIS schema with Python's jsonschema), and `check --live` on the testbed
//! sees what was changed on AWS behind kenv's back.

mod support;

use std::path::Path;
use std::process::Command;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, VpcEndpointType};
use serde_json::Value;
use support::testbed::{testbed, Testbed};
use support::{cases_dir, kenv, repo_dir, Output};

/// The policies a `check --format json` run found violated, sorted (suppressed ones left out).
fn violated(out: &Output) -> Vec<String> {
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", out.stdout, out.stderr));
    let mut names: Vec<String> = report["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("no violations list:\n{}\nstderr:\n{}", out.stdout, out.stderr))
        .iter()
        .filter(|v| v["suppressed"].is_null())
        .map(|v| v["policy"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The names of every policy in `baseline.all`.
fn baseline_policies() -> Vec<String> {
    let args = ["eval", "--json", "-e", "import \"std/baseline\"\n[p.name for p in baseline.all]"];
    let out = kenv(&cases_dir(), &args.map(String::from));
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// Policies only `--live` can check: their fixtures are networks (see `live_only_rules_…`).
const LIVE_ONLY: &[&str] = &["private-subnet", "vpc-endpoints"];

#[test]
fn each_baseline_fixture_passes_or_fails_exactly_its_own_rule() {
    let dir = cases_dir();
    for rule in baseline_policies() {
        if LIVE_ONLY.contains(&rule.as_str()) {
            continue;
        }
        for (kind, want) in [("pass", vec![]), ("fail", vec![rule.clone()])] {
            let file = format!("baseline/{rule}-{kind}.kenv");
            assert!(dir.join(&file).exists(), "policy `{rule}` has no {kind} fixture {file}");
            // More fixtures of a kind: `RULE-WHAT-fail.kenv` (one per family of what it refuses).
            let more = std::fs::read_dir(dir.join("baseline")).unwrap().filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                let (stem, _) = name.strip_prefix(&format!("{rule}-"))?.rsplit_once(&format!("-{kind}.kenv"))?;
                (!stem.is_empty()).then(|| format!("baseline/{name}"))
            });
            for file in std::iter::once(file).chain(more.collect::<Vec<_>>()) {
                let out = kenv(&dir, &["check".into(), "--format".into(), "json".into(), file.clone()]);
                assert_eq!(violated(&out), want, "{file}");
                assert_eq!(out.code, if want.is_empty() { 0 } else { 1 }, "{file}");
            }
        }
    }
}

#[test]
fn the_example_passes_the_whole_baseline() {
    let out = kenv(&repo_dir(), &["check", "--format", "json", "examples/kobanzaki/main.kenv"].map(String::from));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let turned_on: Vec<&str> =
        report["state"]["policies"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(turned_on, baseline_policies());
    assert_eq!(violated(&out), Vec::<String>::new());
}

/// Validates a SARIF log against the SARIF 2.1.0 schema; panics with the validator's message.
fn assert_valid_sarif(sarif: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.sarif");
    std::fs::write(&file, sarif).unwrap();
    let schema = repo_dir().join("tests/schemas/sarif-schema-2.1.0.json");
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft4Validator.check_schema(schema)\n\
                  jsonschema.Draft4Validator(schema).validate(json.load(open(sys.argv[2])))\n";
    let out = Command::new(support::testbed::python()).args(["-c", script]).arg(&schema).arg(&file).output().unwrap();
    assert!(out.status.success(), "invalid SARIF:\n{}\n{sarif}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0_with_regions_rules_and_suppressions() {
    let dir = cases_dir();
    let sarif = |file: &str| kenv(&dir, &["check".into(), "--format".into(), "sarif".into(), file.into()]);

    let out = sarif("cli/check-sarif.kenv");
    assert_eq!(out.code, 1);
    assert_valid_sarif(&out.stdout);
    let log: Value = serde_json::from_str(&out.stdout).unwrap();
    let run = &log["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rules, baseline_policies());
    let results = run["results"].as_array().unwrap();
    let by_rule = |id: &str| results.iter().find(|r| r["ruleId"] == id).unwrap_or_else(|| panic!("no {id} result"));
    let auto_stop = by_rule("auto-stop-set");
    assert_eq!(auto_stop["level"], "error");
    let region = &auto_stop["locations"][0]["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(14), Some(1)));
    assert_eq!(auto_stop["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "cli/check-sarif.kenv");
    let ssh = by_rule("no-ssh-port");
    assert_eq!(ssh["suppressions"][0]["kind"], "inSource");
    assert_eq!(ssh["suppressions"][0]["justification"], "SEC-12: the office jump host needs ssh until March");

    // A file that does not load is still a SARIF log: its diagnostics are the results.
    let broken = sarif("errors/suppress-empty-reason.kenv");
    assert_eq!(broken.code, 1);
    assert_valid_sarif(&broken.stdout);
    assert!(broken.stdout.contains("\"ruleId\": \"kenv/invalid\""), "{}", broken.stdout);

    // Several files: one run (code scanning takes one per tool and category), each file's results.
    let args =
        ["check", "--format", "sarif", "cli/check-sarif.kenv", "baseline/suppressed.kenv", "fixtures/broken.kenv"];
    let several = kenv(&dir, &args.map(String::from));
    assert_eq!(several.code, 1);
    assert_valid_sarif(&several.stdout);
    let log: Value = serde_json::from_str(&several.stdout).unwrap();
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    let mut uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap())
        .collect();
    uris.dedup();
    assert_eq!(uris, ["cli/check-sarif.kenv", "baseline/suppressed.kenv", "fixtures/broken.kenv"]);
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(), baseline_policies().len());

    let example = kenv(&repo_dir(), &["check", "--format", "sarif", "examples/kobanzaki/main.kenv"].map(String::from));
    assert_eq!(example.code, 0);
    assert_valid_sarif(&example.stdout);
}

// --- live ---

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The baseline's pass fixture, as stack `name` in `subnet`, reaching the `server` group (in the
/// subnet's VPC: a group admits another only within one network), its C1WS agent from the
/// testbed's manager with the activation secrets it reads on the instance (the stack's own: its
/// role locks them, so two stacks cannot share them).
fn stack_file(tb: &Testbed, dir: &Path, name: &str, subnet: &str, server: &str) {
    let fixture = std::fs::read_to_string(cases_dir().join("baseline/ssm-only-pass.kenv")).unwrap();
    let text = fixture
        .replace("subnet-0123456789abcdef0", subnet)
        .replace("sg-0123456789abcdef0", server)
        .replace("\"dev\"", &format!("\"{name}\""))
        .replace("dev/", &format!("{name}/"))
        .replace("policy: 42)", &format!("policy: 42, manager: \"{}\")", tb.c1ws))
        // The stacks share the testbed's account, whose Session Manager preferences one stack
        // alone may hold: these leave them to it, saying so.
        .replace(SESSIONS, "")
        .replace(
            "  imds                = { tokens: \"required\", hop_limit: 1 }\n",
            "  imds                = { tokens: \"required\", hop_limit: 1 }\n  \
             suppress baseline.sessions_logged because \"the platform stack holds the session preferences\"\n",
        );
    std::fs::write(dir.join(format!("{name}.kenv")), text).unwrap();
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&tb.config().await);
        for secret in [format!("{name}/c1ws-tenant"), format!("{name}/c1ws-token")] {
            if sm.describe_secret().secret_id(&secret).send().await.is_err() {
                sm.create_secret().name(&secret).secret_string("not-shown").send().await.unwrap();
            }
        }
    });
}

/// The `sessions` of the baseline's fixtures.
const SESSIONS: &str =
    "sessions \"team\" {\n  log_group    = \"/kenv/sessions\"\n  kms_key      = \"alias/kenv-sessions\"\n  \
                        idle_timeout = 20m\n}\n";

fn live_check(tb: &Testbed, dir: &Path, name: &str) -> Output {
    tb.kenv(dir, &["check", "--live", "--format", "json", &format!("{name}.kenv")], &[])
}

fn applied(tb: &Testbed, dir: &Path, name: &str, subnet: &str, server: &str) {
    stack_file(tb, dir, name, subnet, server);
    let out = tb.kenv(dir, &["apply", &format!("{name}.kenv"), "--yes"], &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn live_check_passes_after_apply_and_fails_with_the_rule_a_change_behind_kenvs_back_breaks() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let name = "live-drift";
    applied(tb, dir.path(), name, &tb.subnet_id, &tb.ghe_sg);
    let out = live_check(tb, dir.path(), name);
    assert_eq!((out.code, violated(&out)), (0, vec![]), "{}", out.stderr);

    let ec2 = rt().block_on(async { aws_sdk_ec2::Client::new(&tb.config().await) });
    let group = rt().block_on(async {
        let f = Filter::builder().name("group-name").values(format!("kenv-{name}-{name}")).build();
        let found = ec2.describe_security_groups().filters(f).send().await.unwrap();
        found.security_groups()[0].group_id().unwrap().to_string()
    });
    let open = |port: i32, cidr: &str| {
        let range = IpRange::builder().cidr_ip(cidr).build();
        let perm = IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port).ip_ranges(range).build();
        rt().block_on(ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(perm).send()).unwrap();
    };

    // Any way into the box, even from a private range: no-ingress, and nothing else.
    open(443, "10.0.0.0/8");
    let out = live_check(tb, dir.path(), name);
    assert_eq!((out.code, violated(&out)), (1, vec!["no-ingress".to_string()]), "{}", out.stdout);
    rt().block_on(async {
        let range = IpRange::builder().cidr_ip("10.0.0.0/8").build();
        let perm = IpPermission::builder().ip_protocol("tcp").from_port(443).to_port(443).ip_ranges(range).build();
        ec2.revoke_security_group_ingress().group_id(&group).ip_permissions(perm).send().await.unwrap();
    });

    // 0.0.0.0/0 opened through EC2: no-ingress and the no-open-ingress rule fail, naming the group.
    open(8443, "0.0.0.0/0");
    let out = live_check(tb, dir.path(), name);
    let both = vec!["no-ingress".to_string(), "no-open-ingress".to_string()];
    assert_eq!((out.code, violated(&out)), (1, both), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("deployed: security group {group}")), "{}", out.stdout);
    let human = tb.kenv(dir.path(), &["check", "--live", &format!("{name}.kenv")], &[]);
    assert_eq!(human.code, 1);
    assert!(human.stderr.contains(&format!("── environment `{name}`: 2 violations ──")), "{}", human.stderr);
    assert!(human.stderr.contains("tcp 8443 from 0.0.0.0/0"), "{}", human.stderr);

    // Port 22 from a private range: the SSH rule, not the open-ingress one.
    rt().block_on(async {
        let range = IpRange::builder().cidr_ip("0.0.0.0/0").build();
        let perm = IpPermission::builder().ip_protocol("tcp").from_port(8443).to_port(8443).ip_ranges(range).build();
        ec2.revoke_security_group_ingress().group_id(&group).ip_permissions(perm).send().await.unwrap();
    });
    open(22, "10.0.0.0/8");
    let out = live_check(tb, dir.path(), name);
    assert_eq!(violated(&out), ["no-ingress", "no-ssh-port"], "{}", out.stdout);

    // kenv apply puts it back (the group is kenv's), and the live check passes again.
    let out = tb.kenv(dir.path(), &["apply", &format!("{name}.kenv"), "--yes"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = live_check(tb, dir.path(), name);
    assert_eq!((out.code, violated(&out)), (0, vec![]), "{}", out.stdout);
    let out = tb.kenv(dir.path(), &["destroy", &format!("{name}.kenv"), "--yes"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

/// A network fixture: a VPC with one subnet and a server's group, with or without SSM's interface
/// endpoints, a route to an internet gateway, a route to a NAT gateway. Returns the subnet and the
/// group.
#[derive(Clone, Copy)]
struct Network {
    cidr: u8,
    endpoints: bool,
    igw: bool,
    nat: bool,
}

async fn network(ec2: &aws_sdk_ec2::Client, net: &Network) -> (String, String) {
    let Network { cidr, endpoints, igw, nat } = *net;
    let vpc = ec2.create_vpc().cidr_block(format!("10.{cidr}.0.0/16")).send().await.unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block(format!("10.{cidr}.1.0/24")).send().await.unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    if endpoints {
        for service in ["ssm", "ssmmessages", "ec2messages"] {
            ec2.create_vpc_endpoint()
                .vpc_id(&vpc)
                .service_name(format!("com.amazonaws.ap-northeast-1.{service}"))
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .subnet_ids(&subnet)
                .send()
                .await
                .unwrap();
        }
    }
    if igw || nat {
        let table = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
        let table = table.route_table().unwrap().route_table_id().unwrap().to_string();
        ec2.associate_route_table().route_table_id(&table).subnet_id(&subnet).send().await.unwrap();
        let route = ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0");
        if igw {
            let gw = ec2.create_internet_gateway().send().await.unwrap();
            let gw = gw.internet_gateway().unwrap().internet_gateway_id().unwrap().to_string();
            ec2.attach_internet_gateway().internet_gateway_id(&gw).vpc_id(&vpc).send().await.unwrap();
            route.gateway_id(gw).send().await.unwrap();
        } else {
            let eip = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap();
            let gw = ec2
                .create_nat_gateway()
                .subnet_id(&subnet)
                .allocation_id(eip.allocation_id().unwrap())
                .send()
                .await
                .unwrap();
            let gw = gw.nat_gateway().unwrap().nat_gateway_id().unwrap().to_string();
            route.nat_gateway_id(gw).send().await.unwrap();
        }
    }
    let server = ec2.create_security_group().group_name("server").description("a team server").vpc_id(&vpc);
    (subnet, server.send().await.unwrap().group_id().unwrap().to_string())
}

#[test]
fn live_only_rules_private_subnet_and_vpc_endpoints_each_fail_alone_on_their_network() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let ec2 = rt().block_on(async { aws_sdk_ec2::Client::new(&tb.config().await) });
    let cases: [(&str, Network, &[&str]); 3] = [
        ("live-igw", Network { cidr: 21, endpoints: true, igw: true, nat: false }, &["private-subnet"]),
        ("live-noep", Network { cidr: 22, endpoints: false, igw: false, nat: false }, &["vpc-endpoints"]),
        // A NAT gateway is the other way SSM reaches the instance.
        ("live-nat", Network { cidr: 23, endpoints: false, igw: false, nat: true }, &[]),
    ];
    for (name, net, want) in cases {
        let (subnet, server) = rt().block_on(network(&ec2, &net));
        applied(tb, dir.path(), name, &subnet, &server);
        let out = live_check(tb, dir.path(), name);
        assert_eq!(violated(&out), want, "{name}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(out.code, if want.is_empty() { 0 } else { 1 }, "{name}");
        let out = tb.kenv(dir.path(), &["destroy", &format!("{name}.kenv"), "--yes"], &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}

// --- enforced from outside the file ---

/// A pull request against the example drops `policy baseline.all` and opens SSH with a
/// suppression that names no owner or expiry: the file alone passes, `--policy std/baseline`
/// fails with SARIF results saying the policies are enforced and why the suppression does not
/// count; an expired suppression fails naming its owner; owned, current ones pass; `--no-suppress`
/// fails again.
#[test]
fn a_pull_request_cannot_switch_the_enforced_baseline_off() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["main.kenv", "team.kenv"] {
        std::fs::copy(repo_dir().join("examples/kobanzaki").join(f), dir.path().join(f)).unwrap();
    }
    let enforced = |extra: &[&str]| {
        let mut args = vec!["check", "--policy", "std/baseline"];
        args.extend(extra);
        args.push("main.kenv");
        kenv(dir.path(), &args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(enforced(&[]).code, 0, "the example passes the enforced baseline");

    let main = std::fs::read_to_string(dir.path().join("main.kenv")).unwrap();
    let pull_request = |suppression: &str| {
        let changed = main.replace("policy baseline.all\n", "").replace(
            "team.dev_env(user)\n}",
            &format!(
                "team.dev_env(user) with {{\n    ingress tcp 22 from \"10.0.0.0/8\"\n    {suppression}\n    \
                 suppress baseline.no_ingress because \"NET-2\" owner \"net-team\" expires \"2099-12-31\"\n  }}\n}}"
            ),
        );
        assert_ne!(changed, main);
        std::fs::write(dir.path().join("main.kenv"), changed).unwrap();
    };
    pull_request("suppress baseline.no_ssh_port because \"SEC-12: the jump host\"");
    let alone = kenv(dir.path(), &["check".into(), "main.kenv".into()]);
    assert_eq!(alone.code, 0, "the file alone turns nothing on: {}", alone.stderr);

    let out = enforced(&["--format", "sarif"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_valid_sarif(&out.stdout);
    let log: Value = serde_json::from_str(&out.stdout).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), baseline_policies().len());
    assert!(rules.iter().all(|r| r["properties"]["enforced"] == true));
    let ssh: Vec<&Value> = run["results"].as_array().unwrap().iter().filter(|r| r["ruleId"] == "no-ssh-port").collect();
    assert_eq!(ssh.len(), 2, "one per environment: {ssh:?}");
    for r in &ssh {
        assert_eq!(r["level"], "error");
        assert_eq!(r["properties"]["enforced"], true);
        assert!(r.get("suppressions").is_none(), "a suppression that does not count is no SARIF suppression: {r}");
        let ignored = &r["properties"]["ignoredSuppression"];
        assert_eq!(ignored["justification"], "SEC-12: the jump host");
        assert!(ignored["why"].as_str().unwrap().contains("needs an owner and an expiry"), "{ignored}");
    }
    let ingress = run["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "no-ingress").unwrap();
    assert_eq!(ingress["suppressions"][0]["properties"]["owner"], "net-team");
    assert_eq!(ingress["suppressions"][0]["properties"]["expires"], "2099-12-31");

    pull_request("suppress baseline.no_ssh_port because \"SEC-12\" owner \"alice@example.com\" expires \"2020-01-31\"");
    let out = enforced(&[]);
    assert_eq!(out.code, 1);
    let flat: String = out.stderr.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("it expired on 2020-01-31 (owner alice@example.com)"), "{}", out.stderr);

    pull_request("suppress baseline.no_ssh_port because \"SEC-12\" owner \"alice@example.com\" expires \"2099-12-31\"");
    let out = enforced(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("owner alice@example.com; expires 2099-12-31"), "{}", out.stderr);
    assert_eq!(enforced(&["--no-suppress"]).code, 1);
}

// --- kenv test ---

/// The example's policy tests pass; with a bug in the team's rule (m5 allowed), the test that
/// catches it fails, named and located at its assertion, with both sides shown.
#[test]
fn kenv_test_passes_on_the_examples_policies_and_fails_located_on_a_broken_rule() {
    let out = kenv(&repo_dir(), &["test", "examples/kobanzaki"].map(String::from));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.ends_with("8 tests: 8 passed, 0 failed\n"), "{}", out.stdout);

    let dir = tempfile::tempdir().unwrap();
    for f in ["team.kenv", "rules.kenv", "policies_test.kenv"] {
        std::fs::copy(repo_dir().join("examples/kobanzaki").join(f), dir.path().join(f)).unwrap();
    }
    let rules = std::fs::read_to_string(dir.path().join("rules.kenv")).unwrap();
    let broken = rules.replace("\"t3.xlarge\"]", "\"t3.xlarge\", \"m5.4xlarge\"]");
    assert_ne!(broken, rules);
    std::fs::write(dir.path().join("rules.kenv"), broken).unwrap();
    let out = kenv(dir.path(), &["test".into()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("FAIL  ./policies_test.kenv:36: an instance bigger than the team allows"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("8 tests: 7 passed, 1 failed\n"), "{}", out.stdout);
    assert!(out.stderr.contains("╭─[./policies_test.kenv:39:10]"), "located at the assertion: {}", out.stderr);
    assert!(out.stderr.contains("left:  []") && out.stderr.contains("right: [\"t3-up-to-xlarge\"]"), "{}", out.stderr);

    let only = kenv(dir.path(), &["test".into(), "--filter".into(), "SSH".into()]);
    assert_eq!((only.code, only.stdout.lines().count()), (0, 2), "{}", only.stdout);
    let none = kenv(dir.path(), &["test".into(), "team.kenv".into()]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("no test in team.kenv"), "{}", none.stderr);
}
