//! Daily use of a stack's environments through the real binary, on the testbed: `kenv start`,
//! `kenv stop`, `kenv connect`, `kenv ssh-config`.

mod support;

use support::testbed::{fresh, Testbed};
use support::Output;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn ok(out: Output) -> Output {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    out
}

fn flat(text: &str) -> String {
    text.replace(['│', '·', '╭', '╰', '─', '┬'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Two EC2 boxes, applied; returns their instance ids by name.
fn two_boxes(tb: &Testbed, dir: &std::path::Path) -> (String, String) {
    let env = |name: &str| {
        format!(
            "environment \"{name}\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
             subnet = \"{}\"\n}}\n",
            tb.subnet_id
        )
    };
    std::fs::write(dir.join("stack.kenv"), format!("{}{}", env("box-a"), env("box-b"))).unwrap();
    ok(tb.kenv(dir, &["apply", "stack.kenv", "--yes"], &[]));
    (instance(tb, "box-a").0, instance(tb, "box-b").0)
}

/// An environment's instance id and state, read back from EC2.
fn instance(tb: &Testbed, name: &str) -> (String, String) {
    rt().block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&tb.config().await);
        let f = aws_sdk_ec2::types::Filter::builder()
            .name("tag:kenv:address")
            .values(format!("environment.{name}"))
            .build();
        let found = ec2.describe_instances().filters(f).send().await.unwrap();
        let i = found.reservations()[0].instances()[0].clone();
        (i.instance_id().unwrap().to_string(), i.state().unwrap().name().unwrap().as_str().to_string())
    })
}

#[test]
fn start_and_stop_act_on_the_named_environments_and_wait_for_them() {
    let tb = fresh();
    let home = tempfile::tempdir().unwrap();
    let (a, b) = two_boxes(&tb, home.path());
    let kenv = |args: &[&str]| tb.kenv(home.path(), args, &[]);

    let out = ok(kenv(&["stop", "stack.kenv", "box-a"]));
    assert_eq!(out.stdout, format!("environment.box-a ({a}): stopped, now stopped\n"));
    assert_eq!(instance(&tb, "box-a").1, "stopped");
    assert_eq!(instance(&tb, "box-b").1, "running");

    let out = ok(kenv(&["start", "stack.kenv"]));
    assert_eq!(
        out.stdout,
        format!("environment.box-b ({b}): running\nenvironment.box-a ({a}): started, now running\n")
    );
    assert_eq!(instance(&tb, "box-a").1, "running");

    let out = kenv(&["stop", "stack.kenv", "box-c"]);
    assert_eq!(out.code, 1);
    let said = flat(&out.stderr);
    assert!(said.contains("stack `stack` has no environment `box-c` on AWS"), "{said}");
    assert!(said.contains("did you mean `box-a`?") || said.contains("did you mean `box-b`?"), "{said}");
}

#[test]
fn ssh_config_writes_one_block_per_stack_however_often_it_runs_and_keeps_the_rest() {
    let tb = fresh();
    let home = tempfile::tempdir().unwrap();
    let (a, b) = two_boxes(&tb, home.path());
    let config = home.path().join(".ssh/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "Host build\n  HostName build.internal\n").unwrap();
    // The operator owns neither box: their own boxes are none; `--all` writes every box.
    let own = ok(tb.kenv(home.path(), &["ssh-config", "stack.kenv"], &[]));
    let none = "0 host entries for stack `stack` (the boxes of `moto`; --all for every box)";
    assert_eq!(own.stdout, format!("{}: {none}\n", config.display()));
    for _ in 0..2 {
        let out = ok(tb.kenv(home.path(), &["ssh-config", "stack.kenv", "--all"], &[]));
        assert_eq!(out.stdout, format!("{}: 2 host entries for stack `stack`\n", config.display()));
    }
    let key = home.path().join(".ssh/kenv_ed25519");
    assert!(std::fs::read_to_string(key.with_extension("pub")).unwrap().starts_with("ssh-ed25519 "), "a key pair made");
    let (kenv, key) = (env!("CARGO_BIN_EXE_kenv"), key.display());
    let entry = |host: &str, id: &str| {
        format!(
            "Host {host}\n  HostName {id}\n  User ec2-user\n  IdentityFile {key}\n  IdentitiesOnly yes\n  \
             ProxyCommand {kenv} ssh-proxy %h --port %p --user %r --key {key}.pub --region ap-northeast-1\n"
        )
    };
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        format!(
            "Host build\n  HostName build.internal\n\
             # >>> kenv stack stack: written by `kenv ssh-config`, replaced when it runs again\n\
             {}{}\
             # <<< kenv stack stack\n",
            entry("box-a", &a),
            entry("box-b", &b)
        )
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn connect_runs_the_exact_session_command_or_prints_it_with_how_to_get_the_plugin() {
    let tb = fresh();
    let home = tempfile::tempdir().unwrap();
    let (a, _) = two_boxes(&tb, home.path());
    let session = format!("ssm start-session --target {a} --region ap-northeast-1");

    // No Session Manager plugin (and no AWS CLI) on PATH: the command, and how to install it.
    let bare = tb.kenv(home.path(), &["connect", "stack.kenv", "box-a"], &[("PATH", "/nonexistent")]);
    assert_eq!(bare.code, 1);
    assert_eq!(bare.stdout, format!("aws {session}\n"));
    let said = flat(&bare.stderr);
    assert!(said.contains("`aws` and `session-manager-plugin` not on PATH"), "{said}");
    assert!(said.contains("session-manager-working-with-install-plugin.html"), "{said}");

    // With both: `aws` runs with exactly these arguments, in this terminal, its exit code kenv's.
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = home.path().join("aws-args");
    let fake_aws = format!("#!/bin/sh\necho \"$@\" > '{}'\nexit 7\n", log.display());
    for (name, text) in [("aws", fake_aws.as_str()), ("session-manager-plugin", "#!/bin/sh\n")] {
        std::fs::write(bin.join(name), text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = tb.kenv(home.path(), &["connect", "stack.kenv", "box-a"], &[("PATH", &path)]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), format!("{session}\n"));

    // A stopped box: said so, with the command that starts it.
    ok(tb.kenv(home.path(), &["stop", "stack.kenv", "box-a"], &[]));
    let out = tb.kenv(home.path(), &["connect", "stack.kenv", "box-a"], &[("PATH", &path)]);
    assert_eq!(out.code, 1);
    let said = flat(&out.stderr);
    assert!(said.contains("environment `box-a` is stopped"), "{said}");
    assert!(said.contains("`kenv start stack.kenv box-a`"), "{said}");
}

#[test]
fn an_environment_made_in_the_console_is_imported_and_plans_only_what_differs() {
    let tb = fresh();
    let home = tempfile::tempdir().unwrap();
    // Made by hand, as the design's team made theirs: no kenv tags.
    let id = rt().block_on(async {
        let c9 = aws_sdk_cloud9::Client::new(&tb.config().await);
        let made = c9
            .create_environment_ec2()
            .name("legacy")
            .instance_type("t3.medium")
            .image_id("amazonlinux-2023-x86_64")
            .subnet_id(&tb.subnet_id)
            .connection_type(aws_sdk_cloud9::types::ConnectionType::ConnectSsm)
            .automatic_stop_time_minutes(30)
            .send()
            .await
            .unwrap();
        made.environment_id().unwrap().to_string()
    });
    let declare = |subnet: &str| {
        let file = format!(
            "environment \"legacy\" {{\n  kind = cloud9\n  instance_type = \"t3.large\"\n  image = \"amazonlinux-2023-x86_64\"\n  \
             subnet = \"{subnet}\"\n  connection = ssm\n  auto_stop = 30m\n}}\n"
        );
        std::fs::write(home.path().join("stack.kenv"), file).unwrap();
    };
    let kenv = |args: &[&str]| tb.kenv(home.path(), args, &[]);

    // Not what the file declares, in what cannot change in place: refused, nothing tagged.
    declare("subnet-0123456789abcdef0");
    let out = kenv(&["import", "stack.kenv", "environment.legacy", &id]);
    assert_eq!(out.code, 1);
    assert!(
        flat(&out.stderr).contains(&format!("`{id}` is not environment.legacy as declared: subnet is")),
        "{}",
        out.stderr
    );
    assert!(ok(kenv(&["plan", "stack.kenv"])).stdout.contains("+ environment.legacy"));

    // A wrong id, and an address the file does not declare.
    declare(&tb.subnet_id);
    let out = kenv(&["import", "stack.kenv", "environment.legacy", "0123456789abcdef0123456789abcdef"]);
    assert!(
        flat(&out.stderr).contains("there is no Cloud9 environment `0123456789abcdef0123456789abcdef`"),
        "{}",
        out.stderr
    );
    let out = kenv(&["import", "stack.kenv", "environment.legacyy", &id]);
    assert!(flat(&out.stderr).contains("did you mean `environment.legacy`?"), "{}", out.stderr);

    // Imported: the plan changes it in place (IMDSv2 required, a larger instance, its own group),
    // never replaces it.
    let out = ok(kenv(&["import", "stack.kenv", "environment.legacy", &id]));
    assert_eq!(
        out.stdout,
        format!("Imported {id} as environment.legacy of stack `stack`: `kenv apply` brings imds.tokens, instance_type to the file's values, in place.\n")
    );
    let plan = ok(kenv(&["plan", "stack.kenv"]));
    assert!(plan.stdout.contains("  ~ environment.legacy\n"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("-/+") && !plan.stdout.contains("+ environment"), "{}", plan.stdout);
    ok(kenv(&["apply", "stack.kenv", "--yes"]));
    assert!(ok(kenv(&["plan", "stack.kenv"])).stdout.starts_with("No changes"));
    let ids = rt().block_on(async {
        let c9 = aws_sdk_cloud9::Client::new(&tb.config().await);
        c9.list_environments().send().await.unwrap().environment_ids().to_vec()
    });
    assert_eq!(ids, std::slice::from_ref(&id), "the same Cloud9 environment, and no other");
    let again = kenv(&["import", "stack.kenv", "environment.legacy", &id]);
    assert!(flat(&again.stderr).contains("stack `stack` already has environment.legacy on AWS"), "{}", again.stderr);
}

#[test]
fn a_role_made_in_the_console_is_imported_keeping_its_path() {
    let tb = fresh();
    let home = tempfile::tempdir().unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.create_role().role_name("team-dev").assume_role_policy_document(trust).send().await.unwrap();
    });
    let file = "role \"team-dev\" {\n  trust = [\"ec2.amazonaws.com\", \"cloud9.amazonaws.com\"]\n  \
                allow [\"secretsmanager:GetSecretValue\"] on \"arn:aws:secretsmanager:ap-northeast-1:*:secret:team/*\"\n}\n";
    std::fs::write(home.path().join("stack.kenv"), file).unwrap();
    let kenv = |args: &[&str]| tb.kenv(home.path(), args, &[]);
    // Not imported, the plan would make it, and IAM would refuse the name.
    assert!(ok(kenv(&["plan", "stack.kenv"])).stdout.contains("+ role.team-dev"));

    let out = ok(kenv(&["import", "stack.kenv", "role.team-dev", "arn:aws:iam::123456789012:role/team-dev"]));
    assert_eq!(
        out.stdout,
        "Imported arn:aws:iam::123456789012:role/team-dev as role.team-dev of stack `stack`: `kenv apply` brings \
         instance_profile, policy, trust to the file's values, in place.\n"
    );
    let plan = ok(kenv(&["plan", "stack.kenv"]));
    assert!(plan.stdout.contains("  ~ role.team-dev\n"), "{}", plan.stdout);
    ok(kenv(&["apply", "stack.kenv", "--yes"]));
    assert!(ok(kenv(&["plan", "stack.kenv"])).stdout.starts_with("No changes"));
    let path = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.get_role().role_name("team-dev").send().await.unwrap().role().unwrap().path().to_string()
    });
    assert_eq!(path, "/", "IAM keeps a role's path");
    let again = kenv(&["import", "stack.kenv", "role.team-dev", "team-dev"]);
    assert!(flat(&again.stderr).contains("role `team-dev` already belongs to stack `stack`"), "{}", again.stderr);
}
