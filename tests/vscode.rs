//! The VS Code extension (editors/vscode) says what kenv says: its grammar highlights exactly
//! the builtins kenv has and the parameter types it accepts, and every snippet, its placeholders
//! filled with their defaults, is kenv that parses. (The grammar's own tests and the .vsix are
//! `editors/vscode/build`, run by .ci/run.)

use std::collections::BTreeSet;

use serde_json::Value;

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/editors/vscode/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The words of the first `(a|b|c)` group in a grammar rule's match.
fn alternatives(rule: &Value) -> BTreeSet<String> {
    let pattern = rule["match"].as_str().unwrap();
    let words = |g: &&str| g.contains('|') && g.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '|');
    let mut groups = pattern.split('(').filter_map(|after| after.split(')').next());
    groups.find(words).unwrap().split('|').map(str::to_string).collect()
}

#[test]
fn the_grammar_knows_the_builtins_and_parameter_types() {
    let grammar = read_json("syntaxes/kenv.tmLanguage.json");
    let builtins = alternatives(&grammar["repository"]["call"]["patterns"][0]);
    let expected: BTreeSet<String> = kenv::builtins::names().map(str::to_string).collect();
    assert_eq!(builtins, expected, "editors/vscode/syntaxes/kenv.tmLanguage.json's builtins");
    let types = alternatives(&grammar["repository"]["parameter"]);
    let expected: BTreeSet<String> = kenv::syntax::ast::PARAM_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(types, expected, "the grammar's parameter types");
}

/// A snippet's body with each placeholder its default (`${1:x}` → x, `${1|a,b|}` → a, `$0` → "").
fn expand(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find('$') {
        let escaped = rest[..i].ends_with('\\');
        out.push_str(&rest[..i - escaped as usize]);
        rest = &rest[i + 1..];
        if escaped {
            out.push('$');
        } else if let Some(inner) = rest.strip_prefix('{').filter(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
            let end = inner.find('}').unwrap();
            let spec = inner[..end].trim_start_matches(|c: char| c.is_ascii_digit());
            out.push_str(match spec.strip_prefix(':') {
                Some(default) => default,
                None => spec.trim_matches('|').split(',').next().unwrap(),
            });
            rest = &inner[end + 1..];
        } else {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        }
    }
    out + rest
}

#[test]
fn every_snippet_is_kenv_that_parses() {
    let snippets = read_json("snippets/kenv.json");
    let names: Vec<&str> = snippets.as_object().unwrap().keys().map(String::as_str).collect();
    for wanted in ["environment", "role", "policy", "install", "reach"] {
        assert!(names.contains(&wanted), "a `{wanted}` snippet: {names:?}");
    }
    for (name, snippet) in snippets.as_object().unwrap() {
        let lines: Vec<&str> = snippet["body"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
        let text = expand(&lines.join("\n"));
        assert!(!text.contains("${1") && !text.contains("$0"), "{name}: a placeholder left: {text}");
        let sources = kenv::source::SourceMap::default();
        let parsed = kenv::syntax::parse(sources.add(name.clone(), None, text.as_str()), &text);
        assert!(parsed.is_ok(), "the `{name}` snippet does not parse:\n{text}\n{parsed:?}");
    }
    assert_eq!(expand("a ${1:x} ${2|b,c|} \\${user} $0"), "a x b ${user} ");
}
