//! What a native function is to the rest of kenv: its signature and effect (`Builtin`), its
//! bound arguments with typed accessors (`Args`), and what it may ask of the interpreter that
//! calls it (`Context`). The functions themselves are in `builtins`; a builtin is a value
//! (`Value::Builtin`), so this lives with the values.

use std::collections::HashMap;
use std::rc::Rc;

use super::typed::{Func, Strings, Typed};
use super::{Record, Value};
use crate::aws::Aws;
use crate::diag::{Diag, ErrorKind, Result};
use crate::host::Host;
use crate::source::Span;

/// Which command is evaluating, and so which effects builtins may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Eval,
    Plan,
    Run,
    Repl,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Eval => "eval",
            Mode::Plan => "plan",
            Mode::Run => "run",
            Mode::Repl => "repl",
        }
    }
}

/// What calling a builtin may do beyond computing its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Pure,
    ReadsAws,
    WritesAws,
    Exec,
}

impl Effect {
    pub fn allowed_in(self, mode: Mode) -> bool {
        match self {
            Effect::Pure => true,
            Effect::ReadsAws => matches!(mode, Mode::Plan | Mode::Run | Mode::Repl),
            Effect::WritesAws | Effect::Exec => matches!(mode, Mode::Run | Mode::Repl),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Effect::Pure => "pure",
            Effect::ReadsAws => "reads AWS",
            Effect::WritesAws => "writes AWS",
            Effect::Exec => "exec",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Effect::Pure => "is pure",
            Effect::ReadsAws => "reads from AWS",
            Effect::WritesAws => "writes to AWS",
            Effect::Exec => "runs commands",
        }
    }

    pub fn where_allowed(self) -> &'static str {
        match self {
            Effect::Pure => "",
            Effect::ReadsAws => "AWS reads happen in `kenv plan`, `kenv run` and the REPL",
            Effect::WritesAws | Effect::Exec => "effects happen in `kenv run` and the REPL, after you confirm them",
        }
    }
}

/// The effects code may have beyond reading: the program's own files and the stdlib may have
/// all; an imported module only those its import grants (`import "…" grant exec, aws_write`).
/// While a module's code runs, what it may do is what its caller may do, met with its grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants {
    pub exec: bool,
    pub aws_write: bool,
}

impl Grants {
    pub const ALL: Grants = Grants { exec: true, aws_write: true };
    pub const NONE: Grants = Grants { exec: false, aws_write: false };
    /// The words an import may grant.
    pub const WORDS: &[&str] = &["exec", "aws_write"];

    pub fn meet(self, other: Grants) -> Grants {
        Grants { exec: self.exec && other.exec, aws_write: self.aws_write && other.aws_write }
    }

    pub fn allows(self, effect: Effect) -> bool {
        match effect {
            Effect::Pure | Effect::ReadsAws => true,
            Effect::WritesAws => self.aws_write,
            Effect::Exec => self.exec,
        }
    }

    /// The grant word an effect needs.
    pub fn word(effect: Effect) -> &'static str {
        if effect == Effect::Exec {
            "exec"
        } else {
            "aws_write"
        }
    }

    /// Sets the grant a word names; false for a word that names none.
    pub fn add(&mut self, word: &str) -> bool {
        match word {
            "exec" => self.exec = true,
            "aws_write" => self.aws_write = true,
            _ => return false,
        }
        true
    }
}

/// AWS reads made by builtins, kept for the interpreter that made them, so a program that asks
/// the same thing twice makes one call. Every mutating call goes through `Aws::call`, which
/// counts it; a cache that sees the count move forgets what it kept.
#[derive(Default)]
pub struct ReadCache {
    writes: u64,
    values: HashMap<String, Value>,
}

impl ReadCache {
    pub fn get_or_read<E>(
        &mut self,
        aws: &crate::aws::Aws,
        key: String,
        read: impl FnOnce() -> std::result::Result<Value, E>,
    ) -> std::result::Result<Value, E> {
        if aws.writes() != self.writes {
            self.writes = aws.writes();
            self.values.clear();
        }
        if let Some(v) = self.values.get(&key) {
            return Ok(v.clone());
        }
        let value = read()?;
        self.values.insert(key, value.clone());
        Ok(value)
    }
}

pub type BuiltinFn = fn(&mut dyn Context, &mut Args) -> Result<Value>;

pub struct Builtin {
    pub name: &'static str,
    /// Parameters as `name`, `name?` (optional) or with the type an argument must have,
    /// `name: string` / `name?: int` (a `typed::Typed` name), checked before the call.
    pub params: &'static [&'static str],
    pub effect: Effect,
    pub doc: &'static str,
    pub func: BuiltinFn,
}

impl Builtin {
    /// `join(items, sep?)`
    pub fn signature(&self) -> String {
        let names: Vec<&str> = self.params.iter().map(|p| param_name(p)).collect();
        format!("{}({})", self.name, names.join(", "))
    }
}

/// A parameter's name as bound (`sep?` for `sep?: string`).
pub fn param_name(spec: &str) -> &str {
    colon(spec).map_or(spec, |i| &spec[..i])
}

/// The type a parameter declares (`string` for `sep?: string`).
pub fn param_type(spec: &str) -> Option<&str> {
    colon(spec).map(|i| spec[i + 1..].trim())
}

/// Where a parameter's spec (a few bytes, read at every call) has its `:`.
fn colon(spec: &str) -> Option<usize> {
    spec.bytes().position(|b| b == b':')
}

/// What a builtin may ask of the interpreter that calls it.
pub trait Context {
    /// The command evaluating, which decides the effects allowed.
    fn mode(&self) -> Mode;
    /// AWS, set up when first used.
    fn aws(&self) -> Rc<Aws>;
    /// This interpreter's AWS reads.
    fn cache(&mut self) -> &mut ReadCache;
    /// Where output goes and who confirms effects.
    fn host(&self) -> Rc<dyn Host>;
    /// Calls a function value with positional arguments (`map`, `filter`, …).
    fn call(&mut self, f: &Value, args: Vec<Value>, span: Span) -> Result<Value>;
    /// Shows what an effect will do and asks before it, unless `--yes` was given.
    fn confirm(&mut self, what: &str, span: Span) -> Result<()>;
}

/// A builtin's bound arguments, with typed accessors that report errors at the argument.
pub struct Args {
    pub values: Vec<Option<(Value, Span)>>,
    pub span: Span,
    pub name: &'static str,
}

impl Args {
    /// The argument, or None when it was not given (or given as null).
    pub fn get(&self, i: usize) -> Option<&Value> {
        match &self.values[i] {
            Some((Value::Null, _)) | None => None,
            Some((v, _)) => Some(v),
        }
    }

    /// A required argument (binding has checked it is present).
    pub fn value(&self, i: usize) -> Value {
        self.values[i].as_ref().map_or(Value::Null, |(v, _)| v.clone())
    }

    pub fn span(&self, i: usize) -> Span {
        self.values[i].as_ref().map_or(self.span, |(_, s)| *s)
    }

    fn wrong<T>(&self, i: usize, expected: &str) -> Result<T> {
        let found = self.values[i].as_ref().map_or("nothing", |(v, _)| v.type_name());
        Diag::new(ErrorKind::Type { expected: expected.into(), found: found.into() }, self.span(i))
            .label(format!("argument of `{}`", self.name))
            .err()
    }

    /// Checks each argument against the type its parameter declares (`name: string`), before
    /// the builtin runs.
    pub fn check_types(&self, params: &[&str]) -> Result<()> {
        for (i, spec) in params.iter().enumerate() {
            let (Some(ty), Some(v)) = (param_type(spec), self.get(i)) else { continue };
            if let Some(Err(expected)) = super::typed::check(ty, v) {
                return self.wrong(i, expected);
            }
        }
        Ok(())
    }

    /// The argument as `T`, or a type error at it.
    pub fn typed<T: Typed>(&self, i: usize) -> Result<T> {
        self.get(i).and_then(T::from_value).map_or_else(|| self.wrong(i, T::EXPECTED), Ok)
    }

    /// `typed`, for an argument that may be left out (or null).
    pub fn opt<T: Typed>(&self, i: usize) -> Result<Option<T>> {
        self.get(i).map(|_| self.typed(i)).transpose()
    }

    pub fn str(&self, i: usize) -> Result<Rc<str>> {
        self.typed(i)
    }

    pub fn opt_str(&self, i: usize) -> Result<Option<Rc<str>>> {
        self.opt(i)
    }

    pub fn int(&self, i: usize) -> Result<i64> {
        self.typed(i)
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.opt(i)
    }

    pub fn list(&self, i: usize) -> Result<Rc<[Value]>> {
        self.typed(i)
    }

    pub fn strings(&self, i: usize) -> Result<Vec<String>> {
        self.typed::<Strings>(i).map(|s| s.0.iter().map(|s| s.to_string()).collect())
    }

    pub fn record(&self, i: usize) -> Result<Record> {
        self.typed(i)
    }

    pub fn func(&self, i: usize) -> Result<Value> {
        self.typed::<Func>(i).map(|f| f.0)
    }

    /// An error about the call as a whole.
    pub fn invalid<T>(&self, i: usize, detail: impl Into<String>) -> Result<T> {
        Diag::new(
            ErrorKind::Invalid { what: format!("argument to `{}`", self.name), detail: detail.into() },
            self.span(i),
        )
        .err()
    }
}
