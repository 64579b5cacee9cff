//! `kenv lsp` driven over stdio as an editor drives it: initialize; open a file with a mistake →
//! the diagnostic at its range; change it → cleared; hover on a builtin; completion inside an
//! environment; the outline; a broken file → a syntax diagnostic and the server still serving;
//! formatting equal to `kenv fmt`; shutdown and exit.

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
