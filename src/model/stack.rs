//! The desired state of one stack (a file and what it imports), and the checks that span
//! declarations: duplicate names and references between declarations.

use std::collections::HashMap;
use std::rc::Rc;

use crate::diag::{suggest, Diag, ErrorKind};
use crate::model::Value;
use crate::source::Span;

use super::{Decl, Environment, Policy, Role, Sessions};

#[derive(Default, Clone)]
pub struct DesiredState {
    pub environments: Vec<Rc<Environment>>,
    pub roles: Vec<Rc<Role>>,
    pub policies: Vec<Rc<Policy>>,
    /// The account's Session Manager preferences in the region (at most one).
    pub sessions: Vec<Rc<Sessions>>,
    /// `account = "123456789012"` at the top of a file: the AWS account the stack must be in,
    /// and where it was written.
    pub account: Option<(Rc<str>, Span)>,
}

impl DesiredState {
    /// `2 environments, 1 role, 3 rules, 2 install steps, 10 policies`
    pub fn counts(&self) -> String {
        let rules: usize = self.environments.iter().map(|e| e.rules.len()).sum();
        let installs: usize = self.environments.iter().map(|e| e.installs.len()).sum();
        [
            plural(self.environments.len(), "environment"),
            plural(self.roles.len(), "role"),
            plural(rules, "rule"),
            plural(installs, "install step"),
            plural(self.policies.len(), "policy"),
        ]
        .join(", ")
    }

    /// Adds a top-level declaration; anything that is not one is refused with its type's name.
    pub fn add(&mut self, decl: Decl) -> Result<(), &'static str> {
        match decl {
            Decl::Env(e) => self.environments.push(e),
            Decl::Role(r) => self.roles.push(r),
            Decl::Sessions(s) => self.sessions.push(s),
            Decl::Policy(p) => {
                // The same policy turned on twice (e.g. by two imports) runs once.
                if !self.policies.iter().any(|q| Rc::ptr_eq(q, &p)) {
                    self.policies.push(p);
                }
            }
            other => return Err(other.type_name()),
        }
        Ok(())
    }

    /// Checks across declarations; each problem is pushed to `errors`.
    pub fn validate(&self, errors: &mut Vec<Diag>) {
        unique("environment", self.environments.iter().map(|e| (&*e.name, e.span)), errors);
        unique("role", self.roles.iter().map(|r| (&*r.name, r.span)), errors);
        unique("policy", self.policies.iter().map(|p| (&*p.name, p.span)), errors);
        if let [first, second, ..] = &self.sessions[..] {
            let kind = ErrorKind::Duplicate { what: "sessions".into(), name: second.name.to_string() };
            let help = "Session Manager keeps one set of preferences per account and region: declare one";
            errors.push(Diag::new(kind, second.span).note(first.span, "first declared here").help(help));
        }
        for env in &self.environments {
            unique("install step", env.installs.iter().map(|i| (&*i.name, i.span)), errors);
            for (i, rule) in env.rules.iter().enumerate() {
                let same = |r: &&Rc<super::Rule>| {
                    r.direction == rule.direction
                        && r.protocol == rule.protocol
                        && r.from_port == rule.from_port
                        && r.to_port == rule.to_port
                        && r.peers.iter().any(|p| rule.peers.contains(p))
                };
                if let Some(first) = env.rules[..i].iter().find(same) {
                    let kind = ErrorKind::Duplicate {
                        what: "rule".into(),
                        name: format!("{} {} {}", rule.direction_name(), rule.protocol.name(), rule.ports_text())
                            .trim_end()
                            .to_string(),
                    };
                    errors.push(
                        Diag::new(kind, rule.span)
                            .note(first.span, "first declared here")
                            .help("EC2 keeps one rule per protocol, port range and source; merge the two"),
                    );
                }
            }
            if let Some(role) = &env.role {
                if !self.roles.iter().any(|r| &r.name == role) {
                    let kind =
                        ErrorKind::Invalid { what: "role".into(), detail: format!("no role `{role}` is declared") };
                    let help = suggest(role, self.roles.iter().map(|r| &*r.name)).unwrap_or_else(|| {
                        format!("declare it: `role \"{role}\" {{ trust = [\"ec2.amazonaws.com\"] }}`")
                    });
                    errors.push(Diag::new(kind, env.span_of("role")).help(help));
                }
            }
        }
    }

    pub fn to_value(&self) -> Value {
        let list = |items: Vec<Decl>| Value::list(items.into_iter().map(Value::Decl).collect());
        super::record([
            ("environments", list(self.environments.iter().map(|e| Decl::Env(e.clone())).collect())),
            ("roles", list(self.roles.iter().map(|r| Decl::Role(r.clone())).collect())),
            ("policies", list(self.policies.iter().map(|p| Decl::Policy(p.clone())).collect())),
            ("sessions", list(self.sessions.iter().map(|s| Decl::Sessions(s.clone())).collect())),
        ])
    }
}

fn unique<'a>(what: &str, items: impl Iterator<Item = (&'a str, Span)>, errors: &mut Vec<Diag>) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (name, span) in items {
        if let Some(first) = seen.get(name) {
            let kind = ErrorKind::Duplicate { what: what.into(), name: name.into() };
            errors.push(
                Diag::new(kind, span)
                    .note(*first, "first declared here")
                    .help(format!("give each {what} its own name")),
            );
        } else {
            seen.insert(name, span);
        }
    }
}

/// `1 role`, `2 roles`, `3 policies`.
pub fn plural(n: usize, word: &str) -> String {
    match (n, word) {
        (1, _) => format!("1 {word}"),
        (_, "policy") => format!("{n} policies"),
        _ => format!("{n} {word}s"),
    }
}
