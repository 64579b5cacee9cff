//! `kenv check --format sarif`: SARIF 2.1.0, as GitHub code scanning reads it: one run for all
//! the files checked. Each policy run is a rule; each violation a result at its declaration's lines and columns, a suppressed one
//! carrying its `inSource` suppression and reason. Diagnostics that stop a check (a syntax error,
//! a bad attribute) are results too, under `kenv/<code>` rule ids.

use serde_json::{json, Value as J};

use crate::diag::{Diag, Severity};
use std::rc::Rc;

use crate::model::{Policy, PolicyReport, PolicySeverity, Suppression};
use crate::source::{SourceMap, Span};

const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// One file's part of the log: what its policies found, or the diagnostics that stopped it.
pub struct Part<'a> {
    pub report: &'a PolicyReport,
    pub failures: &'a [Diag],
    pub sources: &'a SourceMap,
}

/// The SARIF log, pretty-printed with a final newline: one run (code scanning takes one run per
/// tool and category) whose rules are the policies any file ran and whose results are every
/// file's. Each rule and result says whether its policy is enforced from outside the file
/// (`properties.enforced`); a suppression carries its owner and expiry, and one that does not
/// count is no SARIF suppression (code scanning would hide the result) but the result's
/// `properties.ignoredSuppression`, with why.
pub fn render(parts: &[Part]) -> String {
    let mut policies: Vec<&(Rc<Policy>, bool)> = Vec::new();
    for p in parts.iter().flat_map(|p| &p.report.policies) {
        if !policies.iter().any(|(q, _)| q.name == p.0.name) {
            policies.push(p);
        }
    }
    let rules: Vec<J> = policies
        .iter()
        .map(|(p, enforced)| {
            json!({
                "id": p.name,
                "name": p.name,
                "shortDescription": { "text": p.message },
                "fullDescription": { "text": p.description.as_deref().unwrap_or(&p.message) },
                "defaultConfiguration": { "level": level(p.severity) },
                "help": { "text": p.message },
                "properties": { "enforced": enforced },
            })
        })
        .collect();
    let rule_index = |name: &str| policies.iter().position(|(p, _)| &*p.name == name);
    let results: Vec<J> = parts.iter().flat_map(|part| results(part, &rule_index)).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kenv",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/kenv-dev/kenv",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    format!("{}\n", serde_json::to_string_pretty(&log).unwrap_or_default())
}

/// A file's results: its violations, then its diagnostics.
fn results(part: &Part, rule_index: &dyn Fn(&str) -> Option<usize>) -> Vec<J> {
    let (report, sources) = (part.report, part.sources);
    let violations = report.violations.iter().map(|v| {
        let index = rule_index(&v.policy.name);
        let mut result = json!({
            "ruleId": v.policy.name,
            "level": level(v.policy.severity),
            "message": { "text": v.message },
            "locations": [location(v.span, sources, v.subject.as_deref())],
            "properties": { "enforced": v.enforced },
        });
        if let Some(i) = index {
            result["ruleIndex"] = json!(i);
        }
        let who = |s: &Suppression| json!({ "owner": s.owner, "expires": s.expires });
        if let Some(s) = &v.suppressed {
            result["suppressions"] = json!([{
                "kind": "inSource",
                "justification": s.reason,
                "location": location(s.span, sources, None),
                "properties": who(s),
            }]);
        }
        if let Some((s, why)) = &v.ignored {
            let mut ignored = who(s);
            ignored["justification"] = json!(s.reason);
            ignored["why"] = json!(why);
            ignored["location"] = location(s.span, sources, None);
            result["properties"]["ignoredSuppression"] = ignored;
        }
        result
    });
    let diagnostics = part.failures.iter().chain(&report.warnings).map(|d| {
        let level = if d.severity == Severity::Error { "error" } else { "warning" };
        let text = match &d.help {
            Some(help) => format!("{} ({help})", d.kind),
            None => d.kind.to_string(),
        };
        let locations: Vec<J> = d.span.map(|span| location(span, sources, None)).into_iter().collect();
        json!({
            "ruleId": format!("kenv/{}", d.kind.code()),
            "level": level,
            "message": { "text": text },
            "locations": locations,
        })
    });
    violations.chain(diagnostics).collect()
}

fn level(severity: PolicySeverity) -> &'static str {
    match severity {
        PolicySeverity::Error => "error",
        PolicySeverity::Warning => "warning",
    }
}

/// A physical location (file and region, 1-based, end column exclusive), with the resource at
/// fault as a logical location when known.
fn location(span: Span, sources: &SourceMap, subject: Option<&str>) -> J {
    let (start_line, start_column) = sources.line_col(span);
    let (end_line, end_column) = sources.line_col(Span { start: span.end, ..span });
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&sources.get(span.src).name) },
            "region": {
                "startLine": start_line,
                "startColumn": start_column,
                "endLine": end_line,
                "endColumn": end_column,
            },
        },
    });
    if let Some(subject) = subject {
        loc["logicalLocations"] = json!([{ "fullyQualifiedName": subject.replace('`', ""), "kind": "resource" }]);
    }
    loc
}

/// A file name as a URI reference: relative paths stay relative (code scanning resolves them
/// against the repository), absolute ones become `file://` URIs.
fn uri(name: &str) -> String {
    let escaped: String = name
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect();
    if escaped.starts_with('/') {
        format!("file://{escaped}")
    } else {
        escaped
    }
}
