//! Golden tests: every `tests/cases/**/*.kenv` whose first line is `// args: …` is run through
//! the real binary (from `tests/cases`, with the file's path appended to the arguments), and its
//! stdout, stderr and exit code are compared with the sibling `.stdout` / `.stderr` files (absent
//! means empty) and the `exit: N` in the header. `KENV_BLESS=1 cargo test --test golden` rewrites
//! the expectations; review the diff.

mod support;

use std::fs;
use std::path::Path;

use support::{cases_dir, files_under, kenv};

struct Header {
    args: Vec<String>,
    exit: i32,
}

fn header(text: &str) -> Option<Header> {
    let first = text.lines().next()?.strip_prefix("// args:")?;
    let (args, exit) = match first.split_once("; exit:") {
        Some((a, e)) => (a, e.trim().parse().ok()?),
        None => (first, 0),
    };
    Some(Header { args: args.split_whitespace().map(String::from).collect(), exit })
}

fn expected(path: &Path, ext: &str) -> String {
    fs::read_to_string(path.with_extension(ext)).unwrap_or_default()
}

fn write_expected(path: &Path, ext: &str, content: &str) {
    let file = path.with_extension(ext);
    if content.is_empty() {
        let _ = fs::remove_file(file);
    } else {
        fs::write(file, content).unwrap();
    }
}

#[test]
fn golden_cases() {
    let root = cases_dir();
    let bless = std::env::var_os("KENV_BLESS").is_some();
    let files = files_under(&root, "kenv");
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        let Some(h) = header(&text) else { continue };
        ran += 1;
        let rel = path.strip_prefix(&root).unwrap().to_str().unwrap().to_string();
        let mut args = h.args.clone();
        args.push(rel.clone());
        let out = kenv(&root, &args);
        assert_ne!(out.code, 101, "{rel}: kenv panicked:\n{}", out.stderr);
        if bless {
            write_expected(path, "stdout", &out.stdout);
            write_expected(path, "stderr", &out.stderr);
            if out.code != h.exit {
                let first = text.lines().next().unwrap();
                let args_part = first.split("; exit:").next().unwrap();
                let new_first =
                    if out.code == 0 { args_part.to_string() } else { format!("{args_part}; exit: {}", out.code) };
                fs::write(path, text.replacen(first, &new_first, 1)).unwrap();
            }
            continue;
        }
        let (want_out, want_err) = (expected(path, "stdout"), expected(path, "stderr"));
        if out.stdout != want_out || out.stderr != want_err || out.code != h.exit {
            failures.push(format!(
                "--- {rel}: exit {} (want {})\n--- stdout:\n{}\n--- want stdout:\n{}\n--- stderr:\n{}\n--- want stderr:\n{}",
                out.code, h.exit, out.stdout, want_out, out.stderr, want_err
            ));
        }
    }
    assert!(ran >= 150, "expected at least 150 golden cases, found {ran}");
    assert!(
        failures.is_empty(),
        "{} of {ran} golden cases differ (KENV_BLESS=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every failing case must point into the source: a diagnostic with a label, not a bare message.
#[test]
fn bad_input_cases_exit_1_with_a_spanned_diagnostic() {
    let root = cases_dir();
    let files = files_under(&root.join("errors"), "kenv");
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let Some(h) = header(&text) else { continue };
        assert_eq!(h.exit, 1, "{}: an error case must exit 1", path.display());
        let stderr = expected(&path, "stderr");
        assert!(stderr.contains("╭─["), "{}: the diagnostic has no source snippet:\n{stderr}", path.display());
    }
}
