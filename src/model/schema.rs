//! What each declaration kind is made of, in one place: its attributes, the bare words some of
//! them take (`kind = cloud9`), and the declarations its body may hold. Evaluation places what a
//! body says by it, `kenv doc` shows it, and the builders get their children sorted by it.

use std::rc::Rc;

use super::{Allow, Decl, InstallStep, Rule, Suppression};
use crate::syntax::ast::DeclKind;

pub struct Schema {
    pub keyword: &'static str,
    pub attrs: &'static [&'static str],
    /// Attributes whose value may be a bare word, and the words.
    pub words: &'static [(&'static str, &'static [&'static str])],
    /// The declarations its body may hold.
    pub children: &'static [Child],
}

/// A declaration that goes inside another's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    Rule,
    Install,
    Allow,
    Suppress,
}

impl Child {
    pub fn name(self) -> &'static str {
        match self {
            Child::Rule => "rule",
            Child::Install => "install step",
            Child::Allow => "allow statement",
            Child::Suppress => "suppression",
        }
    }
}

pub const ENVIRONMENT: Schema = Schema {
    keyword: "environment",
    attrs: super::environment::ATTRS,
    words: super::environment::WORD_ATTRS,
    children: &[Child::Rule, Child::Install, Child::Suppress],
};

pub const ROLE: Schema =
    Schema { keyword: "role", attrs: super::role::ATTRS, words: &[], children: &[Child::Allow, Child::Suppress] };

pub const POLICY: Schema =
    Schema { keyword: "policy", attrs: super::policy::ATTRS, words: super::policy::WORD_ATTRS, children: &[] };

pub const ALL: [&Schema; 3] = [&ENVIRONMENT, &ROLE, &POLICY];

pub fn schema(kind: DeclKind) -> &'static Schema {
    match kind {
        DeclKind::Environment => &ENVIRONMENT,
        DeclKind::Role => &ROLE,
        DeclKind::Policy => &POLICY,
    }
}

impl Schema {
    /// The words attribute `attr` may take unquoted, if it takes any.
    pub fn words_of(&self, attr: &str) -> Option<&'static [&'static str]> {
        self.words.iter().find(|(a, _)| *a == attr).map(|(_, w)| *w)
    }
}

/// A body's child declarations, sorted by kind.
#[derive(Default)]
pub struct Children {
    pub rules: Vec<Rc<Rule>>,
    pub installs: Vec<Rc<InstallStep>>,
    pub allows: Vec<Rc<Allow>>,
    pub suppressions: Vec<Rc<Suppression>>,
}

impl Children {
    /// Takes `decl` when a body of `schema`'s kind may hold it; hands it back otherwise.
    pub fn admit(&mut self, schema: &Schema, decl: Decl) -> Result<(), Decl> {
        let admits = |child| schema.children.contains(&child);
        match decl {
            Decl::Rule(r) if admits(Child::Rule) => self.rules.push(r),
            Decl::Install(i) if admits(Child::Install) => self.installs.push(i),
            Decl::Allow(a) if admits(Child::Allow) => self.allows.push(a),
            Decl::Suppress(s) if admits(Child::Suppress) => self.suppressions.push(s),
            other => return Err(other),
        }
        Ok(())
    }

    /// `other`'s children after these.
    pub fn append(&mut self, other: Children) {
        self.rules.extend(other.rules);
        self.installs.extend(other.installs);
        self.allows.extend(other.allows);
        self.suppressions.extend(other.suppressions);
    }
}
