//! Every error kenv reports: one kind enum (the wording lives here), one diagnostic struct with
//! spans, and the rendering through miette. Spans are resolved to line/column only here.

use std::fmt;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use crate::source::{SourceMap, Span};

pub type Result<T> = std::result::Result<T, Box<Diag>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ErrorKind {
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("unknown escape `{0}` in a string")]
    BadEscape(String),
    #[error("integer `{0}` does not fit in 64 bits")]
    IntTooLarge(String),
    #[error("nesting is deeper than {0} levels")]
    TooDeep(usize),
    #[error("file is larger than the {0} MiB limit")]
    TooLarge(usize),
    #[error("unknown name `{0}`")]
    UnknownName(String),
    #[error("unknown attribute `{attr}` in {decl}")]
    UnknownAttr { attr: String, decl: String },
    #[error("missing attribute `{attr}` in {decl}")]
    MissingAttr { attr: String, decl: String },
    #[error("attribute `{0}` is set twice")]
    DuplicateAttr(String),
    #[error("{what} `{name}` is declared twice")]
    Duplicate { what: String, name: String },
    #[error("required parameter `{0}` comes after a parameter with a default")]
    ParamOrder(String),
    #[error("{0} has no field `{1}`")]
    NoField(String, String),
    #[error("expected {expected}, found {found}")]
    Type { expected: String, found: String },
    /// A value against an AWS rule; the rule's wording comes from where it is checked
    /// (`model::validate`, a reader).
    #[error("invalid {what}: {detail}")]
    Invalid { what: String, detail: String },
    #[error("invalid {what}: `{found}` is not one of {allowed}")]
    NotOneOf { what: String, found: String, allowed: String },
    #[error("invalid {what}: unknown key `{key}`")]
    UnknownKey { what: String, key: String },
    #[error("attribute `{0}` outside a declaration")]
    AttrOutside(String),
    /// A statement whose value (an int, a string, …) is no declaration, where one is expected.
    #[error("this statement's value is {0}, not a declaration")]
    NotDeclaration(String),
    #[error("{place} cannot hold {what}")]
    CannotHold { place: String, what: String },
    #[error("test `{0}` inside a block")]
    NestedTest(String),
    #[error("division by zero")]
    DivZero,
    #[error("integer overflow")]
    Overflow,
    #[error("index {index} is out of range for a list of length {len}")]
    Index { index: i64, len: usize },
    #[error("missing argument `{param}` in a call to `{func}`")]
    MissingArg { param: String, func: String },
    #[error("argument `{param}` of `{func}` must be {expected}, found {found}")]
    ArgType { param: String, func: String, expected: String, found: String },
    #[error("`{func}` has no parameter `{param}`")]
    NoParam { func: String, param: String },
    #[error("too many arguments: `{func}` takes {takes}")]
    TooManyArgs { func: String, takes: String },
    #[error("argument `{0}` is given twice")]
    ArgTwice(String),
    #[error("assertion failed: {0}")]
    Assert(String),
    /// A program's own `fail(…)`: its message is the program's.
    #[error("{0}")]
    Fail(String),
    #[error("recursion limit of {0} nested calls exceeded")]
    Recursion(usize),
    #[error("evaluation took more than {0} steps")]
    Steps(u64),
    #[error("cannot import `{path}`: {reason}")]
    Import { path: String, reason: String },
    #[error("import cycle: {0}")]
    ImportCycle(String),
    #[error("`{name}` {effect}, which `kenv {mode}` does not allow")]
    Effect { name: String, effect: String, mode: String },
    #[error("`{name}` {effect}, which imported code may do only when its import grants `{grant}`")]
    NotGranted { name: String, effect: String, grant: String },
    #[error("policy `{policy}`: {message}")]
    Policy { policy: String, message: String },
    #[error("cannot read `{path}`: {reason}")]
    Io { path: String, reason: String },
    #[error("AWS: {message}")]
    Aws { class: ErrorClass, message: String },
    #[error("stack `{stack}` already has {address} on AWS")]
    AlreadyOnAws { stack: String, address: String },
    #[error("there is no {what} `{id}` to import as {address}")]
    NothingToImport { what: String, id: String, address: String },
    #[error("`{name}` cannot be imported as {address}: the names differ")]
    ImportRenames { name: String, address: String },
    #[error("`{id}` is not {address} as declared: {forcing}")]
    ImportReplaces { id: String, address: String, forcing: String },
    #[error("role `{name}` already belongs to stack `{stack}`")]
    OwnedElsewhere { name: String, stack: String },
    #[error("{what} are held by stack `{stack}`")]
    HeldElsewhere { what: String, stack: String },
    #[error("the credentials are for AWS account {actual}; this stack's account is {expected}")]
    WrongAccount { expected: String, actual: String },
    #[error("stack `{stack}` on AWS was applied from {theirs}, not from this file ({ours})")]
    OtherOrigin { stack: String, theirs: String, ours: String },
    #[error("`{0}` is not an environment or role the file declares")]
    NotDeclared(String),
    #[error("stack `{stack}` has no environment on AWS (in {region})")]
    EmptyStack { stack: String, region: String },
    #[error("stack `{stack}` has no environment `{name}` on AWS")]
    NoSuchEnv { stack: String, name: String },
    #[error("environment `{name}` is {state}: Session Manager reaches a running instance")]
    NotRunning { name: String, state: String },
    #[error("cannot open a session on `{name}` (stack `{stack}`): {missing} not on PATH; the command is above")]
    ToolsMissing { name: String, stack: String, missing: String },
    #[error("cannot run `{program}`: {reason}")]
    CannotRun { program: String, reason: String },
    #[error("{0}")]
    Declined(String),
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    Interrupted(String),
    #[error("{0}")]
    Protected(String),
}

/// What kind of AWS failure an error is, so each gets a hint that says what to do about it (and
/// a code of its own: `kenv::aws-denied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// No credentials found, or AWS rejected them.
    Credentials,
    /// No region configured, or one AWS does not have.
    Region,
    /// The endpoint could not be reached.
    Network,
    /// The caller may not perform the action.
    Denied,
    /// An id or name that does not exist.
    NotFound,
    /// Any other answer from AWS.
    Service,
    /// Something on this side (the runtime could not start, …).
    Local,
    /// The person pressed Ctrl-C: kenv stopped at the next safe point.
    Interrupted,
}

impl ErrorClass {
    pub fn code(self) -> &'static str {
        match self {
            ErrorClass::Credentials => "aws-credentials",
            ErrorClass::Region => "aws-region",
            ErrorClass::Network => "aws-network",
            ErrorClass::Denied => "aws-denied",
            ErrorClass::NotFound => "aws-not-found",
            ErrorClass::Service => "aws",
            ErrorClass::Local => "aws-local",
            ErrorClass::Interrupted => "aws-interrupted",
        }
    }
}

impl ErrorKind {
    /// A stable code per kind, shown as `kenv::…` and used in JSON/SARIF output.
    pub fn code(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            Syntax(_) => "syntax",
            BadEscape(_) => "bad-escape",
            IntTooLarge(_) => "int-too-large",
            TooDeep(_) => "too-deep",
            TooLarge(_) => "too-large",
            UnknownName(_) => "unknown-name",
            UnknownAttr { .. } => "unknown-attribute",
            MissingAttr { .. } => "missing-attribute",
            DuplicateAttr(_) => "duplicate-attribute",
            Duplicate { .. } => "duplicate",
            ParamOrder(_) => "parameter-order",
            NoField(..) => "no-field",
            Type { .. } => "type",
            Invalid { .. } | NotOneOf { .. } | UnknownKey { .. } => "invalid",
            AttrOutside(_) | NotDeclaration(_) | CannotHold { .. } | NestedTest(_) => "misplaced",
            DivZero => "division-by-zero",
            Overflow => "overflow",
            Index { .. } => "index",
            MissingArg { .. } | ArgType { .. } | NoParam { .. } | TooManyArgs { .. } | ArgTwice(_) => "arguments",
            Assert(_) => "assert",
            Fail(_) => "fail",
            Recursion(_) => "recursion",
            Steps(_) => "steps",
            Import { .. } => "import",
            ImportCycle(_) => "import-cycle",
            Effect { .. } => "effect",
            NotGranted { .. } => "not-granted",
            Policy { .. } => "policy",
            Locked(_) => "locked",
            Interrupted(_) => "interrupted",
            Protected(_) => "protected",
            Io { .. } => "io",
            Aws { class, .. } => class.code(),
            AlreadyOnAws { .. } | OwnedElsewhere { .. } | HeldElsewhere { .. } => "already-on-aws",
            WrongAccount { .. } => "wrong-account",
            OtherOrigin { .. } => "other-origin",
            NothingToImport { .. } | EmptyStack { .. } | NoSuchEnv { .. } => "not-on-aws",
            ImportRenames { .. } | ImportReplaces { .. } => "import-differs",
            NotDeclared(_) => "not-declared",
            NotRunning { .. } => "not-running",
            ToolsMissing { .. } | CannotRun { .. } => "cannot-run",
            Declined(_) => "declined",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One kenv call on the way to an error: the function's name and where it was called.
#[derive(Debug, Clone)]
pub struct Frame {
    pub name: String,
    pub call: Span,
    /// An import rather than a call: `name` is the imported path.
    pub import: bool,
}

#[derive(Debug, Clone)]
pub struct Diag {
    pub kind: ErrorKind,
    pub severity: Severity,
    pub span: Option<Span>,
    pub label: Option<String>,
    pub help: Option<String>,
    /// Secondary places, e.g. "first declared here"; may be in other files.
    pub notes: Vec<(Span, String)>,
    /// The chain of kenv calls, innermost first.
    pub trace: Vec<Frame>,
}

impl Diag {
    pub fn new(kind: ErrorKind, span: Span) -> Diag {
        Diag::bare(kind).at(span)
    }

    /// A diagnostic with no place in a source (bad CLI input, unreadable file).
    pub fn bare(kind: ErrorKind) -> Diag {
        Diag {
            kind,
            severity: Severity::Error,
            span: None,
            label: None,
            help: None,
            notes: Vec::new(),
            trace: Vec::new(),
        }
    }

    pub fn at(mut self, span: Span) -> Diag {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Diag {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Diag {
        self.help = help.or(self.help);
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Diag {
        self.notes.push((span, text.into()));
        self
    }

    pub fn warning(mut self) -> Diag {
        self.severity = Severity::Warning;
        self
    }

    pub fn boxed(self) -> Box<Diag> {
        Box::new(self)
    }

    pub fn err<T>(self) -> Result<T> {
        Err(Box::new(self))
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

/// "did you mean `subnet`?" for the candidate closest to `name`, if any is close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        let score = strsim::jaro_winkler(name, cand);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The name a help from `suggest` proposes (an editor offers it as a fix).
pub fn suggested(help: &str) -> Option<&str> {
    help.strip_prefix("did you mean `")?.strip_suffix("`?")
}

/// How diagnostics look: the CLI picks colour from the terminal; tests use plain text.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

/// Renders diagnostics as miette reports, one after another.
/// A span over more lines than this is shown by its first line alone: a diagnostic on a whole
/// generated 40,000-line literal would otherwise print all of it.
const MAX_LABEL_LINES: usize = 12;

/// How much of a span a report shows.
fn shown_len(text: &str, span: Span) -> usize {
    let covered = text.get(span.start as usize..span.end as usize).unwrap_or("");
    if covered.matches('\n').count() <= MAX_LABEL_LINES {
        return span.len();
    }
    covered.find('\n').unwrap_or(covered.len())
}

pub fn render(diags: &[Diag], sources: &SourceMap, style: Style) -> String {
    let theme = if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(style.width).with_links(false);
    let mut out = String::new();
    for diag in diags {
        let report = Report::new(diag, sources);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("error: {}\n", diag.kind));
        }
    }
    out
}

/// A diagnostic resolved against its source text, in the shape miette renders.
#[derive(Debug)]
struct Report {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(diag: &Diag, sources: &SourceMap) -> Report {
        let mut report = Report::located(diag.kind.to_string(), diag.span, diag.label.clone(), sources);
        report.code = format!("kenv::{}", diag.kind.code());
        report.severity = match diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        report.help = diag.help.clone();
        for (span, text) in &diag.notes {
            if Some(span.src) == diag.span.map(|s| s.src) {
                let len = shown_len(&sources.get(span.src).text, *span);
                report.labels.push(LabeledSpan::new(Some(text.clone()), span.start as usize, len));
            } else {
                report.related.push(Report::located(text.clone(), Some(*span), None, sources));
            }
        }
        for frame in diag.trace.iter().take(MAX_FRAMES) {
            let (message, label) = match frame.import {
                true => (format!("in the module `{}`", frame.name), "imported here"),
                false => (format!("in a call to `{}`", frame.name), "called here"),
            };
            report.related.push(Report::located(message, Some(frame.call), Some(label.into()), sources));
        }
        if diag.trace.len() > MAX_FRAMES {
            let more = format!("… and {} more calls", diag.trace.len() - MAX_FRAMES);
            report.related.push(Report::located(more, None, None, sources));
        }
        report
    }

    fn located(mut message: String, span: Option<Span>, label: Option<String>, sources: &SourceMap) -> Report {
        let (source, labels) = match span {
            // A snippet of a huge line (generated input) would take minutes to lay out: name the
            // place instead.
            Some(span) if line_len_at(&sources.get(span.src).text, span.start as usize) > MAX_SNIPPET_LINE => {
                let (line, col) = sources.line_col(span);
                message = format!("{message}\n  at {}:{line}:{col}", sources.get(span.src).name);
                (None, Vec::new())
            }
            Some(span) => {
                let src = sources.get(span.src);
                let named = NamedSource::new(src.name.clone(), src.text.to_string());
                let len = shown_len(&src.text, span);
                let label =
                    LabeledSpan::new_primary_with_span(label, SourceSpan::new((span.start as usize).into(), len));
                (Some(named), vec![label])
            }
            None => (None, Vec::new()),
        };
        Report {
            message,
            code: String::new(),
            severity: miette::Severity::Advice,
            help: None,
            source,
            labels,
            related: Vec::new(),
        }
    }
}

const MAX_FRAMES: usize = 8;
const MAX_SNIPPET_LINE: usize = 2000;

fn line_len_at(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    end - start
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty())
            .then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = LabeledSpan>>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)) as Box<dyn Iterator<Item = &dyn Diagnostic>>
        })
    }
}

/// An I/O error as a short lowercase phrase ("no such file or directory").
pub fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}
