//! `kenv eval`: a file's desired state, or an expression's value.

use std::path::Path;
use std::time::Instant;

use super::{report, FAILED, OK};
use crate::diag::Style;
use crate::eval::{self, Failure, Mode};
use crate::model::Value;

/// How `kenv eval` prints the value.
pub enum Output {
    Kenv,
    /// Indented as `serde_json::to_writer_pretty` lays it out, or `compact`: one line, no spaces.
    Json {
        compact: bool,
    },
}

pub fn run(file: Option<&Path>, expr: Option<&str>, output: Output, timings: bool, style: Style) -> i32 {
    let started = Instant::now();
    let loaded = match file {
        Some(f) => eval::load(f, Mode::Eval),
        None => eval::load_text("<empty>", "", Mode::Eval),
    };
    let mut program = match loaded {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return report(&diags, &sources, style),
    };
    let value = match expr {
        None => program.state.to_value(),
        Some(text) => match program.interp.eval_input("<expr>", text, &mut program.scope) {
            Ok(v) => v.unwrap_or_else(|| program.interp.state.to_value()),
            Err(diags) => return report(&diags, &program.interp.sources, style),
        },
    };
    let evaluated_at = Instant::now();
    match output {
        Output::Kenv => super::out(&format!("{}\n", value.to_kenv_pretty(100))),
        Output::Json { compact } => {
            let _ = print_json(&value, compact);
        }
    }
    if timings {
        let done = Instant::now();
        super::err(&format!(
            "parse {:.2} ms, evaluate {:.2} ms, output {:.2} ms\n",
            program.interp.parse_time.as_secs_f64() * 1e3,
            (evaluated_at - started).saturating_sub(program.interp.parse_time).as_secs_f64() * 1e3,
            (done - evaluated_at).as_secs_f64() * 1e3
        ));
    }
    let code = if program.interp.errors.is_empty() {
        OK
    } else {
        report(&program.interp.errors, &program.interp.sources, style).max(FAILED)
    };
    // The process ends here: freeing a large program value by value would only cost time.
    std::mem::forget((program, value));
    code
}

/// Writes JSON straight into stdout (a config's JSON can be megabytes, not worth a copy), through
/// a duplicate of stdout's descriptor (same file, offset and flags), not through `Stdout`, whose
/// line buffering searches every 64 KiB written for its last line break.
fn print_json(value: &Value, compact: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::fd::AsFd;
    let mut stdout = std::io::stdout().lock();
    stdout.flush()?; // what the program printed comes first
    let mut out = std::fs::File::from(stdout.as_fd().try_clone_to_owned()?);
    crate::model::json::write(value, compact, &mut out)?;
    out.write_all(b"\n")
}
