//! `environment NAME { … }`: a Cloud9 environment or an EC2 instance reached over SSM. Its
//! attributes, how each is read, checked, shown and compared, are the rows of `environment_table.rs`.

use std::rc::Rc;

use crate::model::Record;
use crate::source::Span;
use crate::syntax::strings::format_duration;

use super::{Children, InstallStep, Rule, Suppression};

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
