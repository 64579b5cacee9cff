//! `sessions NAME { log_group = "…"  kms_key = "…"  idle_timeout = 20m … }`: the account's
//! Session Manager preferences in the region (the `SSM-SessionManagerRunShell` document): where
//! shell sessions are logged, how they are encrypted, when they end, whom they run as. One stack
//! of an account and region holds them; destroying it puts back what was there before.

use std::rc::Rc;
use std::sync::LazyLock;

use serde_json::{json, Value as Json};

use super::attribute::{field_count, fields_by_name, fields_of, opt_quoted};
use super::attribute::{About, Attribute, Change, Compare, Declared, Getter};
use super::{Attrs, Field, FieldList, Value};
use crate::aws::SessionPreferences;
use crate::source::Span;
use crate::syntax::strings::format_duration;

#[derive(Debug, Clone)]
pub struct Sessions {
    pub name: Rc<str>,
    /// CloudWatch Logs group shell sessions are streamed to.
    pub log_group: Option<Rc<str>>,
    /// S3 bucket (and key prefix) each session's log is written to at its end.
    pub s3_bucket: Option<Rc<str>>,
    pub s3_prefix: Option<Rc<str>>,
    /// KMS key encrypting the session's data in transit (and required of the log destinations).
    pub kms_key: Option<Rc<str>>,
    /// Minutes without input after which a session ends (1–60).
    pub idle_timeout: i64,
    /// Minutes after which any session ends (1–1440).
    pub max_duration: Option<i64>,
    /// The OS user sessions run as when the principal has no `SSMSessionRunAs` tag.
    pub run_as: Option<Rc<str>>,
    /// Commands run at the start of each Linux session.
    pub shell_profile: Option<Rc<str>>,
    pub description: Option<Rc<str>>,
    /// The body it was built from, for `with`.
    pub body: Rc<super::DeclBody>,
    pub span: Span,
}

type Row = Attribute<Sessions, SessionPreferences>;

/// A string input of the document as text to compare (`""` is unset).
fn input(l: &SessionPreferences, key: &str) -> String {
    opt_quoted(l.inputs[key].as_str().filter(|s| !s.is_empty()))
}

/// A number of minutes, as the document holds them (a string), to compare.
fn minutes(m: Option<i64>) -> String {
    m.map_or("null".into(), |m| format_duration(m * 60))
}

fn live_minutes(l: &SessionPreferences, key: &str) -> String {
    minutes(l.inputs[key].as_str().and_then(|s| s.parse().ok()))
}

/// A duration attribute in whole minutes within a range.
fn read_minutes(a: &mut Attrs, name: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    let (secs, span) = a.duration(name)?;
    let m = secs / 60;
    if secs % 60 != 0 || !range.contains(&m) {
        let (lo, hi) = (format_duration(range.start() * 60), format_duration(range.end() * 60));
        let detail = format!("{} is not whole minutes from {lo} to {hi}", format_duration(secs));
        a.invalid(span, name, detail, None);
        return None;
    }
    Some(m)
}

/// A string attribute the document keeps in one of its inputs (`""` when unset).
macro_rules! input_row {
    ($name:literal, $field:ident, $input:literal, $rule:literal) => {
        Row {
            about: About { name: $name, ty: "string", default: "", rule: $rule, words: &[] },
            read: |a, s| s.$field = a.string($name).map(|(v, _)| v),
            field: Some(|s| Field::opt(&s.$field)),
            change: Change::InPlace(Compare {
                desired: |s, side| side.put(opt_quoted(s.$field.as_deref())),
                live: |l, side| side.put(input(l, $input)),
            }),
        }
    };
}

impl Declared for Sessions {
    type Live = SessionPreferences;
    const ATTRIBUTES: &'static [Row] = &[
        input_row!(
            "log_group",
            log_group,
            "cloudWatchLogGroupName",
            "a CloudWatch Logs group: each shell session's input and output is streamed there (`cloudWatchLogGroupName`); the group must be encrypted"
        ),
        input_row!(
            "s3_bucket",
            s3_bucket,
            "s3BucketName",
            "an S3 bucket each session's log is written to when it ends (`s3BucketName`); the bucket must be encrypted"
        ),
        input_row!("s3_prefix", s3_prefix, "s3KeyPrefix", "the key prefix of the logs in `s3_bucket` (`s3KeyPrefix`)"),
        input_row!(
            "kms_key",
            kms_key,
            "kmsKeyId",
            "a KMS key id, ARN or alias: encrypts each session's data between the client and the box (`kmsKeyId`)"
        ),
        Row {
            about: About {
                name: "idle_timeout",
                ty: "duration",
                default: "`20m`",
                rule: "whole minutes, 1m to 60m: a session without input ends then (`idleSessionTimeout`)",
                words: &[],
            },
            read: |a, s| s.idle_timeout = read_minutes(a, "idle_timeout", 1..=60).unwrap_or(20),
            field: Some(|s| Field::Value(Value::Duration(s.idle_timeout * 60))),
            change: Change::InPlace(Compare {
                desired: |s, side| side.put(minutes(Some(s.idle_timeout))),
                live: |l, side| side.put(live_minutes(l, "idleSessionTimeout")),
            }),
        },
        Row {
            about: About {
                name: "max_duration",
                ty: "duration",
                default: "none",
                rule: "whole minutes, 1m to 24h: any session ends then (`maxSessionDuration`)",
                words: &[],
            },
            read: |a, s| s.max_duration = read_minutes(a, "max_duration", 1..=1440),
            field: Some(|s| s.max_duration.map_or(Field::Value(Value::Null), |m| Field::Value(Value::Duration(m * 60)))),
            change: Change::InPlace(Compare {
                desired: |s, side| side.put(minutes(s.max_duration)),
                live: |l, side| side.put(live_minutes(l, "maxSessionDuration")),
            }),
        },
        Row {
            about: About {
                name: "run_as",
                ty: "string",
                default: "none (`ssm-user`)",
                rule: "the OS user sessions run as (`runAsEnabled`, `runAsDefaultUser`); a principal tagged `SSMSessionRunAs` runs as the user it names",
                words: &[],
            },
            read: |a, s| s.run_as = a.string("run_as").map(|(v, _)| v),
            field: Some(|s| Field::opt(&s.run_as)),
            change: Change::InPlace(Compare {
                desired: |s, side| side.put(opt_quoted(s.run_as.as_deref())),
                live: |l, side| {
                    let on = l.inputs["runAsEnabled"].as_bool() == Some(true);
                    side.put(if on { input(l, "runAsDefaultUser") } else { "null".into() })
                },
            }),
        },
        Row {
            about: About {
                name: "shell_profile",
                ty: "string",
                default: "",
                rule: "commands run at the start of each Linux session (`shellProfile.linux`)",
                words: &[],
            },
            read: |a, s| s.shell_profile = a.string("shell_profile").map(|(v, _)| v),
            field: Some(|s| Field::opt(&s.shell_profile)),
            change: Change::InPlace(Compare {
                desired: |s, side| side.put(opt_quoted(s.shell_profile.as_deref())),
                live: |l, side| {
                    let linux = l.inputs["shellProfile"]["linux"].as_str().filter(|s| !s.is_empty());
                    side.put(opt_quoted(linux))
                },
            }),
        },
        Row {
            about: About {
                name: "description",
                ty: "string",
                default: "",
                rule: "shown by `kenv doc`; not on AWS",
                words: &[],
            },
            read: |a, s| s.description = a.string("description").map(|(v, _)| v),
            field: Some(|s| Field::opt(&s.description)),
            change: Change::Ignored,
        },
    ];
}

/// What a `sessions` declaration shows besides its attributes: its name.
const PARTS: [(&str, Getter<Sessions>); 1] = [("name", |s| Field::Str(&s.name))];

const FIELDS: usize = field_count(Sessions::ATTRIBUTES, PARTS.len());

static BY_NAME: LazyLock<Vec<(&str, Getter<Sessions>)>> = LazyLock::new(|| fields_by_name(&PARTS));

impl Sessions {
    pub fn build(name: Rc<str>, a: &mut Attrs) -> Sessions {
        let blank = Sessions {
            name,
            log_group: None,
            s3_bucket: None,
            s3_prefix: None,
            kms_key: None,
            idle_timeout: 20,
            max_duration: None,
            run_as: None,
            shell_profile: None,
            description: None,
            body: Rc::default(),
            span: a.span,
        };
        Sessions::read_attributes(blank, a)
    }

    pub fn fields(&self) -> FieldList<'_, FIELDS> {
        fields_of(&BY_NAME, self)
    }

    /// The Session document that says these preferences.
    pub fn document(&self, stack: &str) -> Json {
        let text = |v: &Option<Rc<str>>| json!(v.as_deref().unwrap_or(""));
        json!({
            "schemaVersion": "1.0",
            "description": format!("Session Manager preferences, kept by kenv (stack {stack})"),
            "sessionType": "Standard_Stream",
            "inputs": {
                "s3BucketName": text(&self.s3_bucket),
                "s3KeyPrefix": text(&self.s3_prefix),
                "s3EncryptionEnabled": self.s3_bucket.is_some(),
                "cloudWatchLogGroupName": text(&self.log_group),
                "cloudWatchEncryptionEnabled": self.log_group.is_some(),
                "cloudWatchStreamingEnabled": self.log_group.is_some(),
                "kmsKeyId": text(&self.kms_key),
                "idleSessionTimeout": self.idle_timeout.to_string(),
                "maxSessionDuration": self.max_duration.map_or(String::new(), |m| m.to_string()),
                "runAsEnabled": self.run_as.is_some(),
                "runAsDefaultUser": text(&self.run_as),
                "shellProfile": { "windows": "", "linux": text(&self.shell_profile) },
            },
        })
    }
}

/// The address of a `sessions` declaration in a plan.
pub fn address(name: &str) -> String {
    format!("sessions.{name}")
}
