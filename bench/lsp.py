#!/usr/bin/env python3
"""kenv lsp, driven as an editor drives it, timed: from sending a change to receiving its
diagnostics, on the example environment (examples/kobanzaki/main.kenv, which imports team.kenv)
and on the 1,000-environment configs (the template one and the one written out); and the
server's resident memory after 1,000 edits against after the first.

Usage: bench/lsp.py KENV_BINARY   (bench/lsp.sh builds the release binary and runs this)
Each edit inserts or removes a space at the end of the file, so every check sees a new text;
the server's default debounce (5 ms of quiet after a change) is part of what is timed."""
import json, os, statistics, subprocess, sys, tempfile, threading, time, queue

KENV = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Editor:
    def __init__(self):
        self.proc = subprocess.Popen([KENV, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.messages = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0
        self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        self.notify("initialized", {})

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line.startswith(b"Content-Length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n"):
                    break
            self.messages.put(json.loads(out.read(length)))

    def send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            m = self.messages.get(timeout=60)
            if m.get("id") == self.next_id:
                return m.get("result")

    def diagnostics(self, uri):
        while True:
            m = self.messages.get(timeout=60)
            if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri:
                return m["params"]["diagnostics"]

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=10)


def edits(editor, uri, text, count):
    """Times `count` edits (a space added at the end, then taken away): milliseconds each."""
    lines = text.count("\n")
    times = []
    for i in range(count):
        at = {"line": lines, "character": 0}
        change = {"range": {"start": at, "end": at}, "text": " "} if i % 2 == 0 else \
                 {"range": {"start": at, "end": {"line": lines, "character": 1}}, "text": ""}
        start = time.perf_counter()
        editor.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [change]})
        editor.diagnostics(uri)
        times.append((time.perf_counter() - start) * 1000)
    return times


def open_file(editor, path):
    uri = "file://" + path
    text = open(path).read()
    editor.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "kenv", "version": 1, "text": text}})
    found = editor.diagnostics(uri)
    errors = [d["message"] for d in found if d.get("severity") == 1]
    assert not errors, f"{path}: {errors[:3]}"
    return uri, text


def latency(label, path, goal, runs):
    editor = Editor()
    uri, text = open_file(editor, path)
    edits(editor, uri, text, 5)  # warm up
    times = edits(editor, uri, text, runs)
    editor.close()
    median = statistics.median(times)
    print(f"change → diagnostics, {label:44} median {median:6.2f} ms ({median / goal:.2f}x the {goal} ms goal), "
          f"fastest {min(times):6.2f} ms, slowest {max(times):6.2f} ms")


def memory(label, path, count):
    editor = Editor()
    uri, text = open_file(editor, path)
    edits(editor, uri, text, 1)
    first = editor.rss_kib()
    edits(editor, uri, text, count - 1)
    last = editor.rss_kib()
    editor.close()
    print(f"resident memory, {label:50} {first / 1024:6.1f} MiB after the first edit, {last / 1024:6.1f} MiB after "
          f"{count}: {last / first:.2f}x (goal ≤ 1.5x)")


with tempfile.TemporaryDirectory() as work:
    for name, gen in [("template", "gen_team_template.py"), ("literal", "gen_team.py")]:
        with open(f"{work}/{name}.kenv", "w") as f:
            subprocess.run([sys.executable, f"{ROOT}/bench/{gen}", "1000"], stdout=f, check=True)
    example = f"{ROOT}/examples/kobanzaki/main.kenv"
    latency("the example (main.kenv + team.kenv):", example, 10, 51)
    latency("1,000 environments from a template:", f"{work}/template.kenv", 50, 21)
    size = os.path.getsize(f"{work}/literal.kenv") >> 10
    latency(f"1,000 environments written out ({size} KiB):", f"{work}/literal.kenv", 50, 11)
    memory("the example, 1,000 edits:", example, 1000)
    memory("1,000 environments from a template, 1,000 edits:", f"{work}/template.kenv", 1000)
