//! How an environment's attributes are read from its body and checked, as AWS would check them:
//! the `read` column of its table (`environment_table.rs`) for the attributes that need more
//! than a typed read. Each problem is a diagnostic at the attribute; reading goes on.

use std::rc::Rc;

use super::environment::{EnvKind, Environment, Imds};
use super::validate::{self, MAX_AUTO_STOP_MINUTES};
use super::{Attrs, Decl, Value};
use crate::source::Span;
use crate::syntax::strings::format_duration;

/// A string attribute checked by `check`; None when absent.
pub(super) fn checked(a: &mut Attrs, name: &str, check: fn(&str) -> Result<(), String>) -> Option<Rc<str>> {
    a.string(name).map(|(s, span)| {
        if let Err(e) = check(&s) {
            a.invalid(span, name, e, None);
        }
        s
    })
}

/// A string attribute that must be set, checked by `check`; "" when it is missing.
pub(super) fn required(a: &mut Attrs, name: &str, example: &str, check: fn(&str) -> Result<(), String>) -> Rc<str> {
    let found = a.required_string(name, example).map(|(s, span)| {
        if let Err(e) = check(&s) {
            a.invalid(span, name, e, None);
        }
        s
    });
    found.unwrap_or_default()
}

pub(super) fn read_image(a: &mut Attrs, e: &mut Environment) {
    let found = a.required_string("image", "\"amazonlinux-2023-x86_64\"");
    e.image = found
        .map(|(s, span)| {
            let checked = match e.kind {
                EnvKind::Cloud9 => validate::cloud9_image(&s),
                EnvKind::Ec2 => validate::ec2_image(&s),
            };
            if let Err(err) = checked {
                let help = crate::diag::suggest(&s, validate::IMAGE_ALIASES.iter().copied())
                    .unwrap_or_else(|| format!("use one of: {}", validate::IMAGE_ALIASES.join(", ")));
                a.invalid(span, "image", err, Some(help));
            }
            s
        })
        .unwrap_or_default();
}

pub(super) fn auto_stop_minutes(a: &mut Attrs, kind: EnvKind, secs: i64, span: Span) -> Option<i64> {
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

pub(super) fn read_managed_credentials(a: &mut Attrs, e: &mut Environment) {
    if e.kind == EnvKind::Ec2 && a.get("managed_credentials").is_some() {
        a.invalid(
            a.span_of("managed_credentials"),
            "managed_credentials",
            "managed temporary credentials exist only in Cloud9",
            Some("remove it, or set `kind = cloud9`".into()),
        );
    }
    e.managed_credentials = a.bool("managed_credentials", e.kind == EnvKind::Cloud9);
}

/// `role = "name"` or `role = some_role_declaration`.
pub(super) fn role_name(a: &mut Attrs) -> Option<Rc<str>> {
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

pub(super) fn imds(a: &mut Attrs) -> Imds {
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

pub(super) fn read_owner(a: &mut Attrs, e: &mut Environment) {
    e.owner = checked(a, "owner", validate::user_or_role_arn);
}

/// `members`: ARNs of IAM users or roles, `read-write` or `read-only`, the owner not among them.
pub(super) fn read_members(a: &mut Attrs, e: &mut Environment) {
    e.members = a.get("members").is_some().then(|| a.string_map("members"));
    for (arn, access) in e.members.iter().flat_map(|m| m.iter()) {
        let span = a.span_of("members");
        if let Err(err) = validate::user_or_role_arn(arn) {
            a.invalid(span, "members", err, None);
        }
        if !matches!(access, Value::Str(s) if matches!(&**s, "read-write" | "read-only")) {
            let err = format!("`{arn}`: {} is neither \"read-write\" nor \"read-only\"", access.to_kenv());
            a.invalid(span, "members", err, None);
        } else if e.kind == EnvKind::Ec2 && access.to_text() == "read-only" {
            let err = format!("`{arn}`: an ec2 box has no read-only access: a Session Manager session is a shell");
            a.invalid(span, "members", err, Some("make the member \"read-write\", or leave them out".into()));
        }
        if e.owner.as_deref() == Some(&**arn) {
            a.invalid(span, "members", format!("`{arn}` is the owner, who always has the environment"), None);
        }
    }
}

/// `tags`, each checked against EC2's tag rules.
pub(super) fn read_tags(a: &mut Attrs, e: &mut Environment) {
    e.tags = a.string_map("tags");
    for (k, v) in e.tags.iter() {
        let Value::Str(v) = v else { continue };
        if let Err(err) = validate::tag(k, v) {
            a.invalid(a.span_of("tags"), "tag", err, None);
        }
    }
}

pub(super) fn read_security_groups(a: &mut Attrs, e: &mut Environment) {
    e.security_groups = a.strings("security_groups");
    for sg in &e.security_groups {
        if let Err(err) = validate::resource_id(sg, "sg") {
            a.invalid(a.span_of("security_groups"), "security group", err, None);
        }
    }
}

pub(super) fn read_description(a: &mut Attrs, e: &mut Environment) {
    e.description = a.string("description").map(|(s, span)| {
        if s.chars().count() > 200 {
            a.invalid(span, "description", "Cloud9 descriptions are at most 200 characters", None);
        }
        s
    });
}
