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
/// On what kenv took over from before (the account's Session Manager preferences): the version
/// that was the default then, or `none` when kenv made it; destroy puts it back.
pub const TAG_PREVIOUS: &str = "kenv:previous";

#[cfg(test)]
mod tests {
    use super::principal_name;

    #[test]
    fn a_principal_is_named_by_the_end_of_its_arn() {
        assert_eq!(principal_name("arn:aws:iam::123456789012:user/alice"), "alice");
        assert_eq!(principal_name("arn:aws:iam::123456789012:user/team/bob"), "bob");
        assert_eq!(principal_name("arn:aws:sts::123456789012:assumed-role/Dev/carol"), "carol");
        assert_eq!(principal_name("arn:aws:iam::123456789012:root"), "root");
    }
}
