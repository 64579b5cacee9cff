//! EC2: instances, security groups and their rules, the network around them. Each read returns
//! kenv records (field names documented in docs/aws.md); the typed forms (`InstanceInfo`,
//! `GroupRule`) are what plan and apply compare.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, Instance, IpPermission, IpRange, Ipv6Range, Tag, UserIdGroupPair};

use super::{read, Aws, AwsError};
use crate::eval::{Record, Value};
use crate::model::{record, str_list, Rule};
use crate::syntax::ast::Direction;

/// EC2 filters: name → accepted values.
pub type Filters = BTreeMap<String, Vec<String>>;

pub(super) fn filters(f: &Filters) -> Option<Vec<Filter>> {
    Some(f.iter().map(|(k, v)| Filter::builder().name(k).set_values(Some(v.clone())).build()).collect())
}

fn tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))).collect()
}

fn tag_value(t: &BTreeMap<String, String>) -> Value {
    Value::record(t.iter().map(|(k, v)| (k.as_str().into(), Value::str(v))).collect::<Record>())
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::str)
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataOptions {
    pub tokens: String,
    pub hop_limit: i64,
    pub endpoint: String,
}

/// An instance as kenv reads it.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    pub id: String,
    pub instance_type: String,
    pub state: String,
    pub image: String,
    pub subnet: String,
    pub vpc: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub security_groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// The instance profile's ARN.
    pub instance_profile: Option<String>,
    pub metadata: MetadataOptions,
}

impl InstanceInfo {
    fn from(i: &Instance) -> InstanceInfo {
        let m = i.metadata_options();
        InstanceInfo {
            id: i.instance_id().unwrap_or("").into(),
            instance_type: i.instance_type().map_or("", |t| t.as_str()).into(),
            state: i.state().and_then(|s| s.name()).map_or("", |n| n.as_str()).into(),
            image: i.image_id().unwrap_or("").into(),
            subnet: i.subnet_id().unwrap_or("").into(),
            vpc: i.vpc_id().unwrap_or("").into(),
            private_ip: i.private_ip_address().map(String::from),
            public_ip: i.public_ip_address().map(String::from),
            security_groups: i.security_groups().iter().filter_map(|g| g.group_id()).map(String::from).collect(),
            tags: tags(i.tags()),
            instance_profile: i.iam_instance_profile().and_then(|p| p.arn()).map(String::from),
            metadata: MetadataOptions {
                tokens: m.and_then(|m| m.http_tokens()).map_or("optional", |t| t.as_str()).into(),
                hop_limit: m.and_then(|m| m.http_put_response_hop_limit()).unwrap_or(1).into(),
                endpoint: m.and_then(|m| m.http_endpoint()).map_or("enabled", |e| e.as_str()).into(),
            },
        }
    }

    pub fn to_value(&self) -> Value {
        record([
            ("id", Value::str(&self.id)),
            ("type", Value::str(&self.instance_type)),
            ("state", Value::str(&self.state)),
            ("image", Value::str(&self.image)),
            ("subnet", Value::str(&self.subnet)),
            ("vpc", Value::str(&self.vpc)),
            ("private_ip", opt(self.private_ip.as_deref())),
            ("public_ip", opt(self.public_ip.as_deref())),
            ("security_groups", str_list(&self.security_groups)),
            ("tags", tag_value(&self.tags)),
            ("instance_profile", opt(self.instance_profile.as_deref())),
            (
                "metadata",
                record([
                    ("tokens", Value::str(&self.metadata.tokens)),
                    ("hop_limit", Value::Int(self.metadata.hop_limit)),
                    ("endpoint", Value::str(&self.metadata.endpoint)),
                ]),
            ),
        ])
    }
}

/// One security group rule, flattened to a single peer (EC2 groups several peers per permission).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupRule {
    pub ingress: bool,
    /// EC2's IpProtocol: `tcp`, `udp`, `icmp`, `-1`.
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    /// A CIDR (v4 or v6) or a security group id.
    pub peer: String,
    pub description: Option<String>,
}

impl GroupRule {
    /// The same rule, ignoring its description (what EC2 treats as identity).
    pub fn same_permission(&self, other: &GroupRule) -> bool {
        (self.ingress, &self.protocol, self.from_port, self.to_port, &self.peer)
            == (other.ingress, &other.protocol, other.from_port, other.to_port, &other.peer)
    }

    pub fn to_value(&self) -> Value {
        let protocol = if self.protocol == "-1" { "all" } else { self.protocol.as_str() };
        record([
            ("direction", Value::str(if self.ingress { "ingress" } else { "egress" })),
            ("protocol", Value::str(protocol)),
            ("from_port", Value::Int(self.from_port.into())),
            ("to_port", Value::Int(self.to_port.into())),
            ("peer", Value::str(&self.peer)),
            ("description", opt(self.description.as_deref())),
        ])
    }

    /// A declared rule as EC2 sees it: one `GroupRule` per peer.
    pub fn from_rule(rule: &Rule) -> Vec<GroupRule> {
        rule.peers
            .iter()
            .map(|peer| GroupRule {
                ingress: rule.direction == Direction::Ingress,
                protocol: rule.protocol.aws().into(),
                from_port: rule.from_port,
                to_port: rule.to_port,
                peer: peer.to_string(),
                description: rule.description.as_deref().map(String::from),
            })
            .collect()
    }

    /// From a record shaped like `to_value`'s (or a rule declaration's, with `peers`).
    pub fn from_record(r: &Record) -> Option<Vec<GroupRule>> {
        let text = |k: &str| match r.get(k) {
            Some(Value::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        let int = |k: &str| match r.get(k) {
            Some(Value::Int(n)) => i32::try_from(*n).ok(),
            _ => None,
        };
        let ingress = match text("direction")?.as_str() {
            "ingress" => true,
            "egress" => false,
            _ => return None,
        };
        let protocol = match text("protocol")?.as_str() {
            "all" | "-1" => "-1".to_string(),
            p @ ("tcp" | "udp" | "icmp") => p.to_string(),
            _ => return None,
        };
        let peers = match (r.get("peer"), r.get("peers")) {
            (Some(Value::Str(p)), _) => vec![p.to_string()],
            (_, Some(Value::List(ps))) => ps
                .iter()
                .map(|p| if let Value::Str(s) = p { Some(s.to_string()) } else { None })
                .collect::<Option<_>>()?,
            _ => return None,
        };
        let (from_port, to_port) = (int("from_port")?, int("to_port")?);
        let description = text("description");
        let rule = |peer| GroupRule {
            ingress,
            protocol: protocol.clone(),
            from_port,
            to_port,
            peer,
            description: description.clone(),
        };
        Some(peers.into_iter().map(rule).collect())
    }

    /// `ingress tcp 443 from 10.0.0.0/8 "GitHub"`
    pub fn summary(&self) -> String {
        let protocol = if self.protocol == "-1" { "all" } else { self.protocol.as_str() };
        let ports = match (self.from_port, self.to_port) {
            (-1, _) => String::new(),
            (a, b) if a == b => format!(" {a}"),
            (a, b) => format!(" {a}..{b}"),
        };
        let (dir, word) = if self.ingress { ("ingress", "from") } else { ("egress", "to") };
        let desc = self.description.as_deref().map_or(String::new(), |d| format!(" {d:?}"));
        format!("{dir} {protocol}{ports} {word} {}{desc}", self.peer)
    }

    fn from_permission(ingress: bool, p: &IpPermission) -> Vec<GroupRule> {
        let rule = |peer: Option<&str>, description: Option<&str>| GroupRule {
            ingress,
            protocol: p.ip_protocol().unwrap_or("-1").into(),
            from_port: p.from_port().unwrap_or(-1),
            to_port: p.to_port().unwrap_or(-1),
            peer: peer.unwrap_or("").into(),
            description: description.map(String::from),
        };
        let v4 = p.ip_ranges().iter().map(|r| rule(r.cidr_ip(), r.description()));
        let v6 = p.ipv6_ranges().iter().map(|r| rule(r.cidr_ipv6(), r.description()));
        let groups = p.user_id_group_pairs().iter().map(|g| rule(g.group_id(), g.description()));
        v4.chain(v6).chain(groups).collect()
    }

    pub(super) fn permission(&self) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(&self.protocol);
        if self.protocol != "-1" {
            p = p.from_port(self.from_port).to_port(self.to_port);
        }
        let d = self.description.clone();
        if self.peer.starts_with("sg-") {
            p = p.user_id_group_pairs(UserIdGroupPair::builder().group_id(&self.peer).set_description(d).build());
        } else if self.peer.contains(':') {
            p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&self.peer).set_description(d).build());
        } else {
            p = p.ip_ranges(IpRange::builder().cidr_ip(&self.peer).set_description(d).build());
        }
        p.build()
    }
}

/// A security group: its id, name and rules.
#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc: String,
    pub rules: Vec<GroupRule>,
    pub tags: BTreeMap<String, String>,
}

impl GroupInfo {
    pub fn to_value(&self) -> Value {
        let rules = |ingress: bool| {
            Value::list(self.rules.iter().filter(|r| r.ingress == ingress).map(GroupRule::to_value).collect())
        };
        record([
            ("id", Value::str(&self.id)),
            ("name", Value::str(&self.name)),
            ("description", Value::str(&self.description)),
            ("vpc", Value::str(&self.vpc)),
            ("ingress", rules(true)),
            ("egress", rules(false)),
            ("tags", tag_value(&self.tags)),
        ])
    }
}

impl Aws {
    pub fn instances(&self, f: &Filters, ids: &[String]) -> Result<Vec<InstanceInfo>, AwsError> {
        let ec2 = self.ec2()?;
        let ids = (!ids.is_empty()).then(|| ids.to_vec());
        self.paginate(|token| {
            let req =
                ec2.describe_instances().set_filters(filters(f)).set_instance_ids(ids.clone()).set_next_token(token);
            let out = self.call(read("ec2", "DescribeInstances"), req.send())?;
            let found = out.reservations().iter().flat_map(|r| r.instances()).map(InstanceInfo::from).collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn security_groups(&self, f: &Filters, ids: &[String]) -> Result<Vec<GroupInfo>, AwsError> {
        let ec2 = self.ec2()?;
        let ids = (!ids.is_empty()).then(|| ids.to_vec());
        self.paginate(|token| {
            let req =
                ec2.describe_security_groups().set_filters(filters(f)).set_group_ids(ids.clone()).set_next_token(token);
            let out = self.call(read("ec2", "DescribeSecurityGroups"), req.send())?;
            let found = out
                .security_groups()
                .iter()
                .map(|g| {
                    let ingress = g.ip_permissions().iter().flat_map(|p| GroupRule::from_permission(true, p));
                    let egress = g.ip_permissions_egress().iter().flat_map(|p| GroupRule::from_permission(false, p));
                    GroupInfo {
                        id: g.group_id().unwrap_or("").into(),
                        name: g.group_name().unwrap_or("").into(),
                        description: g.description().unwrap_or("").into(),
                        vpc: g.vpc_id().unwrap_or("").into(),
                        rules: ingress.chain(egress).collect(),
                        tags: tags(g.tags()),
                    }
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn subnets(&self, f: &Filters, ids: &[String]) -> Result<Vec<Value>, AwsError> {
        let ec2 = self.ec2()?;
        let ids = (!ids.is_empty()).then(|| ids.to_vec());
        self.paginate(|token| {
            let req = ec2.describe_subnets().set_filters(filters(f)).set_subnet_ids(ids.clone()).set_next_token(token);
            let out = self.call(read("ec2", "DescribeSubnets"), req.send())?;
            let found = out
                .subnets()
                .iter()
                .map(|s| {
                    record([
                        ("id", opt(s.subnet_id())),
                        ("vpc", opt(s.vpc_id())),
                        ("cidr", opt(s.cidr_block())),
                        ("availability_zone", opt(s.availability_zone())),
                        ("public_ip_on_launch", Value::Bool(s.map_public_ip_on_launch().unwrap_or(false))),
                        ("tags", tag_value(&tags(s.tags()))),
                    ])
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn route_tables(&self, f: &Filters) -> Result<Vec<Value>, AwsError> {
        let ec2 = self.ec2()?;
        self.paginate(|token| {
            let req = ec2.describe_route_tables().set_filters(filters(f)).set_next_token(token);
            let out = self.call(read("ec2", "DescribeRouteTables"), req.send())?;
            let found = out
                .route_tables()
                .iter()
                .map(|t| {
                    let routes = t.routes().iter().map(|r| {
                        let target = r
                            .gateway_id()
                            .or(r.nat_gateway_id())
                            .or(r.transit_gateway_id())
                            .or(r.vpc_peering_connection_id())
                            .or(r.network_interface_id())
                            .or(r.instance_id());
                        let dest = r.destination_cidr_block().or(r.destination_ipv6_cidr_block());
                        record([("destination", opt(dest)), ("target", opt(target))])
                    });
                    let subnets = t.associations().iter().filter_map(|a| a.subnet_id()).map(Value::str);
                    record([
                        ("id", opt(t.route_table_id())),
                        ("vpc", opt(t.vpc_id())),
                        ("main", Value::Bool(t.associations().iter().any(|a| a.main().unwrap_or(false)))),
                        ("subnets", Value::list(subnets.collect())),
                        ("routes", Value::list(routes.collect())),
                    ])
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn vpcs(&self, f: &Filters) -> Result<Vec<Value>, AwsError> {
        let ec2 = self.ec2()?;
        self.paginate(|token| {
            let req = ec2.describe_vpcs().set_filters(filters(f)).set_next_token(token);
            let out = self.call(read("ec2", "DescribeVpcs"), req.send())?;
            let found = out
                .vpcs()
                .iter()
                .map(|v| {
                    record([
                        ("id", opt(v.vpc_id())),
                        ("cidr", opt(v.cidr_block())),
                        ("default", Value::Bool(v.is_default().unwrap_or(false))),
                        ("tags", tag_value(&tags(v.tags()))),
                    ])
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn vpc_endpoints(&self, f: &Filters) -> Result<Vec<Value>, AwsError> {
        let ec2 = self.ec2()?;
        self.paginate(|token| {
            let req = ec2.describe_vpc_endpoints().set_filters(filters(f)).set_next_token(token);
            let out = self.call(read("ec2", "DescribeVpcEndpoints"), req.send())?;
            let found = out
                .vpc_endpoints()
                .iter()
                .map(|e| {
                    record([
                        ("id", opt(e.vpc_endpoint_id())),
                        ("vpc", opt(e.vpc_id())),
                        ("service", opt(e.service_name())),
                        ("type", opt(e.vpc_endpoint_type().map(|t| t.as_str()))),
                        ("state", opt(e.state().map(|s| s.as_str()))),
                        ("subnets", str_list(e.subnet_ids())),
                    ])
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }
}
