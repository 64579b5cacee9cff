//! Each box isolated, against a testbed that has AWS's defaults (a VPC's default group admits its
//! own members; an EC2 launch naming no group lands in it; Cloud9 makes a group per environment):
//! every box has exactly its own groups, and no group on a box admits another box.

mod support;

use std::collections::BTreeMap;

use support::stack::{ok, rt, sdk, totals, Dir};
use support::testbed::{fresh, Testbed};

/// Each box of the stack (by its kenv address) with the names of its security groups, sorted.
fn groups_of_boxes(tb: &Testbed) -> BTreeMap<String, Vec<String>> {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let tagged = aws_sdk_ec2::types::Filter::builder().name("tag:kenv:stack").values("stack").build();
        let running = aws_sdk_ec2::types::Filter::builder().name("instance-state-name").values("running").build();
        let found = ec2.describe_instances().filters(tagged).filters(running).send().await.unwrap();
        let tag = |i: &aws_sdk_ec2::types::Instance, key: &str| {
            i.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value()).unwrap_or("").to_string()
        };
        let mut out = BTreeMap::new();
        for i in found.reservations().iter().flat_map(|r| r.instances()) {
            let mut names: Vec<String> =
                i.security_groups().iter().map(|g| g.group_name().unwrap_or("").to_string()).collect();
            names.sort();
            out.insert(tag(i, "kenv:address"), names);
        }
        out
    })
}

/// Every group on a box that admits another box's group or its own members, as `GROUP <- PEER`.
fn lateral_paths(tb: &Testbed) -> Vec<String> {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let tagged = aws_sdk_ec2::types::Filter::builder().name("tag-key").values("kenv:stack").build();
        let found = ec2.describe_instances().filters(tagged).send().await.unwrap();
        let on_boxes: Vec<String> = found
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .flat_map(|i| i.security_groups().iter().filter_map(|g| g.group_id().map(String::from)))
            .collect();
        let groups = ec2.describe_security_groups().set_group_ids(Some(on_boxes.clone())).send().await.unwrap();
        let mut paths = Vec::new();
        for g in groups.security_groups() {
            for pair in g.ip_permissions().iter().flat_map(|p| p.user_id_group_pairs()) {
                let peer = pair.group_id().unwrap_or("");
                if on_boxes.iter().any(|b| b == peer) {
                    paths.push(format!("{} <- {peer}", g.group_id().unwrap_or("")));
                }
            }
        }
        paths
    })
}

#[test]
fn every_box_has_its_own_groups_only_and_a_default_group_attached_by_hand_is_caught_and_removed() {
    let tb = fresh();
    let d = Dir::new();
    let extra = rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let made = ec2.create_security_group().group_name("tools").description("tools").vpc_id(&tb.vpc_id);
        made.send().await.unwrap().group_id().unwrap().to_string()
    });
    let env = |name: &str, kind: &str, image: &str, more: &str| {
        format!(
            "environment \"{name}\" {{\n  kind = {kind}\n  instance_type = \"t3.small\"\n  image = \"{image}\"\n  \
             subnet = \"{}\"\n  connection = ssm\n{more}}}\n",
            tb.subnet_id
        )
    };
    let file = [
        env("c9-a", "cloud9", "amazonlinux-2023-x86_64", ""),
        env("c9-b", "cloud9", "amazonlinux-2023-x86_64", ""),
        env("ec2-a", "ec2", "ami-12c6146b", ""),
        env("ec2-b", "ec2", "ami-12c6146b", &format!("  security_groups = [\"{extra}\"]\n")),
        "import \"std/baseline\"\npolicy [baseline.no_lateral, baseline.no_ingress]\n".to_string(),
    ]
    .concat();
    d.write(&file);
    ok(d.kenv(&tb, &["apply", "--yes"]));

    let boxes = groups_of_boxes(&tb);
    let cloud9 = |env: &str| {
        let names = &boxes[&format!("environment.{env}")];
        assert!(names[0].starts_with(&format!("aws-cloud9-{env}-")), "{names:?}");
        names[1].clone()
    };
    assert_eq!(cloud9("c9-a"), "kenv-stack-c9-a", "Cloud9's own group and kenv's, not the default group");
    assert_eq!(cloud9("c9-b"), "kenv-stack-c9-b");
    assert_eq!(boxes["environment.ec2-a"], ["kenv-stack-ec2-a"], "launched into its own group only");
    assert_eq!(boxes["environment.ec2-b"], ["kenv-stack-ec2-b", "tools"]);
    assert_eq!(lateral_paths(&tb), Vec::<String>::new());
    ok(d.kenv(&tb, &["check", "--live"]));
    let again = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert_eq!(totals(&again).1, 0, "a second apply makes no mutating call:\n{}", again.stderr);

    // The VPC's default group attached by hand: the path is caught, located, then planned away.
    let a = support::stack::instances_at(&tb, "environment.ec2-a");
    rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let mut groups: Vec<String> =
            a[0].security_groups().iter().filter_map(|g| g.group_id().map(String::from)).collect();
        groups.push(tb.default_sg.clone());
        let id = a[0].instance_id().unwrap();
        ec2.modify_instance_attribute().instance_id(id).set_groups(Some(groups)).send().await.unwrap();
    });
    assert_eq!(lateral_paths(&tb), [format!("{0} <- {0}", tb.default_sg)]);
    let caught = d.kenv(&tb, &["check", "--live"]);
    assert_eq!(caught.code, 1, "{}", caught.stderr);
    let flat = support::stack::squeezed(&caught.stderr);
    assert!(caught.stderr.contains("── environment `ec2-a`: 2 violations ──"), "{}", caught.stderr);
    assert!(flat.contains("policy`no-lateral`"), "{}", caught.stderr);
    let own = format!("deployed:securitygroup{}(default)admitsitsownmembers:all", tb.default_sg);
    assert!(flat.contains(&own), "{}", caught.stderr);
    assert!(flat.contains("stack.kenv:15:1"), "located at the environment: {}", caught.stderr);
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains(&format!("\"{} (default)\"", tb.default_sg)), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert_eq!(groups_of_boxes(&tb)["environment.ec2-a"], ["kenv-stack-ec2-a"]);
    ok(d.kenv(&tb, &["check", "--live"]));

    ok(d.kenv(&tb, &["destroy", "--yes"]));
    assert_eq!(groups_of_boxes(&tb), BTreeMap::new());
}
