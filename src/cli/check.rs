//! `kenv check`: load, validate, run policies; print a summary, JSON or SARIF. No AWS calls,
//! except with `--live`, which reads the stack's environments (and lets policies read AWS).

use std::rc::Rc;

use serde_json::json;

use super::report::{diagnostics_json, location_json};
use super::summary::summary;
use super::{err, report, sarif, Format, StackArgs, FAILED, OK};
use crate::aws::Aws;
use crate::diag::{Diag, Style};
use crate::eval::{self, run_policies, Failure, Interp, Mode, PolicyReport, Program};
use crate::model::plural;
use crate::model::Value;
use crate::source::SourceMap;

pub fn run(args: &StackArgs, format: Format, live: bool, style: Style) -> i32 {
    let file = &args.file;
    let aws = Rc::new(Aws::new(args.aws.options()));
    // With --live, evaluation may read AWS as plan's does; without, AWS is never touched.
    let mode = if live { Mode::Plan } else { Mode::Check };
    let mut program = match eval::load_with(file, Interp::with_aws(mode, aws.clone(), false)) {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return fail(args, &diags, &sources, format, style),
    };
    let view = if live { live_view(args, &aws, &program) } else { Ok(Value::Null) };
    // How many of the declared environments are on AWS, with --live.
    let deployed = match &view {
        Ok(Value::Record(envs)) => Some(envs.values().filter(|v| !matches!(v, Value::Null)).count()),
        _ => None,
    };
    let report = view.and_then(|view| run_policies(&mut program.interp, &program.state, view));
    if args.aws.stats {
        err(&crate::aws::render_stats(&aws.stats()));
    }
    let report = match report {
        Ok(r) => r,
        Err(e) => return fail(args, &[*e], &program.interp.sources, format, style),
    };
    let sources = &program.interp.sources;
    let file_name = file.display().to_string();
    match format {
        Format::Json => {
            let out = json!({
                "file": file_name,
                "ok": !report.failed(),
                "live": live,
                "deployed": deployed,
                "state": program.state.to_value().to_json(),
                "violations": violations_json(&report, sources),
                "diagnostics": diagnostics_json(&report.diags(), sources),
            });
            super::out(&format!("{}\n", serde_json::to_string_pretty(&out).unwrap_or_default()));
        }
        Format::Sarif => super::out(&sarif::render(&program.state, &report, &[], sources)),
        Format::Human => {
            human(&report, sources, style);
            let verdict = if report.failed() { "failed" } else { "ok" };
            let live_note = deployed.map_or(String::new(), |n| {
                format!("; live: {n} of {} deployed", plural(program.state.environments.len(), "environment"))
            });
            super::out(&format!(
                "{}: {verdict} ({}{live_note}){}\n{}",
                file.display(),
                program.state.counts(),
                verdict_detail(&report),
                summary(&program.state)
            ));
        }
    }
    if report.failed() {
        FAILED
    } else {
        OK
    }
}

/// The stack's environments as they are on AWS, for `state.live`.
fn live_view(args: &StackArgs, aws: &Aws, program: &Program) -> crate::diag::Result<Value> {
    let stack = crate::plan::stack_name(&args.file, args.stack.as_deref());
    let names: Vec<&str> = program.state.environments.iter().map(|e| &*e.name).collect();
    crate::plan::policy_view(aws, &stack, &names).map_err(|e| e.diag(None, aws.region().as_deref()).boxed())
}

/// Violations grouped by the environment or role at fault, each group under a heading; then the
/// suppressed ones, one line each with their reason.
fn human(report: &PolicyReport, sources: &SourceMap, style: Style) {
    report_diags(&report.warnings, sources, style);
    let open: Vec<_> = report.violations.iter().filter(|v| v.suppressed.is_none()).collect();
    for group in open.chunk_by(|a, b| a.subject == b.subject) {
        let subject = group[0].subject.as_deref().unwrap_or("the program");
        err(&format!("── {subject}: {} ──\n", plural(group.len(), "violation")));
        report_diags(&group.iter().map(|v| v.to_diag()).collect::<Vec<_>>(), sources, style);
    }
    for v in report.suppressed() {
        let s = v.suppressed.as_ref().expect("suppressed");
        let (line, _) = sources.line_col(s.span);
        let subject = v.subject.as_deref().unwrap_or("the program");
        err(&format!(
            "suppressed: policy `{}` in {subject} ({}:{line}): {}\n",
            v.policy.name,
            sources.get(s.span.src).name,
            s.reason
        ));
    }
}

fn report_diags(diags: &[Diag], sources: &SourceMap, style: Style) {
    if !diags.is_empty() {
        report(diags, sources, style);
    }
}

/// `; 2 violations, 1 suppressed` (nothing when all passed).
fn verdict_detail(report: &PolicyReport) -> String {
    let suppressed = report.suppressed().count();
    let open = report.violations.len() - suppressed;
    match (open, suppressed) {
        (0, 0) => String::new(),
        (_, 0) => format!("; {}", plural(open, "violation")),
        _ => format!("; {}, {suppressed} suppressed", plural(open, "violation")),
    }
}

fn violations_json(report: &PolicyReport, sources: &SourceMap) -> serde_json::Value {
    let items = report.violations.iter().map(|v| {
        json!({
            "policy": v.policy.name,
            "severity": v.policy.severity_name(),
            "message": v.message,
            "subject": v.subject,
            "location": location_json(v.span, sources),
            "suppressed": v.suppressed.as_ref().map(|s| json!({
                "reason": s.reason,
                "location": location_json(s.span, sources),
            })),
        })
    });
    serde_json::Value::Array(items.collect())
}

fn fail(args: &StackArgs, diags: &[Diag], sources: &SourceMap, format: Format, style: Style) -> i32 {
    let file = args.file.display().to_string();
    match format {
        Format::Json => {
            let out = json!({ "file": file, "ok": false, "diagnostics": diagnostics_json(diags, sources) });
            super::out(&format!("{}\n", serde_json::to_string_pretty(&out).unwrap_or_default()));
        }
        Format::Sarif => {
            let report = PolicyReport { violations: Vec::new(), warnings: Vec::new() };
            super::out(&sarif::render(&Default::default(), &report, diags, sources));
        }
        Format::Human => return report(diags, sources, style).max(FAILED),
    }
    FAILED
}
