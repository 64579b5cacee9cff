//! The human summary `kenv check` prints of a desired state.

use std::fmt::Write as _;

use crate::model::{DesiredState, Environment, Role};

pub fn summary(state: &DesiredState) -> String {
    let mut out = String::new();
    for env in &state.environments {
        environment(&mut out, env);
    }
    for role in &state.roles {
        self::role(&mut out, role);
    }
    for s in &state.sessions {
        let none = |v: &Option<std::rc::Rc<str>>| v.as_deref().unwrap_or("none").to_string();
        let _ = writeln!(out, "sessions {}", s.name);
        let idle = crate::syntax::strings::format_duration(s.idle_timeout * 60);
        let _ = writeln!(
            out,
            "  log group {}, S3 bucket {}, KMS key {}, idle timeout {idle}, run as {}",
            none(&s.log_group),
            none(&s.s3_bucket),
            none(&s.kms_key),
            s.run_as.as_deref().unwrap_or("ssm-user")
        );
    }
    if !state.policies.is_empty() {
        let names: Vec<&str> = state.policies.iter().map(|p| &*p.name).collect();
        let _ = writeln!(out, "policies  {}", names.join(", "));
    }
    out
}

fn environment(out: &mut String, env: &Environment) {
    let _ = writeln!(out, "environment {}  ({} {} {})", env.name, env.kind_name(), env.instance_type, env.image);
    let _ = writeln!(
        out,
        "  subnet {}, connection {}, auto-stop {}",
        env.subnet,
        env.connection_name(),
        env.auto_stop_text()
    );
    let role = env.role.as_deref().unwrap_or("none");
    let creds = if env.managed_credentials { "on" } else { "off" };
    let _ = writeln!(
        out,
        "  role {role}, managed credentials {creds}, imds tokens {} (hop limit {})",
        env.imds.tokens, env.imds.hop_limit
    );
    for rule in &env.rules {
        let ports = rule.ports_text();
        let dir = if rule.direction_name() == "ingress" { "from" } else { "to" };
        let desc = rule.description.as_ref().map(|d| format!("  \"{d}\"")).unwrap_or_default();
        let proto = if ports.is_empty() {
            rule.protocol.name().to_string()
        } else {
            format!("{} {ports}", rule.protocol.name())
        };
        let _ = writeln!(out, "  {} {proto} {dir} {}{desc}", rule.direction_name(), rule.peers.join(", "));
    }
    for step in &env.installs {
        let _ = writeln!(out, "  install {}", step.name);
    }
}

fn role(out: &mut String, role: &Role) {
    let _ = writeln!(out, "role {}", role.name);
    let _ = writeln!(out, "  trust {}", role.trust.join(", "));
    if !role.managed.is_empty() {
        let _ = writeln!(out, "  managed {}", role.managed.join(", "));
    }
    for s in &role.statements {
        let _ = writeln!(out, "  allow {} on {}", s.actions.join(", "), s.resources.join(", "));
    }
}
