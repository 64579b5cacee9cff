//! Reading a declaration's attributes with type checks. Each problem becomes a diagnostic at the
//! attribute's value; reading goes on, so that one run reports every bad attribute.

use std::rc::Rc;

use super::typed::{string_items, Seconds, Typed};
use crate::diag::{suggest, Diag, ErrorKind};
use crate::model::{Record, Value};
use crate::source::{Span, Spanned};
use crate::syntax::ast::Name;

#[derive(Clone)]
pub struct Attr {
    pub name: Spanned<Name>,
    pub value: Value,
    /// Where the value was written.
    pub span: Span,
}

/// The attributes of one declaration, and the diagnostics found while reading them.
pub struct Attrs<'a> {
    /// How the declaration is named in messages, e.g. "environment `dev`".
    pub decl: String,
    /// The declaration's own span (its keyword and name), for missing attributes.
    pub span: Span,
    pub attrs: &'a [Attr],
    pub errors: &'a mut Vec<Diag>,
}

impl Attrs<'_> {
    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| &*a.name.node == name)
    }

    pub fn span_of(&self, name: &str) -> Span {
        self.get(name).map_or(self.span, |a| a.span)
    }

    pub fn error(&mut self, diag: Diag) {
        self.errors.push(diag);
    }

    /// An attribute value that is the right type but not acceptable.
    pub fn invalid(&mut self, span: Span, what: &str, detail: impl Into<String>, help: Option<String>) {
        let diag = Diag::new(ErrorKind::Invalid { what: what.into(), detail: detail.into() }, span).help_opt(help);
        self.errors.push(diag);
    }

    fn type_error(&mut self, attr: &Attr, expected: &str, help: Option<&str>) {
        let found = attr.value.type_name().to_string();
        let diag = Diag::new(ErrorKind::Type { expected: expected.into(), found }, attr.span)
            .label(format!("`{}` must be {expected}", attr.name.node))
            .help_opt(help.map(str::to_string));
        self.errors.push(diag);
    }

    pub fn missing(&mut self, name: &str, example: &str) {
        let diag = Diag::new(ErrorKind::MissingAttr { attr: name.into(), decl: self.decl.clone() }, self.span)
            .help(format!("add `{name} = {example}`"));
        self.errors.push(diag);
    }

    /// The attribute as `T` with where it was written; None when absent or null, or (with a
    /// diagnostic) when it is another type.
    pub fn typed<T: Typed>(&mut self, name: &str) -> Option<(T, Span)> {
        let attr = self.get(name)?.clone();
        if matches!(attr.value, Value::Null) {
            return None;
        }
        let found = T::from_value(&attr.value).map(|t| (t, attr.span));
        if found.is_none() {
            self.type_error(&attr, T::EXPECTED, None);
        }
        found
    }

    pub fn string(&mut self, name: &str) -> Option<(Rc<str>, Span)> {
        let attr = self.get(name)?.clone();
        match &attr.value {
            Value::Secret(_) => {
                self.invalid(
                    attr.span,
                    name,
                    "a secret cannot be used here",
                    Some(
                        "secrets are accepted only where a value reaches a process, e.g. an install step's `env`"
                            .into(),
                    ),
                );
                None
            }
            _ => self.typed(name),
        }
    }

    pub fn required_string(&mut self, name: &str, example: &str) -> Option<(Rc<str>, Span)> {
        let found = self.string(name);
        if found.is_none() && self.get(name).is_none_or(|a| matches!(a.value, Value::Null)) {
            self.missing(name, example);
        }
        found
    }

    /// One of a fixed set of words; the default when absent.
    pub fn choice(&mut self, name: &str, allowed: &[&'static str], default: &'static str) -> &'static str {
        let Some((s, span)) = self.string(name) else {
            return default;
        };
        if let Some(word) = allowed.iter().find(|w| **w == &*s) {
            return word;
        }
        let help =
            suggest(&s, allowed.iter().copied()).unwrap_or_else(|| format!("use one of: {}", allowed.join(", ")));
        let kind = ErrorKind::NotOneOf { what: name.into(), found: s.to_string(), allowed: allowed.join(", ") };
        self.errors.push(Diag::new(kind, span).help(help));
        default
    }

    /// true or false; null is not a default here but a mistake (`managed_credentials = null`).
    pub fn bool(&mut self, name: &str, default: bool) -> bool {
        match self.get(name).cloned() {
            Some(attr) if matches!(attr.value, Value::Null) => {
                self.type_error(&attr, bool::EXPECTED, None);
                default
            }
            _ => self.typed(name).map_or(default, |(b, _)| b),
        }
    }

    pub fn int(&mut self, name: &str) -> Option<(i64, Span)> {
        self.typed(name)
    }

    /// A duration in seconds; a bare integer gets a hint to write the unit.
    pub fn duration(&mut self, name: &str) -> Option<(i64, Span)> {
        let attr = self.get(name)?.clone();
        if let Value::Int(n) = attr.value {
            let help = format!("write the unit: `{n}m` for minutes, `{n}h` for hours");
            self.type_error(&attr, "a duration", Some(&help));
            return None;
        }
        self.typed::<Seconds>(name).map(|(s, span)| (s.0, span))
    }

    /// A string or a list of strings, each with the span it was written at (the attribute's).
    pub fn strings(&mut self, name: &str) -> Vec<Rc<str>> {
        let Some(attr) = self.get(name).cloned() else {
            return Vec::new();
        };
        match string_items(&attr.value) {
            Ok(items) => items,
            Err(found) => {
                let diag = Diag::new(ErrorKind::Type { expected: "a list of strings".into(), found }, attr.span);
                self.errors.push(diag);
                Vec::new()
            }
        }
    }

    pub fn record(&mut self, name: &str) -> Option<(Record, Span)> {
        self.typed(name)
    }

    /// A record whose values are all strings: ints and bools are written as text (as AWS tags
    /// are); other values are an error and left out. The record as written when it is all text.
    pub fn string_map(&mut self, name: &str) -> Record {
        let Some((rec, span)) = self.record(name) else {
            return Record::new();
        };
        if rec.values().all(|v| matches!(v, Value::Str(_))) {
            return rec;
        }
        let mut out = crate::model::RecordBuilder::default();
        for (k, v) in rec.iter() {
            match v {
                Value::Str(_) => out.insert(k.clone(), v.clone()),
                Value::Int(_) | Value::Bool(_) => out.insert(k.clone(), Value::str(&v.to_text())),
                other => {
                    let found = other.type_name().to_string();
                    let diag = Diag::new(ErrorKind::Type { expected: "a string".into(), found }, span)
                        .label(format!("`{name}.{k}` must be a string"));
                    self.errors.push(diag);
                    None
                }
            };
        }
        out.finish()
    }

    /// Checks a record attribute's keys against the ones it may have.
    pub fn known_keys(&mut self, name: &str, rec: &Record, span: Span, known: &[&str]) {
        for key in rec.keys() {
            if !known.contains(&&**key) {
                let help = suggest(key, known.iter().copied())
                    .unwrap_or_else(|| format!("`{name}` takes: {}", known.join(", ")));
                let kind = ErrorKind::UnknownKey { what: name.into(), key: key.to_string() };
                self.errors.push(Diag::new(kind, span).help(help));
            }
        }
    }
}
