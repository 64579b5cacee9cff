//! The declarations a body may hold besides attributes (rules, install steps, allow statements,
//! suppressions), sorted by kind as evaluation places them.

use std::rc::Rc;

use super::{Allow, Decl, InstallStep, Rule, Suppression};

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

    /// The statements that make it, as written in a body.
    pub fn keywords(self) -> &'static [&'static str] {
        match self {
            Child::Rule => &["ingress", "egress", "reach"],
            Child::Install => &["install"],
            Child::Allow => &["allow"],
            Child::Suppress => &["suppress"],
        }
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
    /// Takes `decl` when a body that may hold `admitted` may hold it; hands it back otherwise.
    pub fn admit(&mut self, admitted: &[Child], decl: Decl) -> Result<(), Decl> {
        let admits = |child| admitted.contains(&child);
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
