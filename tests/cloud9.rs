//! Cloud9's own settings against the testbed: owner and members, and a renamed environment
//! moved rather than replaced.

mod support;

use aws_sdk_ec2::types::Filter;
use support::stack::{flat, ghe_rules, instances_at, ok, rt, sdk, Dir};
use support::testbed::fresh;

#[test]
fn owner_and_members_are_planned_applied_and_read_back_from_cloud9() {
    let tb = fresh();
    let d = Dir::new();
    let arn = |user: &str| format!("arn:aws:iam::123456789012:user/{user}");
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        // alice and bob are the testbed's seeded users already.
        for user in ["carol", "dave"] {
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
        "Stack `stack` in ap-northeast-1, account 123456789012 (as arn:aws:sts::123456789012:user/moto):\n\n  ~ environment.alice-dev\n      ~ name: \"alice\" → \"alice-dev\" (moved: the \
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
