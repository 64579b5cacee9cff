//! `reach` rules on the servers' groups, against the testbed: one tagged rule each, managed
//! exactly, others' rules left alone; what the box's role may do to the groups.

mod support;

use aws_sdk_ec2::types::Filter;
use support::stack::{ghe_rules, instances_at, ok, rt, sdk, squeezed, totals, Dir};
use support::testbed::fresh;

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

/// A group admits another group only within one VPC, or across two peered ones: EC2 refuses a
/// rule naming a group of another network (the testbed too), and plan refuses such a reach at
/// the reach, before anything is made.
#[test]
fn a_reach_to_a_group_in_another_vpc_is_refused_until_the_vpcs_are_peered() {
    let tb = fresh();
    let (other_vpc, other_group, ours) = rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let vpc = ec2.create_vpc().cidr_block("10.9.0.0/16").send().await.unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let group = ec2.create_security_group().group_name("build-cache").description("cache").vpc_id(&vpc);
        let group = group.send().await.unwrap().group_id().unwrap().to_string();
        let ours = ec2.describe_security_groups().group_ids(&tb.ghe_sg).send().await.unwrap();
        (vpc, group, ours.security_groups()[0].vpc_id().unwrap().to_string())
    });
    // EC2 itself: a rule on the other VPC's group whose source is a group of ours.
    let refused = rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let pair = aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&tb.ghe_sg).build();
        let ip = aws_sdk_ec2::types::IpPermission::builder().ip_protocol("tcp").from_port(443).to_port(443);
        let req = ec2
            .authorize_security_group_ingress()
            .group_id(&other_group)
            .ip_permissions(ip.user_id_group_pairs(pair).build());
        format!("{:?}", aws_sdk_ec2::error::DisplayErrorContext(req.send().await.unwrap_err()))
    });
    assert!(refused.contains("InvalidGroup.NotFound") && refused.contains("belong to different networks"), "{refused}");

    let d = Dir::new();
    d.write(&format!(
        "environment \"web\" {{\n  kind = cloud9\n  instance_type = \"t3.small\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
         subnet = \"{}\"\n  connection = ssm\n  reach tcp 443 to \"{other_group}\" \"the build cache\"\n}}\n",
        tb.subnet_id
    ));
    let plan = d.kenv(&tb, &["plan", "--stats"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    // Compared without spaces: the terminal's wrapping may break a VPC id at its hyphen.
    let packed = support::stack::flat(&plan.stderr).replace(' ', "");
    let said = format!("{other_group}isin{other_vpc}andenvironment`web`in{ours}");
    assert!(packed.contains("kenv::invalid") && packed.contains(&said), "{}", plan.stderr);
    assert!(plan.stderr.contains("reach tcp 443 to"), "located at the reach: {}", plan.stderr);
    assert_eq!(totals(&plan).1, 0);

    rt().block_on(async {
        let (ec2, _, _) = sdk(&tb).await;
        let pcx = ec2.create_vpc_peering_connection().vpc_id(&ours).peer_vpc_id(&other_vpc).send().await.unwrap();
        let id = pcx.vpc_peering_connection().unwrap().vpc_peering_connection_id().unwrap().to_string();
        ec2.accept_vpc_peering_connection().vpc_peering_connection_id(id).send().await.unwrap();
    });
    ok(d.kenv(&tb, &["apply", "--yes"]));
    ok(d.kenv(&tb, &["destroy", "--yes"]));
}
