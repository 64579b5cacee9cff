//! EC2: instances, security groups and their rules, the network around them. Each read returns a
//! typed form: what plan and apply compare, and (serialized) the record a builtin shows, with the
//! field names of the builtins' docs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, Instance, IpPermission, IpRange, Ipv6Range, Tag, UserIdGroupPair};

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::{read, Aws, AwsError};

/// EC2 filters: name → accepted values.
pub type Filters = BTreeMap<String, Vec<String>>;

pub(super) fn filters(f: &Filters) -> Option<Vec<Filter>> {
    Some(f.iter().map(|(k, v)| Filter::builder().name(k).set_values(Some(v.clone())).build()).collect())
}

fn tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))).collect()
}

fn own(s: Option<&str>) -> Option<String> {
    s.map(String::from)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataOptions {
    pub tokens: String,
    pub hop_limit: i64,
    pub endpoint: String,
}

/// An instance as kenv reads it.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceInfo {
    pub id: String,
    #[serde(rename = "type")]
    pub instance_type: String,
    pub state: String,
    pub image: String,
    pub subnet: String,
    pub vpc: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub security_groups: Vec<String>,
    /// The name of each of `security_groups`, by id.
    #[serde(skip)]
    pub group_names: BTreeMap<String, String>,
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
            group_names: i
                .security_groups()
                .iter()
                .filter_map(|g| Some((g.group_id()?.to_string(), g.group_name().unwrap_or("").to_string())))
                .collect(),
            tags: tags(i.tags()),
            instance_profile: i.iam_instance_profile().and_then(|p| p.arn()).map(String::from),
            metadata: MetadataOptions {
                tokens: m.and_then(|m| m.http_tokens()).map_or("optional", |t| t.as_str()).into(),
                hop_limit: m.and_then(|m| m.http_put_response_hop_limit()).unwrap_or(1).into(),
                endpoint: m.and_then(|m| m.http_endpoint()).map_or("enabled", |e| e.as_str()).into(),
            },
        }
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

    /// `all` for EC2's `-1`.
    pub fn protocol_name(&self) -> &str {
        if self.protocol == "-1" {
            "all"
        } else {
            &self.protocol
        }
    }

    /// `ingress tcp 443 from 10.0.0.0/8 "GitHub"`
    pub fn summary(&self) -> String {
        let protocol = self.protocol_name();
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

/// `{direction, protocol, from_port, to_port, peer, description}`, the shape `ec2_authorize` also
/// takes.
impl Serialize for GroupRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("GroupRule", 6)?;
        r.serialize_field("direction", if self.ingress { "ingress" } else { "egress" })?;
        r.serialize_field("protocol", self.protocol_name())?;
        r.serialize_field("from_port", &self.from_port)?;
        r.serialize_field("to_port", &self.to_port)?;
        r.serialize_field("peer", &self.peer)?;
        r.serialize_field("description", &self.description)?;
        r.end()
    }
}

/// Its rules as two lists, `ingress` and `egress`.
impl Serialize for GroupInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rules = |ingress: bool| self.rules.iter().filter(|r| r.ingress == ingress).collect::<Vec<_>>();
        let mut g = s.serialize_struct("GroupInfo", 7)?;
        g.serialize_field("id", &self.id)?;
        g.serialize_field("name", &self.name)?;
        g.serialize_field("description", &self.description)?;
        g.serialize_field("vpc", &self.vpc)?;
        g.serialize_field("ingress", &rules(true))?;
        g.serialize_field("egress", &rules(false))?;
        g.serialize_field("tags", &self.tags)?;
        g.end()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Subnet {
    pub id: Option<String>,
    pub vpc: Option<String>,
    pub cidr: Option<String>,
    pub availability_zone: Option<String>,
    pub public_ip_on_launch: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteTable {
    pub id: Option<String>,
    pub vpc: Option<String>,
    /// The VPC's main table (subnets without a table of their own use it).
    pub main: bool,
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub destination: Option<String>,
    /// The gateway, NAT, transit gateway, peering, interface or instance the route goes to.
    pub target: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Vpc {
    pub id: Option<String>,
    pub cidr: Option<String>,
    pub default: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VpcEndpoint {
    pub id: Option<String>,
    pub vpc: Option<String>,
    pub service: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub state: Option<String>,
    pub subnets: Vec<String>,
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

    pub fn subnets(&self, f: &Filters, ids: &[String]) -> Result<Vec<Subnet>, AwsError> {
        let ec2 = self.ec2()?;
        let ids = (!ids.is_empty()).then(|| ids.to_vec());
        self.paginate(|token| {
            let req = ec2.describe_subnets().set_filters(filters(f)).set_subnet_ids(ids.clone()).set_next_token(token);
            let out = self.call(read("ec2", "DescribeSubnets"), req.send())?;
            let found = out
                .subnets()
                .iter()
                .map(|s| Subnet {
                    id: own(s.subnet_id()),
                    vpc: own(s.vpc_id()),
                    cidr: own(s.cidr_block()),
                    availability_zone: own(s.availability_zone()),
                    public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
                    tags: tags(s.tags()),
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn route_tables(&self, f: &Filters) -> Result<Vec<RouteTable>, AwsError> {
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
                        Route { destination: own(dest), target: own(target) }
                    });
                    let subnets = t.associations().iter().filter_map(|a| a.subnet_id()).map(String::from);
                    RouteTable {
                        id: own(t.route_table_id()),
                        vpc: own(t.vpc_id()),
                        main: t.associations().iter().any(|a| a.main().unwrap_or(false)),
                        subnets: subnets.collect(),
                        routes: routes.collect(),
                    }
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn vpcs(&self, f: &Filters) -> Result<Vec<Vpc>, AwsError> {
        let ec2 = self.ec2()?;
        self.paginate(|token| {
            let req = ec2.describe_vpcs().set_filters(filters(f)).set_next_token(token);
            let out = self.call(read("ec2", "DescribeVpcs"), req.send())?;
            let found = out
                .vpcs()
                .iter()
                .map(|v| Vpc {
                    id: own(v.vpc_id()),
                    cidr: own(v.cidr_block()),
                    default: v.is_default().unwrap_or(false),
                    tags: tags(v.tags()),
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    /// The pairs of VPCs an active peering connection joins.
    pub fn peered_vpcs(&self) -> Result<Vec<(String, String)>, AwsError> {
        let ec2 = self.ec2()?;
        let active = Filter::builder().name("status-code").values("active").build();
        self.paginate(|token| {
            let req = ec2.describe_vpc_peering_connections().filters(active.clone()).set_next_token(token);
            let out = self.call(read("ec2", "DescribeVpcPeeringConnections"), req.send())?;
            let vpc = |v: Option<&str>| v.unwrap_or_default().to_string();
            let found = out
                .vpc_peering_connections()
                .iter()
                .map(|p| {
                    let requester = vpc(p.requester_vpc_info().and_then(|i| i.vpc_id()));
                    (requester, vpc(p.accepter_vpc_info().and_then(|i| i.vpc_id())))
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }

    pub fn vpc_endpoints(&self, f: &Filters) -> Result<Vec<VpcEndpoint>, AwsError> {
        let ec2 = self.ec2()?;
        self.paginate(|token| {
            let req = ec2.describe_vpc_endpoints().set_filters(filters(f)).set_next_token(token);
            let out = self.call(read("ec2", "DescribeVpcEndpoints"), req.send())?;
            let found = out
                .vpc_endpoints()
                .iter()
                .map(|e| VpcEndpoint {
                    id: own(e.vpc_endpoint_id()),
                    vpc: own(e.vpc_id()),
                    service: own(e.service_name()),
                    kind: own(e.vpc_endpoint_type().map(|t| t.as_str())),
                    state: own(e.state().map(|s| s.as_str())),
                    subnets: e.subnet_ids().to_vec(),
                })
                .collect();
            Ok((found, out.next_token().map(String::from)))
        })
    }
}
