//! Sessions only to your own box, against the testbed with IAM enforced (conditions included):
//! the stack's developer policy lets a developer start a Session Manager session and push an SSH
//! key only on the boxes tagged for them; `kenv ssh-config` writes their entries, whose
//! ProxyCommand (kenv itself) pushes a key valid 60 s and opens an `AWS-StartSSHSession` session.
//! And sessions recorded: the account's Session Manager preferences, held by one stack.

mod support;

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;
use support::stack::{ok, rt, Dir};
use support::testbed::{fresh_with, http, Testbed};

/// An IAM user of the testbed's account, in the team's `developers` group; returns its keys.
fn developer(tb: &Testbed, name: &str) -> (String, String) {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        // The testbed's account has the example's members already; the others are made here.
        let _ = iam.create_user().user_name(name).send().await;
        iam.add_user_to_group().group_name("developers").user_name(name).send().await.unwrap();
        let key = iam.create_access_key().user_name(name).send().await.unwrap();
        let key = key.access_key().unwrap();
        (key.access_key_id().to_string(), key.secret_access_key().to_string())
    })
}

fn arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:user/{name}")
}

/// The stack: alice's ec2 box, bob's ec2 box (with `members`), alice's Cloud9 box.
fn stack(tb: &Testbed, bob_members: &str) -> String {
    let ec2 = |name: &str, owner: &str, more: &str| {
        format!(
            "environment \"{name}\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"ami-12c6146b\"\n  \
             subnet = \"{}\"\n  role = box_role\n  owner = \"{}\"\n{more}}}\n",
            tb.subnet_id,
            arn(owner)
        )
    };
    format!(
        "let box_role = role \"boxes-ssm\" {{\n  trust = [\"ec2.amazonaws.com\"]\n  \
         managed = [\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]\n}}\nbox_role\n{}{}\
         environment \"alice-c9\" {{\n  kind = cloud9\n  instance_type = \"t3.small\"\n  \
         image = \"amazonlinux-2023-x86_64\"\n  subnet = \"{}\"\n  connection = ssm\n  owner = \"{}\"\n}}\n",
        ec2("alice-box", "alice", ""),
        ec2("bob-box", "bob", bob_members),
        tb.subnet_id,
        arn("alice")
    )
}

/// Runs kenv as a developer (their keys, the testbed's stand-in Session Manager plugin on PATH),
/// with `stdin` written to it.
fn as_developer(tb: &Testbed, d: &Dir, keys: &(String, String), args: &[&str], stdin: &str) -> support::Output {
    let path = format!("{}:{}", support::repo_dir().join("testbed/bin").display(), std::env::var("PATH").unwrap());
    let vars = [("AWS_ACCESS_KEY_ID", keys.0.as_str()), ("AWS_SECRET_ACCESS_KEY", keys.1.as_str()), ("PATH", &path)];
    let mut child = tb
        .kenv_command(d.dir.path(), args, &vars)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    support::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn instance_of(tb: &Testbed, env: &str) -> String {
    let found = support::stack::instances_at(tb, &format!("environment.{env}"));
    found
        .iter()
        .find(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("running"))
        .unwrap()
        .instance_id()
        .unwrap()
        .into()
}

fn sessions(tb: &Testbed) -> Value {
    let (status, _, body) = http(&tb.endpoint, "GET", "/_testbed/sessions", &[], "");
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

#[test]
fn a_developer_opens_only_their_own_boxes_and_the_boxes_they_are_a_member_of() {
    let tb = fresh_with(&["--agent-register-seconds", "0.2"]);
    let d = Dir::new();
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.create_group().group_name("developers").send().await.unwrap();
    });
    let (alice, bob, carol) = (developer(&tb, "alice"), developer(&tb, "bob"), developer(&tb, "carol"));
    let carol_member = format!("  members = {{ \"{}\": \"read-write\" }}\n", arn("carol"));
    d.write(&stack(&tb, &carol_member));
    let applied = ok(d.kenv(&tb, &["apply", "--yes"]));
    assert!(applied.stdout.contains("+ access.developers"), "{}", applied.stdout);
    // The team attaches the stack's developer policy to its developers' group.
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        let found = iam.list_policies().path_prefix("/kenv/stack/").send().await.unwrap();
        let policy = found.policies().iter().find(|p| p.policy_name() == Some("kenv-stack-developers")).unwrap();
        iam.attach_group_policy().group_name("developers").policy_arn(policy.arn().unwrap()).send().await.unwrap();
    });
    let (alice_box, bob_box) = (instance_of(&tb, "alice-box"), instance_of(&tb, "bob-box"));
    rt().block_on(tb.online(&[alice_box.clone(), bob_box.clone()]));
    std::fs::write(
        d.dir.path().join("key.pub"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKenvTestbedKeyForAliceOnly kenv\n",
    )
    .unwrap();
    let proxy = |who: &(String, String), instance: &str| {
        as_developer(
            &tb,
            &d,
            who,
            &["ssh-proxy", instance, "--port", "22", "--user", "ec2-user", "--key", "key.pub"],
            "SSH-2.0-OpenSSH_9.6\n",
        )
    };

    // alice on her own box: the key is pushed, then the session carries ssh's bytes.
    let own = proxy(&alice, &alice_box);
    assert_eq!(own.code, 0, "{}", own.stderr);
    let greeting = format!("on {alice_box} (AWS-StartSSHSession, port 22); keys valid now: 1 for ec2-user");
    assert!(own.stdout.starts_with("kenv-testbed session alice-") && own.stdout.contains(&greeting), "{}", own.stdout);
    assert!(own.stdout.ends_with("SSH-2.0-OpenSSH_9.6\n"), "{}", own.stdout);

    // alice on bob's box: the key push is refused by IAM, named as AWS names it.
    let theirs = proxy(&alice, &bob_box);
    assert_eq!(theirs.code, 1, "{}", theirs.stdout);
    let refused = format!("not authorized to perform: ec2-instance-connect:SendSSHPublicKey on resource: arn:aws:ec2:ap-northeast-1:123456789012:instance/{bob_box}");
    assert!(
        support::stack::squeezed(&theirs.stderr).contains(&support::stack::squeezed(&refused)),
        "{}",
        theirs.stderr
    );
    assert!(theirs.stderr.contains("AccessDenied"), "{}", theirs.stderr);

    // The same for a session alone (StartSession), and for ending another's session.
    let session = |keys: &(String, String), instance: &str| {
        rt().block_on(async {
            let creds = aws_sdk_ssm::config::Credentials::new(&keys.0, &keys.1, None, None, "test");
            let config = aws_sdk_ssm::config::Builder::from(&tb.config().await).credentials_provider(creds).build();
            let ssm = aws_sdk_ssm::Client::from_conf(config);
            ssm.start_session()
                .target(instance)
                .send()
                .await
                .map(|s| s.session_id().unwrap().to_string())
                .map_err(|e| format!("{:?}", e.into_service_error()))
        })
    };
    let started = session(&alice, &alice_box).unwrap();
    assert!(started.starts_with("alice-"), "{started}");
    let denied = session(&alice, &bob_box).unwrap_err();
    assert!(denied.contains("AccessDeniedException"), "{denied}");
    assert!(session(&bob, &bob_box).is_ok(), "bob opens his own box");
    assert!(session(&bob, &alice_box).unwrap_err().contains("AccessDeniedException"));

    // carol, a member of bob's box, gets in there and nowhere else.
    assert_eq!(proxy(&carol, &bob_box).code, 0);
    assert_eq!(proxy(&carol, &alice_box).code, 1);

    // A pushed key is good for 60 s (times the testbed's time scale: 3 s), then the box refuses it.
    let keys = sessions(&tb)["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "alice's on her box, carol's on bob's: {keys:?}");
    std::thread::sleep(std::time::Duration::from_millis(3200));
    let keys = sessions(&tb)["keys"].as_array().unwrap().clone();
    assert!(keys.iter().all(|k| k["valid"] == false), "{keys:?}");

    // carol removed from bob's members: she no longer gets in.
    d.write(&stack(&tb, ""));
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains("kenv:members"), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let removed = proxy(&carol, &bob_box);
    assert_eq!(removed.code, 1, "{}", removed.stdout);
    assert!(removed.stderr.contains("AccessDenied"), "{}", removed.stderr);

    // ssh-config as alice: her two boxes, each a ProxyCommand running kenv; --all: every box.
    let config = d.dir.path().join("ssh_config");
    let written = as_developer(&tb, &d, &alice, &["ssh-config", "stack.kenv", "--to", config.to_str().unwrap()], "");
    assert_eq!(written.code, 0, "{}", written.stderr);
    assert!(written.stdout.contains("2 host entries for stack `stack` (the boxes of `alice`"), "{}", written.stdout);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("Host alice-box\n") && text.contains("Host alice-c9\n") && !text.contains("Host bob-box"),
        "{text}"
    );
    assert!(d.dir.path().join(".ssh/kenv_ed25519.pub").exists(), "a key pair is made for the entries");
    let all =
        as_developer(&tb, &d, &alice, &["ssh-config", "stack.kenv", "--to", config.to_str().unwrap(), "--all"], "");
    assert!(all.stdout.contains("3 host entries"), "{}", all.stdout);

    // The ProxyCommand of alice's box, run as ssh runs it (%h %p %r filled in).
    let entry = text.split("Host alice-box\n").nth(1).unwrap();
    let command = entry.lines().find_map(|l| l.trim().strip_prefix("ProxyCommand ")).unwrap();
    let command = command.replace("%h", &alice_box).replace("%p", "22").replace("%r", "ec2-user");
    let path = format!("{}:{}", support::repo_dir().join("testbed/bin").display(), std::env::var("PATH").unwrap());
    let mut vars = tb.env(d.dir.path());
    vars.extend([
        ("AWS_ACCESS_KEY_ID".into(), alice.0.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), alice.1.clone()),
        ("PATH".into(), path),
    ]);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(&command).envs(vars).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = sh.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"SSH-2.0-OpenSSH_9.6\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&greeting), "{stdout}");
    let pushed = sessions(&tb)["keys"].as_array().unwrap().last().unwrap().clone();
    let made = std::fs::read_to_string(d.dir.path().join(".ssh/kenv_ed25519.pub")).unwrap();
    assert_eq!((pushed["key"].as_str().unwrap(), pushed["valid"].as_bool()), (made.trim(), Some(true)));

    // Destroy deletes the policy, detaching it from the group first.
    ok(d.kenv(&tb, &["destroy", "--yes"]));
    let left = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.list_policies().path_prefix("/kenv/stack/").send().await.unwrap().policies().len()
    });
    assert_eq!(left, 0);
}

/// The account's Session Manager preferences, as the default version of the Session document says.
fn preferences(tb: &Testbed) -> (String, Value, Vec<(String, String)>) {
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        let doc = ssm.get_document().name("SSM-SessionManagerRunShell").send().await.unwrap();
        let content: Value = serde_json::from_str(doc.content().unwrap()).unwrap();
        let tags = ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Document)
            .resource_id("SSM-SessionManagerRunShell")
            .send()
            .await
            .unwrap();
        let tags = tags.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
        (doc.document_version().unwrap().to_string(), content["inputs"].clone(), tags)
    })
}

#[test]
fn the_session_preferences_are_held_by_one_stack_kept_as_declared_and_put_back_by_destroy() {
    let tb = fresh_with(&[]);
    let d = Dir::new();
    let (before, console, _) = preferences(&tb);
    assert_eq!((before.as_str(), console["cloudWatchLogGroupName"].as_str()), ("1", Some("")));
    d.write(
        "sessions \"team\" {\n  log_group = \"/kenv/sessions\"\n  kms_key = \"alias/kenv-sessions\"\n  \
         idle_timeout = 15m\n  max_duration = 8h\n  run_as = \"ec2-user\"\n}\n",
    );
    let plan = ok(d.kenv(&tb, &["plan"]));
    assert!(plan.stdout.contains("~ sessions.team"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ held_by: \"stack\" (destroy puts back version 1)"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ idle_timeout: 20m → 15m"), "{}", plan.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    let (version, inputs, tags) = preferences(&tb);
    assert_eq!(version, "2");
    assert_eq!(inputs["cloudWatchLogGroupName"], "/kenv/sessions");
    assert_eq!(inputs["cloudWatchEncryptionEnabled"], true);
    assert_eq!(inputs["kmsKeyId"], "alias/kenv-sessions");
    assert_eq!(
        (&inputs["idleSessionTimeout"], &inputs["maxSessionDuration"]),
        (&Value::from("15"), &Value::from("480"))
    );
    assert_eq!((&inputs["runAsEnabled"], &inputs["runAsDefaultUser"]), (&Value::from(true), &Value::from("ec2-user")));
    assert!(
        tags.contains(&("kenv:stack".into(), "stack".into())) && tags.contains(&("kenv:previous".into(), "1".into())),
        "{tags:?}"
    );
    let again = ok(d.kenv(&tb, &["apply", "--yes", "--stats"]));
    assert_eq!(support::stack::totals(&again).1, 0, "{}", again.stderr);

    // Changed from the console: planned back.
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&tb.config().await);
        let mut content: Value = serde_json::from_str(
            ssm.get_document().name("SSM-SessionManagerRunShell").send().await.unwrap().content().unwrap(),
        )
        .unwrap();
        content["inputs"]["idleSessionTimeout"] = "60".into();
        content["inputs"]["cloudWatchLogGroupName"] = "".into();
        let made = ssm
            .update_document()
            .name("SSM-SessionManagerRunShell")
            .document_version("$LATEST")
            .content(content.to_string());
        let made = made.send().await.unwrap();
        let v = made.document_description().unwrap().document_version().unwrap().to_string();
        ssm.update_document_default_version()
            .name("SSM-SessionManagerRunShell")
            .document_version(v)
            .send()
            .await
            .unwrap();
    });
    let drift = ok(d.kenv(&tb, &["plan"]));
    assert!(drift.stdout.contains("~ idle_timeout: 1h → 15m"), "{}", drift.stdout);
    assert!(drift.stdout.contains("~ log_group: null → \"/kenv/sessions\""), "{}", drift.stdout);
    ok(d.kenv(&tb, &["apply", "--yes"]));
    assert_eq!(preferences(&tb).1["idleSessionTimeout"], "15");

    // A second stack may not take them: refused, naming the stack that holds them.
    let other = Dir::new();
    other.write("sessions \"mine\" {\n  idle_timeout = 10m\n}\n");
    let refused = other.kenv(&tb, &["plan", "--stack", "other"]);
    assert_eq!(refused.code, 1);
    let flat = support::stack::flat(&refused.stderr);
    assert!(
        flat.contains("the account's Session Manager preferences in ap-northeast-1 are held by stack `stack`"),
        "{flat}"
    );
    assert!(flat.contains("[stack.kenv:1:1]"), "{flat}");

    // Destroy puts back what the account had: the console's version, kenv's tags gone.
    let destroyed = ok(d.kenv(&tb, &["destroy", "--yes"]));
    assert!(destroyed.stdout.contains("version 1, as before the stack"), "{}", destroyed.stdout);
    let (version, inputs, tags) = preferences(&tb);
    assert_eq!((version.as_str(), &inputs), ("1", &console));
    assert!(!tags.iter().any(|(k, _)| k.starts_with("kenv:")), "{tags:?}");
}
