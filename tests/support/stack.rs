//! What the plan/apply tests share: stacks to write, the testbed read back through the SDK, and
//! `--stats` and diagnostics taken apart.

use super::testbed::Testbed;
use super::Output;
use aws_sdk_ec2::types::Filter;

/// `total: R read, M mutating` from `--stats` output.
pub fn totals(out: &Output) -> (u64, u64) {
    let line = out.stderr.lines().find(|l| l.trim_start().starts_with("total: ")).expect("a --stats total line");
    let nums: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    (nums[0], nums[1])
}

/// Diagnostics without their box drawing and line wrapping, for matching phrases.
pub fn flat(text: &str) -> String {
    text.replace(['│', '·', '╭', '╰', '─', '┬'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn ok(out: Output) -> Output {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    out
}

/// A stack of `count` Cloud9 environments sharing one role.
pub fn stack(subnet: &str, count: usize, instance_type: &str, hop_limit: i64, rules: &str) -> String {
    named("dev", subnet, count, instance_type, hop_limit, rules)
}

/// The same, with the role and environments named after `name` (names are per account).
pub fn named(name: &str, subnet: &str, count: usize, instance_type: &str, hop_limit: i64, rules: &str) -> String {
    format!(
        r#"role "{name}" {{
  trust = ["ec2.amazonaws.com", "cloud9.amazonaws.com"]
  allow ["secretsmanager:GetSecretValue"] on "arn:aws:secretsmanager:ap-northeast-1:*:secret:dev/*"
}}
for i in range({count}) {{
  environment "{name}-${{i}}" {{
    kind                = cloud9
    instance_type       = "{instance_type}"
    image               = "amazonlinux-2023-x86_64"
    subnet              = "{subnet}"
    connection          = ssm
    auto_stop           = 30m
    managed_credentials = false
    role                = "{name}"
    imds                = {{ tokens: "required", hop_limit: {hop_limit}, reason: "containers on the box" }}
    {rules}
  }}
}}
"#
    )
}

/// The text without whitespace or box drawing: a diagnostic wraps at the terminal's width,
/// inside an instance id too.
pub fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && !"│·╭╰─┬".contains(*c)).collect()
}

/// The example's settings for a testbed: its subnet, C1WS manager and GHE group.
pub fn example_vars(tb: &Testbed) -> Vec<(&'static str, &str)> {
    vec![
        ("KOBANZAKI_SUBNET", tb.subnet_id.as_str()),
        ("KOBANZAKI_C1WS_MANAGER", tb.c1ws.as_str()),
        ("KOBANZAKI_GHE_GROUP", tb.ghe_sg.as_str()),
    ]
}

pub struct Dir {
    pub dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir { dir: tempfile::tempdir().unwrap() }
    }

    pub fn write(&self, text: &str) {
        std::fs::write(self.dir.path().join("stack.kenv"), text).unwrap();
    }

    pub fn kenv(&self, tb: &Testbed, args: &[&str]) -> Output {
        let mut all = vec![args[0], "stack.kenv"];
        all.extend(&args[1..]);
        tb.kenv(self.dir.path(), &all, &[])
    }
}

pub async fn sdk(tb: &Testbed) -> (aws_sdk_ec2::Client, aws_sdk_cloud9::Client, aws_sdk_iam::Client) {
    let config = tb.config().await;
    (aws_sdk_ec2::Client::new(&config), aws_sdk_cloud9::Client::new(&config), aws_sdk_iam::Client::new(&config))
}

/// The instances tagged with a kenv address (a retried or repeated launch shows as more than one).
pub fn instances_at(tb: &Testbed, address: &str) -> Vec<aws_sdk_ec2::types::Instance> {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let f = Filter::builder().name("tag:kenv:address").values(address).build();
        let found = ec2.describe_instances().filters(f).send().await.unwrap();
        found.reservations().iter().flat_map(|r| r.instances()).cloned().collect()
    })
}

/// The ingress rules on the testbed's GHE group, as `tcp 443 from PEER (description), ADDRESS`.
pub fn ghe_rules(tb: &Testbed) -> Vec<String> {
    rt().block_on(async {
        let (ec2, _, _) = sdk(tb).await;
        let on = Filter::builder().name("group-id").values(&tb.ghe_sg).build();
        let rules = ec2.describe_security_group_rules().filters(on).send().await.unwrap();
        let mut out: Vec<String> = rules
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .map(|r| {
                let peer = r.referenced_group_info().and_then(|g| g.group_id()).or(r.cidr_ipv4()).unwrap_or("");
                let address = r.tags().iter().find(|t| t.key() == Some("kenv:address")).and_then(|t| t.value());
                let (proto, port, desc) =
                    (r.ip_protocol().unwrap(), r.from_port().unwrap(), r.description().unwrap_or(""));
                format!("{proto} {port} from {peer} ({desc}), {}", address.unwrap_or("untagged"))
            })
            .collect();
        out.sort();
        out
    })
}

/// A secret's resource policy, parsed.
pub fn secret_policy(tb: &Testbed, name: &str) -> Option<serde_json::Value> {
    rt().block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&tb.config().await);
        let out = sm.get_resource_policy().secret_id(name).send().await.unwrap();
        out.resource_policy().map(|p| serde_json::from_str(p).unwrap())
    })
}

/// Reads a secret as a new IAM user whose own policy allows GetSecretValue on every secret:
/// the error, or the value.
pub fn read_as_another_user(tb: &Testbed, name: &str) -> String {
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&tb.config().await);
        iam.create_user().user_name("reader").send().await.unwrap();
        let everything = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        iam.put_user_policy().user_name("reader").policy_name("all").policy_document(everything).send().await.unwrap();
        let key = iam.create_access_key().user_name("reader").send().await.unwrap();
        let key = key.access_key().unwrap();
        let creds = aws_sdk_secretsmanager::config::Credentials::new(key.access_key_id(), key.secret_access_key(), None, None, "reader");
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&tb.endpoint)
            .region(aws_config::Region::new(tb.region.clone()))
            .credentials_provider(creds)
            .load()
            .await;
        let sm = aws_sdk_secretsmanager::Client::new(&config);
        match sm.get_secret_value().secret_id(name).send().await {
            Ok(v) => v.secret_string().unwrap_or("").to_string(),
            Err(e) => format!("{:?}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)),
        }
    })
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Instances (not terminated) and security groups tagged with the stack, and its roles.
pub fn owned(tb: &Testbed, stack: &str) -> (usize, usize, usize) {
    rt().block_on(async {
        let (ec2, _, iam) = sdk(tb).await;
        let tag = Filter::builder().name("tag:kenv:stack").values(stack).build();
        let live = Filter::builder().name("instance-state-name").values("pending").values("running").build();
        let instances = ec2.describe_instances().filters(tag.clone()).filters(live).send().await.unwrap();
        let instances = instances.reservations().iter().map(|r| r.instances().len()).sum();
        let groups = ec2.describe_security_groups().filters(tag).send().await.unwrap().security_groups().len();
        let roles = iam.list_roles().path_prefix(format!("/kenv/{stack}/")).send().await.unwrap().roles().len();
        (instances, groups, roles)
    })
}

/// A file with one ec2 environment whose role lets its SSM agent register, with `body` added.
pub fn on_ssm_box(tb: &Testbed, body: &str) -> String {
    format!(
        "let ssm = role \"box-ssm\" {{\n  trust = [\"ec2.amazonaws.com\"]\n  \
         managed = [\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]\n}}\nssm\n\
         environment \"box\" {{\n  kind = ec2\n  instance_type = \"t3.small\"\n  image = \"ami-12c6146b\"\n  \
         subnet = \"{}\"\n  role = ssm\n  {body}\n}}\n",
        tb.subnet_id
    )
}

/// Both environments of a two-box stack on SSM, each with `body` added.
pub fn two_ssm_boxes(tb: &Testbed, body: &str) -> String {
    format!(
        "let ssm = role \"boxes-ssm\" {{\n  trust = [\"ec2.amazonaws.com\"]\n  \
         managed = [\"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore\"]\n}}\nssm\n\
         for n in [\"a\", \"b\"] {{\n  environment \"box-${{n}}\" {{\n    kind = ec2\n    instance_type = \"t3.small\"\n    \
         image = \"ami-12c6146b\"\n    subnet = \"{}\"\n    role = ssm\n    {body}\n  }}\n}}\n",
        tb.subnet_id
    )
}
