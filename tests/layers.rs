//! The structure ARCHITECTURE.md states, checked against the sources: which module may import
//! which (a module sees only the layers below it, so the graph has no cycle), where the terminal
//! and pest may be touched, and how long a file may grow.

mod support;

use std::collections::BTreeSet;

/// The layers, lowest first. A module may name (`crate::x`) only modules before it.
const LAYERS: &[&str] = &[
    "source", "diag", "host", "remote", "syntax", "aws", "model", "install", "builtins", "plan", "eval", "repl", "lsp",
    "cli",
];

/// Where the process's own streams may be used: the host (the terminal behind the interpreter),
/// the CLI, and the REPL's line editor. Everything else writes through a `Host`.
const TERMINAL: &[&str] = &["src/host.rs", "src/cli/", "src/repl/line.rs"];

/// No file over this many lines (STYLE.md: small files, one concept each).
const MAX_LINES: usize = 600;

/// Every `src/` file but the crate roots, as (path from the repository, its module, its text).
fn files() -> Vec<(String, String, String)> {
    let root = support::repo_dir();
    let paths = support::files_under(&root.join("src"), "rs");
    let mut out = Vec::new();
    for path in paths {
        let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let module = rel.trim_start_matches("src/").split(['/', '.']).next().unwrap().to_string();
        if module != "lib" && module != "main" {
            out.push((rel, module, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

/// The modules a file names as `crate::NAME`, outside comments.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let name: String = line[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (path, module, text) in files() {
        let Some(own) = rank(&module) else {
            wrong.push(format!("{path}: module `{module}` is in no layer (add it to LAYERS and ARCHITECTURE.md)"));
            continue;
        };
        for name in imports(&text).into_iter().filter(|n| *n != module) {
            checked += 1;
            match rank(&name) {
                Some(r) if r < own => {}
                Some(_) => wrong.push(format!("{path}: `{module}` imports `{name}`, a layer above or beside it")),
                None => wrong.push(format!("{path}: `crate::{name}` is no module of a layer")),
            }
        }
    }
    assert!(checked > 50, "only {checked} imports found: is the scan broken?");
    assert!(wrong.is_empty(), "the layering in ARCHITECTURE.md is broken:\n{}", wrong.join("\n"));
}

#[test]
fn only_the_host_the_cli_and_the_line_editor_touch_the_terminal() {
    let streams =
        ["std::io::stdout", "std::io::stderr", "std::io::stdin", "println!", "eprintln!", "print!(", "eprint!("];
    let mut wrong = Vec::new();
    for (path, _, text) in files() {
        if TERMINAL.iter().any(|t| path.starts_with(t)) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if !line.trim_start().starts_with("//") && streams.iter().any(|s| line.contains(s)) {
                wrong.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(wrong.is_empty(), "write through the interpreter's Host instead:\n{}", wrong.join("\n"));
}

#[test]
fn pest_types_stop_at_the_parser() {
    let wrong: Vec<String> = files()
        .into_iter()
        .filter(|(path, _, text)| !path.starts_with("src/syntax/") && text.contains("pest::"))
        .map(|(path, _, _)| path)
        .collect();
    assert!(wrong.is_empty(), "pest outside src/syntax: {wrong:?}");
}

#[test]
fn no_source_file_is_longer_than_the_style_allows() {
    let long: Vec<String> = files()
        .into_iter()
        .filter(|(_, _, text)| text.lines().count() > MAX_LINES)
        .map(|(path, _, text)| format!("{path}: {} lines", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "split these files (at most {MAX_LINES} lines):\n{}", long.join("\n"));
}
