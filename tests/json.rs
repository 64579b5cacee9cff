//! `kenv eval --json` writes JSON by hand (`model::json`); serde_json writing the value's
//! `Serialize` is what it must equal, byte for byte. Checked here over every golden case and
//! example that evaluates: its desired state (declarations of every kind) and its `result`.

mod support;

use kenv::model::Value;

fn written(value: &Value, compact: bool) -> String {
    let mut out = Vec::new();
    kenv::model::json::write(value, compact, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_case_is_written_as_serde_json_writes_it() {
    let root = support::repo_dir();
    let mut files = support::files_under(&root.join("tests/cases"), "kenv");
    files.extend(support::files_under(&root.join("examples"), "kenv"));
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
