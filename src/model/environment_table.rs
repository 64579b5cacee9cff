//! The environment's attribute table: one row per attribute (see `attribute.rs`), and building
//! and showing an environment by it. Rows are in the manual's order, which is also the order
//! their diagnostics come in.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::LazyLock;

use super::attribute::{field_count, fields_by_name, fields_of, opt_quoted, quoted, string_map_text};
use super::attribute::{About, Attribute, Change, Compare, Declared, Getter};
use super::environment::{Connection, EnvKind, Environment, Imds};
use super::environment_read::{auto_stop_minutes, checked, imds, read_description, read_image};
use super::environment_read::{read_managed_credentials, read_members, read_owner, read_security_groups};
use super::environment_read::{read_tags, required, role_name};
use super::tags::{
    principal_name, ACCESS, TAG_AUTO_STOP, TAG_CONNECTION, TAG_IMAGE, TAG_MEMBERS, TAG_OWNER, TAG_PROTECT,
};
use super::validate;
use super::{Attrs, Children, Decl, Field, FieldList, Record, Value};
use crate::aws::LiveEnv;
use crate::syntax::strings::format_duration;

type Row = Attribute<Environment, LiveEnv>;

impl Declared for Environment {
    type Live = LiveEnv;
    const ATTRIBUTES: &'static [Row] = &[
        Row {
            about: About { name: "kind", ty: "`cloud9` or `ec2`", default: "`cloud9`", rule: "", words: &["cloud9", "ec2"] },
            read: |a, e| {
                e.kind = match a.choice("kind", &["cloud9", "ec2"], "cloud9") {
                    "ec2" => EnvKind::Ec2,
                    _ => EnvKind::Cloud9,
                }
            },
            field: Some(|e| Field::Word(e.kind_name())),
            change: Change::Replaces(Compare {
                desired: |e, s| s.put(e.kind_name()),
                live: |l, s| s.put(if l.cloud9.is_some() { "cloud9" } else { "ec2" }),
            }),
        },
        Row {
            about: About {
                name: "instance_type",
                ty: "string",
                default: "",
                rule: "FAMILY.SIZE, e.g. `t3.medium`; changed in place (stop, resize, start: the disk is kept)",
                words: &[],
            },
            read: |a, e| e.instance_type = required(a, "instance_type", "\"t3.medium\"", validate::instance_type),
            field: Some(|e| Field::Str(&e.instance_type)),
            change: Change::InPlace(Compare {
                desired: |e, s| s.put(quoted(&e.instance_type)),
                live: |l, s| s.put(quoted(&l.instance.instance_type)),
            }),
        },
        Row {
            about: About {
                name: "image",
                ty: "string",
                default: "",
                rule: "Cloud9 aliases `amazonlinux-2023-x86_64`, `amazonlinux-2-x86_64`, `ubuntu-22.04-x86_64` or `resolve:ssm:/aws/service/cloud9/amis/<alias>`; for ec2 also `ami-…`. An ec2 alias is resolved when the plan is made, through the SSM public parameter AWS keeps current for it (`/aws/service/ami-amazon-linux-latest/…`), and the plan shows the AMI; the `kenv:image` tag keeps the alias, so a newer AMI behind it does not replace a running box",
                words: &[],
            },
            read: read_image,
            field: Some(|e| Field::Str(&e.image)),
            change: Change::Replaces(Compare {
                desired: |e, s| s.put(quoted(&e.image)),
                live: |l, s| s.put(opt_quoted(l.instance.tags.get(TAG_IMAGE).map(String::as_str))),
            }),
        },
        Row {
            about: About {
                name: "subnet",
                ty: "string",
                default: "",
                rule: "`subnet-` + 8 or 17 hex digits",
                words: &[],
            },
            read: |a, e| e.subnet = required(a, "subnet", "\"subnet-0123456789abcdef0\"", |s| validate::resource_id(s, "subnet")),
            field: Some(|e| Field::Str(&e.subnet)),
            change: Change::Replaces(Compare {
                desired: |e, s| s.put(quoted(&e.subnet)),
                live: |l, s| s.put(quoted(&l.instance.subnet)),
            }),
        },
        Row {
            about: About {
                name: "connection",
                ty: "`ssm` or `ssh`",
                default: "`ssm`",
                rule: "Cloud9 `CONNECT_SSM` / `CONNECT_SSH`",
                words: &["ssm", "ssh"],
            },
            read: |a, e| {
                e.connection = match a.choice("connection", &["ssm", "ssh"], "ssm") {
                    "ssh" => Connection::Ssh,
                    _ => Connection::Ssm,
                }
            },
            field: Some(|e| Field::Word(e.connection_name())),
            change: Change::Replaces(Compare {
                desired: |e, s| s.put(e.connection_name()),
                live: |l, s| match &l.cloud9 {
                    Some(c9) => s.put(if c9.connection == "CONNECT_SSM" { "ssm" } else { "ssh" }),
                    None => s.put(l.instance.tags.get(TAG_CONNECTION).map_or("ssm", String::as_str)),
                },
            }),
        },
        Row {
            about: About {
                name: "auto_stop",
                ty: "duration",
                default: "never",
                rule: "0–20160 minutes (`automaticStopTimeMinutes`)",
                words: &[],
            },
            read: |a, e| e.auto_stop = a.duration("auto_stop").and_then(|(secs, span)| auto_stop_minutes(a, e.kind, secs, span)),
            field: Some(|e| Field::Value(e.auto_stop.map_or(Value::Null, |m| Value::Duration(m * 60)))),
            change: Change::Replaces(Compare {
                desired: |e, s| cloud9(e, || s.put(e.auto_stop_text())),
                live: |l, s| {
                    if l.cloud9.is_some() {
                        let stop = l.instance.tags.get(TAG_AUTO_STOP).and_then(|m| m.parse::<i64>().ok());
                        s.put(stop.map_or("never".into(), |m| format_duration(m * 60)));
                    }
                },
            }),
        },
        Row {
            about: About {
                name: "managed_credentials",
                ty: "bool",
                default: "`true` (Cloud9's)",
                rule: "Cloud9 only",
                words: &[],
            },
            read: read_managed_credentials,
            field: Some(|e| Field::Value(Value::Bool(e.managed_credentials))),
            change: Change::InPlace(Compare {
                desired: |e, s| cloud9(e, || s.put(e.managed_credentials.to_string())),
                live: |l, s| {
                    if let Some(c9) = &l.cloud9 {
                        s.put(c9.managed_credentials_on().to_string());
                    }
                },
            }),
        },
        Row {
            about: About {
                name: "role",
                ty: "role or role name",
                default: "Cloud9's `AWSCloud9SSMInstanceProfile` (SSM), else none",
                rule: "must be declared in the stack",
                words: &[],
            },
            read: |a, e| e.role = role_name(a),
            field: Some(|e| Field::opt(&e.role)),
            change: Change::InPlace(Compare {
                desired: |e, s| s.put(opt_quoted(e.role.as_deref().or(cloud9_profile(e)))),
                live: |l, s| {
                    let profile = l.instance.instance_profile.as_deref().and_then(|arn| arn.rsplit('/').next());
                    s.put(opt_quoted(profile));
                },
            }),
        },
        Row {
            about: About {
                name: "imds",
                ty: "`{ tokens, hop_limit, reason }`",
                default: "`{ tokens: \"required\", hop_limit: 1 }`",
                rule: "tokens `required`/`optional`, hop limit 1–64",
                words: &[],
            },
            read: |a, e| e.imds = imds(a),
            field: Some(|e| {
                Field::Fields(vec![
                    ("hop_limit", Field::Value(Value::Int(e.imds.hop_limit))),
                    ("reason", Field::opt(&e.imds.reason)),
                    ("tokens", Field::Str(&e.imds.tokens)),
                ])
            }),
            change: Change::InPlace(Compare {
                desired: |e, s| {
                    s.part("tokens", quoted(&e.imds.tokens));
                    s.part("hop_limit", e.imds.hop_limit.to_string());
                },
                live: |l, s| {
                    s.part("tokens", quoted(&l.instance.metadata.tokens));
                    s.part("hop_limit", l.instance.metadata.hop_limit.to_string());
                },
            }),
        },
        Row {
            about: About {
                name: "tags",
                ty: "record of strings",
                default: "`{}`",
                rule: "keys 1–128 characters, not `aws:`; values ≤ 256",
                words: &[],
            },
            read: read_tags,
            field: Some(|e| Field::Record(&e.tags)),
            // With the tags naming who may open the box (`owner`, `members`).
            change: Change::InPlace(Compare {
                desired: |e, s| {
                    let mut tags: BTreeMap<String, String> =
                        e.tags.iter().map(|(k, v)| (k.to_string(), v.to_text())).collect();
                    tags.extend(access_tags(e));
                    s.put(string_map_text(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
                },
                live: |l, s| {
                    let kept = l.instance.tags.iter().filter(|(k, _)| is_kept_tag(k));
                    s.put(string_map_text(kept.map(|(k, v)| (k.as_str(), v.as_str()))));
                },
            }),
        },
        Row {
            about: About {
                name: "security_groups",
                ty: "list of strings",
                default: "`[]`",
                rule: "`sg-` ids: extra groups to attach beside the environment's own",
                words: &[],
            },
            read: read_security_groups,
            field: Some(|e| Field::Strs(&e.security_groups)),
            change: Change::Ignored,
        },
        Row {
            about: About { name: "description", ty: "string", default: "", rule: "≤ 200 characters", words: &[] },
            read: read_description,
            field: Some(|e| Field::opt(&e.description)),
            change: Change::InPlace(Compare {
                desired: |e, s| cloud9(e, || s.put(opt_quoted(e.description.as_deref()))),
                live: |l, s| {
                    if let Some(c9) = &l.cloud9 {
                        s.put(opt_quoted(c9.description.as_deref()));
                    }
                },
            }),
        },
        Row {
            about: About {
                name: "protect",
                ty: "bool",
                default: "`true`",
                rule: "a plan that would replace the environment (`kind`, `image`, `subnet`, `connection`, `auto_stop` changed) or delete it (gone from the file) is refused, naming what would be lost, unless `--replace ADDRESS` / `--delete ADDRESS` names it; `protect = false` lifts it once applied. `instance_type` changes in place (stop, resize, start). `kenv destroy` is not held back",
                words: &[],
            },
            read: |a, e| e.protect = a.bool("protect", true),
            field: Some(|e| Field::Value(Value::Bool(e.protect))),
            change: Change::InPlace(Compare {
                desired: |e, s| s.put(e.protect.to_string()),
                live: |l, s| s.put(protected(l).to_string()),
            }),
        },
        Row {
            about: About {
                name: "owner",
                ty: "string",
                default: "who applies",
                rule: "an IAM user or role ARN: whose box it is. Recorded on the instance as the tag `kenv:owner` (the name at the ARN's end), by which the stack's developer policy (`kenv-STACK-developers`) lets only them open it; for Cloud9 also the environment's owner, compared only when declared, and a new owner replaces a Cloud9 environment (Cloud9 cannot change it)",
                words: &[],
            },
            read: read_owner,
            field: Some(|e| Field::opt(&e.owner)),
            change: Change::Replaces(Compare {
                desired: |e, s| cloud9(e, || e.owner.iter().for_each(|o| s.put(quoted(o)))),
                live: |l, s| l.cloud9.iter().for_each(|c9| s.put(quoted(&c9.owner))),
            }),
        },
        Row {
            about: About {
                name: "members",
                ty: "record",
                default: "",
                rule: "user or role ARN → `\"read-write\"` or `\"read-only\"` (an ec2 box: `\"read-write\"`: a session is a shell), not the owner: who else may open the box, recorded as the tag `kenv:members`; for Cloud9 also its memberships, kept exactly so (added, changed, removed in place) when declared, left alone when not",
                words: &[],
            },
            read: read_members,
            field: Some(|e| e.members.as_ref().map_or(Field::Value(Value::Null), Field::Record)),
            change: Change::InPlace(Compare {
                desired: |e, s| cloud9(e, || e.members.iter().for_each(|m| s.put(Value::Record(m.clone()).to_kenv()))),
                live: |l, s| {
                    if let (Some(_), Some(members)) = (&l.cloud9, &l.members) {
                        s.put(string_map_text(members.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
                    }
                },
            }),
        },
        Row {
            about: About {
                name: "renamed_from",
                ty: "string",
                default: "",
                rule: "the environment's previous name: the live one of that name (when the file no longer declares it) is this one, moved — the same instance, Cloud9 environment, group and reach rules, re-tagged (the group keeps its EC2 name) — where a rename would otherwise replace it",
                words: &[],
            },
            read: |a, e| e.renamed_from = checked(a, "renamed_from", validate::environment_name),
            field: Some(|e| Field::opt(&e.renamed_from)),
            change: Change::Ignored,
        },
    ];
}

/// What an environment shows besides its attributes: its name and its children.
const PARTS: [(&str, Getter<Environment>); 4] = [
    ("installs", |e| Field::decls(&e.installs, Decl::Install)),
    ("name", |e| Field::Str(&e.name)),
    ("rules", |e| Field::decls(&e.rules, Decl::Rule)),
    ("suppressions", |e| Field::decls(&e.suppressions, Decl::Suppress)),
];

const FIELDS: usize = field_count(Environment::ATTRIBUTES, PARTS.len());

static BY_NAME: LazyLock<Vec<(&str, Getter<Environment>)>> = LazyLock::new(|| fields_by_name(&PARTS));

impl Environment {
    pub fn build(name: Rc<str>, a: &mut Attrs, children: Children) -> Environment {
        let blank = Environment {
            name,
            kind: EnvKind::Cloud9,
            instance_type: Rc::from(""),
            image: Rc::from(""),
            subnet: Rc::from(""),
            connection: Connection::Ssm,
            auto_stop: None,
            managed_credentials: true,
            role: None,
            imds: Imds { tokens: "required".into(), hop_limit: 1, reason: None },
            tags: Record::new(),
            security_groups: Vec::new(),
            description: None,
            protect: true,
            owner: None,
            members: None,
            renamed_from: None,
            rules: children.rules,
            installs: children.installs,
            suppressions: children.suppressions,
            body: Rc::default(),
            span: a.span,
        };
        Environment::read_attributes(blank, a)
    }

    /// Its fields in name order: what field access, policies and JSON output see.
    pub fn fields(&self) -> FieldList<'_, FIELDS> {
        fields_of(&BY_NAME, self)
    }
}

/// A Cloud9 environment's side of a Cloud9-only comparison.
fn cloud9(e: &Environment, put: impl FnOnce()) {
    if e.kind == EnvKind::Cloud9 {
        put()
    }
}

/// The instance profile Cloud9 gives an SSM environment's instance when the file names no role.
const CLOUD9_SSM_PROFILE: &str = "AWSCloud9SSMInstanceProfile";

fn cloud9_profile(e: &Environment) -> Option<&'static str> {
    (e.kind == EnvKind::Cloud9 && e.connection == Connection::Ssm).then_some(CLOUD9_SSM_PROFILE)
}

/// Tags kenv, AWS and Cloud9 set, which are not the user's `tags`.
pub fn is_user_tag(key: &str) -> bool {
    !key.starts_with("aws:") && !key.starts_with("kenv:") && key != "Name"
}

/// The tags an environment's instance carries exactly as declared: the user's and who may open it.
pub fn is_kept_tag(key: &str) -> bool {
    is_user_tag(key) || ACCESS.contains(&key)
}

/// The tags naming who may open the box: `kenv:owner` and `kenv:members`, when declared.
pub fn access_tags(e: &Environment) -> BTreeMap<String, String> {
    let name = |arn: &str| principal_name(arn).to_string();
    let mut tags = BTreeMap::new();
    if let Some(owner) = &e.owner {
        tags.insert(TAG_OWNER.to_string(), name(owner));
    }
    if let Some(members) = e.members.as_ref().filter(|m| !m.is_empty()) {
        let names: Vec<String> = members.iter().map(|(arn, _)| name(arn)).collect();
        tags.insert(TAG_MEMBERS.to_string(), format!(":{}:", names.join(":")));
    }
    tags
}

/// Whether the environment on AWS is protected (an untagged one is: it may hold someone's work).
pub fn protected(live: &LiveEnv) -> bool {
    live.instance.tags.get(TAG_PROTECT).map(String::as_str) != Some("false")
}
