//! `kenv plan`, `kenv apply`, `kenv destroy`: load and check the file (policies included), read
//! the stack on AWS, show the plan; apply and destroy then confirm, take the stack's lease, and
//! make the plan they showed.

use std::rc::Rc;

use super::{report, DeployArgs, Named, PolicyArgs, StackArgs, FAILED, OK};
use crate::aws::{render_stats, Aws, ErrorClass};
use crate::diag::{Diag, ErrorKind, Style};
use crate::eval::{self, Failure, Interp, Mode, Program};
use crate::model::run_policies;
use crate::plan::guard::{self, Guard};
use crate::plan::{self, lease, Plan};
use crate::source::SourceMap;

/// Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;

/// Exit code of `plan --detailed-exitcode` when there are changes to make.
pub const CHANGES: i32 = 2;

pub fn plan(args: &DeployArgs, json: bool, detailed: bool, named: &Named, style: Style) -> i32 {
    let aws = Rc::new(Aws::new(args.stack.aws.options()));
    let code = match load_checked(&args.stack, &args.policies, &aws, false, style) {
        Err(code) => code,
        Ok(program) => {
            let code = match prepare(args, &program, &aws, false) {
                Err(d) => report(&[*d], &program.interp.sources, style).max(FAILED),
                Ok(plan) => {
                    if json {
                        let text = serde_json::to_string_pretty(&plan::to_json(&plan)).unwrap_or_default();
                        super::out(&format!("{text}\n"));
                    } else {
                        super::out(&plan::render(&plan));
                    }
                    let refused = plan::protect::refusals(&plan, &named.replace, &named.delete);
                    let code = report(&refused, &program.interp.sources, style);
                    if code == OK && detailed && !plan.is_empty() {
                        CHANGES
                    } else {
                        code
                    }
                }
            };
            // The process ends soon after: freeing a large program value by value only costs time.
            std::mem::forget(program);
            code
        }
    };
    finish(&args.stack, &aws, code)
}

/// How `apply` goes: `--yes`, `destroy` instead of apply, `--break-lock`, the protected
/// environments named for replacement or deletion.
#[derive(Debug, Clone)]
pub struct How {
    pub yes: bool,
    pub destroy: bool,
    pub break_lock: bool,
    pub named: Named,
}

/// Plans, confirms, then applies under the stack's lease. The plan applied is always one made
/// under the lease: once the person has said yes (or `--yes` has), the lease is taken and the plan
/// made again; if it is not the one they saw (the stack changed on AWS meanwhile), it is shown and
/// asked about again. A file that changed while the question was open is loaded and planned
/// again, never applied blind. A plan with nothing to do takes no lease and writes nothing.
pub fn apply(args: &DeployArgs, how: &How, style: Style) -> i32 {
    let aws = Rc::new(Aws::new(args.stack.aws.options()));
    let code = match load_checked(&args.stack, &args.policies, &aws, how.yes, style) {
        Err(code) => code,
        Ok(program) => confirm_and_apply(args, &aws, program, how, style),
    };
    finish(&args.stack, &aws, code)
}

fn confirm_and_apply(args: &DeployArgs, aws: &Rc<Aws>, mut program: Program, how: &How, style: Style) -> i32 {
    let stack = plan::stack_name(&args.stack.file, args.stack.stack.as_deref());
    let say = |line: &str| super::err(&format!("{line}\n"));
    let mut held = None;
    let mut confirmed = String::new();
    let code = loop {
        let sources = &program.interp.sources;
        let plan = match prepare(args, &program, aws, how.destroy) {
            Ok(plan) => plan,
            Err(d) => break release(held, report(&[*d], sources, style).max(FAILED)),
        };
        let text = plan::render(&plan);
        if held.is_some() && text == confirmed {
            let code = if plan.is_empty() { OK } else { make(&plan, args, aws, held.as_ref(), how, sources, style) };
            break release(held, code);
        }
        if held.is_some() {
            say("The stack changed on AWS since that plan was made; the plan is now:");
        }
        super::out(&text);
        if plan.is_empty() {
            break release(held, OK);
        }
        let refused = if how.destroy {
            Vec::new()
        } else {
            plan::protect::refusals(&plan, &how.named.replace, &how.named.delete)
        };
        if !refused.is_empty() {
            break release(held, report(&refused, sources, style).max(FAILED));
        }
        if !how.yes && !confirm(&plan, how) {
            let d = declined(how);
            break release(held, report(&[d], sources, style).max(FAILED));
        }
        if held.is_some() && how.yes {
            let code = make(&plan, args, aws, held.as_ref(), how, sources, style);
            break release(held, code);
        }
        let changed = sources.changed_files();
        if !changed.is_empty() {
            say(&format!("{} changed since this plan was made: loading and planning again", changed.join(", ")));
            program = match load_checked(&args.stack, &args.policies, aws, how.yes, style) {
                Ok(p) => p,
                Err(code) => break release(held, code),
            };
            continue;
        }
        if held.is_none() {
            match lease::take(aws, &stack, &plan.caller.arn, how.break_lock, &say) {
                Ok(l) => held = Some(l),
                Err(d) => break report(&[*d], sources, style).max(FAILED),
            }
        }
        confirmed = text;
    };
    // The process ends soon after: freeing a large program value by value only costs time.
    std::mem::forget(program);
    code
}

fn verb(how: &How) -> &'static str {
    if how.destroy {
        "Destroy"
    } else {
        "Apply"
    }
}

fn confirm(plan: &Plan, how: &How) -> bool {
    super::ask(&format!("{} these changes to stack `{}`?", verb(how), plan.stack))
}

fn declined(how: &How) -> Diag {
    let help = "answer `y` at the prompt, or pass --yes to go ahead without asking";
    Diag::bare(ErrorKind::Declined(format!("{} not confirmed; nothing was changed", verb(how)))).help(help)
}

/// Gives the lease back (a failure to is said, and kept out of the exit code unless it is all
/// that went wrong).
fn release(held: Option<lease::Lease>, code: i32) -> i32 {
    let Some(lease) = held else { return code };
    match lease.release() {
        Ok(()) => code,
        Err(e) => {
            super::err(&format!("kenv: could not release the stack's lock: {}\n", e.describe()));
            code.max(FAILED)
        }
    }
}

/// Makes the plan: the stack's record first (its origin, who applies, when), then the changes,
/// progress as it goes, then what was done, or where it stopped and why. A destroy that finishes
/// deletes the record.
fn make(
    plan: &Plan,
    args: &DeployArgs,
    aws: &Aws,
    lease: Option<&lease::Lease>,
    how: &How,
    sources: &SourceMap,
    style: Style,
) -> i32 {
    crate::host::catch_interrupts();
    let verb = verb(how);
    let origin = guard::origin_of(&args.stack.file);
    let recorded = if how.destroy { Ok(()) } else { guard::record(aws, &plan.stack, &origin, &plan.caller) };
    if let Err(e) = recorded {
        let d = e.diag(None, aws.region().as_deref()).label("while recording the stack's origin; nothing was changed");
        return report(&[d], sources, style).max(FAILED);
    }
    let shown = super::progress::Shown::for_stderr();
    let applied = plan::apply(plan, aws, &|p| {
        if let Some(Err(e)) = lease.map(lease::Lease::renew) {
            shown.show(plan::Progress::Line(&format!("  warning: could not renew the stack's lock: {}", e.describe())));
        }
        shown.show(p)
    });
    shown.finish();
    let failed = match applied {
        Ok(done) => {
            let (n, stack) = (done.done.len(), &plan.stack);
            if how.destroy {
                if let Err(e) = aws.delete_parameter(&guard::parameter(stack)) {
                    super::err(&format!("kenv: could not delete the stack's record: {}\n", e.describe()));
                }
            }
            super::out(&format!("{verb} complete: {n} change(s) made to stack `{stack}`.\n"));
            return OK;
        }
        Err(failed) => failed,
    };
    let again = if how.destroy { "destroy" } else { "apply" };
    let done = if failed.done.is_empty() { "nothing".to_string() } else { failed.done.join(", ") };
    if failed.error.class == ErrorClass::Interrupted {
        let message = format!("{verb} interrupted (Ctrl-C) before {}; it stopped cleanly", failed.address);
        let help = format!("done before it stopped, and kept: {done}. Run `kenv {again}` again to finish.");
        return report(&[Diag::bare(ErrorKind::Interrupted(message)).help(help)], sources, style).max(INTERRUPTED);
    }
    let mut d =
        failed.error.diag(failed.span, aws.region().as_deref()).label(format!("while applying {}", failed.address));
    let message = format!("{}: {}", failed.address, failed.error.describe());
    d.kind = ErrorKind::Aws { class: failed.error.class, message };
    d.help = Some(format!(
        "{}applied before the failure, and kept: {done}. Run `kenv {again}` again to finish.",
        d.help.map_or(String::new(), |h| format!("{h}. "))
    ));
    report(&[d], sources, style).max(FAILED)
}

/// The plan of the loaded file (everything the stack owns goes, for destroy), held to the
/// accounts the file and kenv.lock name and to the file's origin.
fn prepare(args: &DeployArgs, program: &Program, aws: &Aws, destroy: bool) -> Result<Plan, Box<Diag>> {
    let stack = plan::stack_name(&args.stack.file, args.stack.stack.as_deref());
    let guard = guard_of(&args.stack.file, program, args.adopt)?;
    plan::prepare((!destroy).then_some(&program.state), aws, &stack, &guard)
}

/// What the file, its kenv.lock and `--adopt` hold the stack to.
fn guard_of(file: &std::path::Path, program: &Program, adopt: bool) -> Result<Guard, Box<Diag>> {
    let mut guard = Guard::of(&program.state);
    if let Some(id) = super::enforce::lock_beside(file)?.account {
        guard.accounts.push(guard::Account { id, span: None });
    }
    guard.origin = Some(guard::origin_of(file));
    guard.adopt = adopt;
    Ok(guard)
}

/// `kenv import`: the file's declaration at `address` (`environment.NAME`, `role.NAME`) adopts
/// the environment or role `id`.
pub fn import(args: &StackArgs, address: &str, id: &str, style: Style) -> i32 {
    let aws = Rc::new(Aws::new(args.aws.options()));
    let code = match load_checked(args, &PolicyArgs::default(), &aws, false, style) {
        Err(code) => code,
        Ok(program) => {
            let (sources, state) = (&program.interp.sources, &program.state);
            let stack = plan::stack_name(&args.file, args.stack.as_deref());
            let env = state.environments.iter().find(|e| plan::env_address(&e.name) == address);
            let role = state.roles.iter().find(|r| plan::role_address(&r.name) == address);
            let held = guard_of(&args.file, &program, false).and_then(|g| guard::check(&aws, &stack, &g));
            if let Err(d) = held {
                return finish(args, &aws, report(&[*d], sources, style).max(FAILED));
            }
            let adopted = match (env, role) {
                (Some(env), _) => plan::adopt::adopt(&aws, &stack, env, id),
                (_, Some(role)) => plan::adopt::adopt_role(&aws, &stack, role, id.rsplit('/').next().unwrap_or(id)),
                _ => {
                    let envs = state.environments.iter().map(|e| plan::env_address(&e.name));
                    let candidates: Vec<String> =
                        envs.chain(state.roles.iter().map(|r| plan::role_address(&r.name))).collect();
                    let near = crate::diag::suggest(address, candidates.iter().map(String::as_str));
                    let help = near.unwrap_or_else(|| "declare it first, then import it by its address".into());
                    Err(Diag::bare(ErrorKind::NotDeclared(address.to_string())).help(help).boxed())
                }
            };
            match adopted {
                Err(d) => report(&[*d], sources, style).max(FAILED),
                Ok(differs) => {
                    let rest = match differs.as_slice() {
                        [] => "it matches the file".to_string(),
                        d => format!("`kenv apply` brings {} to the file's values, in place", d.join(", ")),
                    };
                    super::out(&format!("Imported {id} as {address} of stack `{stack}`: {rest}.\n"));
                    OK
                }
            }
        }
    };
    finish(args, &aws, code)
}

/// `--stats`, printed at the end whatever happened.
fn finish(args: &StackArgs, aws: &Aws, code: i32) -> i32 {
    if args.aws.stats {
        super::err(&render_stats(&aws.stats()));
    }
    code
}

/// The file evaluated (AWS reads allowed, as in plan) with its policies passed, and those the
/// flags and kenv.lock enforce: a stack that fails them is refused before anything of it is read
/// from AWS.
fn load_checked(
    args: &StackArgs,
    enforce: &PolicyArgs,
    aws: &Rc<Aws>,
    yes: bool,
    style: Style,
) -> Result<Program, i32> {
    let mut program = match eval::load_with(&args.file, Interp::with_aws(Mode::Plan, aws.clone(), yes)) {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return Err(report(&diags, &sources, style).max(FAILED)),
    };
    let no_value = crate::model::Value::Null;
    let rules = match super::enforce::rules(&mut program.interp, &args.file, enforce) {
        Ok(rules) => rules,
        Err(e) => return Err(report(&[*e], &program.interp.sources, style).max(FAILED)),
    };
    let policies = match run_policies(&mut program.interp, &program.state, no_value, &rules) {
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
