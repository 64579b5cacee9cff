//! `kenv plan`, `kenv apply`, `kenv destroy`: load and check the file (policies included), read
//! the stack on AWS, show the plan; apply and destroy then confirm and make it.

use std::rc::Rc;

use super::{report, StackArgs, FAILED, OK};
use crate::aws::{render_stats, Aws};
use crate::diag::{Diag, ErrorKind, Style};
use crate::eval::{self, run_policies, Failure, Interp, Mode, Program};
use crate::plan::{self, Plan};
use crate::source::SourceMap;

pub fn plan(args: &StackArgs, json: bool, style: Style) -> i32 {
    with_plan(args, false, false, style, |plan, _, _| {
        if json {
            super::out(&format!("{}\n", serde_json::to_string_pretty(&plan::to_json(plan)).unwrap_or_default()));
        } else {
            super::out(&plan::render(plan));
        }
        OK
    })
}

pub fn apply(args: &StackArgs, yes: bool, destroy: bool, style: Style) -> i32 {
    with_plan(args, yes, destroy, style, |plan, aws, sources| {
        super::out(&plan::render(plan));
        if plan.is_empty() {
            return OK;
        }
        let verb = if destroy { "Destroy" } else { "Apply" };
        if !yes && !super::ask(&format!("{verb} these changes to stack `{}`?", plan.stack)) {
            let help = "answer `y` at the prompt, or pass --yes to go ahead without asking";
            let d = Diag::bare(ErrorKind::Declined(format!("{verb} not confirmed; nothing was changed"))).help(help);
            return report(&[d], sources, style).max(FAILED);
        }
        let shown = super::progress::Shown::for_stderr();
        let applied = plan::apply(plan, aws, &|p| shown.show(p));
        shown.finish();
        match applied {
            Ok(done) => {
                super::out(&format!(
                    "{verb} complete: {} change(s) made to stack `{}`.\n",
                    done.done.len(),
                    plan.stack
                ));
                OK
            }
            Err(failed) => {
                let mut d = failed
                    .error
                    .diag(failed.span, aws.region().as_deref())
                    .label(format!("while applying {}", failed.address));
                d.kind = ErrorKind::Aws(format!("{}: {}", failed.address, failed.error.describe()));
                let done = if failed.done.is_empty() { "nothing".to_string() } else { failed.done.join(", ") };
                d.help = Some(format!(
                    "{}applied before the failure, and kept: {done}. Run `kenv {}` again to finish.",
                    d.help.map_or(String::new(), |h| format!("{h}. ")),
                    if destroy { "destroy" } else { "apply" }
                ));
                report(&[d], sources, style).max(FAILED)
            }
        }
    })
}

/// Loads, checks and plans, then hands the plan to `then`; `--stats` is printed at the end.
fn with_plan(
    args: &StackArgs,
    yes: bool,
    destroy: bool,
    style: Style,
    then: impl FnOnce(&Plan, &Aws, &SourceMap) -> i32,
) -> i32 {
    let aws = Rc::new(Aws::new(args.aws.options()));
    let code = match load_checked(args, &aws, yes, style) {
        Err(code) => code,
        Ok(program) => {
            let sources = &program.interp.sources;
            let stack = plan::stack_name(&args.file, args.stack.as_deref());
            let code = match plan::prepare((!destroy).then_some(&program.state), &aws, &stack) {
                Ok(plan) => then(&plan, &aws, sources),
                Err(d) => report(&[*d], sources, style).max(FAILED),
            };
            // The process ends soon after: freeing a large program value by value only costs time.
            std::mem::forget(program);
            code
        }
    };
    if args.aws.stats {
        super::err(&render_stats(&aws.stats()));
    }
    code
}

/// The file evaluated (AWS reads allowed, as in plan) with its policies passed; apply refuses a
/// stack that fails its own policies.
fn load_checked(args: &StackArgs, aws: &Rc<Aws>, yes: bool, style: Style) -> Result<Program, i32> {
    let mut program = match eval::load_with(&args.file, Interp::with_aws(Mode::Plan, aws.clone(), yes)) {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return Err(report(&diags, &sources, style).max(FAILED)),
    };
    let policies = match run_policies(&mut program.interp, &program.state, crate::model::Value::Null) {
        Ok(p) => p,
        Err(e) => return Err(report(&[*e], &program.interp.sources, style).max(FAILED)),
    };
    let diags = policies.diags();
    if !diags.is_empty() {
        let code = report(&diags, &program.interp.sources, style);
        if policies.failed() {
            return Err(code.max(FAILED));
        }
    }
    Ok(program)
}
