//! `kenv run`: a file as a script, effects included.

use std::path::Path;
use std::rc::Rc;

use super::{report, AwsArgs, OK};
use crate::aws::{render_stats, Aws};
use crate::diag::Style;
use crate::eval::{self, Failure, Interp, Mode};

pub fn run(file: &Path, args: &AwsArgs, yes: bool, style: Style) -> i32 {
    let aws = Rc::new(Aws::new(args.options()));
    let code = match eval::load_with(file, Interp::with_aws(Mode::Run, aws.clone(), yes)) {
        Ok(program) => {
            let code = if program.interp.errors.is_empty() {
                OK
            } else {
                report(&program.interp.errors, &program.interp.sources, style)
            };
            // The process ends soon after: freeing a large program value by value only costs time.
            std::mem::forget(program);
            code
        }
        Err(Failure { diags, sources }) => report(&diags, &sources, style),
    };
    if args.stats {
        super::err(&render_stats(&aws.stats()));
    }
    code
}
