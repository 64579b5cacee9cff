//! `kenv lsp`: a language server on stdio (lsp-server, lsp-types), built from what kenv has.
//! An open buffer is checked as the file it stands for (`check.rs`), the editor's other unsaved
//! buffers read in place of their files; a change checks it again, and every open buffer that
//! imports it, once the editor has been quiet for a moment (a burst of changes is one check).
//! Go to definition and hover follow the names the file binds (`resolve.rs`, `navigate.rs`), into
//! the modules it imports; hover knows builtins and attributes too (`attributes.rs`). Completion
//! and the outline come from text and syntax (`outline.rs`); formatting is exactly `kenv fmt`;
//! each "did you mean" is a quick fix.

mod attributes;
mod check;
mod complete;
mod files;
mod navigate;
mod outline;
mod position;
mod resolve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;
use std::time::{Duration, Instant};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument};
use lsp_types::notification::{DidSaveTextDocument, Notification as _, PublishDiagnostics};
use lsp_types::request::{CodeActionRequest, Completion, DocumentSymbolRequest, Formatting};
use lsp_types::request::{GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    Diagnostic, HoverProviderCapability, OneOf, PublishDiagnosticsParams, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri,
};

use files::Files;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves one editor on `connection` until it says `exit`. (The CLI makes the connection on the
/// process's stdio and joins its threads after.)
pub fn serve(connection: &Connection) -> Result<(), Error> {
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp_types::CompletionOptions {
            trigger_characters: Some(vec!["\"".into(), "/".into(), ".".into()]),
            ..lsp_types::CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(lsp_types::CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let init = connection.initialize(serde_json::to_value(capabilities)?)?;
    crate::model::scope::track_captured();
    let quiet = init["initializationOptions"]["debounceMs"].as_u64().map_or(QUIET, Duration::from_millis);
    let mut server = Server {
        connection,
        files: Files::default(),
        uris: HashMap::new(),
        reads: HashMap::new(),
        dirty: Vec::new(),
        last_change: Instant::now(),
        quiet,
    };
    server.serve()
}

struct Server<'a> {
    connection: &'a Connection,
    /// The open buffers by path (and the kinds their last check found).
    files: Files,
    /// Each open buffer's URI, as the editor wrote it.
    uris: HashMap<PathBuf, Uri>,
    /// The files each open buffer's last check read: a change in one checks it again.
    reads: HashMap<PathBuf, Vec<PathBuf>>,
    /// Buffers to check once the editor has been quiet for `quiet`.
    dirty: Vec<PathBuf>,
    last_change: Instant,
    quiet: Duration,
}

/// How long the editor must be quiet after a change before a check: keystrokes replayed, a paste
/// in pieces, a multi-cursor edit are one check. An editor may set it (`initializationOptions:
/// { "debounceMs": N }`).
const QUIET: Duration = Duration::from_millis(5);

impl Server<'_> {
    fn serve(&mut self) -> Result<(), Error> {
        loop {
            let receiver = &self.connection.receiver;
            let message = if self.dirty.is_empty() {
                receiver.recv().ok()
            } else {
                match receiver.recv_timeout(self.quiet.saturating_sub(self.last_change.elapsed())) {
                    Err(e) if e.is_timeout() => {
                        self.check_dirty()?;
                        continue;
                    }
                    other => other.ok(),
                }
            };
            let Some(message) = message else { return Ok(()) };
            match message {
                Message::Request(request) => {
                    if self.connection.handle_shutdown(&request)? {
                        return Ok(());
                    }
                    let response = self.request(request);
                    self.connection.sender.send(Message::Response(response))?;
                }
                Message::Notification(notification) => self.notification(notification)?,
                Message::Response(_) => {}
            }
        }
    }

    fn request(&self, request: Request) -> Response {
        let id = request.id.clone();
        let buffer = |uri: &Uri| {
            let path = path_of(uri);
            self.files.buffers.get(&path).map(|text| (path, text.as_str()))
        };
        let result = match request.method.as_str() {
            HoverRequest::METHOD => parse::<lsp_types::HoverParams>(request).map(|p| {
                let at = p.text_document_position_params;
                let found = buffer(&at.text_document.uri)
                    .and_then(|(path, text)| navigate::hover(&self.files, &path, text, at.position));
                serde_json::to_value(found).unwrap_or_default()
            }),
            GotoDefinition::METHOD => parse::<lsp_types::GotoDefinitionParams>(request).map(|p| {
                let at = p.text_document_position_params;
                let found = buffer(&at.text_document.uri)
                    .and_then(|(path, text)| navigate::definition(&self.files, &path, text, at.position));
                serde_json::to_value(found).unwrap_or_default()
            }),
            Completion::METHOD => parse::<lsp_types::CompletionParams>(request).map(|p| {
                let at = p.text_document_position;
                let items = buffer(&at.text_document.uri).map(|(path, text)| {
                    complete::completion(&self.files, &path, text, position::offset(text, at.position))
                });
                serde_json::to_value(items).unwrap_or_default()
            }),
            DocumentSymbolRequest::METHOD => parse::<lsp_types::DocumentSymbolParams>(request).map(|p| {
                let symbols = buffer(&p.text_document.uri).map(|(_, text)| outline::symbols(text));
                serde_json::to_value(symbols).unwrap_or_default()
            }),
            Formatting::METHOD => parse::<lsp_types::DocumentFormattingParams>(request).map(|p| {
                let edits = buffer(&p.text_document.uri).and_then(|(_, text)| formatting(text));
                serde_json::to_value(edits).unwrap_or_default()
            }),
            CodeActionRequest::METHOD => parse::<lsp_types::CodeActionParams>(request).map(|p| {
                let uri = &p.text_document.uri;
                let actions = buffer(uri).map(|(_, text)| check::code_actions(uri, text, &p.context.diagnostics));
                serde_json::to_value(actions).unwrap_or_default()
            }),
            method => {
                return Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("kenv lsp does not do {method}"),
                )
            }
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string()),
        }
    }

    fn notification(&mut self, n: Notification) -> Result<(), Error> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
                let path = path_of(&p.text_document.uri);
                self.uris.insert(path.clone(), p.text_document.uri);
                Rc::make_mut(&mut self.files.buffers).insert(path.clone(), p.text_document.text);
                self.changed(&path);
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                let path = path_of(&p.text_document.uri);
                let text = Rc::make_mut(&mut self.files.buffers).entry(path.clone()).or_default();
                for change in p.content_changes {
                    position::apply(text, change);
                }
                self.changed(&path);
            }
            DidSaveTextDocument::METHOD => {
                let p: lsp_types::DidSaveTextDocumentParams = serde_json::from_value(n.params)?;
                self.changed(&path_of(&p.text_document.uri));
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                let path = path_of(&p.text_document.uri);
                Rc::make_mut(&mut self.files.buffers).remove(&path);
                self.files.kinds.remove(&path);
                self.reads.remove(&path);
                self.uris.remove(&path);
                self.dirty.retain(|d| *d != path);
                // Those importing it read the file on disk now.
                self.changed(&path);
                self.send_diagnostics(p.text_document.uri, Vec::new())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A file changed: it (when open) and every open buffer whose last check read it are to be
    /// checked again.
    fn changed(&mut self, path: &Path) {
        self.last_change = Instant::now();
        let readers = self.reads.iter().filter(|(_, read)| read.iter().any(|r| r == path));
        let mut stale: Vec<PathBuf> = readers.map(|(p, _)| p.clone()).collect();
        if self.files.buffers.contains_key(path) {
            stale.push(path.to_path_buf());
        }
        for p in stale {
            if !self.dirty.contains(&p) {
                self.dirty.push(p);
            }
        }
    }

    /// Checks the buffers changed since the last time and publishes what was found (nothing,
    /// when a bug in kenv panicked: the server carries on).
    fn check_dirty(&mut self) -> Result<(), Error> {
        for path in std::mem::take(&mut self.dirty) {
            let Some(uri) = self.uris.get(&path).cloned() else { continue };
            let run = std::panic::AssertUnwindSafe(|| check::check(&path, &self.files.buffers));
            let checked = std::panic::catch_unwind(run);
            // Nothing of the program is kept: its closures and their frames can go.
            crate::model::scope::release_captured();
            let Ok(checked) = checked else {
                self.send_diagnostics(uri, Vec::new())?;
                continue;
            };
            self.reads.insert(path.clone(), checked.files);
            self.files.kinds.insert(path, checked.kinds);
            self.send_diagnostics(uri, checked.diagnostics)?;
        }
        Ok(())
    }

    fn send_diagnostics(&self, uri: Uri, diagnostics: Vec<Diagnostic>) -> Result<(), Error> {
        let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
        let n = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
        self.connection.sender.send(Message::Notification(n))?;
        Ok(())
    }
}

fn parse<P: serde::de::DeserializeOwned>(request: Request) -> Result<P, serde_json::Error> {
    serde_json::from_value(request.params)
}

/// What `kenv check` says of a buffer standing for the file at `path` (no other buffer open).
pub fn diagnostics(path: &Path, text: &str) -> Vec<Diagnostic> {
    let path = crate::eval::lexical(path);
    check::check(&path, &Rc::new([(path.clone(), text.to_string())].into())).diagnostics
}

/// Hover and definition at a position of a buffer standing for the file at `path`.
pub fn navigate(
    path: &Path,
    text: &str,
    at: lsp_types::Position,
) -> (Option<lsp_types::Hover>, Option<lsp_types::Location>) {
    let files = Files::default();
    (navigate::hover(&files, path, text, at), navigate::definition(&files, path, text, at))
}

/// Completion at a byte offset and the outline (for the fuzz target: they read any text).
pub fn outline(text: &str, offset: usize) -> (Vec<lsp_types::CompletionItem>, Vec<lsp_types::DocumentSymbol>) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let completion = complete::completion(&Files::default(), Path::new("/nonexistent/fuzz.kenv"), text, offset);
    (completion, outline::symbols(text))
}

/// `kenv fmt`'s layout, as one edit of the whole buffer (none when it does not parse).
pub fn formatting(text: &str) -> Option<Vec<TextEdit>> {
    let formatted = crate::syntax::format::format_checked(text)?;
    Some(vec![TextEdit { range: position::range(text, 0, text.len()), new_text: formatted }])
}

/// The file a `file://` URI names (percent-escapes decoded, `.` and `..` worked out).
fn path_of(uri: &Uri) -> PathBuf {
    let path = uri.as_str().strip_prefix("file://").unwrap_or(uri.as_str());
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    crate::eval::lexical(Path::new(&*String::from_utf8_lossy(&out)))
}

fn uri_of(path: &Path) -> Uri {
    let escaped: String = path.display().to_string().replace('%', "%25").replace(' ', "%20");
    Uri::from_str(&format!("file://{escaped}")).unwrap_or_else(|_| Uri::from_str("file:///").expect("a URI"))
}
