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

/// The attribute tables of docs/language.md are the schema's (`Schema::manual_table`), each in its
/// declaration's section; `KENV_BLESS=1` writes them.
#[test]
fn the_manuals_attribute_tables_are_the_schemas() {
    let path = repo_dir().join("docs/language.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let mut blessed = doc.clone();
    for schema in kenv::model::schema::ALL {
        let section = format!("\n### {}\n", schema.keyword);
        let at = blessed.find(&section).unwrap_or_else(|| panic!("no section `### {}`", schema.keyword));
        let start = at + blessed[at..].find("\n| attribute |").expect("an attribute table") + 1;
        let end = start + blessed[start..].find("\n\n").unwrap_or(blessed.len() - start) + 1;
        blessed.replace_range(start..end, &schema.manual_table());
    }
    if std::env::var_os("KENV_BLESS").is_some() {
        std::fs::write(&path, &blessed).unwrap();
    } else {
        assert!(
            doc == blessed,
            "docs/language.md's attribute tables differ from the schema's; KENV_BLESS=1 writes them"
        );
    }
}
