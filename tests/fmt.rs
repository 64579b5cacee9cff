//! `kenv fmt` over the whole golden corpus: every file that parses evaluates to the same thing
//! after formatting, formatting again changes nothing, and `--check` names what is not formatted.

mod support;

use std::path::Path;

use support::{cases_dir, kenv, repo_dir, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    kenv(dir, &args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The error codes of a failed run (its diagnostics' positions move with formatting).
fn codes(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("kenv::")).collect()
}

#[test]
fn fmt_keeps_the_meaning_of_every_golden_case_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let formatted = tmp.path().join("cases");
    copy_tree(&cases_dir(), &formatted);
    let first = run(&formatted, &["fmt", "."]);
    let files: Vec<String> = support::files_under(&cases_dir(), "kenv")
        .iter()
        .map(|path| path.strip_prefix(cases_dir()).unwrap().display().to_string())
        .collect();
    assert!(files.len() >= 250, "{}", files.len());

    let mut changed = 0;
    let mut unparsable = 0;
    for file in &files {
        let before = std::fs::read_to_string(cases_dir().join(file)).unwrap();
        let after = std::fs::read_to_string(formatted.join(file)).unwrap();
        if first.stderr.contains(&format!("./{file}: not formatted, it does not parse")) {
            assert_eq!(before, after, "{file}: a file that does not parse is left alone");
            unparsable += 1;
            continue;
        }
        changed += usize::from(before != after);
        let original = run(&cases_dir(), &["eval", "--json", file]);
        let reformatted = run(&formatted, &["eval", "--json", file]);
        assert_eq!(original.code, reformatted.code, "{file}:\n{after}");
        assert_eq!(original.stdout, reformatted.stdout, "{file} evaluates differently after fmt:\n{after}");
        assert_eq!(codes(&original.stderr), codes(&reformatted.stderr), "{file}");
    }
    assert!(changed > 20 && unparsable > 5, "changed {changed}, unparsable {unparsable}");

    // Formatting formatted text changes nothing.
    let again = run(&formatted, &["fmt", "--check", "."]);
    assert!(!again.stderr.contains("not formatted: "), "{}", again.stderr);
}

#[test]
fn fmt_check_names_unformatted_files_and_exits_1_and_the_repository_is_formatted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tidy.kenv"), "let x = [1, 2]\n").unwrap();
    std::fs::write(dir.path().join("messy.kenv"), "let  x=[1,2 ]\n\n\n\nlet y = x\n").unwrap();
    let out = run(dir.path(), &["fmt", "--check", "."]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not formatted: ./messy.kenv"), "{}", out.stderr);
    assert!(!out.stderr.contains("tidy.kenv"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(dir.path().join("messy.kenv")).unwrap(), "let  x=[1,2 ]\n\n\n\nlet y = x\n");
    let out = run(dir.path(), &["fmt", "messy.kenv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(dir.path().join("messy.kenv")).unwrap(), "let x = [1, 2]\n\nlet y = x\n");
    assert_eq!(run(dir.path(), &["fmt", "--check", "."]).code, 0);

    // stdin to stdout.
    let args: Vec<String> = ["fmt", "-"].map(String::from).to_vec();
    let piped = support::kenv_with_stdin(dir.path(), &args, "let a=1\n");
    assert_eq!((piped.code, piped.stdout.as_str()), (0, "let a = 1\n"));

    // The stdlib and the examples are kept formatted.
    let out = run(&repo_dir(), &["fmt", "--check", "stdlib", "examples"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
