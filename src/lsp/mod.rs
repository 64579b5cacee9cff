//! `kenv lsp`: a language server on stdio (lsp-server, lsp-types), built from what kenv has: an
//! open buffer is evaluated in check mode (never AWS, never a command) as the file it stands for,
//! its policies run, and the diagnostics published with their spans as ranges, help in the
//! message and notes as related locations; hover shows a builtin's signature, effect and doc;
//! completion and the outline come from the text and syntax (`outline.rs`); formatting is exactly
//! `kenv fmt`. Buffers are kept in sync incrementally.
//!
//! Not yet (issue 19): go to definition, code actions, unsaved imported buffers (an import reads
//! the file on disk), debouncing.

mod outline;
mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::request::{Completion, DocumentSymbolRequest, Formatting, HoverRequest, Request as _};
use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Hover, HoverContents, HoverProviderCapability,
    Location, MarkupContent, MarkupKind, NumberOrString, OneOf, PublishDiagnosticsParams, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri,
};

use crate::diag::{Diag, Severity};
use crate::eval::{self, Failure, Interp, Mode};
use crate::model::{run_policies, Value};
use crate::source::SourceMap;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves one editor on stdin/stdout until it says `exit`.
pub fn run() -> Result<(), Error> {
    let (connection, io) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp_types::CompletionOptions {
            trigger_characters: Some(vec!["\"".into(), "/".into()]),
            ..lsp_types::CompletionOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    };
    connection.initialize(serde_json::to_value(capabilities)?)?;
    Server { connection: &connection, buffers: HashMap::new() }.serve()?;
    // The writer thread ends when the connection's sender is gone.
    drop(connection);
    io.join()?;
    Ok(())
}

struct Server<'a> {
    connection: &'a Connection,
    /// The open buffers' text, by URI.
    buffers: HashMap<Uri, String>,
}

impl Server<'_> {
    fn serve(&mut self) -> Result<(), Error> {
        for message in &self.connection.receiver {
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
        Ok(())
    }

    fn request(&self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            HoverRequest::METHOD => parse::<lsp_types::HoverParams>(request).map(|p| {
                let at = p.text_document_position_params;
                let found = self.buffers.get(&at.text_document.uri).and_then(|text| hover(text, at.position));
                serde_json::to_value(found).unwrap_or_default()
            }),
            Completion::METHOD => parse::<lsp_types::CompletionParams>(request).map(|p| {
                let at = p.text_document_position;
                let items = self
                    .buffers
                    .get(&at.text_document.uri)
                    .map(|text| outline::completion(text, text::offset(text, at.position)));
                serde_json::to_value(items).unwrap_or_default()
            }),
            DocumentSymbolRequest::METHOD => parse::<lsp_types::DocumentSymbolParams>(request).map(|p| {
                let symbols = self.buffers.get(&p.text_document.uri).map(|text| outline::symbols(text));
                serde_json::to_value(symbols).unwrap_or_default()
            }),
            Formatting::METHOD => parse::<lsp_types::DocumentFormattingParams>(request).map(|p| {
                let edits = self.buffers.get(&p.text_document.uri).and_then(|text| formatting(text));
                serde_json::to_value(edits).unwrap_or_default()
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
                self.buffers.insert(p.text_document.uri.clone(), p.text_document.text);
                self.publish(&p.text_document.uri)
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                let text = self.buffers.entry(p.text_document.uri.clone()).or_default();
                for change in p.content_changes {
                    text::apply(text, change);
                }
                self.publish(&p.text_document.uri)
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                self.buffers.remove(&p.text_document.uri);
                self.send_diagnostics(p.text_document.uri, Vec::new())
            }
            _ => Ok(()),
        }
    }

    /// Checks a buffer and publishes what was found (nothing, when a bug in kenv panicked: the
    /// server carries on).
    fn publish(&self, uri: &Uri) -> Result<(), Error> {
        let Some(text) = self.buffers.get(uri) else { return Ok(()) };
        let path = path_of(uri);
        let check = std::panic::AssertUnwindSafe(|| diagnostics(&path, text));
        let found = std::panic::catch_unwind(check).unwrap_or_default();
        self.send_diagnostics(uri.clone(), found)
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

/// What `kenv check` says of a buffer standing for the file at `path`: its diagnostics, or its
/// policies' violations and warnings.
pub fn diagnostics(path: &Path, text: &str) -> Vec<Diagnostic> {
    let uri = &uri_of(path);
    let (diags, sources) = match eval::load_buffer(path, text, Interp::new(Mode::Check)) {
        Err(Failure { diags, sources }) => (diags, sources),
        Ok(mut program) => {
            let found = run_policies(&mut program.interp, &program.state, Value::Null, &Default::default());
            let diags = match found {
                Ok(report) => report.diags(),
                Err(e) => vec![*e],
            };
            (diags, program.interp.sources)
        }
    };
    diags.iter().map(|d| diagnostic(d, uri, &sources)).collect()
}

/// A diagnostic at its span (in this buffer; one in another file is shown at the buffer's top,
/// naming it), its help in the message, its notes as related locations.
fn diagnostic(d: &Diag, uri: &Uri, sources: &SourceMap) -> Diagnostic {
    let buffer = sources.get(crate::source::SourceId(0));
    let mut message = d.kind.to_string();
    let range = match d.span {
        Some(span) if span.src.0 == 0 => text::range(&buffer.text, span.start as usize, span.end as usize),
        Some(span) => {
            let (line, column) = sources.line_col(span);
            message = format!("{} ({}:{line}:{column})", message, sources.get(span.src).name);
            text::range(&buffer.text, 0, 0)
        }
        None => text::range(&buffer.text, 0, 0),
    };
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related = d.notes.iter().map(|(span, note)| {
        let source = sources.get(span.src);
        let at = text::range(&source.text, span.start as usize, span.end as usize);
        let file = if span.src.0 == 0 { uri.clone() } else { source.path.as_deref().map_or(uri.clone(), uri_of) };
        DiagnosticRelatedInformation { location: Location::new(file, at), message: note.clone() }
    });
    Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(format!("kenv::{}", d.kind.code()))),
        source: Some("kenv".into()),
        message,
        related_information: Some(related.collect()),
        ..Diagnostic::default()
    }
}

/// A builtin's signature, effect and documentation, for the name under the cursor.
pub fn hover(text: &str, at: lsp_types::Position) -> Option<Hover> {
    let (start, word) = text::word_at(text, text::offset(text, at))?;
    let builtin = crate::builtins::get(word)?;
    let value = format!("```kenv\n{}\n```\n\n*{}*\n\n{}", builtin.signature(), builtin.effect.name(), builtin.doc);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: Some(text::range(text, start, start + word.len())),
    })
}

/// Completion at a byte offset and the outline (for the fuzz target: they read any text).
pub fn outline(text: &str, offset: usize) -> (Vec<lsp_types::CompletionItem>, Vec<lsp_types::DocumentSymbol>) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    (outline::completion(text, offset), outline::symbols(text))
}

/// `kenv fmt`'s layout, as one edit of the whole buffer (none when it does not parse).
pub fn formatting(text: &str) -> Option<Vec<TextEdit>> {
    let formatted = crate::syntax::format::format_checked(text)?;
    Some(vec![TextEdit { range: text::range(text, 0, text.len()), new_text: formatted }])
}

/// The file a `file://` URI names (percent-escapes decoded).
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
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}

fn uri_of(path: &Path) -> Uri {
    let escaped: String = path.display().to_string().replace('%', "%25").replace(' ', "%20");
    Uri::from_str(&format!("file://{escaped}")).unwrap_or_else(|_| Uri::from_str("file:///").expect("a URI"))
}
