//! The AWS builtins, run by the real binary (`kenv run`) against the testbed. Each test makes
//! its resources through the SDK, then checks what the builtins return field by field.

mod support;

use aws_sdk_ec2::types::{
    Filter, HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest, IpPermission, IpRange,
    ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use serde_json::{json, Value};
use support::testbed::{fresh, testbed, Testbed, SSM_PROFILE};
use support::Output;

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{nanos:x}")
}

/// Runs a script with `kenv run` (and any extra flags) in a fresh directory.
fn script(tb: &Testbed, text: &str, flags: &[&str], vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.kenv"), text).unwrap();
    let mut args = vec!["run", "s.kenv"];
    args.extend(flags);
    tb.kenv(dir.path(), &args, vars)
}

/// Runs a script whose one `print(to_json(…))` line is parsed as the result.
fn json_of(tb: &Testbed, text: &str) -> Value {
    let out = script(tb, text, &[], &[]);
    assert_eq!(out.code, 0, "script failed:\n{}", out.stderr);
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A VPC with one subnet and a tagged instance in it, requiring IMDSv2 with hop limit 2.
async fn instance_in_new_vpc(ec2: &aws_sdk_ec2::Client, name: &str) -> (String, String, String) {
    let vpc =
        ec2.create_vpc().cidr_block("10.9.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block("10.9.1.0/24").send().await.unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(Tag::builder().key("Name").value(name).build())
        .build();
    let metadata = InstanceMetadataOptionsRequest::builder()
        .http_tokens(HttpTokensState::Required)
        .http_put_response_hop_limit(2)
        .build();
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Medium)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .tag_specifications(tags)
        .metadata_options(metadata)
        .iam_instance_profile(IamInstanceProfileSpecification::builder().name(SSM_PROFILE).build())
        .send()
        .await
        .unwrap();
    (vpc, subnet, run.instances()[0].instance_id().unwrap().to_string())
}

#[test]
fn whoami_and_region_come_from_sts_and_the_config_chain() {
    let tb = testbed();
    let got = json_of(tb, "print(to_json({ me: aws_whoami(), region: aws_region() }))");
    assert_eq!(got["me"]["account"], "123456789012");
    assert!(got["me"]["arn"].as_str().unwrap().starts_with("arn:aws:sts::123456789012:"));
    assert!(got["me"]["user_id"].is_string());
    assert_eq!(got["region"], tb.region.as_str());
}

#[test]
fn instances_subnets_vpcs_and_route_tables_read_field_by_field() {
    let tb = testbed();
    let name = unique("audit-box");
    let (vpc, subnet, id) = rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        instance_in_new_vpc(&ec2, &name).await
    });
    let got = json_of(
        tb,
        &format!(
            r#"print(to_json({{
                 by_tag: ec2_instances({{ "tag:Name": "{name}" }}),
                 by_id: ec2_instance("{id}"),
                 subnets: ec2_subnets({{ "vpc-id": "{vpc}" }}),
                 vpcs: ec2_vpcs({{ "vpc-id": ["{vpc}"] }}),
                 tables: ec2_route_tables({{ "vpc-id": "{vpc}" }}),
               }}))"#
        ),
    );
    let inst = &got["by_id"];
    assert_eq!(got["by_tag"], json!([inst]));
    assert_eq!(inst["id"], id.as_str());
    assert_eq!(inst["type"], "t3.medium");
    assert_eq!(inst["state"], "running");
    assert_eq!(inst["image"], "ami-12c6146b");
    assert_eq!(inst["subnet"], subnet.as_str());
    assert_eq!(inst["vpc"], vpc.as_str());
    assert!(inst["private_ip"].as_str().unwrap().starts_with("10.9.1."));
    assert_eq!(inst["public_ip"], Value::Null, "no public IP in a subnet that does not map one");
    assert_eq!(inst["tags"], json!({ "Name": name }));
    let profile = format!("arn:aws:iam::123456789012:instance-profile/cloud9/{SSM_PROFILE}");
    assert_eq!(inst["instance_profile"], profile.as_str());
    assert_eq!(inst["metadata"], json!({ "tokens": "required", "hop_limit": 2, "endpoint": "enabled" }));
    assert!(inst["security_groups"].is_array());

    let subnet_rec = &got["subnets"][0];
    assert_eq!(got["subnets"].as_array().unwrap().len(), 1, "{got:#}");
    assert_eq!(subnet_rec["id"], subnet.as_str());
    assert_eq!(subnet_rec["vpc"], vpc.as_str());
    assert_eq!(subnet_rec["cidr"], "10.9.1.0/24");
    assert_eq!(subnet_rec["public_ip_on_launch"], false);
    assert!(subnet_rec["availability_zone"].as_str().unwrap().starts_with(&tb.region));

    assert_eq!(got["vpcs"], json!([{ "id": vpc, "cidr": "10.9.0.0/16", "default": false, "tags": {} }]));
    let table = &got["tables"][0];
    assert_eq!(table["vpc"], vpc.as_str());
    assert_eq!(table["main"], true);
    assert_eq!(table["routes"], json!([{ "destination": "10.9.0.0/16", "target": "local" }]));
}

#[test]
fn security_groups_and_vpc_endpoints_read_and_rules_are_authorized_and_revoked() {
    let tb = testbed();
    let group_name = unique("kenv-sg");
    let (vpc, group) = rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.8.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_string();
        let g = ec2.create_security_group().group_name(&group_name).description("test group").vpc_id(&vpc).send().await;
        let group = g.unwrap().group_id().unwrap().to_string();
        let perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(8000)
            .to_port(8080)
            .ip_ranges(IpRange::builder().cidr_ip("10.1.0.0/16").description("builds").build())
            .build();
        ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(perm).send().await.unwrap();
        let ep = ec2.create_vpc_endpoint().vpc_id(&vpc).service_name(format!("com.amazonaws.{}.ssm", tb.region));
        ep.vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface).send().await.unwrap();
        (vpc, group)
    });
    let got = json_of(
        tb,
        &format!(
            r#"print(to_json({{ g: ec2_security_group("{group}"), eps: ec2_vpc_endpoints({{ "vpc-id": "{vpc}" }}) }}))"#
        ),
    );
    let g = &got["g"];
    assert_eq!(g["id"], group.as_str());
    assert_eq!(g["name"], group_name.as_str());
    assert_eq!(g["description"], "test group");
    assert_eq!(g["vpc"], vpc.as_str());
    let builds = json!({ "direction": "ingress", "protocol": "tcp", "from_port": 8000, "to_port": 8080, "peer": "10.1.0.0/16", "description": "builds" });
    assert_eq!(g["ingress"], json!([builds]));
    assert_eq!(g["egress"][0]["protocol"], "all");
    assert_eq!(got["eps"].as_array().unwrap().len(), 1);
    assert_eq!(got["eps"][0]["service"], format!("com.amazonaws.{}.ssm", tb.region));
    assert_eq!(got["eps"][0]["type"], "Interface");
    assert_eq!(got["eps"][0]["vpc"], vpc.as_str());

    // Without --yes and without a terminal, a write is refused and nothing changes.
    let add = format!(
        r#"ec2_authorize("{group}", [ingress tcp 443 from ["10.0.0.0/8", "172.16.0.0/12"] "GHE", egress tcp 5432 to "10.2.0.0/16"])
           print(to_json(ec2_security_group("{group}")))"#
    );
    let refused = script(tb, &add, &[], &[]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("kenv will add 3 rule(s) on"), "{}", refused.stderr);
    assert!(refused.stderr.contains("not confirmed; nothing was changed"), "{}", refused.stderr);
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    let unchanged = json_of(tb, &format!(r#"print(to_json(ec2_security_group("{group}").ingress))"#));
    assert_eq!(unchanged, json!([builds]));

    // With --yes: added, read back after the write (the cache is dropped); adding again is fine.
    for _ in 0..2 {
        let out = script(tb, &add, &["--yes"], &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let g: Value = serde_json::from_str(out.stdout.trim()).unwrap();
        let peers: Vec<&str> = g["ingress"].as_array().unwrap().iter().map(|r| r["peer"].as_str().unwrap()).collect();
        assert_eq!(peers.len(), 3, "{peers:?}");
        assert!(peers.contains(&"10.0.0.0/8") && peers.contains(&"172.16.0.0/12"));
        let ghe = g["ingress"].as_array().unwrap().iter().find(|r| r["peer"] == "10.0.0.0/8").unwrap();
        assert_eq!(ghe["description"], "GHE");
        assert!(g["egress"].as_array().unwrap().iter().any(|r| r["peer"] == "10.2.0.0/16" && r["from_port"] == 5432));
    }
    let revoke = format!(r#"ec2_revoke("{group}", ingress tcp 443 from "172.16.0.0/12")"#);
    assert_eq!(script(tb, &revoke, &["--yes"], &[]).code, 0);
    let after = json_of(tb, &format!(r#"print(to_json(ec2_security_group("{group}").ingress))"#));
    let peers: Vec<&str> = after.as_array().unwrap().iter().map(|r| r["peer"].as_str().unwrap()).collect();
    assert_eq!(peers.len(), 2, "{peers:?}");
    assert!(!peers.contains(&"172.16.0.0/12"));
}

#[test]
fn cloud9_environments_come_with_their_instances() {
    let tb = testbed();
    let name = unique("c9");
    let id = rt().block_on(async {
        let c9 = aws_sdk_cloud9::Client::new(&tb.config().await);
        let created = c9
            .create_environment_ec2()
            .name(&name)
            .description("for the builtins test")
            .instance_type("t3.small")
            .image_id("amazonlinux-2023-x86_64")
            .subnet_id(&tb.subnet_id)
            .connection_type(aws_sdk_cloud9::types::ConnectionType::ConnectSsm)
            .send()
            .await
            .unwrap();
        let id = created.environment_id().unwrap().to_string();
        let off = aws_sdk_cloud9::types::ManagedCredentialsAction::Disable;
        c9.update_environment().environment_id(&id).managed_credentials_action(off).send().await.unwrap();
        id
    });
    let got =
        json_of(tb, &format!(r#"print(to_json({{ one: cloud9_environment("{id}"), all: cloud9_environments() }}))"#));
    let env = &got["one"];
    assert!(got["all"].as_array().unwrap().contains(env));
    assert_eq!(env["id"], id.as_str());
    assert_eq!(env["name"], name.as_str());
    assert_eq!(env["description"], "for the builtins test");
    assert_eq!(env["arn"], format!("arn:aws:cloud9:{}:123456789012:environment:{id}", tb.region));
    assert_eq!(env["owner"], "arn:aws:iam::123456789012:root");
    assert_eq!(env["connection"], "CONNECT_SSM");
    assert_eq!(env["managed_credentials"], "DISABLED_BY_OWNER");
    assert!(matches!(env["lifecycle"].as_str(), Some("CREATING" | "CREATED")));
    let instance = env["instance"].as_str().unwrap();
    let tagged = json_of(tb, &format!(r#"print(to_json(ec2_instance("{instance}").tags))"#));
    assert_eq!(tagged["aws:cloud9:environment"], id.as_str());
}

#[test]
fn an_iam_role_reads_with_its_trust_policies_and_instance_profiles() {
    let tb = testbed();
    let role = unique("kenv-role");
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        iam.create_role().role_name(&role).path("/kenv/").assume_role_policy_document(trust).send().await.unwrap();
        let arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
        iam.attach_role_policy().role_name(&role).policy_arn(arn).send().await.unwrap();
        iam.create_instance_profile().instance_profile_name(&role).send().await.unwrap();
        iam.add_role_to_instance_profile().instance_profile_name(&role).role_name(&role).send().await.unwrap();
    });
    let got = json_of(tb, &format!(r#"print(to_json(iam_role("{role}")))"#));
    assert_eq!(got["name"], role.as_str());
    assert_eq!(got["arn"], format!("arn:aws:iam::123456789012:role/kenv/{role}"));
    assert_eq!(got["path"], "/kenv/");
    assert_eq!(got["trust"], json!(["ec2.amazonaws.com"]));
    assert_eq!(got["managed"], json!(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]));
    assert_eq!(got["instance_profiles"], json!([role]));
    assert_eq!(got["tags"], json!({}));
}

#[test]
fn parameters_read_as_values_and_secure_strings_stay_secret() {
    let tb = testbed();
    let prefix = unique("/kenv-test");
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        use aws_sdk_ssm::types::ParameterType as T;
        for (name, kind, value) in
            [("plain", T::String, "hello"), ("list", T::StringList, "a,b"), ("token", T::SecureString, "canary-7f3a")]
        {
            ssm.put_parameter().name(format!("{prefix}/{name}")).r#type(kind).value(value).send().await.unwrap();
        }
    });
    let out = script(
        tb,
        &format!(
            r#"let p = "{prefix}"
               print(to_json([ssm_parameter("${{p}}/plain"), ssm_parameter("${{p}}/list"), type_of(ssm_parameter("${{p}}/token"))]))
               print(ssm_parameter("${{p}}/token"))"#
        ),
        &[],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "[\"hello\",[\"a\",\"b\"],\"secret\"]\n(secret)\n");
    assert!(!out.stdout.contains("canary") && !out.stderr.contains("canary"));
}

#[test]
fn ssm_run_sends_the_commands_and_waits_for_each_invocation() {
    let tb = testbed();
    let name = unique("ssm-box");
    let instance = rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let instance = instance_in_new_vpc(&ec2, &name).await.2;
        tb.online(std::slice::from_ref(&instance)).await;
        instance
    });
    let out = script(
        tb,
        &format!(
            r#"let r = ssm_run(["{instance}"], ["echo hello", "echo $((6 * 7))"], "kenv test")
                    print(to_json(r))"#
        ),
        &["--yes"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("kenv will run on {instance}:\n    echo hello\n    echo $((6 * 7))")),
        "{}",
        out.stderr
    );
    let got: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        got["invocations"],
        json!([{ "instance": instance, "status": "Success", "exit_code": 0, "stdout": "hello\n42\n", "stderr": "" }])
    );
    let command = got["command"].as_str().unwrap();
    let sent = rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        let listed = ssm.list_commands().command_id(command).send().await.unwrap();
        let c = listed.commands()[0].clone();
        (
            c.document_name().unwrap().to_string(),
            c.parameters().unwrap()["commands"].clone(),
            c.comment().unwrap().to_string(),
        )
    });
    assert_eq!(
        sent,
        (
            "AWS-RunShellScript".to_string(),
            vec!["echo hello".to_string(), "echo $((6 * 7))".to_string()],
            "kenv test".to_string()
        )
    );
}

#[test]
fn identical_reads_in_one_run_are_made_once() {
    let tb = fresh();
    let out = script(
        &tb,
        "let a = aws_whoami()\nlet b = aws_whoami()\nlet c = ec2_vpcs()\nlet d = ec2_vpcs()",
        &["--stats"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "API calls:\n  ec2:DescribeVpcs                               read  1\n  sts:GetCallerIdentity                          read  1\n  total: 2 read, 0 mutating, 0 retried\n"
    );
}

#[test]
fn aws_failures_are_diagnostics_at_the_call_and_exit_1() {
    let tb = fresh();
    let expect = |out: &Output, parts: &[&str]| {
        assert_eq!(out.code, 1, "{}", out.stderr);
        for part in parts {
            assert!(out.stderr.contains(part), "missing {part:?} in:\n{}", out.stderr);
        }
        assert!(
            out.stderr.contains("1 │ print(aws_whoami())") || out.stderr.contains("│ print(ec2_"),
            "{}",
            out.stderr
        );
    };
    let whoami = "print(aws_whoami())";

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.kenv"), whoami).unwrap();
    let no_creds: Vec<(String, String)> = tb
        .env(dir.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"))
        .collect();
    let mut vars = no_creds.clone();
    vars.push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
    let out = support::kenv_env(dir.path(), &["run".into(), "s.kenv".into()], "", &vars);
    expect(&out, &["kenv::aws", "no AWS credentials found", "help: configure credentials"]);

    let out = script(&tb, whoami, &["--region", "ap-northeast-9"], &[]);
    expect(&out, &["`ap-northeast-9` is not an AWS region (did you mean `ap-northeast-1`?)", "pass --region"]);

    tb.fault("GetCallerIdentity", "AccessDenied", 403, 1);
    let out = script(&tb, whoami, &[], &[]);
    expect(&out, &["sts:GetCallerIdentity failed: AccessDenied", "must allow `sts:GetCallerIdentity`"]);

    let out = script(&tb, r#"print(ec2_instance("i-0123456789abcdef0"))"#, &[], &[]);
    expect(&out, &["InvalidInstanceID.NotFound", "i-0123456789abcdef0", "lives in ap-northeast-1"]);
    let out = script(&tb, r#"print(ec2_security_group("sg-0123456789abcdef0"))"#, &[], &[]);
    expect(&out, &["InvalidGroup.NotFound", "sg-0123456789abcdef0"]);

    // Throttling and 5xx are retried by the SDK: two failures, then the answer.
    tb.fault("DescribeVpcs", "RequestLimitExceeded", 503, 2);
    let out = script(&tb, "print(len(ec2_vpcs()) > 0)", &[], &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "true\n"), "{}", out.stderr);
    assert_eq!(tb.calls().iter().filter(|c| *c == "ec2:DescribeVpcs").count(), 3);
}

#[test]
fn the_audit_example_prints_the_environments_of_a_vpc() {
    let tb = fresh();
    rt().block_on(async {
        let config = tb.config().await;
        let (c9, ec2) = (aws_sdk_cloud9::Client::new(&config), aws_sdk_ec2::Client::new(&config));
        let mut ids = Vec::new();
        for (name, connection) in [("alice", "CONNECT_SSM"), ("bob", "CONNECT_SSH")] {
            let created = c9
                .create_environment_ec2()
                .name(format!("kobanzaki-{name}"))
                .instance_type("t3.medium")
                .image_id("amazonlinux-2023-x86_64")
                .subnet_id(&tb.subnet_id)
                .connection_type(aws_sdk_cloud9::types::ConnectionType::from(connection))
                .send()
                .await
                .unwrap();
            ids.push(created.environment_id().unwrap().to_string());
        }
        let off = aws_sdk_cloud9::types::ManagedCredentialsAction::Disable;
        c9.update_environment().environment_id(&ids[0]).managed_credentials_action(off).send().await.unwrap();
        let alice = ec2
            .describe_instances()
            .filters(Filter::builder().name("tag:aws:cloud9:environment").values(&ids[0]).build())
            .send()
            .await
            .unwrap();
        let alice = alice.reservations()[0].instances()[0].instance_id().unwrap().to_string();
        let m = ec2.modify_instance_metadata_options().instance_id(&alice).http_tokens(HttpTokensState::Required);
        m.send().await.unwrap();
        // Each environment's own group (Cloud9 makes one) admits HTTPS from the private range, and
        // the GHE server's group admits each of them: what they reach.
        for id in &ids {
            let by_env = Filter::builder().name("tag:aws:cloud9:environment").values(id).build();
            let found = ec2.describe_instances().filters(by_env).send().await.unwrap();
            let group = found.reservations()[0].instances()[0].security_groups()[0].group_id().unwrap().to_string();
            let perm = IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build();
            ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(perm).send().await.unwrap();
            let from_env = UserIdGroupPair::builder().group_id(&group).build();
            let perm =
                IpPermission::builder().ip_protocol("tcp").from_port(443).to_port(443).user_id_group_pairs(from_env);
            ec2.authorize_security_group_ingress()
                .group_id(&tb.ghe_sg)
                .ip_permissions(perm.build())
                .send()
                .await
                .unwrap();
        }
    });
    let out = tb.kenv(
        &support::repo_dir(),
        &["run", "examples/audit.kenv", "--stats"],
        &[("KENV_AUDIT_VPC", tb.vpc_id.as_str())],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Ids are random; the test names them before comparing.
    let ids: Vec<String> = out.stdout.split_whitespace().filter(|w| w.starts_with("i-")).map(String::from).collect();
    let stdout = out
        .stdout
        .replace(&tb.vpc_id, "VPC")
        .replace(&ids[0], "i-alice············")
        .replace(&ids[1], "i-bob··············");
    assert_eq!(
        stdout,
        // bob's box connects over SSH: Cloud9's group for it admits SSH from Cloud9's addresses.
        "Cloud9 environments in VPC: 2\n\
         ENVIRONMENT      CONNECT  AMTC  INSTANCE             IMDS             PROFILE                      INGRESS                                             REACHES\n\
         ---------------  -------  ----  -------------------  ---------------  ---------------------------  --------------------------------------------------  ---------------------\n\
         kobanzaki-alice  ssm      off   i-alice············  required, hop 1  AWSCloud9SSMInstanceProfile  tcp 443 from 10.0.0.0/8                             internal-ghe: tcp 443\n\
         kobanzaki-bob    ssh      on    i-bob··············  optional, hop 1  -                            tcp 22 from 13.112.0.0/14, tcp 443 from 10.0.0.0/8  internal-ghe: tcp 443\n"
    );
    // One call per kind of read, whatever the number of environments.
    assert!(out.stderr.contains("  total: 5 read, 0 mutating"), "{}", out.stderr);
}

#[test]
fn ssm_run_reaches_a_fleet_by_tags_with_its_concurrency_and_error_limits() {
    let tb = testbed();
    let fleet = unique("fleet");
    let ids = rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(Tag::builder().key("fleet").value(&fleet).build())
            .build();
        let run = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .min_count(2)
            .max_count(2)
            .subnet_id(&tb.subnet_id)
            .tag_specifications(tags)
            .iam_instance_profile(IamInstanceProfileSpecification::builder().name(SSM_PROFILE).build())
            .send()
            .await
            .unwrap();
        let mut ids: Vec<String> = run.instances().iter().map(|i| i.instance_id().unwrap().to_string()).collect();
        ids.sort();
        tb.online(&ids).await;
        ids
    });
    let out = script(
        tb,
        &format!(r#"print(to_json(ssm_run({{ fleet: "{fleet}" }}, ["uptime"], "fleet test", "1", "0")))"#),
        &["--yes"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let mut reached: Vec<&str> =
        got["invocations"].as_array().unwrap().iter().map(|i| i["instance"].as_str().unwrap()).collect();
    reached.sort();
    assert_eq!(reached, ids);
    assert!(got["invocations"].as_array().unwrap().iter().all(|i| i["status"] == "Success"));
    let command = got["command"].as_str().unwrap().to_string();
    let sent = rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        ssm.list_commands().command_id(&command).send().await.unwrap().commands()[0].clone()
    });
    assert_eq!(sent.targets()[0].key(), Some("tag:fleet"));
    assert_eq!(sent.targets()[0].values(), [fleet.as_str()]);
    assert_eq!((sent.max_concurrency(), sent.max_errors()), (Some("1"), Some("0")));
}

#[test]
fn ssm_run_to_a_stopped_instance_is_refused_as_aws_refuses_it() {
    // AWS answers InvalidInstanceId for an instance whose agent cannot be online; the testbed
    // does the same (moto alone reports the command successful).
    let tb = testbed();
    let name = unique("stopped-box");
    let instance = rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let instance = instance_in_new_vpc(&ec2, &name).await.2;
        ec2.stop_instances().instance_ids(&instance).send().await.unwrap();
        instance
    });
    let out = script(tb, &format!(r#"ssm_run(["{instance}"], ["echo hello"])"#), &["--yes"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("InvalidInstanceId"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("[{instance}]")), "{}", out.stderr);
    assert!(out.stderr.contains("Run Command reaches only a running instance whose SSM agent is online"));
}

#[test]
fn verbose_logs_every_aws_call_with_its_endpoint_attempts_and_request_id_and_never_a_value() {
    let tb = fresh();
    tb.fault("DescribeInstances", "InternalError", 500, 1);
    let text = "print(len(ec2_instances({ \"tag:none\": \"none\" })))\n\
                run_step(install \"token\" = { commands: [\"test -n \\\"$T\\\"\"], env: { T: secret(\"kobanzaki/c1ws-token\") } })\n";
    let out = script(&tb, text, &["--yes", "-v"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "0\n", "the log goes to stderr");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let line = |op: &str| lines.iter().find(|l| l.contains(op)).unwrap_or_else(|| panic!("no {op} in {}", out.stderr));
    let describe = line("ec2:DescribeInstances at ");
    assert!(describe.contains(&format!("at {} ok in ", tb.endpoint)), "{describe}");
    assert!(describe.contains("(2 attempt(s), request "), "{describe}");
    assert!(out.stderr.contains("attempt 1 answered HTTP 500; the SDK retries it"), "{}", out.stderr);
    assert!(line("secretsmanager:GetSecretValue at ").contains("ok in "));
    assert!(!out.stderr.contains("testbed-token-7a91"), "a secret value was logged: {}", out.stderr);
}
