//! Wording shared by the interpreter's files.

use crate::diag::{Diag, ErrorKind, Result};
use crate::model::Value;
use crate::source::Span;

/// A value of the wrong type where `expected` was needed.
pub fn type_error<T>(expected: &str, found: &Value, span: Span) -> Result<T> {
    Diag::new(ErrorKind::Type { expected: expected.into(), found: found.type_name().into() }, span).err()
}

/// "an environment", "a role".
pub fn an(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}
