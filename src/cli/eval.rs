//! `kenv eval`: a file's desired state, or an expression's value.

use std::path::Path;
use std::time::Instant;

use super::{report, FAILED, OK};
use crate::diag::Style;
use crate::eval::{self, Failure, Mode};

pub fn run(file: Option<&Path>, expr: Option<&str>, json: bool, timings: bool, style: Style) -> i32 {
    let started = Instant::now();
    let loaded = match file {
        Some(f) => eval::load(f, Mode::Eval),
        None => eval::load_text("<empty>", "", Mode::Eval),
    };
    let mut program = match loaded {
        Ok(p) => p,
        Err(Failure { diags, sources }) => return report(&diags, &sources, style),
    };
    let loaded_at = Instant::now();
    let value = match expr {
        None => program.state.to_value(),
        Some(text) => match program.interp.eval_input("<expr>", text, &program.scope) {
            Ok(v) => v.unwrap_or_else(|| program.interp.state.to_value()),
            Err(diags) => return report(&diags, &program.interp.sources, style),
        },
    };
    if json {
        // Straight into stdout: a config's JSON can be megabytes, not worth a copy or two.
        use std::io::Write;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let _ = serde_json::to_writer_pretty(&mut w, &value).map_err(std::io::Error::from).and_then(|()| {
            w.write_all(b"\n")?;
            w.flush()
        });
    } else {
        super::out(&format!("{}\n", value.to_kenv_pretty(100)));
    }
    if timings {
        let done = Instant::now();
        super::err(&format!(
            "parse {:.2} ms, evaluate {:.2} ms, output {:.2} ms\n",
            program.interp.parse_time.as_secs_f64() * 1e3,
            (loaded_at - started - program.interp.parse_time).as_secs_f64() * 1e3,
            (done - loaded_at).as_secs_f64() * 1e3
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
