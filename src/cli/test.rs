//! `kenv test [PATHS]`: runs the `test "name" { … }` blocks of .kenv files (directories searched;
//! files without a test are left alone), each with fixtures of its own and never AWS or a
//! command; prints each test's verdict, a failure's diagnostics, and a count. Exit 0 when every
//! test passes, 1 when one fails, a file with tests does not load, or there is no test at all.

use std::path::{Path, PathBuf};

use super::{err, out, report, FAILED, OK};
use crate::diag::Style;
use crate::eval::{self, Failure, Interp, Mode};
use crate::model::plural;
use crate::source::SourceMap;
use crate::syntax::ast::StmtKind;

pub fn run(paths: &[PathBuf], filter: Option<&str>, style: Style) -> i32 {
    let mut files = Vec::new();
    let here = [PathBuf::from(".")];
    for path in if paths.is_empty() { &here[..] } else { paths } {
        super::fmt::collect(path, &mut files);
    }
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for file in files.iter().filter(|f| has_tests(f)) {
        let mut interp = Interp::new(Mode::Check);
        interp.collect_tests();
        let mut program = match eval::load_with(file, interp) {
            Ok(p) => p,
            Err(Failure { diags, sources }) => {
                report(&diags, &sources, style);
                err(&format!("{}: its tests did not run: the file does not load\n", file.display()));
                broken += 1;
                continue;
            }
        };
        let cases = program.interp.tests.take().map(|t| t.cases).unwrap_or_default();
        for case in cases.iter().filter(|c| filter.is_none_or(|f| c.name.contains(f))) {
            let (line, _) = program.interp.sources.line_col(case.span);
            match program.interp.run_test(case) {
                Ok(()) => {
                    passed += 1;
                    out(&format!("ok    {}:{line}: {}\n", file.display(), case.name));
                }
                Err(diags) => {
                    failed += 1;
                    out(&format!("FAIL  {}:{line}: {}\n", file.display(), case.name));
                    report(&diags, &program.interp.sources, style);
                }
            }
        }
    }
    let total = passed + failed;
    let not_loaded = match broken {
        0 => String::new(),
        n => format!("; {} with tests did not load", plural(n, "file")),
    };
    if total == 0 && broken == 0 {
        let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let filtered = filter.map_or(String::new(), |f| format!(" named like `{f}`"));
        err(&format!(
            "kenv test: no test{filtered} in {}\n",
            if named.is_empty() { ".".into() } else { named.join(", ") }
        ));
        return FAILED;
    }
    out(&format!("{}: {passed} passed, {failed} failed{not_loaded}\n", plural(total, "test")));
    if failed + broken > 0 {
        FAILED
    } else {
        OK
    }
}

/// Whether a file has a `test` block at its top (a file that does not parse has its errors
/// shown when it is loaded, so it counts).
fn has_tests(file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else { return true };
    let sources = SourceMap::default();
    match crate::syntax::parse(sources.add(file.display().to_string(), Some(file), text.as_str()), &text) {
        Ok(stmts) => stmts.iter().any(|s| matches!(s.node, StmtKind::Test(..))),
        Err(_) => true,
    }
}
