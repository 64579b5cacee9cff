//! A buffer checked as `kenv check` checks the file it stands for (check mode: never AWS, never
//! a command), with the editor's other unsaved buffers read in place of their files: its
//! diagnostics as LSP's, the files it read, and its top-level values' kinds; and the code
//! action each "did you mean" offers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use lsp_types::{
    CodeAction, CodeActionKind, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    TextEdit, Uri, WorkspaceEdit,
};

use super::{position, uri_of};
use crate::diag::{Diag, Severity};
use crate::eval::{self, Failure, Interp, Mode};
use crate::model::{run_policies, Value};
use crate::source::{SourceId, SourceMap};

pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// The files its evaluation read (itself and what it imports), `.` and `..` worked out.
    pub files: Vec<PathBuf>,
    /// Its top-level values' kinds, and one level into the records among them (a module's
    /// names): `name` or `module.name` → `string`, `function`, …
    pub kinds: HashMap<String, &'static str>,
}

pub fn check(path: &Path, buffers: &Rc<HashMap<PathBuf, String>>) -> Checked {
    let text = buffers.get(path).map_or("", |t| t.as_str());
    let mut interp = Interp::new(Mode::Check);
    interp.buffers = buffers.clone();
    let mut kinds = HashMap::new();
    let (diags, sources) = match eval::load_buffer(path, text, interp) {
        Err(Failure { diags, sources }) => (diags, sources),
        Ok(mut program) => {
            for (name, value) in program.scope.bindings() {
                if let Value::Record(fields) = &value {
                    for (field, v) in fields.iter() {
                        kinds.insert(format!("{name}.{field}"), v.type_name());
                    }
                }
                kinds.insert(name.to_string(), value.type_name());
            }
            let found = run_policies(&mut program.interp, &program.state, Value::Null, &Default::default());
            let diags = match found {
                Ok(report) => report.diags(),
                Err(e) => vec![*e],
            };
            (diags, program.interp.sources)
        }
    };
    let uri = &uri_of(path);
    let files = sources.files().iter().map(|f| eval::lexical(f)).collect();
    Checked { diagnostics: diags.iter().map(|d| diagnostic(d, uri, &sources)).collect(), files, kinds }
}

/// A diagnostic at its span (in this buffer; one in another file is shown at the buffer's top,
/// naming it), its help in the message, its notes as related locations; a "did you mean"
/// carries its replacement as `data`, for the code action.
fn diagnostic(d: &Diag, uri: &Uri, sources: &SourceMap) -> Diagnostic {
    let buffer = sources.get(SourceId(0));
    let mut message = d.kind.to_string();
    let mut data = None;
    let range = match d.span {
        Some(span) if span.src.0 == 0 => {
            data = d.help.as_deref().and_then(crate::diag::suggested).map(|s| serde_json::json!({ "replace": s }));
            position::range(&buffer.text, span.start as usize, span.end as usize)
        }
        Some(span) => {
            let (line, column) = sources.line_col(span);
            message = format!("{} ({}:{line}:{column})", message, sources.get(span.src).name);
            position::range(&buffer.text, 0, 0)
        }
        None => position::range(&buffer.text, 0, 0),
    };
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related = d.notes.iter().map(|(span, note)| {
        let source = sources.get(span.src);
        let at = position::range(&source.text, span.start as usize, span.end as usize);
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
        data,
        ..Diagnostic::default()
    }
}

/// For each diagnostic with a "did you mean", an edit writing the suggestion over its range (in
/// quotes when the range is a string).
pub fn code_actions(uri: &Uri, text: &str, diagnostics: &[Diagnostic]) -> Vec<CodeAction> {
    let actions = diagnostics.iter().filter_map(|d| {
        let suggestion = d.data.as_ref()?.get("replace")?.as_str()?;
        let (start, end) = (position::offset(text, d.range.start), position::offset(text, d.range.end));
        let quoted = text[start..end].starts_with('"') && text[start..end].ends_with('"') && end - start >= 2;
        let new_text = if quoted { format!("{suggestion:?}") } else { suggestion.to_string() };
        let edit = TextEdit { range: d.range, new_text };
        Some(CodeAction {
            title: format!("Change to `{suggestion}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![d.clone()]),
            edit: Some(WorkspaceEdit { changes: Some([(uri.clone(), vec![edit])].into()), ..WorkspaceEdit::default() }),
            is_preferred: Some(true),
            ..CodeAction::default()
        })
    });
    actions.collect()
}
