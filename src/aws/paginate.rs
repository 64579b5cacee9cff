//! Transparent pagination with a bound: a listing stops after MAX_PAGES pages rather than run
//! away on an account with a huge number of resources.

use super::{Aws, AwsError};

pub const MAX_PAGES: usize = 50;

impl Aws {
    /// Calls `page(token)` until the returned token is None (or MAX_PAGES), gathering the items.
    pub fn paginate<T>(
        &self,
        mut page: impl FnMut(Option<String>) -> Result<(Vec<T>, Option<String>), AwsError>,
    ) -> Result<Vec<T>, AwsError> {
        let mut items = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let (mut got, next) = page(token)?;
            items.append(&mut got);
            match next {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(items)
    }
}
