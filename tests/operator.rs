//! The operator's least privilege, against the testbed enforcing IAM for an IAM user as AWS does
//! (resources by ARN, tags as `aws:ResourceTag`/`aws:RequestTag`, `iam:PassRole` with
//! `iam:PassedToService`, tagging on creation): the example's plan, apply, plan and destroy as a
//! user holding exactly `kenv iam-policy`'s output; each statement of it needed; every IAM document
//! kenv writes passes parliament.

mod support;

use serde_json::Value;
use support::stack::{example_vars, ok, owned, rt};
use support::testbed::{fresh, Testbed};

const EXAMPLE: &str = "examples/kobanzaki/main.kenv";

/// `kenv iam-policy` of the example, for a command.
fn operator_policy(tb: &Testbed, command: &str) -> Value {
    let out = ok(tb.kenv(&support::repo_dir(), &["iam-policy", EXAMPLE, "--for", command], &example_vars(tb)));
    serde_json::from_str(&out.stdout).unwrap()
}

/// The IAM user `kenv-operator`, made once; returns its keys.
fn operator(tb: &Testbed) -> (String, String) {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.create_user().user_name("kenv-operator").send().await.unwrap();
        let key = iam.create_access_key().user_name("kenv-operator").send().await.unwrap();
        let key = key.access_key().unwrap();
        (key.access_key_id().to_string(), key.secret_access_key().to_string())
    })
}

/// Makes `policy` the operator's only policy.
fn hold(tb: &Testbed, policy: &Value) {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        let doc = policy.to_string();
        iam.put_user_policy().user_name("kenv-operator").policy_name("kenv").policy_document(doc).send().await.unwrap();
    })
}

/// What an administrator does once the stack is up: the developers get the developer policy (so
/// destroy has it to detach).
fn attach_developer_policy(tb: &Testbed) {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        let arn = "arn:aws:iam::123456789012:policy/kenv/kobanzaki/kenv-kobanzaki-developers";
        iam.attach_user_policy().user_name("alice").policy_arn(arn).send().await.unwrap();
    })
}

fn as_operator(tb: &Testbed, keys: &(String, String), args: &[&str]) -> support::Output {
    let mut vars = example_vars(tb);
    vars.extend([("AWS_ACCESS_KEY_ID", keys.0.as_str()), ("AWS_SECRET_ACCESS_KEY", keys.1.as_str())]);
    tb.kenv(&support::repo_dir(), args, &vars)
}

#[test]
fn the_example_runs_as_an_operator_holding_exactly_its_policy() {
    let tb = fresh();
    let keys = operator(&tb);
    hold(&tb, &operator_policy(&tb, "plan"));
    let plan = as_operator(&tb, &keys, &["plan", EXAMPLE, "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(plan.stdout.contains("as arn:aws:iam::123456789012:user/kenv-operator"), "{}", plan.stdout);
    // The plan's policy reads; it cannot apply, and nothing is made.
    let refused = as_operator(&tb, &keys, &["apply", EXAMPLE, "--yes"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("is not authorized to perform: ssm:PutParameter"), "{}", refused.stderr);

    hold(&tb, &operator_policy(&tb, "apply"));
    ok(as_operator(&tb, &keys, &["apply", EXAMPLE, "--yes"]));
    assert_eq!(owned(&tb, "kobanzaki"), (2, 2, 1));
    let again = as_operator(&tb, &keys, &["plan", EXAMPLE, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    attach_developer_policy(&tb);

    hold(&tb, &operator_policy(&tb, "destroy"));
    ok(as_operator(&tb, &keys, &["destroy", EXAMPLE, "--yes"]));
    assert_eq!(owned(&tb, "kobanzaki"), (0, 0, 0));
}

/// Without any one statement the run fails at the first call that needed it, naming the action
/// and the resource; what it made is the stack's (destroy, as an administrator, finds all of it).
#[test]
fn every_statement_of_the_operators_policy_is_needed() {
    let tb = fresh();
    let keys = operator(&tb);
    let full = operator_policy(&tb, "apply");
    let statements = full["Statement"].as_array().unwrap().clone();
    for (i, statement) in statements.iter().enumerate().filter(|(_, s)| s["Effect"] == "Allow") {
        let sid = statement["Sid"].as_str().unwrap();
        let mut without = full.clone();
        without["Statement"].as_array_mut().unwrap().remove(i);
        hold(&tb, &without);
        let mut failed = as_operator(&tb, &keys, &["apply", EXAMPLE, "--yes"]);
        if failed.code == 0 {
            attach_developer_policy(&tb);
            failed = as_operator(&tb, &keys, &["destroy", EXAMPLE, "--yes"]);
        }
        assert_eq!(failed.code, 1, "without {sid}, apply and destroy succeeded");
        let flat = support::stack::flat(&failed.stderr);
        let actions: Vec<&str> = statement["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let named = actions.iter().any(|a| flat.contains(&format!("is not authorized to perform: {a} on resource: ")));
        assert!(named, "without {sid} ({actions:?}), the failure names none of its actions:\n{}", failed.stderr);
        ok(tb.kenv(&support::repo_dir(), &["destroy", EXAMPLE, "--yes"], &example_vars(&tb)));
        assert_eq!(owned(&tb, "kobanzaki"), (0, 0, 0), "left after the run without {sid}");
    }
}

/// Every IAM document kenv writes — the role's trust and inline policy, the secrets' locks, the
/// developers' policy — and the operator's policies pass parliament (its default auditors).
#[test]
fn parliament_finds_nothing_in_the_documents_kenv_writes() {
    let tb = fresh();
    let dir = std::env::temp_dir().join(format!("kenv-parliament-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for command in ["plan", "apply", "destroy"] {
        let path = dir.join(format!("iam-policy-for-{command}.json"));
        std::fs::write(&path, operator_policy(&tb, command).to_string()).unwrap();
        files.push(path);
    }
    ok(tb.kenv(&support::repo_dir(), &["apply", EXAMPLE, "--yes"], &example_vars(&tb)));
    // The documents as AWS has them, read with boto3 (which decodes IAM's URL-encoded ones), then
    // each given to parliament.
    let script = r#"
import json, os, sys, boto3
from parliament import analyze_policy_string
region = os.environ["AWS_REGION"]
iam, sm = boto3.client("iam", region_name=region), boto3.client("secretsmanager", region_name=region)
docs = {path: json.load(open(path)) for path in sys.argv[1:]}
role = iam.get_role(RoleName="kobanzaki-dev")["Role"]
docs["trust of role.kobanzaki-dev"] = role["AssumeRolePolicyDocument"]
for name in iam.list_role_policies(RoleName="kobanzaki-dev")["PolicyNames"]:
    docs[f"inline policy {name}"] = iam.get_role_policy(RoleName="kobanzaki-dev", PolicyName=name)["PolicyDocument"]
arn = "arn:aws:iam::123456789012:policy/kenv/kobanzaki/kenv-kobanzaki-developers"
version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
docs["developers' policy"] = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
for name in ["kobanzaki/c1ws-tenant", "kobanzaki/c1ws-token"]:
    docs[f"lock of {name}"] = json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"])
print(len(docs), "documents")
# parliament reads every document as an identity policy; a role's trust policy may not have a
# Resource (IAM refuses one), so that one finding, and only on trust policies, is not a finding.
trust_only = ("MALFORMED", "Statement contains neither Resource nor NotResource")
for what, doc in docs.items():
    for f in analyze_policy_string(json.dumps(doc)).findings:
        if not (what.startswith("trust of") and (f.issue, f.detail) == trust_only):
            print("FINDING", what, f.issue, f.detail, json.dumps(doc))
"#;
    let mut command = std::process::Command::new(support::testbed::python());
    command.arg("-c").arg(script).args(&files).env_clear();
    for (k, v) in tb.env(&dir) {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("8 documents\n"), "{stdout}");
    assert!(!stdout.contains("FINDING"), "{stdout}");
}

/// A role's `boundary`: the role can do no more than it allows (the testbed evaluates a
/// principal's boundary as AWS does), and an operator holding the policy made for bounded roles
/// cannot take a boundary off.
#[test]
fn a_permissions_boundary_bounds_the_role_and_the_operator_cannot_lift_it() {
    let tb = fresh();
    let keys = operator(&tb);
    let boundary = rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"}]}"#;
        let made = iam.create_policy().policy_name("team-boundary").policy_document(doc).send().await.unwrap();
        made.policy().unwrap().arn().unwrap().to_string()
    });
    let d = support::stack::Dir::new();
    let file = |bounded: bool| {
        let line = if bounded { format!("  boundary = \"{boundary}\"\n") } else { String::new() };
        format!(
            "role \"bounded\" {{\n  trust = [\"ec2.amazonaws.com\"]\n{line}  \
             allow [\"ec2:DescribeInstances\", \"ec2:DescribeSubnets\"] on \"*\"\n}}\n"
        )
    };
    d.write(&file(true));
    let policy: Value = serde_json::from_str(&ok(d.kenv(&tb, &["iam-policy", "--for", "apply"])).stdout).unwrap();
    let new_roles =
        policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "NewRolesWithinTheirBoundaries");
    assert_eq!(new_roles.unwrap()["Condition"]["StringEquals"]["iam:PermissionsBoundary"][0], boundary.as_str());
    hold(&tb, &policy);
    let vars = [("AWS_ACCESS_KEY_ID", keys.0.as_str()), ("AWS_SECRET_ACCESS_KEY", keys.1.as_str())];
    ok(tb.kenv(d.dir.path(), &["apply", "stack.kenv", "--yes"], &vars));

    rt().block_on(async {
        let config = tb.config().await;
        let role = aws_sdk_iam::Client::new(&config).get_role().role_name("bounded").send().await.unwrap();
        let role = role.role().unwrap();
        assert_eq!(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()), Some(boundary.as_str()));
        let sts = aws_sdk_sts::Client::new(&config);
        let session = sts.assume_role().role_arn(role.arn()).role_session_name("box").send().await.unwrap();
        let c = session.credentials().unwrap();
        let creds = aws_sdk_ec2::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        );
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&config).credentials_provider(creds).build(),
        );
        ec2.describe_instances().send().await.expect("the role and its boundary allow it");
        let refused = ec2.describe_subnets().send().await.expect_err("the boundary does not allow it");
        let text = format!("{:?}", aws_sdk_ec2::error::DisplayErrorContext(&refused));
        assert!(text.contains("no permissions boundary allows the ec2:DescribeSubnets action"), "{text}");
    });

    d.write(&file(false));
    let lifted = tb.kenv(d.dir.path(), &["apply", "stack.kenv", "--yes"], &vars);
    assert_eq!(lifted.code, 1, "{}", lifted.stdout);
    let flat = support::stack::flat(&lifted.stderr);
    assert!(flat.contains("not authorized to perform: iam:DeleteRolePermissionsBoundary"), "{}", lifted.stderr);
    ok(d.kenv(&tb, &["destroy", "--yes"]));
}
