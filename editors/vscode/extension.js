// The kenv extension's client: starts `kenv lsp` (the binary named by `kenv.path`) for .kenv
// files and restarts it when that setting changes.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function start() {
  const config = vscode.workspace.getConfiguration("kenv");
  const command = config.get("path") || "kenv";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "kenv",
    "kenv",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "kenv" }],
      initializationOptions: { debounceMs: config.get("debounceMs") },
    },
  );
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `kenv: could not start \`${command} lsp\` (${error.message}). Install kenv, or set "kenv.path" to its binary.`,
    );
  });
}

async function restart() {
  if (client) {
    await client.stop().catch(() => {});
  }
  await start();
}

function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("kenv.path") || e.affectsConfiguration("kenv.debounceMs")) {
        restart();
      }
    }),
    { dispose: () => client && client.stop() },
  );
  return start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
