//! `kenv test`: a file's `test "name" { … }` blocks, collected while it is evaluated and run
//! after it, each in a scope under the file's and with a desired state of its own (the
//! declarations it makes are its fixtures). Anywhere but `kenv test`, a test is skipped.

use super::interp::Interp;
use super::sink::Sink;
use super::test_cases::{TestCase, Tests};
use crate::diag::{Diag, ErrorKind, Result};
use crate::model::Scope;
use crate::source::Spanned;
use crate::syntax::ast::Block;

impl Interp {
    /// `kenv test`: tests are collected (and run by `run_test`) rather than skipped.
    pub fn collect_tests(&mut self) {
        self.tests = Some(Tests::default());
    }

    pub(super) fn exec_test(&mut self, name: &Spanned<String>, body: &Block, scope: &Scope, sink: &Sink) -> Result<()> {
        if !matches!(sink, Sink::Top) {
            return Diag::new(ErrorKind::NestedTest(name.node.to_string()), name.span)
                .help("write `test \"…\" { … }` at the top of a file")
                .err();
        }
        if let Some(tests) = self.tests.as_mut().filter(|t| t.file == Some(name.span.src)) {
            let case =
                TestCase { name: name.node.clone(), span: name.span, body: body.clone(), scope: scope.capture() };
            tests.cases.push(case);
        }
        Ok(())
    }

    /// Runs a test: its statements, then its declarations validated. Its problems, if any.
    pub fn run_test(&mut self, case: &TestCase) -> std::result::Result<(), Vec<Diag>> {
        let file_state = std::mem::take(&mut self.state);
        let file_errors = std::mem::take(&mut self.errors);
        let result = self.exec(&case.body, &mut case.scope.child(), &mut Sink::Top);
        let state = std::mem::replace(&mut self.state, file_state);
        let mut diags = std::mem::replace(&mut self.errors, file_errors);
        match result {
            Err(e) => diags.push(*e),
            Ok(()) => state.validate(&mut diags),
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }
}
