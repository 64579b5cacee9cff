//! What a stack shares between regions. IAM is the account's while environments are a region's,
//! so one stack applied in two regions has one set of roles and one developer policy for both.
//! Each records the regions whose applies declare it in its `kenv:regions` tag; a region that no
//! longer needs it (its file dropped it, or destroy) takes itself off the tag, and only the last
//! region deletes it — a destroy in us-west-2 never deletes the role boxes in ap-northeast-1 run
//! with. (Something made before the tag existed names no region: it is taken as this region's.)

use std::collections::BTreeMap;

use super::{access, role_address, Action, Change, Diff, Resource};
use crate::aws::{LivePolicy, LiveRole};
use crate::model::tags::{regions_in, regions_tag, TAG_REGIONS};

/// The attribute a plan shows the tag as.
pub const ATTRIBUTE: &str = "regions";

/// Puts this region on what the plan keeps of the stack's roles and developer policy (what it
/// creates is tagged with it as it is made), and turns a deletion of one another region still
/// names into taking this region off it.
pub fn share(changes: &mut Vec<Change>, roles: &[LiveRole], policy: Option<&LivePolicy>, region: &str) {
    let shared = roles
        .iter()
        .map(|r| (role_address(&r.name), &r.tags))
        .chain(policy.map(|p| (access::ADDRESS.to_string(), &p.tags)));
    let mut kept: Vec<(String, &BTreeMap<String, String>)> = Vec::new();
    for (address, tags) in shared {
        let tagged = regions_in(tags.get(TAG_REGIONS).map(String::as_str));
        match changes.iter().position(|c| c.address == address) {
            Some(i) if changes[i].action == Action::Delete => {
                let others: Vec<&str> = tagged.iter().copied().filter(|r| *r != region).collect();
                if others.is_empty() {
                    continue;
                }
                if others.len() == tagged.len() {
                    changes.remove(i);
                    continue;
                }
                let c = &mut changes[i];
                c.action = Action::Update;
                c.diffs = vec![regions_diff(&tagged, &others)];
            }
            _ => kept.push((address, tags)),
        }
    }
    for (address, tags) in kept {
        let tagged = regions_in(tags.get(TAG_REGIONS).map(String::as_str));
        if tagged.contains(&region) {
            continue;
        }
        let mut with = tagged.clone();
        with.push(region);
        with.sort_unstable();
        let diff = regions_diff(&tagged, &with);
        match changes.iter_mut().find(|c| c.address == address) {
            Some(c) => c.diffs.push(diff),
            None => changes.push(unchanged_but_regions(&address, roles, policy, diff)),
        }
    }
}

/// The regions the tag should name once a change is made, when it changes them.
pub fn after(change: &Change) -> Option<BTreeMap<String, String>> {
    let d = change.diffs.iter().find(|d| d.attribute == ATTRIBUTE)?;
    let text = d.after.as_deref()?.trim_matches('"');
    Some(BTreeMap::from([(TAG_REGIONS.to_string(), text.to_string())]))
}

fn regions_diff(before: &[&str], after: &[&str]) -> Diff {
    let text = |r: &[&str]| (!r.is_empty()).then(|| format!("\"{}\"", regions_tag(r)));
    Diff { attribute: ATTRIBUTE.into(), before: text(before), after: text(after), forces_replacement: false }
}

/// A change of a role or the developer policy that otherwise matches the file: its tag alone.
fn unchanged_but_regions(address: &str, roles: &[LiveRole], policy: Option<&LivePolicy>, diff: Diff) -> Change {
    let resource = match roles.iter().find(|r| role_address(&r.name) == address) {
        Some(r) => Resource::Role { desired: None, live: Some(Box::new(r.clone())) },
        None => Resource::Access { document: None, live: policy.cloned().map(Box::new) },
    };
    Change { address: address.into(), action: Action::Update, diffs: vec![diff], span: None, resource }
}
