//! The structure ARCHITECTURE.md states, checked against the sources: which module may import
//! which (a module sees only the layers below it, so the graph has no cycle), where the terminal
//! and pest may be touched, and how long a file may grow.

mod support;

use std::collections::{BTreeMap, BTreeSet};

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

/// The one loop between files of a folder that is allowed: the value type and what a value holds,
/// each of which holds or reads values in turn — a record's fields, a closure's captured scope, a
/// builtin (whose arguments are read as typed values).
const ALLOWED_LOOPS: &[&[&str]] = &[&[
    "src/model/native.rs",
    "src/model/record.rs",
    "src/model/scope.rs",
    "src/model/typed.rs",
    "src/model/value.rs",
]];

/// The text with `//` comments taken out.
fn code(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The first names of the paths a use tree starts with: `a` of `a::X`, and `{a::X, b, C}` →
/// a, b, C (a brace group's items; `self` for the group's own module).
fn heads(tree: &str) -> Vec<String> {
    let tree = tree.trim_start();
    let ident = |t: &str| t.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let Some(group) = tree.strip_prefix('{') else { return vec![ident(tree)] };
    let (mut depth, mut item, mut out) = (0, String::new(), Vec::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => out.push(ident(item.trim_start())),
            _ => {}
        }
        if c == ',' && depth == 0 {
            item.clear();
        } else {
            item.push(c);
        }
    }
    out.push(ident(item.trim_start()));
    out.into_iter().filter(|h| !h.is_empty()).collect()
}

/// What a folder's `mod.rs` re-exports: item name → the file it comes from.
fn reexports(mod_rs: &str, stems: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in code(mod_rs).split(';').map(str::trim).filter_map(|s| s.strip_prefix("pub use ")) {
        let stmt = stmt.strip_prefix("self::").unwrap_or(stmt);
        let Some((from, rest)) = stmt.split_once("::") else { continue };
        if !stems.contains(from) {
            continue;
        }
        let names = rest.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',').filter_map(|n| n.split_whitespace().last()).map(|n| n.rsplit("::").next().unwrap())
        {
            out.insert(name.to_string(), from.to_string());
        }
    }
    out
}

/// Each folder's files (not its `mod.rs`, the folder's face) and the sibling files each names:
/// by `super::FILE`, `crate::FOLDER::FILE`, or an item its `mod.rs` re-exports from one.
fn sibling_imports(files: &[(String, String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let folders: BTreeSet<&str> = files.iter().filter_map(|(p, _, _)| p.rsplit_once('/').map(|(d, _)| d)).collect();
    for folder in folders.into_iter().filter(|f| *f != "src") {
        let in_folder: Vec<&(String, String, String)> =
            files.iter().filter(|(p, _, _)| p.rsplit_once('/').map(|(d, _)| d) == Some(folder)).collect();
        let stem = |p: &str| p.rsplit('/').next().unwrap().trim_end_matches(".rs").to_string();
        let stems: BTreeSet<String> = in_folder.iter().map(|(p, _, _)| stem(p)).filter(|s| s != "mod").collect();
        let mod_rs = in_folder.iter().find(|(p, _, _)| p.ends_with("/mod.rs")).map_or("", |(_, _, t)| t.as_str());
        let exported = reexports(mod_rs, &stems);
        let module = folder.trim_start_matches("src/");
        for (path, _, text) in in_folder.into_iter().filter(|(p, _, _)| !p.ends_with("/mod.rs")) {
            let text = code(text);
            let prefixes = ["super::".to_string(), format!("crate::{module}::")];
            let mut named = BTreeSet::new();
            for prefix in &prefixes {
                for (at, _) in text.match_indices(prefix.as_str()) {
                    for head in heads(&text[at + prefix.len()..]) {
                        let file = if stems.contains(&head) { Some(head) } else { exported.get(&head).cloned() };
                        named.extend(file.filter(|f| *f != stem(path)).map(|f| format!("{folder}/{f}.rs")));
                    }
                }
            }
            out.insert(path.clone(), named);
        }
    }
    out
}

/// The loops of a graph: each strongly connected set of more than one file (Tarjan's).
fn loops(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, (usize, usize)>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, (n, n));
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                match self.index.get(w.as_str()).copied() {
                    None => {
                        self.visit(w);
                        let low = self.index[w.as_str()].1.min(self.index[v].1);
                        self.index.get_mut(v).unwrap().1 = low;
                    }
                    Some((i, _)) if self.stack.contains(&w.as_str()) => {
                        let low = i.min(self.index[v].1);
                        self.index.get_mut(v).unwrap().1 = low;
                    }
                    Some(_) => {}
                }
            }
            if self.index[v].0 == self.index[v].1 {
                let at = self.stack.iter().rposition(|s| *s == v).unwrap();
                let mut found: Vec<String> = self.stack.drain(at..).map(String::from).collect();
                if found.len() > 1 {
                    found.sort();
                    self.out.push(found);
                }
            }
        }
    }
    let mut walk = Walk { graph, index: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.out
}

#[test]
fn no_two_files_of_a_folder_import_each_other() {
    let graph = sibling_imports(&files());
    assert!(graph.values().map(BTreeSet::len).sum::<usize>() > 40, "too few imports found: is the scan broken?");
    let found = loops(&graph);
    let allowed = |l: &Vec<String>| ALLOWED_LOOPS.iter().any(|a| a.iter().copied().eq(l.iter().map(String::as_str)));
    let wrong: Vec<String> = found.iter().filter(|l| !allowed(l)).map(|l| l.join(" ↔ ")).collect();
    assert!(
        wrong.is_empty(),
        "files of one folder import each other (move what they share to a file of its own):\n{}",
        wrong.join("\n")
    );
    assert!(found.iter().any(allowed), "the allowed loop is gone: take it out of ALLOWED_LOOPS");
}

/// The check sees a loop planted between two files of one folder, through `super::` paths, a
/// brace group and a `mod.rs` re-export alike.
#[test]
fn a_planted_loop_is_found() {
    let file = |path: &str, text: &str| (path.to_string(), "plan".to_string(), text.to_string());
    let files = [
        file("src/plan/mod.rs", "mod a;\nmod b;\npub use b::{Thing, Other as Renamed};\n"),
        file("src/plan/a.rs", "use super::{Renamed, c::X};\n"),
        file("src/plan/b.rs", "fn f() { super::a::g() }\n"),
        file("src/plan/c.rs", "// use super::a;\nuse crate::plan::d;\n"),
        file("src/plan/d.rs", "use super::c::Y;\n"),
    ];
    let mut found = loops(&sibling_imports(&files));
    found.sort();
    assert_eq!(found, [vec!["src/plan/a.rs", "src/plan/b.rs"], vec!["src/plan/c.rs", "src/plan/d.rs"]]);
}

#[test]
fn only_the_host_the_cli_and_the_line_editor_touch_the_terminal() {
    let streams = [
        "std::io::stdout",
        "std::io::stderr",
        "std::io::stdin",
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "Connection::stdio",
    ];
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
