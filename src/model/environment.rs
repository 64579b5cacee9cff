//! `environment NAME { … }`: a Cloud9 environment or an EC2 instance reached over SSM.

use std::rc::Rc;

use crate::model::{Record, Value};
use crate::source::Span;
use crate::syntax::strings::format_duration;

use super::validate::{self, MAX_AUTO_STOP_MINUTES};
use super::{Attrs, Children, Decl, Field, FieldList, InstallStep, Rule, Suppression};

pub const ATTRS: &[&str] = &[
    "kind",
    "instance_type",
    "image",
    "subnet",
    "connection",
    "auto_stop",
    "managed_credentials",
    "role",
    "imds",
    "tags",
    "security_groups",
    "description",
    "protect",
    "owner",
    "members",
    "renamed_from",
];

/// Attributes whose value may be written as a bare word: `kind = cloud9`.
pub const WORD_ATTRS: &[(&str, &[&str])] = &[("kind", &["cloud9", "ec2"]), ("connection", &["ssm", "ssh"])];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Cloud9,
    Ec2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Ssm,
    Ssh,
}

impl Connection {
    /// Cloud9's `connectionType`.
    pub fn aws(self) -> &'static str {
        match self {
            Connection::Ssm => "CONNECT_SSM",
            Connection::Ssh => "CONNECT_SSH",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Imds {
    /// "required" (IMDSv2 only) or "optional".
    pub tokens: Rc<str>,
    pub hop_limit: i64,
    /// Why a hop limit above 1 is needed (e.g. containers on the box); the baseline asks for it.
    pub reason: Option<Rc<str>>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: Rc<str>,
    pub kind: EnvKind,
    pub instance_type: Rc<str>,
    pub image: Rc<str>,
    pub subnet: Rc<str>,
    pub connection: Connection,
    /// Minutes; None when not set.
    pub auto_stop: Option<i64>,
    pub managed_credentials: bool,
    pub role: Option<Rc<str>>,
    pub imds: Imds,
    /// Text values only (`Attrs::string_map`).
    pub tags: Record,
    pub security_groups: Vec<Rc<str>>,
    pub description: Option<Rc<str>>,
    /// People live in it: apply replaces or deletes it only when told to by name (default true).
    pub protect: bool,
    /// Cloud9: the IAM user or role that owns it (None: whoever applies).
    pub owner: Option<Rc<str>>,
    /// Cloud9: who else may open it, by user or role ARN: `read-write` or `read-only`. None when
    /// not declared (memberships are then left as they are).
    pub members: Option<Record>,
    /// The name it had: the environment of that name is this one, moved (re-tagged, not replaced).
    pub renamed_from: Option<Rc<str>>,
    pub rules: Vec<Rc<Rule>>,
    pub installs: Vec<Rc<InstallStep>>,
    pub suppressions: Vec<Rc<Suppression>>,
    /// The body it was built from, for `with`.
    pub body: Rc<super::DeclBody>,
    pub span: Span,
}

impl Environment {
    pub fn build(name: Rc<str>, a: &mut Attrs, children: Children) -> Environment {
        let kind = match a.choice("kind", &["cloud9", "ec2"], "cloud9") {
            "ec2" => EnvKind::Ec2,
            _ => EnvKind::Cloud9,
        };
        let instance_type = a.required_string("instance_type", "\"t3.medium\"").map(|(s, span)| {
            if let Err(e) = validate::instance_type(&s) {
                a.invalid(span, "instance_type", e, None);
            }
            s
        });
        let image = a.required_string("image", "\"amazonlinux-2023-x86_64\"").map(|(s, span)| {
            let checked = match kind {
                EnvKind::Cloud9 => validate::cloud9_image(&s),
                EnvKind::Ec2 => validate::ec2_image(&s),
            };
            if let Err(e) = checked {
                let help = crate::diag::suggest(&s, validate::IMAGE_ALIASES.iter().copied())
                    .unwrap_or_else(|| format!("use one of: {}", validate::IMAGE_ALIASES.join(", ")));
                a.invalid(span, "image", e, Some(help));
            }
            s
        });
        let subnet = a.required_string("subnet", "\"subnet-0123456789abcdef0\"").map(|(s, span)| {
            if let Err(e) = validate::resource_id(&s, "subnet") {
                a.invalid(span, "subnet", e, None);
            }
            s
        });
        let connection = match a.choice("connection", &["ssm", "ssh"], "ssm") {
            "ssh" => Connection::Ssh,
            _ => Connection::Ssm,
        };
        let auto_stop = a.duration("auto_stop").and_then(|(secs, span)| auto_stop_minutes(a, kind, secs, span));
        if kind == EnvKind::Ec2 && a.get("managed_credentials").is_some() {
            a.invalid(
                a.span_of("managed_credentials"),
                "managed_credentials",
                "managed temporary credentials exist only in Cloud9",
                Some("remove it, or set `kind = cloud9`".into()),
            );
        }
        let managed_credentials = a.bool("managed_credentials", kind == EnvKind::Cloud9);
        let protect = a.bool("protect", true);
        let (owner, members) = owner_and_members(a, kind);
        let renamed_from = a.string("renamed_from").map(|(s, span)| {
            if let Err(e) = validate::environment_name(&s) {
                a.invalid(span, "renamed_from", e, None);
            }
            s
        });
        let role = role_name(a);
        let imds = imds(a);
        let (tags, security_groups) = tags_and_groups(a);
        let description = a.string("description").map(|(s, span)| {
            if s.chars().count() > 200 {
                a.invalid(span, "description", "Cloud9 descriptions are at most 200 characters", None);
            }
            s
        });
        Environment {
            name,
            kind,
            instance_type: instance_type.unwrap_or_default(),
            image: image.unwrap_or_default(),
            subnet: subnet.unwrap_or_default(),
            connection,
            auto_stop,
            managed_credentials,
            role,
            imds,
            tags,
            security_groups,
            description,
            protect,
            owner,
            members,
            renamed_from,
            rules: children.rules,
            installs: children.installs,
            suppressions: children.suppressions,
            body: Rc::default(),
            span: a.span,
        }
    }

    /// Where an attribute was set (the declaration, when it was left to its default), for
    /// diagnostics that come later (policies, apply).
    pub fn span_of(&self, attr: &str) -> Span {
        self.body.span_of(attr, self.span)
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            EnvKind::Cloud9 => "cloud9",
            EnvKind::Ec2 => "ec2",
        }
    }

    pub fn connection_name(&self) -> &'static str {
        match self.connection {
            Connection::Ssm => "ssm",
            Connection::Ssh => "ssh",
        }
    }

    pub fn fields(&self) -> FieldList<'_, 20> {
        [
            ("auto_stop", Field::Value(self.auto_stop.map_or(Value::Null, |m| Value::Duration(m * 60)))),
            ("connection", Field::Word(self.connection_name())),
            ("description", Field::opt(&self.description)),
            ("image", Field::Str(&self.image)),
            (
                "imds",
                Field::Fields(vec![
                    ("hop_limit", Field::Value(Value::Int(self.imds.hop_limit))),
                    ("reason", Field::opt(&self.imds.reason)),
                    ("tokens", Field::Str(&self.imds.tokens)),
                ]),
            ),
            ("installs", Field::decls(&self.installs, Decl::Install)),
            ("instance_type", Field::Str(&self.instance_type)),
            ("kind", Field::Word(self.kind_name())),
            ("managed_credentials", Field::Value(Value::Bool(self.managed_credentials))),
            ("members", self.members.as_ref().map_or(Field::Value(Value::Null), Field::Record)),
            ("name", Field::Str(&self.name)),
            ("owner", Field::opt(&self.owner)),
            ("protect", Field::Value(Value::Bool(self.protect))),
            ("renamed_from", Field::opt(&self.renamed_from)),
            ("role", Field::opt(&self.role)),
            ("rules", Field::decls(&self.rules, Decl::Rule)),
            ("security_groups", Field::Strs(&self.security_groups)),
            ("subnet", Field::Str(&self.subnet)),
            ("suppressions", Field::decls(&self.suppressions, Decl::Suppress)),
            ("tags", Field::Record(&self.tags)),
        ]
    }

    /// The rules, install steps and suppressions it was built with (for `with`).
    pub fn children(&self) -> Children {
        let (rules, installs) = (self.rules.clone(), self.installs.clone());
        Children { rules, installs, suppressions: self.suppressions.clone(), ..Children::default() }
    }

    /// One line for summaries: `cloud9 t3.medium amazonlinux-2023-x86_64, auto-stop 30m`.
    pub fn auto_stop_text(&self) -> String {
        self.auto_stop.map_or("never".into(), |m| format_duration(m * 60))
    }
}

fn auto_stop_minutes(a: &mut Attrs, kind: EnvKind, secs: i64, span: Span) -> Option<i64> {
    if kind == EnvKind::Ec2 {
        a.invalid(span, "auto_stop", "auto-stop is a Cloud9 feature", Some("remove it, or set `kind = cloud9`".into()));
        return None;
    }
    if secs % 60 != 0 {
        a.invalid(span, "auto_stop", format!("{} is not a whole number of minutes", format_duration(secs)), None);
        return None;
    }
    let minutes = secs / 60;
    if !(0..=MAX_AUTO_STOP_MINUTES).contains(&minutes) {
        a.invalid(
            span,
            "auto_stop",
            format!("{} is outside 0m..14d (Cloud9 allows 0 to 20160 minutes)", format_duration(secs)),
            None,
        );
        return None;
    }
    Some(minutes)
}

/// `role = "name"` or `role = some_role_declaration`.
fn role_name(a: &mut Attrs) -> Option<Rc<str>> {
    let attr = a.get("role")?.clone();
    match &attr.value {
        Value::Decl(Decl::Role(r)) => Some(r.name.clone()),
        Value::Str(_) => a.string("role").map(|(s, _)| s),
        Value::Null => None,
        other => {
            let kind = crate::diag::ErrorKind::Type {
                expected: "a role or a role name".into(),
                found: other.type_name().into(),
            };
            a.error(crate::diag::Diag::new(kind, attr.span));
            None
        }
    }
}

fn imds(a: &mut Attrs) -> Imds {
    let mut imds = Imds { tokens: "required".into(), hop_limit: 1, reason: None };
    let Some((rec, span)) = a.record("imds") else {
        return imds;
    };
    a.known_keys("imds", &rec, span, &["tokens", "hop_limit", "reason"]);
    match rec.get("tokens") {
        Some(Value::Str(s)) if &**s == "required" || &**s == "optional" => imds.tokens = s.to_rc(),
        Some(other) => a.invalid(
            span,
            "imds.tokens",
            format!("{} is not \"required\" or \"optional\"", other.to_kenv()),
            Some("IMDSv2 only is `tokens: \"required\"`".into()),
        ),
        None => {}
    }
    match rec.get("hop_limit") {
        Some(Value::Int(n)) if (1..=64).contains(n) => imds.hop_limit = *n,
        Some(other) => {
            a.invalid(span, "imds.hop_limit", format!("{} is not a number from 1 to 64", other.to_kenv()), None)
        }
        None => {}
    }
    match rec.get("reason") {
        Some(Value::Str(s)) => imds.reason = Some(s.to_rc()),
        Some(other) => a.invalid(span, "imds.reason", format!("{} is not a string", other.to_kenv()), None),
        None => {}
    }
    imds
}

/// `owner` and `members`, Cloud9's: ARNs of IAM users or roles; members `read-write` or
/// `read-only`, the owner not among them.
fn owner_and_members(a: &mut Attrs, kind: EnvKind) -> (Option<Rc<str>>, Option<Record>) {
    let owner = a.string("owner").map(|(s, span)| {
        if let Err(e) = validate::user_or_role_arn(&s) {
            a.invalid(span, "owner", e, None);
        }
        s
    });
    let members = a.get("members").is_some().then(|| a.string_map("members"));
    let misplaced: Vec<&str> = ["owner", "members"].into_iter().filter(|n| a.get(n).is_some()).collect();
    for attr in misplaced.into_iter().filter(|_| kind == EnvKind::Ec2) {
        let why = "owners and memberships are Cloud9's; an EC2 instance is reached with IAM permissions";
        a.invalid(a.span_of(attr), attr, why, Some("remove it, or set `kind = cloud9`".into()));
    }
    for (arn, access) in members.iter().flat_map(|m| m.iter()) {
        let span = a.span_of("members");
        if let Err(e) = validate::user_or_role_arn(arn) {
            a.invalid(span, "members", e, None);
        }
        if !matches!(access, Value::Str(s) if matches!(&**s, "read-write" | "read-only")) {
            let e = format!("`{arn}`: {} is neither \"read-write\" nor \"read-only\"", access.to_kenv());
            a.invalid(span, "members", e, None);
        }
        if owner.as_deref() == Some(&**arn) {
            a.invalid(span, "members", format!("`{arn}` is the owner, who always has the environment"), None);
        }
    }
    (owner, members)
}

/// `tags` (each checked against EC2's tag rules) and `security_groups` (each an `sg-` id).
fn tags_and_groups(a: &mut Attrs) -> (Record, Vec<Rc<str>>) {
    let tags = a.string_map("tags");
    for (k, v) in tags.iter() {
        let Value::Str(v) = v else { continue };
        if let Err(e) = validate::tag(k, v) {
            a.invalid(a.span_of("tags"), "tag", e, None);
        }
    }
    let security_groups = a.strings("security_groups");
    for sg in &security_groups {
        if let Err(e) = validate::resource_id(sg, "sg") {
            a.invalid(a.span_of("security_groups"), "security group", e, None);
        }
    }
    (tags, security_groups)
}
