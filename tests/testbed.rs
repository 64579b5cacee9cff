//! The local AWS testbed, exercised through the real aws-sdk crates: the Cloud9 API it adds to
//! moto, its consistency with moto's EC2, and its strict IMDSv2 endpoint.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_cloud9::types::{ConnectionType, ManagedCredentialsAction, ManagedCredentialsStatus, Tag};
use aws_sdk_ec2::types::Filter;
use support::testbed::{http, testbed};

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{nanos:x}")
}

async fn wait_ready(c9: &aws_sdk_cloud9::Client, id: &str) -> Duration {
    let started = Instant::now();
    loop {
        let status = c9.describe_environment_status().environment_id(id).send().await.unwrap();
        if status.status().as_str() == "ready" {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "environment never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_cloud9_ssm_environment_is_a_real_instance_in_moto() {
    let tb = testbed();
    eprintln!("testbed ready after {:?}", tb.ready_after);
    let config = tb.config().await;
    let (c9, ec2) = (aws_sdk_cloud9::Client::new(&config), aws_sdk_ec2::Client::new(&config));
    let name = unique("kobanzaki-alice");
    let created = c9
        .create_environment_ec2()
        .name(&name)
        .instance_type("t3.medium")
        .image_id("amazonlinux-2023-x86_64")
        .subnet_id(&tb.subnet_id)
        .connection_type(ConnectionType::ConnectSsm)
        .automatic_stop_time_minutes(30)
        .tags(Tag::builder().key("project").value("kobanzaki").build().unwrap())
        .send()
        .await
        .expect("CreateEnvironmentEC2");
    let id = created.environment_id().expect("an environment id").to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(
        c9.describe_environment_status().environment_id(&id).send().await.unwrap().status().as_str(),
        "creating"
    );
    wait_ready(&c9, &id).await;

    // EC2 sees the instance as on AWS: found by the aws:cloud9:environment tag, in the subnet,
    // in a group of its own and with the SSM instance profile.
    let found = ec2
        .describe_instances()
        .filters(Filter::builder().name("tag:aws:cloud9:environment").values(&id).build())
        .send()
        .await
        .unwrap();
    let instances: Vec<_> = found.reservations().iter().flat_map(|r| r.instances()).collect();
    assert_eq!(instances.len(), 1);
    let instance = instances[0];
    let tag = |k: &str| instance.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
    assert_eq!(tag("Name"), Some(format!("aws-cloud9-{name}-{id}")));
    assert_eq!(tag("aws:cloud9:owner").as_deref(), Some("arn:aws:iam::123456789012:root"));
    assert_eq!(tag("project").as_deref(), Some("kobanzaki"));
    assert_eq!(instance.subnet_id(), Some(tb.subnet_id.as_str()));
    // Cloud9's own group for the environment, as its stack makes one: no inbound rule for SSM.
    let group = instance.security_groups()[0].group_name().unwrap();
    assert!(group.starts_with(&format!("aws-cloud9-{name}-{id}-InstanceSecurityGroup-")), "{group}");
    let group = instance.security_groups()[0].group_id().unwrap();
    let rules = ec2.describe_security_groups().group_ids(group).send().await.unwrap();
    assert!(rules.security_groups()[0].ip_permissions().is_empty());
    let profile = instance.iam_instance_profile().and_then(|p| p.arn()).unwrap();
    assert!(profile.ends_with("instance-profile/cloud9/AWSCloud9SSMInstanceProfile"), "{profile}");

    // Managed temporary credentials: on at creation, off when the owner says so.
    let describe = |c9: aws_sdk_cloud9::Client, id: String| async move {
        c9.describe_environments().environment_ids(id).send().await.unwrap().environments()[0].clone()
    };
    let env = describe(c9.clone(), id.clone()).await;
    assert_eq!(env.managed_credentials_status(), Some(&ManagedCredentialsStatus::EnabledOnCreate));
    assert_eq!(env.connection_type(), Some(&ConnectionType::ConnectSsm));
    assert_eq!(env.name(), Some(name.as_str()));
    c9.update_environment()
        .environment_id(&id)
        .managed_credentials_action(ManagedCredentialsAction::Disable)
        .send()
        .await
        .unwrap();
    let env = describe(c9.clone(), id.clone()).await;
    assert_eq!(env.managed_credentials_status(), Some(&ManagedCredentialsStatus::DisabledByOwner));

    // Tags, the listing, then deletion terminates the instance.
    let arn = env.arn().to_string();
    c9.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("owner").value("alice").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = c9.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["project", "owner"]);
    assert!(c9.list_environments().send().await.unwrap().environment_ids().contains(&id));
    c9.delete_environment().environment_id(&id).send().await.unwrap();
    let after = ec2.describe_instances().instance_ids(instance.instance_id().unwrap()).send().await.unwrap();
    let state = after.reservations()[0].instances()[0].state().and_then(|s| s.name()).unwrap().as_str().to_string();
    assert!(state == "terminated" || state == "shutting-down", "{state}");
    assert!(!c9.list_environments().send().await.unwrap().environment_ids().contains(&id));
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_cloud9_requests_get_aws_shaped_errors() {
    let tb = testbed();
    let c9 = aws_sdk_cloud9::Client::new(&tb.config().await);
    let create = || {
        c9.create_environment_ec2()
            .name(unique("bad"))
            .instance_type("t3.medium")
            .image_id("amazonlinux-2023-x86_64")
            .subnet_id(&tb.subnet_id)
    };

    let err = create().automatic_stop_time_minutes(20161).send().await.unwrap_err().into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("automaticStopTimeMinutes must be 0 to 20160"));

    let err = create().subnet_id("subnet-0123456789abcdef0").send().await.unwrap_err().into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("subnet 'subnet-0123456789abcdef0' does not exist"));

    let err = create().image_id("windows-2022").send().await.unwrap_err().into_service_error();
    assert!(err.is_bad_request_exception(), "{err:?}");

    let err =
        c9.describe_environment_status().environment_id("0".repeat(32)).send().await.unwrap_err().into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");

    // What no SDK sends: a body that is not JSON, an unknown operation.
    let target = |op: &str| format!("AWSCloud9WorkspaceManagementService.{op}");
    let json = ("Content-Type", "application/x-amz-json-1.1");
    let (status, headers, body) =
        http(&tb.endpoint, "POST", "/", &[("X-Amz-Target", &target("CreateEnvironmentEC2")), json], "{not json");
    assert_eq!(status, 400);
    assert!(headers.contains(&("x-amzn-errortype".into(), "SerializationException".into())), "{headers:?}");
    assert_eq!(body, r#"{"__type": "SerializationException", "message": "the request body is not JSON"}"#);
    let (status, _, body) = http(&tb.endpoint, "POST", "/", &[("X-Amz-Target", &target("Explode")), json], "{}");
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"), "{body}");
    let (status, _, body) =
        http(&tb.endpoint, "POST", "/", &[("X-Amz-Target", &target("DescribeEnvironments")), json], "[1]");
    assert_eq!((status, body.contains("SerializationException")), (400, true));
}

#[tokio::test(flavor = "current_thread")]
async fn the_imds_endpoint_is_strict_imdsv2() {
    let tb = testbed();
    let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
    let profile =
        aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name("AWSCloud9SSMInstanceProfile").build();
    let launched = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .subnet_id(&tb.subnet_id)
        .security_group_ids(&tb.default_sg)
        .iam_instance_profile(profile)
        .send()
        .await
        .unwrap();
    let instance_id = launched.instances()[0].instance_id().unwrap().to_string();
    tb.select_instance(&instance_id);
    let before = tb.imds_stats()["tokenless"].as_u64().unwrap();

    // aws-config's IMDS client (token first, then the token on every read) reads the instance.
    let client = aws_config::imds::Client::builder().endpoint(&tb.imds).unwrap().build();
    let id = client.get("/latest/meta-data/instance-id").await.expect("IMDSv2 read");
    assert_eq!(id.as_ref(), instance_id);
    let region = client.get("/latest/meta-data/placement/region").await.unwrap();
    assert_eq!(region.as_ref(), tb.region);
    let mac = client.get("/latest/meta-data/mac").await.unwrap();
    let at_mac = |leaf: &str| format!("/latest/meta-data/network/interfaces/macs/{}/{leaf}", mac.as_ref());
    assert_eq!(client.get(at_mac("vpc-id")).await.unwrap().as_ref(), tb.vpc_id);
    assert_eq!(client.get(at_mac("subnet-id")).await.unwrap().as_ref(), tb.subnet_id);
    assert_eq!(client.get(at_mac("security-group-ids")).await.unwrap().as_ref(), tb.default_sg);
    assert_eq!(client.get(at_mac("vpc-ipv4-cidr-block")).await.unwrap().as_ref(), "10.0.0.0/16");
    let zone = client.get("/latest/meta-data/placement/availability-zone").await.unwrap();
    assert!(zone.as_ref().starts_with(&tb.region), "{}", zone.as_ref());
    let ip = client.get("/latest/meta-data/local-ipv4").await.unwrap();
    assert!(ip.as_ref().starts_with("10.0.1."), "{}", ip.as_ref());
    let info: serde_json::Value =
        serde_json::from_str(client.get("/latest/meta-data/iam/info").await.unwrap().as_ref()).unwrap();
    assert!(info["InstanceProfileArn"]
        .as_str()
        .unwrap()
        .ends_with(":instance-profile/cloud9/AWSCloud9SSMInstanceProfile"));
    let role = client.get("/latest/meta-data/iam/security-credentials/").await.unwrap();
    assert_eq!(role.as_ref(), "AWSCloud9SSMAccessRole");
    let creds = client.get("/latest/meta-data/iam/security-credentials/AWSCloud9SSMAccessRole").await.unwrap();
    assert!(creds.as_ref().contains("\"AccessKeyId\""));
    assert_eq!(tb.imds_stats()["tokenless"].as_u64().unwrap(), before, "the SDK client never reads without a token");

    // A raw tokenless GET is refused and counted.
    let (status, _, _) = http(&tb.imds, "GET", "/latest/meta-data/instance-id", &[], "");
    assert_eq!(status, 401);
    assert_eq!(tb.imds_stats()["tokenless"].as_u64().unwrap(), before + 1);

    // A token PUT needs the TTL header, within 1..21600, and no X-Forwarded-For.
    assert_eq!(http(&tb.imds, "PUT", "/latest/api/token", &[], "").0, 400);
    assert_eq!(
        http(&tb.imds, "PUT", "/latest/api/token", &[("X-aws-ec2-metadata-token-ttl-seconds", "21601")], "").0,
        400
    );
    let forwarded = [("X-aws-ec2-metadata-token-ttl-seconds", "60"), ("X-Forwarded-For", "10.0.0.1")];
    assert_eq!(http(&tb.imds, "PUT", "/latest/api/token", &forwarded, "").0, 403);

    // An expired token is refused.
    let (status, _, token) =
        http(&tb.imds, "PUT", "/latest/api/token", &[("X-aws-ec2-metadata-token-ttl-seconds", "1")], "");
    assert_eq!(status, 200);
    let read = |t: &str| http(&tb.imds, "GET", "/latest/meta-data/instance-id", &[("X-aws-ec2-metadata-token", t)], "");
    assert_eq!(read(&token).2, instance_id);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(read(&token).0, 401);
    assert_eq!(read("made-up-token").0, 401);

    // HttpEndpoint=disabled, set through EC2, is honoured.
    ec2.modify_instance_metadata_options()
        .instance_id(&instance_id)
        .http_endpoint(aws_sdk_ec2::types::InstanceMetadataEndpointState::Disabled)
        .send()
        .await
        .unwrap();
    let (_, _, token) =
        http(&tb.imds, "PUT", "/latest/api/token", &[("X-aws-ec2-metadata-token-ttl-seconds", "60")], "");
    assert_eq!(read(&token).0, 404);
}

#[test]
fn one_command_starts_prints_the_environment_and_stops_the_testbed() {
    let home = tempfile::tempdir().unwrap();
    let script = support::repo_dir().join("testbed/kenv-testbed");
    // The Python environment the test binary's testbed uses (…/testbed-venv/bin/python).
    let venv = support::testbed::python().parent().and_then(|bin| bin.parent()).unwrap().to_path_buf();
    let run = |arg: &str| {
        std::process::Command::new(&script)
            .arg(arg)
            .env("KENV_TESTBED_HOME", home.path())
            .env(
                "KENV_TESTBED_VENV",
                std::env::var("KENV_TESTBED_VENV").map(std::path::PathBuf::from).unwrap_or(venv.clone()),
            )
            .output()
            .unwrap()
    };
    let started = run("start");
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let env = String::from_utf8(started.stdout).unwrap();
    for var in [
        "AWS_ENDPOINT_URL=http://127.0.0.1:",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:",
        "AWS_REGION=ap-northeast-1",
        "AWS_ACCESS_KEY_ID=testing",
        "KENV_TESTBED_SUBNET=subnet-",
    ] {
        assert!(env.lines().any(|l| l.starts_with(&format!("export {var}"))), "missing {var} in\n{env}");
    }
    assert!(String::from_utf8_lossy(&started.stderr).contains("ready in"));
    assert_eq!(String::from_utf8(run("env").stdout).unwrap(), env, "env repeats what start printed");
    let endpoint = env.lines().find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL=")).unwrap().to_string();
    assert!(run("stop").status.success());
    assert!(!run("env").status.success(), "env after stop must fail");
    assert!(
        std::net::TcpStream::connect(endpoint.trim_start_matches("http://")).is_err(),
        "the testbed is gone after stop"
    );
}
