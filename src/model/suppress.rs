//! `suppress POLICY because "reason" [owner "who" expires "YYYY-MM-DD"]`: inside an environment
//! or a role, accepts that policy's violations there. The reason is required; it is shown and
//! counted wherever the violation is. Owner and expiry are what a suppression of a policy
//! enforced from outside the file (`kenv check --policy`) needs to count at all; once expired, a
//! suppression counts for no policy.

use crate::diag::{Diag, ErrorKind};
use crate::model::Value;
use crate::source::{Span, Spanned};
use std::rc::Rc;

use super::{Decl, Field, FieldList};

#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The policy's name.
    pub policy: Rc<str>,
    pub reason: Rc<str>,
    /// Who answers for it (a person or a team, as the team writes them).
    pub owner: Option<Rc<str>>,
    /// The last day it counts, `YYYY-MM-DD` (UTC).
    pub expires: Option<Rc<str>>,
    pub span: Span,
}

impl Suppression {
    /// POLICY is a policy's name or the policy itself (`baseline.no_ssh_port`).
    pub fn build(
        policy: Spanned<Value>,
        reason: Spanned<Value>,
        owner: Option<Spanned<Value>>,
        expires: Option<Spanned<Value>>,
        span: Span,
        errors: &mut Vec<Diag>,
    ) -> Suppression {
        let policy_name = match &policy.node {
            Value::Str(s) => s.to_rc(),
            Value::Decl(Decl::Policy(p)) => p.name.clone(),
            other => {
                let found = other.type_name().to_string();
                errors.push(Diag::new(ErrorKind::Type { expected: "a policy or its name".into(), found }, policy.span));
                Rc::from("")
            }
        };
        let reason_text =
            text(&reason, "reason", "say why the violation is accepted: `because \"ticket SEC-12: …\"`", errors);
        let owner = owner.map(|o| text(&o, "owner", "name who answers for it: `owner \"alice@example.com\"`", errors));
        let expires = expires.map(|e| {
            let day = text(&e, "expiry", "write the last day it counts: `expires \"2027-03-31\"`", errors);
            if !day.is_empty() && !is_date(&day) {
                let detail = format!("`{day}` is not a date written YYYY-MM-DD");
                errors.push(
                    Diag::new(ErrorKind::Invalid { what: "suppression".into(), detail }, e.span)
                        .help("write the last day it counts: `expires \"2027-03-31\"`"),
                );
            }
            day
        });
        Suppression { policy: policy_name, reason: reason_text, owner, expires, span }
    }

    /// The day it expired, when that is before `today` (`YYYY-MM-DD` both).
    pub fn expired(&self, today: &str) -> Option<&str> {
        self.expires.as_deref().filter(|day| *day < today)
    }

    pub fn fields(&self) -> FieldList<'_, 4> {
        [
            ("expires", Field::opt(&self.expires)),
            ("owner", Field::opt(&self.owner)),
            ("policy", Field::Str(&self.policy)),
            ("reason", Field::Str(&self.reason)),
        ]
    }
}

/// A non-blank string, trimmed; anything else is an error at its span (and an empty text).
fn text(v: &Spanned<Value>, what: &str, help: &str, errors: &mut Vec<Diag>) -> Rc<str> {
    match &v.node {
        Value::Str(s) if !s.trim().is_empty() => Rc::from(s.trim()),
        Value::Str(_) => {
            let detail = format!("the {what} is empty");
            errors.push(Diag::new(ErrorKind::Invalid { what: "suppression".into(), detail }, v.span).help(help));
            Rc::from("")
        }
        other => {
            let found = other.type_name().to_string();
            let expected = format!("a string {what}");
            errors.push(Diag::new(ErrorKind::Type { expected, found }, v.span).help(help));
            Rc::from("")
        }
    }
}

/// `YYYY-MM-DD`, a day that exists.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts[..] else { return false };
    let number = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse::<u32>().ok()).flatten()
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4), number(m, 2), number(d, 2)) else { return false };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12).contains(&m) && d >= 1 && d <= days[m as usize - 1]
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil(secs as i64 / 86_400)
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(20_513), "2026-03-01");
        assert_eq!(civil(11_016), "2000-02-29");
        assert!(is_date("2028-02-29") && !is_date("2027-02-29") && !is_date("2027-13-01"));
        assert!(!is_date("2027-1-01") && !is_date("27-01-01") && !is_date("2027-01-01x"));
    }
}
