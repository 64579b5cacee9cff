//! `kenv check`: load, validate, run policies; print a summary, JSON or SARIF, for one file or
//! many. No AWS calls, except with `--live`, which reads each stack's environments (and lets
//! policies read AWS). The policies of `--policy` modules run whatever the files turn on.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::json;

use super::report::{diagnostics_json, location_json};
use super::summary::summary;
use super::{err, report, sarif, CheckArgs, Format, FAILED, OK, USAGE};
use crate::aws::Aws;
use crate::diag::{Diag, Style};
use crate::eval::{self, Failure, Interp, Mode, Program};
use crate::model::plural;
use crate::model::Value;
use crate::model::{run_policies, PolicyReport};
use crate::source::SourceMap;

/// A file checked: its program and what its policies found, or the diagnostics that stopped it.
struct Checked {
    file: PathBuf,
    outcome: Result<Passed, Failure>,
}

struct Passed {
    program: Program,
    report: PolicyReport,
    /// How many of the declared environments are on AWS, with --live.
    deployed: Option<usize>,
}

pub fn run(args: &CheckArgs, style: Style) -> i32 {
    let mut files = Vec::new();
    for path in &args.paths {
        super::fmt::collect(path, &mut files);
    }
    if files.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        err(&format!("kenv: no .kenv file in {}\n", paths.join(", ")));
        return FAILED;
    }
    let aws = Rc::new(Aws::new(args.aws.options()));
    let mode = if args.live { Mode::Plan } else { Mode::Check };
    let loaded: Vec<(PathBuf, Result<Program, Failure>)> = files
        .into_iter()
        .map(|f| {
            let program = eval::load_with(&f, Interp::with_aws(mode, aws.clone(), false));
            (f, program)
        })
        .collect();
    let loaded = programs_only(&args.paths, loaded);
    if args.stack.is_some() && loaded.len() > 1 {
        err("kenv: --stack names one stack; check one file with it\n");
        return USAGE;
    }
    let checked: Vec<Checked> = loaded
        .into_iter()
        .map(|(file, program)| {
            let outcome = program.and_then(|p| policies(p, &file, args, &aws));
            Checked { file, outcome }
        })
        .collect();
    if args.aws.stats {
        err(&crate::aws::render_stats(&aws.stats()));
    }
    let failed = checked.iter().any(Checked::failed);
    match args.format {
        Format::Human => {
            for c in &checked {
                human(c, style);
            }
        }
        Format::Json => {
            let files: Vec<serde_json::Value> = checked.iter().map(|c| c.json(args.live)).collect();
            let out = match <[_; 1]>::try_from(files) {
                Ok([one]) => one,
                Err(files) => json!({ "ok": !failed, "files": files }),
            };
            super::out(&format!("{}\n", serde_json::to_string_pretty(&out).unwrap_or_default()));
        }
        Format::Sarif => {
            let nothing = PolicyReport::default();
            let parts: Vec<sarif::Part> = checked.iter().map(|c| c.sarif(&nothing)).collect();
            super::out(&sarif::render(&parts));
        }
    }
    if failed {
        FAILED
    } else {
        OK
    }
}

/// The files named, and of those found in directories the ones no other file found imports: a
/// directory holds programs and the modules they import, and a module is checked through them.
fn programs_only(
    named: &[PathBuf],
    loaded: Vec<(PathBuf, Result<Program, Failure>)>,
) -> Vec<(PathBuf, Result<Program, Failure>)> {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let imported: Vec<PathBuf> = loaded
        .iter()
        .flat_map(|(file, program)| {
            let sources = match program {
                Ok(p) => &p.interp.sources,
                Err(f) => &f.sources,
            };
            let me = canonical(file);
            sources.files().into_iter().map(|p| canonical(&p)).filter(move |p| *p != me)
        })
        .collect();
    loaded.into_iter().filter(|(file, _)| named.contains(file) || !imported.contains(&canonical(file))).collect()
}

/// The policies enforced, the live view with --live, and the policies run.
fn policies(mut program: Program, file: &Path, args: &CheckArgs, aws: &Aws) -> Result<Passed, Failure> {
    let found = (|| -> crate::diag::Result<_> {
        let rules = super::enforce::rules(&mut program.interp, file, &args.policies)?;
        let view = if args.live { live_view(file, args, aws, &program)? } else { Value::Null };
        let deployed = match &view {
            Value::Record(envs) => Some(envs.values().filter(|v| !matches!(v, Value::Null)).count()),
            _ => None,
        };
        let report = run_policies(&mut program.interp, &program.state, view, &rules)?;
        Ok((report, deployed))
    })();
    match found {
        Ok((report, deployed)) => Ok(Passed { program, report, deployed }),
        Err(e) => Err(Failure { diags: vec![*e], sources: program.interp.sources }),
    }
}

/// The stack's environments as they are on AWS, for `state.live`.
fn live_view(file: &Path, args: &CheckArgs, aws: &Aws, program: &Program) -> crate::diag::Result<Value> {
    let stack = crate::plan::stack_name(file, args.stack.as_deref());
    let names: Vec<&str> = program.state.environments.iter().map(|e| &*e.name).collect();
    crate::plan::policy_view(aws, &stack, &names).map_err(|e| e.diag(None, aws.region().as_deref()).boxed())
}

impl Checked {
    fn failed(&self) -> bool {
        self.outcome.as_ref().map_or(true, |p| p.report.failed())
    }

    fn json(&self, live: bool) -> serde_json::Value {
        let file = self.file.display().to_string();
        match &self.outcome {
            Err(Failure { diags, sources }) => {
                json!({ "file": file, "ok": false, "diagnostics": diagnostics_json(diags, sources) })
            }
            Ok(p) => {
                let sources = &p.program.interp.sources;
                json!({
                    "file": file,
                    "ok": !p.report.failed(),
                    "live": live,
                    "deployed": p.deployed,
                    "enforced": p.report.enforced(),
                    "state": p.program.state.to_value().to_json(),
                    "violations": violations_json(&p.report, sources),
                    "diagnostics": diagnostics_json(&p.report.diags(), sources),
                })
            }
        }
    }

    /// Its part of the SARIF log (`nothing`: the report of a file that did not load).
    fn sarif<'a>(&'a self, nothing: &'a PolicyReport) -> sarif::Part<'a> {
        match &self.outcome {
            Err(Failure { diags, sources }) => sarif::Part { report: nothing, failures: diags, sources },
            Ok(p) => sarif::Part { report: &p.report, failures: &[], sources: &p.program.interp.sources },
        }
    }
}

/// Violations grouped by the environment or role at fault, each group under a heading; then the
/// suppressed ones, one line each with their reason; then the verdict.
fn human(checked: &Checked, style: Style) {
    let p = match &checked.outcome {
        Err(Failure { diags, sources }) => {
            report(diags, sources, style);
            return;
        }
        Ok(p) => p,
    };
    let (report, sources) = (&p.report, &p.program.interp.sources);
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
        let owner = s.owner.as_deref().map_or(String::new(), |o| format!("; owner {o}"));
        let expires = s.expires.as_deref().map_or(String::new(), |d| format!("; expires {d}"));
        err(&format!(
            "suppressed: policy `{}` in {subject} ({}:{line}): {}{owner}{expires}\n",
            v.policy.name,
            sources.get(s.span.src).name,
            s.reason
        ));
    }
    let state = &p.program.state;
    let verdict = if report.failed() { "failed" } else { "ok" };
    let live_note = p.deployed.map_or(String::new(), |n| {
        format!("; live: {n} of {} deployed", plural(state.environments.len(), "environment"))
    });
    let enforced = match p.report.enforced().len() {
        0 => String::new(),
        n => format!("; {} enforced", plural(n, "policy")),
    };
    super::out(&format!(
        "{}: {verdict} ({}{live_note}{enforced}){}\n{}",
        checked.file.display(),
        state.counts(),
        verdict_detail(report),
        summary(state)
    ));
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
    let suppression = |s: &crate::model::Suppression| {
        json!({
            "reason": s.reason,
            "owner": s.owner,
            "expires": s.expires,
            "location": location_json(s.span, sources),
        })
    };
    let items = report.violations.iter().map(|v| {
        json!({
            "policy": v.policy.name,
            "severity": v.policy.severity_name(),
            "enforced": v.enforced,
            "message": v.message,
            "subject": v.subject,
            "location": location_json(v.span, sources),
            "suppressed": v.suppressed.as_deref().map(suppression),
            "ignored_suppression": v.ignored.as_ref().map(|(s, why)| {
                let mut j = suppression(s);
                j["why"] = json!(why);
                j
            }),
        })
    });
    serde_json::Value::Array(items.collect())
}
