//! CIDR builtins (IPv4 and IPv6), computed on the address as an integer.

use std::net::IpAddr;

use super::{Args, Builtin, Effect::Pure};
use crate::diag::Result;
use crate::model::validate;
use crate::model::Context;
use crate::model::Value;

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "is_cidr",
        params: &["s: string"],
        effect: Pure,
        doc: "Whether `s` is a CIDR block like \"10.0.0.0/8\" (no host bits set).",
        func: is_cidr,
    },
    Builtin {
        name: "cidr_contains",
        params: &["cidr", "addr"],
        effect: Pure,
        doc: "Whether the block holds an address or a whole smaller block.",
        func: cidr_contains,
    },
    Builtin {
        name: "cidr_subnet",
        params: &["cidr", "newbits: int", "netnum: int"],
        effect: Pure,
        doc: "Subnet number `netnum` of the block, `newbits` longer: cidr_subnet(\"10.0.0.0/16\", 8, 2) is \
        \"10.0.2.0/24\".",
        func: cidr_subnet,
    },
    Builtin {
        name: "cidr_host",
        params: &["cidr", "hostnum: int"],
        effect: Pure,
        doc: "Address number `hostnum` in the block: cidr_host(\"10.0.0.0/24\", 5) is \"10.0.0.5\".",
        func: cidr_host,
    },
];

/// A parsed block: the address as bits, the prefix length and the address width.
struct Block {
    bits: u128,
    len: u32,
    width: u32,
}

impl Block {
    fn mask(&self) -> u128 {
        if self.len == 0 {
            0
        } else {
            (u128::MAX << (self.width - self.len)) & width_mask(self.width)
        }
    }

    fn text(&self, bits: u128, len: Option<u32>) -> String {
        let addr = if self.width == 32 {
            IpAddr::from(std::net::Ipv4Addr::from(bits as u32))
        } else {
            IpAddr::from(std::net::Ipv6Addr::from(bits))
        };
        match len {
            Some(l) => format!("{addr}/{l}"),
            None => addr.to_string(),
        }
    }
}

fn width_mask(width: u32) -> u128 {
    if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

fn parse_block(s: &str) -> Option<Block> {
    let (addr, len) = s.split_once('/').map_or((s, None), |(a, l)| (a, Some(l)));
    let (bits, width) = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    let len = match len {
        Some(l) => l.parse().ok().filter(|l| *l <= width)?,
        None => width,
    };
    Some(Block { bits, len, width })
}

fn block(a: &Args, i: usize) -> Result<Block> {
    let s = a.str(i)?;
    match parse_block(&s) {
        Some(b) => Ok(b),
        None => a.invalid(i, format!("\"{s}\" is not an IP address or CIDR block")),
    }
}

fn is_cidr(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    Ok(Value::Bool(validate::cidr(&a.str(0)?).is_ok()))
}

fn cidr_contains(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let (outer, inner) = (block(a, 0)?, block(a, 1)?);
    let same_family = outer.width == inner.width;
    Ok(Value::Bool(same_family && inner.len >= outer.len && (inner.bits & outer.mask()) == (outer.bits & outer.mask())))
}

fn cidr_subnet(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let b = block(a, 0)?;
    let (newbits, netnum) = (a.int(1)?, a.int(2)?);
    let len = b.len as i64 + newbits;
    if newbits < 0 || len > b.width as i64 {
        return a.invalid(1, format!("/{} plus {newbits} bits is longer than /{}", b.len, b.width));
    }
    if netnum < 0 || (newbits < 64 && netnum >= 1i64 << newbits) {
        return a.invalid(2, format!("there are only {} subnets of {newbits} more bits", 1u128 << newbits));
    }
    let len = len as u32;
    let bits = (b.bits & b.mask()) | ((netnum as u128) << (b.width - len));
    Ok(Value::str(&b.text(bits, Some(len))))
}

fn cidr_host(_: &mut dyn Context, a: &mut Args) -> Result<Value> {
    let b = block(a, 0)?;
    let n = a.int(1)?;
    let host_bits = b.width - b.len;
    if n < 0 || (host_bits < 63 && n >= 1i64 << host_bits) {
        return a.invalid(1, format!("the block has {} addresses", 1u128 << host_bits));
    }
    Ok(Value::str(&b.text((b.bits & b.mask()) | n as u128, None)))
}
