//! `kenv check`: load, validate, run policies; print a summary (or JSON). No AWS calls.

use std::path::Path;

use serde_json::json;

use super::report::diagnostics_json;
use super::summary::{counts, summary};
use super::{report, Format, FAILED, OK};
use crate::diag::{Diag, Severity, Style};
use crate::eval::{self, run_policies, Failure, Mode};
use crate::source::SourceMap;

pub fn run(file: &Path, format: Format, style: Style) -> i32 {
    let mut program = match eval::load(file, Mode::Check) {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return fail(file, &diags, &sources, format, style),
    };
    let violations = match run_policies(&mut program.interp, &program.state) {
        Ok(v) => v,
        Err(e) => return fail(file, &[*e], &program.interp.sources, format, style),
    };
    let diags: Vec<Diag> = violations.iter().map(|v| v.to_diag()).collect();
    let failed = diags.iter().any(|d| d.severity == Severity::Error);
    let sources = &program.interp.sources;
    match format {
        Format::Json => {
            let out = json!({
                "file": file.display().to_string(),
                "ok": !failed,
                "state": program.state.to_value().to_json(),
                "diagnostics": diagnostics_json(&diags, sources),
            });
            super::out(&format!("{}\n", serde_json::to_string_pretty(&out).unwrap_or_default()));
        }
        Format::Human => {
            report(&diags, sources, style);
            let verdict = if failed { "failed" } else { "ok" };
            super::out(&format!(
                "{}: {verdict} ({})\n{}",
                file.display(),
                counts(&program.state),
                summary(&program.state)
            ));
        }
    }
    if failed {
        FAILED
    } else {
        OK
    }
}

fn fail(file: &Path, diags: &[Diag], sources: &SourceMap, format: Format, style: Style) -> i32 {
    if format == Format::Json {
        let out =
            json!({ "file": file.display().to_string(), "ok": false, "diagnostics": diagnostics_json(diags, sources) });
        super::out(&format!("{}\n", serde_json::to_string_pretty(&out).unwrap_or_default()));
        return FAILED;
    }
    report(diags, sources, style).max(FAILED)
}
