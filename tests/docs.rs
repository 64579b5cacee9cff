//! Every example in docs/language.md runs: `kenv` blocks evaluate cleanly, `kenv,error` blocks
//! fail with a spanned diagnostic.

mod support;

use support::{repo_dir, Test};

fn blocks(markdown: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```kenv") => current = Some((false, String::new())),
            (None, "```kenv,error") => current = Some((true, String::new())),
            (Some(_), "```") => out.push(current.take().unwrap()),
            (Some((_, text)), l) => {
                text.push_str(l);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_language_reference_example_runs() {
    let doc = std::fs::read_to_string(repo_dir().join("docs/language.md")).unwrap();
    let examples = blocks(&doc);
    assert!(examples.len() >= 15, "found only {} examples", examples.len());
    for (i, (should_fail, text)) in examples.iter().enumerate() {
        let t = Test::new().file("example.kenv", text);
        let out = t.run(&["check", "example.kenv"]);
        if *should_fail {
            assert_eq!(out.code, 1, "example {i} should fail:\n{text}");
            assert!(out.stderr.contains("╭─[example.kenv"), "example {i}: no spanned diagnostic:\n{}", out.stderr);
        } else {
            assert_eq!(out.code, 0, "example {i} failed:\n{text}\n{}", out.stderr);
        }
    }
}
