//! The tags kenv keeps on what it makes: they are the state (no state file), and they keep what
//! AWS does not return of an attribute, so a plan can compare it.

pub const TAG_STACK: &str = "kenv:stack";
pub const TAG_ADDRESS: &str = "kenv:address";
/// Attributes AWS does not return, kept as tags so a plan can compare them.
pub const TAG_IMAGE: &str = "kenv:image";
pub const TAG_AUTO_STOP: &str = "kenv:auto_stop";
pub const TAG_CONNECTION: &str = "kenv:connection";
/// Whether an environment is protected (`protect`): "true" or "false"; none counts as protected.
pub const TAG_PROTECT: &str = "kenv:protect";
/// Who may open the box (`owner`, `members`): the names the stack's developer policy grants
/// sessions and SSH keys by. `kenv:owner` holds the name at the end of the owner's ARN;
/// `kenv:members` each member's, as `:bob:carol:` (IAM names cannot hold a colon).
pub const TAG_OWNER: &str = "kenv:owner";
pub const TAG_MEMBERS: &str = "kenv:members";
/// The kenv tags that are compared and kept exactly, as the user's are.
pub const ACCESS: [&str; 2] = [TAG_OWNER, TAG_MEMBERS];

/// The name an access tag holds for a principal: the end of its ARN — an IAM user's name
/// (`…:user/alice`), a role's, or a role session's (`…:assumed-role/Dev/alice`).
pub fn principal_name(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}
/// On what a stack shares between regions (its roles, its developer policy: IAM is the account's,
/// environments a region's): the regions whose applies declare it, as `:eu-west-1:us-east-1:`.
pub const TAG_REGIONS: &str = "kenv:regions";

/// The regions a `kenv:regions` tag names, sorted.
pub fn regions_in(tag: Option<&str>) -> Vec<&str> {
    let mut regions: Vec<&str> = tag.unwrap_or_default().split(':').filter(|r| !r.is_empty()).collect();
    regions.sort_unstable();
    regions.dedup();
    regions
}

/// The tag naming these regions.
pub fn regions_tag(regions: &[&str]) -> String {
    format!(":{}:", regions.join(":"))
}

/// On what kenv took over from before (the account's Session Manager preferences): the version
/// that was the default then, or `none` when kenv made it; destroy puts it back.
pub const TAG_PREVIOUS: &str = "kenv:previous";

#[cfg(test)]
mod tests {
    use super::{principal_name, regions_in, regions_tag};

    #[test]
    fn the_regions_tag_reads_and_writes_a_set() {
        assert_eq!(regions_in(Some(":us-west-2:ap-northeast-1:us-west-2:")), ["ap-northeast-1", "us-west-2"]);
        assert!(regions_in(None).is_empty() && regions_in(Some("::")).is_empty());
        assert_eq!(regions_tag(&["ap-northeast-1", "us-west-2"]), ":ap-northeast-1:us-west-2:");
    }

    #[test]
    fn a_principal_is_named_by_the_end_of_its_arn() {
        assert_eq!(principal_name("arn:aws:iam::123456789012:user/alice"), "alice");
        assert_eq!(principal_name("arn:aws:iam::123456789012:user/team/bob"), "bob");
        assert_eq!(principal_name("arn:aws:sts::123456789012:assumed-role/Dev/carol"), "carol");
        assert_eq!(principal_name("arn:aws:iam::123456789012:root"), "root");
    }
}
