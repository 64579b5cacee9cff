//! `install NAME = …`: a setup step run on the environment. The value is a script, or a record
//! with the script (or commands, or a pinned URL) and how to run it.

use std::rc::Rc;

use crate::diag::{suggest, Diag, ErrorKind};
use crate::model::{Record, Value};
use crate::source::{Span, Spanned};

use super::typed::{string_items, Strings, Typed};
use super::{Field, FieldList};

pub const KEYS: &[&str] =
    &["script", "commands", "url", "sha256", "creates", "unless", "timeout", "user", "dir", "env"];

/// Ten minutes, the default of SSM's AWS-RunShellScript.
pub const DEFAULT_TIMEOUT: i64 = 600;

#[derive(Debug, Clone)]
pub struct InstallStep {
    pub name: Rc<str>,
    /// The shell script to run (from `script`, or `commands` joined by newlines).
    pub script: Option<Rc<str>>,
    /// A script fetched from a URL instead, pinned by `sha256`.
    pub url: Option<Rc<str>>,
    pub sha256: Option<Rc<str>>,
    /// Skip the step when this path exists.
    pub creates: Option<Rc<str>>,
    /// Skip the step when this command succeeds.
    pub unless: Option<Rc<str>>,
    /// Seconds.
    pub timeout: i64,
    pub user: Option<Rc<str>>,
    pub dir: Option<Rc<str>>,
    /// Environment variables for the step; values may be secrets (strings or secret values).
    pub env: Record,
    pub span: Span,
}

impl InstallStep {
    pub fn build(name: Rc<str>, value: Spanned<Value>, span: Span, errors: &mut Vec<Diag>) -> InstallStep {
        let mut step = InstallStep {
            name,
            script: None,
            url: None,
            sha256: None,
            creates: None,
            unless: None,
            timeout: DEFAULT_TIMEOUT,
            user: None,
            dir: None,
            env: Record::new(),
            span,
        };
        let at = value.span;
        let mut err = |detail: String, help: Option<String>| {
            errors.push(Diag::new(ErrorKind::Invalid { what: "install step".into(), detail }, at).help_opt(help));
        };
        let rec = match &value.node {
            Value::Str(s) => {
                step.script = Some(s.to_rc());
                return step;
            }
            Value::Record(r) => r.clone(),
            Value::Secret(_) => {
                err(
                    "a script cannot be a secret: it would be written out where anyone can read it".into(),
                    Some(SECRET_HELP.into()),
                );
                return step;
            }
            other => {
                errors.push(Diag::new(
                    ErrorKind::Type { expected: "a script or a record".into(), found: other.type_name().into() },
                    at,
                ));
                return step;
            }
        };
        for key in rec.keys() {
            if !KEYS.contains(&&**key) {
                let help = suggest(key, KEYS.iter().copied())
                    .unwrap_or_else(|| format!("an install step takes: {}", KEYS.join(", ")));
                err(format!("unknown key `{key}`"), Some(help));
            }
        }
        let mut text = |key: &str| -> Option<Rc<str>> {
            match rec.get(key)? {
                Value::Null => None,
                Value::Secret(_) => {
                    err(format!("`{key}` cannot be a secret"), Some(SECRET_HELP.into()));
                    None
                }
                other => Rc::<str>::from_value(other).or_else(|| {
                    err(format!("`{key}` must be {}, found {}", <Rc<str>>::EXPECTED, other.type_name()), None);
                    None
                }),
            }
        };
        step.script = text("script");
        step.url = text("url");
        step.sha256 = text("sha256");
        step.creates = text("creates");
        step.unless = text("unless");
        step.user = text("user");
        step.dir = text("dir");
        let commands = commands(&rec, &mut err);
        let sources = [step.script.is_some(), commands.is_some(), step.url.is_some()].iter().filter(|b| **b).count();
        if sources != 1 {
            err("give exactly one of `script`, `commands` or `url`".into(), None);
        }
        if let Some(cmds) = commands {
            step.script = Some(Rc::from(cmds.join("\n") + "\n"));
        }
        step.check_pin_and_timeout(&rec, &mut err);
        if let Some(env) = rec.get("env") {
            step.env = env_vars(env, &mut err);
        }
        step
    }

    /// A fetched script must be pinned by a real sha256; a timeout is a duration within SSM's.
    fn check_pin_and_timeout(&mut self, rec: &Record, err: &mut impl FnMut(String, Option<String>)) {
        match (&self.url, &self.sha256) {
            (Some(_), None) => err(
                "a script fetched from `url` must be pinned with `sha256`".into(),
                Some("add `sha256: \"<64 hex digits>\"` (`sha256sum script.sh` prints it)".into()),
            ),
            (_, Some(h)) if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                err(format!("`{h}` is not a sha256 (64 hex digits)"), None)
            }
            _ => {}
        }
        match rec.get("timeout") {
            Some(Value::Duration(s)) if *s > 0 && *s <= 172_800 => self.timeout = *s,
            Some(Value::Duration(_)) => err("`timeout` must be between 1s and 2d".into(), None),
            Some(other) => err(format!("`timeout` must be a duration like `10m`, found {}", other.type_name()), None),
            None => {}
        }
    }

    pub fn fields(&self) -> FieldList<'_, 10> {
        [
            ("creates", Field::opt(&self.creates)),
            ("dir", Field::opt(&self.dir)),
            ("env", Field::Record(&self.env)),
            ("name", Field::Str(&self.name)),
            ("script", Field::opt(&self.script)),
            ("sha256", Field::opt(&self.sha256)),
            ("timeout", Field::Value(Value::Duration(self.timeout))),
            ("unless", Field::opt(&self.unless)),
            ("url", Field::opt(&self.url)),
            ("user", Field::opt(&self.user)),
        ]
    }
}

const SECRET_HELP: &str = "pass secrets to the step in `env: { NAME: secret(\"…\") }` and read them as $NAME";

fn commands(rec: &Record, err: &mut impl FnMut(String, Option<String>)) -> Option<Vec<Rc<str>>> {
    let value = rec.get("commands")?;
    match string_items(value) {
        Ok(items) => Some(items),
        Err(found) => {
            err(format!("`commands` must be {}, found {found}", Strings::EXPECTED), None);
            None
        }
    }
}

fn env_vars(value: &Value, err: &mut impl FnMut(String, Option<String>)) -> Record {
    let Some(rec) = Record::from_value(value) else {
        err(format!("`env` must be {}, found {}", Record::EXPECTED, value.type_name()), None);
        return Record::new();
    };
    let mut out = crate::model::RecordBuilder::default();
    for (k, v) in rec.iter() {
        let valid_name = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            err(format!("`{k}` is not a shell variable name"), None);
        }
        match v {
            Value::Str(_) | Value::Secret(_) => {}
            Value::Int(_) | Value::Bool(_) => {
                out.insert(k.clone(), Value::str(&v.to_text()));
                continue;
            }
            other => err(format!("`env.{k}` must be a string or a secret, found {}", other.type_name()), None),
        }
        out.insert(k.clone(), v.clone());
    }
    out.finish()
}
