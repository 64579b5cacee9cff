//! `kind = ec2` environments against the testbed: launched private with their role and IMDS
//! options, from an image alias, with an instance profile IAM is still propagating.

mod support;

use support::stack::{instances_at, ok, owned, rt, Dir};
use support::testbed::{fresh, fresh_with};

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
    let tb = fresh_with(&["--group-propagation-seconds", "0"]);
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

#[test]
fn the_boxs_new_group_is_waited_for_while_ec2_propagates_it_and_a_missing_extra_group_fails_at_once() {
    // As EC2 documents, a security group made a moment ago may not be visible to RunInstances yet
    // (the testbed: 1.5 s): the launch into the box's new group waits that out.
    let tb = fresh_with(&["--group-propagation-seconds", "1.5", "--iam-propagation-seconds", "0"]);
    let d = Dir::new();
    let file = |extra: &str| {
        format!(
            "environment \"box\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"ami-12c6146b\"\n  \
             subnet = \"{}\"\n{extra}}}\n",
            tb.subnet_id
        )
    };
    d.write(&file(""));
    let applied = ok(d.kenv(&tb, &["apply", "--yes"]));
    let waited = "environment.box: EC2 does not see its new security group `sg-";
    assert!(applied.stderr.contains(waited) && applied.stderr.contains("yet (EC2 propagates)"), "{}", applied.stderr);
    assert_eq!(instances_at(&tb, "environment.box").len(), 1, "one instance, however many tries");
    ok(d.kenv(&tb, &["destroy", "--yes"]));

    // The same declaration again: EC2 answers its client token with the terminated instance (as
    // a `pending` launch); apply reads the state back and launches a new one.
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let states: Vec<String> = instances_at(&tb, "environment.box")
        .iter()
        .map(|i| i.state().and_then(|s| s.name()).map_or(String::new(), |n| n.as_str().to_string()))
        .collect();
    assert_eq!(states.iter().filter(|s| *s == "running").count(), 1, "{states:?}");
    ok(d.kenv(&tb, &["destroy", "--yes"]));

    // A declared extra group that does not exist is not waited for: it fails at once.
    d.write(&file("  security_groups = [\"sg-0123456789abcdef0\"]\n"));
    let started = std::time::Instant::now();
    let failed = d.kenv(&tb, &["apply", "--yes"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let missing = "InvalidGroup.NotFound:Thesecuritygroup'sg-0123456789abcdef0'doesnotexist";
    assert!(support::stack::squeezed(&failed.stderr).contains(missing), "{}", failed.stderr);
    assert!(!failed.stderr.contains("security group `sg-0123456789abcdef0`"), "not waited for: {}", failed.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "no wait for a group that will never appear");
}
