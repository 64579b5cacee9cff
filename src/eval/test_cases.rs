//! The `test` blocks of the file under `kenv test`, as collected; running them is `test.rs`.

use crate::model::Scope;
use crate::source::{SourceId, Span};
use crate::syntax::ast::Block;

/// The tests of the file under test (not those of the modules it imports, which are tested as
/// files of their own).
#[derive(Default)]
pub struct Tests {
    pub(super) file: Option<SourceId>,
    pub cases: Vec<TestCase>,
}

pub struct TestCase {
    pub name: String,
    pub span: Span,
    pub(super) body: Block,
    pub(super) scope: Scope,
}
