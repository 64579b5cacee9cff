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

/// Writes JSON straight into stdout (a config's JSON can be megabytes, not worth a copy): compact,
/// or laid out as `serde_json::to_writer_pretty` lays it out, with each line break and its
/// indentation in one write (serde_json's own formatter writes them piece by piece, six writes a
/// line). It goes through a duplicate of stdout's descriptor (same file, offset and flags), not
/// through `Stdout`, whose line buffering searches every 64 KiB written for its last line break.
fn print_json(value: &Value, compact: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::fd::AsFd;
    let mut stdout = std::io::stdout().lock();
    stdout.flush()?; // what the program printed comes first
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::from(stdout.as_fd().try_clone_to_owned()?));
    write_json(value, compact, &mut out)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// `value` as `kenv eval --json [--compact]` writes it (bench/perf.sh times both against
/// serde_json writing the same data as its own `serde_json::Value`).
pub fn write_json(value: &Value, compact: bool, out: &mut impl std::io::Write) -> std::io::Result<()> {
    if compact {
        return Ok(serde_json::to_writer(out, value)?);
    }
    let mut ser = serde_json::Serializer::with_formatter(out, Pretty::default());
    Ok(serde::Serialize::serialize(value, &mut ser)?)
}

#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// `,` (unless first), a line break and the indentation of the current depth.
    fn line<W: std::io::Write + ?Sized>(&self, w: &mut W, comma: bool) -> std::io::Result<()> {
        const LINE: &[u8] = b",\n                                                                ";
        let start = usize::from(!comma);
        match LINE.get(start..2 + 2 * self.depth) {
            Some(line) => w.write_all(line),
            None => {
                w.write_all(&LINE[start..2])?;
                (0..self.depth).try_for_each(|_| w.write_all(b"  "))
            }
        }
    }

    fn begin<W: std::io::Write + ?Sized>(&mut self, w: &mut W, open: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(open)
    }

    fn end<W: std::io::Write + ?Sized>(&mut self, w: &mut W, close: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(w, false)?;
        }
        w.write_all(close)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.begin(w, b"[")
    }

    fn end_array<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"]")
    }

    fn begin_array_value<W: std::io::Write + ?Sized>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.line(w, !first)
    }

    fn end_array_value<W: std::io::Write + ?Sized>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.begin(w, b"{")
    }

    fn end_object<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"}")
    }

    fn begin_object_key<W: std::io::Write + ?Sized>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.line(w, !first)
    }

    fn begin_object_value<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: std::io::Write + ?Sized>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_laid_out_as_serde_json_lays_it_out_at_any_depth() {
        let mut value = Value::list(vec![]);
        for depth in 0..40 {
            let mut rec = crate::model::Record::new();
            rec.insert("inner".into(), value);
            rec.insert("depth".into(), Value::Int(depth));
            rec.insert("empty".into(), Value::list(vec![]));
            value = Value::list(vec![Value::record(rec), Value::str("x")]);
        }
        let mut ours = Vec::new();
        write_json(&value, false, &mut ours).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string_pretty(&value).unwrap());
    }
}
