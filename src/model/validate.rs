//! What the AWS APIs accept, as plain checks. Each returns a short reason on failure.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Image aliases Cloud9's CreateEnvironmentEC2 accepts for `imageId`.
pub const IMAGE_ALIASES: &[&str] = &["amazonlinux-2023-x86_64", "amazonlinux-2-x86_64", "ubuntu-22.04-x86_64"];

/// The SSM parameter path prefix Cloud9 resolves image aliases under.
pub const CLOUD9_AMI_PARAMETER: &str = "resolve:ssm:/aws/service/cloud9/amis/";

/// Cloud9 `automaticStopTimeMinutes` range.
pub const MAX_AUTO_STOP_MINUTES: i64 = 20160;

fn is_lower_alnum(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `t3.medium`, `m6i.2xlarge`, `u-6tb1.metal`: a family with a generation digit, a dot, a size.
pub fn instance_type(s: &str) -> Result<(), String> {
    let Some((family, size)) = s.split_once('.') else {
        return Err("an instance type is FAMILY.SIZE, like `t3.medium`".into());
    };
    let family_ok = family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.bytes().any(|b| b.is_ascii_digit())
        && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if family_ok && is_lower_alnum(size) {
        Ok(())
    } else {
        Err(format!("`{s}` is not an EC2 instance type like `t3.medium`"))
    }
}

/// An image for a Cloud9 environment: an alias, or its SSM path.
pub fn cloud9_image(s: &str) -> Result<(), String> {
    let alias = s.strip_prefix(CLOUD9_AMI_PARAMETER).unwrap_or(s);
    if IMAGE_ALIASES.contains(&alias) {
        Ok(())
    } else {
        Err(format!("`{s}` is not an image Cloud9 accepts"))
    }
}

/// The SSM public parameter that holds the current AMI of an image alias, for a plain EC2
/// instance (RunInstances takes only AMI ids; Cloud9 resolves its aliases itself). None for an
/// AMI id.
pub fn ec2_image_parameter(image: &str) -> Option<&'static str> {
    match image.strip_prefix(CLOUD9_AMI_PARAMETER).unwrap_or(image) {
        "amazonlinux-2023-x86_64" => Some("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
        "amazonlinux-2-x86_64" => Some("/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2"),
        "ubuntu-22.04-x86_64" => {
            Some("/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id")
        }
        _ => None,
    }
}

/// An image for a plain EC2 instance: an alias (resolved at plan time) or an AMI id.
pub fn ec2_image(s: &str) -> Result<(), String> {
    if cloud9_image(s).is_ok() || resource_id(s, "ami").is_ok() {
        Ok(())
    } else {
        Err(format!("`{s}` is neither an image alias nor an AMI id like `ami-0123456789abcdef0`"))
    }
}

/// `subnet-0123456789abcdef0`, `sg-…`, `ami-…`: the prefix, then 8 or 17 hex digits.
pub fn resource_id(s: &str, prefix: &str) -> Result<(), String> {
    let ok = s
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && is_hex(hex));
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a {prefix} id like `{prefix}-0123456789abcdef0`"))
    }
}

/// Cloud9 environment names: 1–60 characters; kenv keeps to letters, digits and `-_.`.
pub fn environment_name(s: &str) -> Result<(), String> {
    let ok = (1..=60).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` must be 1–60 letters, digits, `-`, `_` or `.`, starting with a letter or digit"))
    }
}

/// IAM role names: 1–64 of letters, digits and `+=,.@_-`.
pub fn role_name(s: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` must be 1–64 letters, digits or `+=,.@_-`"))
    }
}

/// An IAM user's or role's ARN, as Cloud9 takes for an owner or a member.
pub fn user_or_role_arn(s: &str) -> Result<(), String> {
    let rest = s.strip_prefix("arn:aws:iam::").unwrap_or("");
    let (account, name) = rest.split_once(':').unwrap_or(("", ""));
    let kind_ok = name.strip_prefix("user/").or_else(|| name.strip_prefix("role/")).is_some_and(|n| !n.is_empty());
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && kind_ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not an IAM user or role ARN (`arn:aws:iam::123456789012:user/alice`)"))
    }
}

/// A principal a role can trust: a service (`ec2.amazonaws.com`) or an IAM ARN.
pub fn trust_principal(s: &str) -> Result<(), String> {
    let service = s
        .strip_suffix(".amazonaws.com")
        .is_some_and(|svc| !svc.is_empty() && svc.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if service || s.starts_with("arn:aws") {
        Ok(())
    } else {
        Err(format!("`{s}` is neither a service principal like `ec2.amazonaws.com` nor an ARN"))
    }
}

/// A managed policy ARN.
/// A Secrets Manager secret's name (letters, digits and `/_+=.@-`, at most 512), or a prefix of
/// names ending in `*`.
pub fn secret_pattern(s: &str) -> Result<(), String> {
    let name = s.strip_suffix('*').unwrap_or(s);
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    if s.is_empty() || s == "*" {
        Err("name the secrets (`project/*` or `project/token`), not every secret".into())
    } else if name.len() > 512 || !name.chars().all(allowed) {
        Err(format!("`{s}` is not a secret name (letters, digits, /_+=.@-) or a prefix ending in `*`"))
    } else {
        Ok(())
    }
}

pub fn policy_arn(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[5].starts_with("policy/");
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a policy ARN like `arn:aws:iam::aws:policy/NAME`"))
    }
}

/// An IAM action: `service:Action`, wildcards allowed, or `*`.
pub fn iam_action(s: &str) -> Result<(), String> {
    if s == "*" {
        return Ok(());
    }
    let ok = s.split_once(':').is_some_and(|(svc, action)| {
        is_lower_alnum(&svc.replace('-', ""))
            && !action.is_empty()
            && action.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
    });
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not an IAM action like `secretsmanager:GetSecretValue`"))
    }
}

/// An IAM resource: an ARN or `*`.
pub fn iam_resource(s: &str) -> Result<(), String> {
    if s == "*" || (s.starts_with("arn:") && s.split(':').count() >= 6) {
        Ok(())
    } else {
        Err(format!("`{s}` is not an ARN like `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    V4,
    V6,
}

/// `10.0.0.0/8`, `2001:db8::/32`: an address and prefix length, with no host bits set.
pub fn cidr(s: &str) -> Result<IpVersion, String> {
    let bad = || format!("`{s}` is not a CIDR block like `10.0.0.0/8`");
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    if let Ok(ip) = addr.parse::<Ipv4Addr>() {
        if len > 32 {
            return Err(format!("`{s}`: an IPv4 prefix length is at most 32"));
        }
        let bits = u32::from(ip);
        if len < 32 && bits & (u32::MAX >> len) != 0 {
            let net = Ipv4Addr::from(bits & !(u32::MAX >> len));
            return Err(format!("`{s}` has host bits set; the network is `{net}/{len}`"));
        }
        return Ok(IpVersion::V4);
    }
    if let Ok(ip) = addr.parse::<Ipv6Addr>() {
        if len > 128 {
            return Err(format!("`{s}`: an IPv6 prefix length is at most 128"));
        }
        let bits = u128::from(ip);
        if len < 128 && bits & (u128::MAX >> len) != 0 {
            let net = Ipv6Addr::from(bits & !(u128::MAX >> len));
            return Err(format!("`{s}` has host bits set; the network is `{net}/{len}`"));
        }
        return Ok(IpVersion::V6);
    }
    Err(bad())
}

/// Security group rule descriptions: at most 255 of the characters EC2 allows.
pub fn rule_description(s: &str) -> Result<(), String> {
    if s.len() > 255 {
        return Err("a rule description is at most 255 characters".into());
    }
    match s.chars().find(|c| !(c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(*c))) {
        Some(c) => Err(format!("EC2 does not allow `{c}` in a rule description")),
        None => Ok(()),
    }
}

/// AWS tag keys and values: lengths, and the reserved `aws:` prefix.
pub fn tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(format!("tag key `{key}` must be 1–128 characters"));
    }
    if key.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:")) {
        return Err(format!("tag key `{key}`: the `aws:` prefix is reserved for AWS"));
    }
    if value.chars().count() > 256 {
        return Err(format!("the value of tag `{key}` is longer than 256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_types() {
        for ok in ["t3.medium", "m6i.2xlarge", "u-6tb1.metal", "c5n.large"] {
            assert!(instance_type(ok).is_ok(), "{ok}");
        }
        for bad in ["t3", "T3.medium", "medium.t3", "t.medium", "t3.", "t3.Medium"] {
            assert!(instance_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(cidr("10.0.0.0/8"), Ok(IpVersion::V4));
        assert_eq!(cidr("::/0"), Ok(IpVersion::V6));
        assert!(cidr("10.0.0.1/8").unwrap_err().contains("10.0.0.0/8"));
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("10.0.0.0").is_err());
        assert!(cidr("300.0.0.0/8").is_err());
    }

    #[test]
    fn ids() {
        assert!(resource_id("subnet-0123456789abcdef0", "subnet").is_ok());
        assert!(resource_id("subnet-12345678", "subnet").is_ok());
        assert!(resource_id("subnet-123", "subnet").is_err());
        assert!(resource_id("sg-0123456789abcdef0", "subnet").is_err());
    }
}
