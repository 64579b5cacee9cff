//! Security group rules: `ingress tcp 443 from internal "GitHub Enterprise"`.

use crate::diag::{suggest, Diag, ErrorKind};
use crate::model::Value;
use crate::source::{Span, Spanned};
use crate::syntax::ast::{Direction, Name};
use std::rc::Rc;

use super::typed::string_items;
use super::validate::{self, IpVersion};
use super::{Field, FieldList};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    All,
}

impl Protocol {
    const NAMES: [&'static str; 4] = ["tcp", "udp", "icmp", "all"];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::All => "all",
        }
    }

    /// The `IpProtocol` EC2 uses.
    pub fn aws(self) -> &'static str {
        match self {
            Protocol::All => "-1",
            other => other.name(),
        }
    }

    fn parse(s: &str) -> Option<Protocol> {
        Some(match s {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "icmp" => Protocol::Icmp,
            "all" => Protocol::All,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    Ipv4,
    Ipv6,
    Group,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub direction: Direction,
    pub protocol: Protocol,
    /// `-1` for "all" (protocol all, or any ICMP type).
    pub from_port: i32,
    pub to_port: i32,
    /// CIDR blocks and security group ids, as written.
    pub peers: Vec<Rc<str>>,
    pub description: Option<Rc<str>>,
    pub span: Span,
}

/// A rule's parts, evaluated but not yet checked.
pub struct RuleParts {
    pub direction: Direction,
    pub protocol: Spanned<Name>,
    pub ports: Option<(Spanned<Value>, Option<Spanned<Value>>)>,
    pub peer: Spanned<Value>,
    pub description: Option<Spanned<Value>>,
    pub span: Span,
}

impl Rule {
    /// The rule as EC2 sees it on the environment's own group: one `GroupRule` per peer. A reach
    /// to a CIDR is an egress rule there; a reach to a security group is not on it at all (it is
    /// a rule on that group: `reached_groups`).
    pub fn group_rules(&self) -> Vec<crate::aws::GroupRule> {
        let own = |peer: &&Rc<str>| self.direction != Direction::Reach || Rule::peer_kind(peer) != PeerKind::Group;
        self.peers.iter().filter(own).map(|peer| self.with_peer(self.direction == Direction::Ingress, peer)).collect()
    }

    /// The security groups a `reach` lets the environment into.
    pub fn reached_groups(&self) -> Vec<&str> {
        let reached = |peer: &&Rc<str>| self.direction == Direction::Reach && Rule::peer_kind(peer) == PeerKind::Group;
        self.peers.iter().filter(reached).map(|p| &**p).collect()
    }

    /// This rule's protocol, ports and description, in one direction, with `peer`. A reach to a
    /// group is, on that group, `with_peer(true, <the environment's group>)`.
    pub fn with_peer(&self, ingress: bool, peer: &str) -> crate::aws::GroupRule {
        crate::aws::GroupRule {
            ingress,
            protocol: self.protocol.aws().into(),
            from_port: self.from_port,
            to_port: self.to_port,
            peer: peer.to_string(),
            description: self.description.as_deref().map(String::from),
        }
    }

    pub fn peer_kind(peer: &str) -> PeerKind {
        if peer.starts_with("sg-") {
            PeerKind::Group
        } else if peer.contains(':') {
            PeerKind::Ipv6
        } else {
            PeerKind::Ipv4
        }
    }

    pub fn build(parts: RuleParts, errors: &mut Vec<Diag>) -> Rule {
        let mut err = |span, what: &str, detail: String, help: Option<String>| {
            errors.push(Diag::new(ErrorKind::Invalid { what: what.into(), detail }, span).help_opt(help));
        };
        let protocol = Protocol::parse(&parts.protocol.node).unwrap_or_else(|| {
            let help =
                suggest(&parts.protocol.node, Protocol::NAMES).unwrap_or_else(|| "use tcp, udp, icmp or all".into());
            err(
                parts.protocol.span,
                "protocol",
                format!("`{}` is not tcp, udp, icmp or all", parts.protocol.node),
                Some(help),
            );
            Protocol::Tcp
        });
        let (from_port, to_port) = match (&parts.ports, protocol) {
            (None, Protocol::Tcp | Protocol::Udp) => {
                err(
                    parts.protocol.span,
                    "rule",
                    format!("a {} rule needs a port", protocol.name()),
                    Some(format!("write `{} 443` or a range `{} 8000..8080`", protocol.name(), protocol.name())),
                );
                (0, 0)
            }
            (None, _) => (-1, -1),
            (Some(_), Protocol::All) => {
                err(parts.protocol.span, "rule", "protocol `all` covers every port; remove the port".into(), None);
                (-1, -1)
            }
            (Some((from, to)), _) => {
                let lo = port(from, &mut err);
                let hi = to.as_ref().map_or(lo, |t| port(t, &mut err));
                if lo > hi {
                    err(
                        from.span.to(to.as_ref().unwrap().span),
                        "port range",
                        format!("{lo}..{hi} runs backwards"),
                        Some(format!("write `{hi}..{lo}`")),
                    );
                }
                (lo, hi)
            }
        };
        let peers = match string_items(&parts.peer.node) {
            Ok(items) if items.is_empty() => {
                err(parts.peer.span, "rule", "the rule has no source or destination".into(), None);
                items
            }
            Ok(items) => items,
            Err(found) => {
                let kind =
                    ErrorKind::Type { expected: "a CIDR block, a security group id, or a list of them".into(), found };
                errors.push(Diag::new(kind, parts.peer.span));
                Vec::new()
            }
        };
        for peer in &peers {
            let checked = match Rule::peer_kind(peer) {
                PeerKind::Group => validate::resource_id(peer, "sg").map(|_| IpVersion::V4),
                _ => validate::cidr(peer),
            };
            if let Err(detail) = checked {
                errors.push(Diag::new(ErrorKind::Invalid { what: "address".into(), detail }, parts.peer.span));
            }
        }
        let description = parts.description.and_then(|d| match &d.node {
            Value::Str(s) => {
                if let Err(detail) = validate::rule_description(s) {
                    errors.push(Diag::new(ErrorKind::Invalid { what: "description".into(), detail }, d.span));
                }
                Some(s.to_rc())
            }
            other => {
                let kind = ErrorKind::Type { expected: "a string".into(), found: other.type_name().into() };
                errors.push(Diag::new(kind, d.span));
                None
            }
        });
        Rule { direction: parts.direction, protocol, from_port, to_port, peers, description, span: parts.span }
    }

    pub fn direction_name(&self) -> &'static str {
        match self.direction {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
            Direction::Reach => "reach",
        }
    }

    /// `443`, `8000..8080`, or nothing for all ports.
    pub fn ports_text(&self) -> String {
        match (self.from_port, self.to_port) {
            (-1, _) => String::new(),
            (a, b) if a == b => a.to_string(),
            (a, b) => format!("{a}..{b}"),
        }
    }

    pub fn fields(&self) -> FieldList<'_, 6> {
        [
            ("description", Field::opt(&self.description)),
            ("direction", Field::Word(self.direction_name())),
            ("from_port", Field::Value(Value::Int(self.from_port.into()))),
            ("peers", Field::Strs(&self.peers)),
            ("protocol", Field::Word(self.protocol.name())),
            ("to_port", Field::Value(Value::Int(self.to_port.into()))),
        ]
    }
}

fn port(v: &Spanned<Value>, err: &mut impl FnMut(Span, &str, String, Option<String>)) -> i32 {
    match v.node {
        Value::Int(n) if (0..=65535).contains(&n) => n as i32,
        Value::Int(n) => {
            err(v.span, "port", format!("{n} is outside 0..65535"), None);
            0
        }
        ref other => {
            err(v.span, "port", format!("expected a port number, found {}", other.type_name()), None);
            0
        }
    }
}
