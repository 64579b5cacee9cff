//! Diagnostics as JSON, for `--format json`.

use serde_json::{json, Value as J};

use crate::diag::Diag;
use crate::source::{SourceMap, Span};

pub fn diagnostics_json(diags: &[Diag], sources: &SourceMap) -> J {
    J::Array(diags.iter().map(|d| diagnostic_json(d, sources)).collect())
}

fn diagnostic_json(d: &Diag, sources: &SourceMap) -> J {
    json!({
        "severity": d.severity,
        "code": format!("kenv::{}", d.kind.code()),
        "message": d.kind.to_string(),
        "help": d.help,
        "location": d.span.map(|span| location_json(span, sources)),
    })
}

pub fn location_json(span: Span, sources: &SourceMap) -> J {
    let (line, column) = sources.line_col(span);
    json!({ "file": sources.get(span.src).name, "line": line, "column": column, "start": span.start, "end": span.end })
}
