//! `kenv lsp` driven over stdio as an editor drives it: initialize; open a file with a mistake →
//! the diagnostic at its range; change it → cleared; hover on a builtin; completion inside an
//! environment; the outline; a broken file → a syntax diagnostic and the server still serving;
//! formatting equal to `kenv fmt`; shutdown and exit. Then a workspace of two files: definition
//! and hover of a template the other file exports, completion of a module's names, an unsaved
//! change in the module updating the importer's diagnostics, the quick fix of a "did you mean",
//! and a burst of changes checked once.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

struct Editor {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Drop for Editor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Editor {
    fn start(dir: &std::path::Path) -> Editor {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kenv"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                match line.trim_end().split_once(": ") {
                    Some(("Content-Length", n)) => length = n.parse().unwrap(),
                    _ if line.trim_end().is_empty() => break,
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            stdout.read_exact(&mut body).unwrap();
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        });
        Editor { child, stdin, messages, next_id: 1 }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn next(&self) -> Value {
        self.messages.recv_timeout(Duration::from_secs(30)).expect("kenv lsp answers within 30 s")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.next();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next diagnostics published.
    fn diagnostics(&self) -> Vec<Value> {
        loop {
            let message = self.next();
            if message["method"] == "textDocument/publishDiagnostics" {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    /// The next diagnostics published for `uri` (others are passed over).
    fn diagnostics_of(&self, uri: &str) -> Vec<Value> {
        loop {
            let message = self.next();
            if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    fn initialize(&mut self) -> Value {
        let init = self.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
        self.notify("initialized", json!({}));
        init["capabilities"].clone()
    }

    fn open(&mut self, uri: &str, text: &str) {
        let document = json!({ "uri": uri, "languageId": "kenv", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": document }));
    }

    fn change(&mut self, uri: &str, change: Value) {
        let params = json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [change] });
        self.notify("textDocument/didChange", params);
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        let at = json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
        self.request(method, at)
    }
}

const WITH_MISTAKE: &str = "environment \"dev\" {\n  kind          = ec2\n  instance_type = \"t3.micro\"\n  image         = \"amazonlinux-2023-x86_64\"\n  subnt         = \"subnet-0123456789abcdef0\"\n}\n\nlet tags = join([\"a\", \"b\"], \"-\")\n";

#[test]
fn an_editor_gets_diagnostics_hover_and_formatting_and_the_server_exits_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("main.kenv");
    std::fs::write(&file, WITH_MISTAKE).unwrap();
    let uri = format!("file://{}", file.display());
    let mut editor = Editor::start(dir.path());

    let init = editor.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": {} }));
    let caps = &init["capabilities"];
    assert_eq!(caps["textDocumentSync"], 2, "incremental sync: {caps}");
    assert_eq!((caps["hoverProvider"].clone(), caps["documentFormattingProvider"].clone()), (json!(true), json!(true)));
    editor.notify("initialized", json!({}));

    let document = json!({ "uri": uri, "languageId": "kenv", "version": 1, "text": WITH_MISTAKE });
    editor.notify("textDocument/didOpen", json!({ "textDocument": document }));
    let found = editor.diagnostics();
    let codes: Vec<&str> = found.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["kenv::unknown-attribute", "kenv::missing-attribute"], "{found:?}");
    assert_eq!(found[0]["severity"], 1);
    assert_eq!(
        found[0]["range"],
        json!({ "start": { "line": 4, "character": 2 }, "end": { "line": 4, "character": 7 } })
    );
    assert!(found[0]["message"].as_str().unwrap().contains("help: did you mean `subnet`?"), "{}", found[0]);

    // The editor fixes the word: an incremental change of those five characters.
    let change = json!({ "range": found[0]["range"], "text": "subnet" });
    editor.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [change] }),
    );
    assert_eq!(editor.diagnostics(), Vec::<Value>::new(), "cleared");

    let hover = editor.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 7, "character": 12 } }),
    );
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.starts_with("```kenv\njoin(items, sep"), "{text}");
    assert_eq!(
        hover["range"],
        json!({ "start": { "line": 7, "character": 11 }, "end": { "line": 7, "character": 15 } })
    );

    // Completion inside the environment offers its attributes; the outline lists what the file
    // declares.
    let items = editor.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 4, "character": 2 } }),
    );
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"instance_type") && labels.contains(&"reach"), "{labels:?}");
    assert!(!labels.contains(&"join"), "no builtins among attributes: {labels:?}");
    let symbols = editor.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
    let names: Vec<&str> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["environment dev", "tags"]);

    // A broken buffer: a located syntax error, and the server goes on serving.
    let broken = "let x = [1, 2\nenvironment {{{ )\n";
    let whole = json!({ "text": broken });
    editor.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [whole] }),
    );
    let found = editor.diagnostics();
    assert_eq!(found[0]["code"], "kenv::syntax", "{found:?}");
    assert_eq!(
        editor.request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } })
        ),
        Value::Null,
        "a file that does not parse is not formatted"
    );

    // Formatting is exactly `kenv fmt`.
    let messy = "let   a=1\nenvironment \"e\" {\nkind = ec2\n   instance_type=\"t3.micro\"\n}\n";
    editor.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 4 }, "contentChanges": [{ "text": messy }] }),
    );
    editor.diagnostics();
    let edits = editor.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let fmt = support::kenv_env(dir.path(), &["fmt".into(), "-".into()], messy, &[]);
    assert_eq!(edits[0]["newText"].as_str().unwrap(), fmt.stdout);
    assert_eq!(edits[0]["range"]["start"], json!({ "line": 0, "character": 0 }));

    assert_eq!(editor.request("shutdown", Value::Null), Value::Null);
    editor.notify("exit", Value::Null);
    let mut status = None;
    for _ in 0..300 {
        status = editor.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("kenv lsp exits within 30 s of `exit`");
    assert!(status.success(), "kenv lsp exits 0 after shutdown and exit: {status}");
}

const TEAM: &str = "// The team's template.\n\n/// A developer's Cloud9 environment.\nfn dev_env(user: string, size: string = \"t3.medium\") = environment \"dev-${user}\" {\n  instance_type = size\n  image         = \"amazonlinux-2023-x86_64\"\n  subnet        = \"subnet-0123456789abcdef0\"\n}\n\n/// Who is on the team.\nlet members = [\"alice\", \"bob\"]\n";
const MAIN: &str = "import \"./team.kenv\"\n\nlet who = team.members\nteam.dev_env(\"alice\")\n";

fn labels(items: &Value) -> Vec<&str> {
    items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect()
}

#[test]
fn across_files_definition_hover_completion_unsaved_buffers_and_quick_fixes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("team.kenv"), TEAM).unwrap();
    std::fs::write(dir.path().join("main.kenv"), MAIN).unwrap();
    let team = format!("file://{}", dir.path().join("team.kenv").display());
    let main = format!("file://{}", dir.path().join("main.kenv").display());
    let mut editor = Editor::start(dir.path());
    let caps = editor.initialize();
    assert_eq!((caps["definitionProvider"].clone(), caps["codeActionProvider"].clone()), (json!(true), json!(true)));
    editor.open(&main, MAIN);
    assert_eq!(editor.diagnostics_of(&main), Vec::<Value>::new());

    // `team.dev_env` is defined in team.kenv, where `fn dev_env` names it.
    let found = editor.at("textDocument/definition", &main, 3, 7);
    assert_eq!(found["uri"], team.as_str());
    assert_eq!(
        found["range"],
        json!({ "start": { "line": 3, "character": 3 }, "end": { "line": 3, "character": 10 } })
    );
    // On the import itself: the module's file.
    assert_eq!(editor.at("textDocument/definition", &main, 0, 10)["uri"], team.as_str());

    // Hover: the template's signature, doc comment and parameters; a value's doc and its kind
    // (from evaluating the file).
    let hover = editor.at("textDocument/hover", &main, 3, 7);
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.starts_with("```kenv\nfn dev_env(user: string, size: string = \"t3.medium\")\n```"), "{text}");
    assert!(
        text.contains("A developer's Cloud9 environment.") && text.contains("| `user` | string | (required) |"),
        "{text}"
    );
    let hover = editor.at("textDocument/hover", &main, 2, 16);
    assert_eq!(hover["contents"]["value"], "```kenv\nlet members\n```\n\n*list*\n\nWho is on the team.");
    // A local name: its definition in this file.
    let found = editor.at("textDocument/definition", &main, 2, 5);
    assert_eq!(
        (found["uri"].as_str().unwrap(), found["range"]["start"].clone()),
        (main.as_str(), json!({ "line": 2, "character": 4 }))
    );

    // After `team.`, the module's names.
    editor.change(&main, json!({ "range": { "start": { "line": 4, "character": 0 }, "end": { "line": 4, "character": 0 } }, "text": "team." }));
    let items = editor.at("textDocument/completion", &main, 4, 5);
    assert_eq!(labels(&items), ["dev_env", "members"]);
    editor.change(&main, json!({ "range": { "start": { "line": 4, "character": 0 }, "end": { "line": 4, "character": 5 } }, "text": "" }));

    // The module is opened and renamed without saving: the importer's diagnostics follow the
    // unsaved buffer, not the disk.
    editor.open(&team, TEAM);
    assert_eq!(editor.diagnostics_of(&team), Vec::<Value>::new());
    editor.change(&team, json!({ "range": { "start": { "line": 3, "character": 3 }, "end": { "line": 3, "character": 10 } }, "text": "dev_envs" }));
    let found = editor.diagnostics_of(&main);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["range"],
        json!({ "start": { "line": 3, "character": 5 }, "end": { "line": 3, "character": 12 } })
    );
    assert!(found[0]["message"].as_str().unwrap().contains("did you mean `dev_envs`?"), "{}", found[0]);

    // Its quick fix, applied as an editor applies it, clears them.
    let context = json!({ "diagnostics": found, "only": ["quickfix"] });
    let actions = editor.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": main }, "range": found[0]["range"], "context": context }),
    );
    assert_eq!(actions[0]["title"], "Change to `dev_envs`");
    let edit = &actions[0]["edit"]["changes"][main.as_str()][0];
    assert_eq!(edit["newText"], "dev_envs");
    editor
        .change(&main, edit.clone().as_object().map(|e| json!({ "range": e["range"], "text": e["newText"] })).unwrap());
    assert_eq!(editor.diagnostics_of(&main), Vec::<Value>::new());

    // Closing the module unsaved: the importer reads the disk again, where the name is `dev_env`.
    editor.notify("textDocument/didClose", json!({ "textDocument": { "uri": team } }));
    let found = editor.diagnostics_of(&main);
    assert!(found[0]["message"].as_str().unwrap().contains("did you mean `dev_env`?"), "{found:?}");

    // A burst of changes (an editor replaying keystrokes) is checked once it stops, not once per change.
    for i in 0..40 {
        let end = json!({ "line": 4 + i, "character": 0 });
        editor.change(&main, json!({ "range": { "start": end, "end": end }, "text": "\n" }));
    }
    // A request well after it: the checks made are published before its answer (or, on a
    // machine too busy to have checked yet, the one check comes after it).
    std::thread::sleep(Duration::from_millis(300));
    let id = editor.next_id;
    editor.next_id += 1;
    let symbols = json!({ "textDocument": { "uri": main } });
    editor.send(json!({ "jsonrpc": "2.0", "id": id, "method": "textDocument/documentSymbol", "params": symbols }));
    let mut checks = 0;
    loop {
        let message = editor.next();
        if message["id"] == id {
            break;
        }
        checks += (message["params"]["uri"] == main.as_str()) as usize;
    }
    if checks == 0 {
        editor.diagnostics_of(&main);
        checks = 1;
    }
    assert!(checks <= 5, "40 changes in a burst were checked {checks} times");
}
