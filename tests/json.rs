//! `kenv eval --json` writes JSON by hand (`model::json`); serde_json writing the value's
//! `Serialize` is what it must equal, byte for byte. Checked here over every golden case and
//! example that evaluates: its desired state (declarations of every kind) and its `result`.

mod support;

use std::path::{Path, PathBuf};

use kenv::model::Value;

fn kenv_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            kenv_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "kenv") {
            out.push(path);
        }
    }
}

fn written(value: &Value, compact: bool) -> String {
    let mut out = Vec::new();
    kenv::model::json::write(value, compact, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_case_is_written_as_serde_json_writes_it() {
    let root = support::repo_dir();
    let mut files = Vec::new();
    kenv_files(&root.join("tests/cases"), &mut files);
    kenv_files(&root.join("examples"), &mut files);
    let (mut evaluated, mut declaring) = (0, 0);
    for path in files {
        let Ok(program) = kenv::eval::load(&path, kenv::eval::Mode::Eval) else { continue };
        let state = program.state.to_value();
        evaluated += 1;
        declaring += usize::from(written(&state, true) != r#"{"environments":[],"policies":[],"roles":[]}"#);
        for value in [Some(state), program.scope.lookup("result")].into_iter().flatten() {
            assert_eq!(written(&value, true), serde_json::to_string(&value).unwrap(), "{path:?}");
            assert_eq!(written(&value, false), serde_json::to_string_pretty(&value).unwrap(), "{path:?}");
        }
    }
    assert!(evaluated > 150 && declaring > 40, "only {evaluated} files evaluated, {declaring} declared something");
}
