//! The interpreter's state and expression evaluation.

use std::rc::Rc;

use super::errors::type_error;
use super::module_cache::Modules;
use super::ops::bind_loop_vars;
use super::sink::Sink;
use crate::builtins;
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::host::{Host, Terminal};
use crate::model::Scope;
use crate::model::{Concat, Value};
use crate::model::{DesiredState, Mode};
use crate::source::{SourceId, SourceMap, Span};
use crate::syntax::ast::*;

/// Evaluation budgets: past them, evaluation stops with a diagnostic instead of running away.
pub const MAX_CALL_DEPTH: usize = 512;
pub const MAX_STEPS: u64 = 20_000_000;
/// Expression nesting while evaluating (long operator chains nest without brackets).
pub const MAX_NESTING: usize = 20_000;

pub struct Interp {
    pub sources: SourceMap,
    pub mode: Mode,
    /// Problems that do not stop evaluation (invalid attributes, …), reported together at the end.
    pub errors: Vec<Diag>,
    /// The declarations made at the top of the program and of the modules it imports.
    pub state: DesiredState,
    pub(super) modules: Modules,
    pub(super) steps: u64,
    /// MAX_STEPS, or `KENV_MAX_STEPS` from the environment (tests use a small budget).
    max_steps: u64,
    pub(super) depth: usize,
    nesting: usize,
    /// Time spent parsing, for `kenv eval --timings`.
    pub parse_time: std::time::Duration,
    /// AWS, set up only when a builtin first needs it.
    pub aws: Rc<crate::aws::Aws>,
    /// AWS reads this interpreter's builtins made (a new interpreter starts without any).
    pub cache: crate::model::ReadCache,
    /// `--yes`: effects go ahead without asking.
    pub yes: bool,
    /// Where output goes and who confirms effects: the terminal unless the maker says otherwise.
    pub host: Rc<dyn Host>,
    /// What the code running now may do: imported code only what its import granted.
    pub(super) grants: crate::model::Grants,
    /// `kenv test`: the file's tests, collected as its evaluation meets them.
    pub tests: Option<super::test_cases::Tests>,
    /// An editor's unsaved buffers by absolute path: an import of one reads it, not the disk.
    pub buffers: Rc<std::collections::HashMap<std::path::PathBuf, String>>,
    /// Where string interpolation builds its text (one buffer, reused).
    text: String,
    /// Where record literals and list comprehensions gather their fields and items, to become
    /// one allocation each: stacks, since evaluating a field or an item may build another.
    fields: Vec<(Name, Value)>,
    items: Vec<Value>,
    /// Frames calls left, emptied, for the next calls (`Scope::into_spare`).
    pub(super) spare_frames: Vec<Scope>,
}

impl Interp {
    pub fn new(mode: Mode) -> Interp {
        Interp {
            sources: SourceMap::default(),
            mode,
            errors: Vec::new(),
            state: DesiredState::default(),
            modules: Modules::default(),
            steps: 0,
            max_steps: std::env::var("KENV_MAX_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(MAX_STEPS),
            depth: 0,
            nesting: 0,
            parse_time: std::time::Duration::ZERO,
            aws: Rc::new(crate::aws::Aws::new(Default::default())),
            cache: crate::model::ReadCache::default(),
            yes: false,
            host: Rc::new(Terminal),
            grants: crate::model::Grants::ALL,
            tests: None,
            buffers: Rc::default(),
            text: String::new(),
            fields: Vec::new(),
            items: Vec::new(),
            spare_frames: Vec::new(),
        }
    }

    /// An interpreter for commands that reach AWS (`--profile`, `--region`) and may act (`--yes`).
    pub fn with_aws(mode: Mode, aws: Rc<crate::aws::Aws>, yes: bool) -> Interp {
        Interp { aws, yes, ..Interp::new(mode) }
    }

    /// Asks before an effect (`what` says what it will do), unless `--yes` was given. Without a
    /// terminal to ask on, the effect is refused rather than assumed.
    pub fn confirm(&self, what: &str, span: Span) -> Result<()> {
        self.host.err(&format!("kenv will {what}\n"));
        if self.yes || self.host.ask("Go ahead?") {
            return Ok(());
        }
        Diag::new(ErrorKind::Declined("not confirmed; nothing was changed".into()), span)
            .help("answer `y` at the prompt, or pass --yes to go ahead without asking")
            .err()
    }

    /// Parses and runs a source's statements at the top level of `scope`.
    pub fn run_source(&mut self, src: SourceId, scope: &mut Scope) -> std::result::Result<(), Vec<Diag>> {
        let stmts = self.parse(src)?;
        self.exec(&stmts, scope, &mut Sink::Top).map_err(|e| self.with_errors(e))
    }

    pub(super) fn parse(&mut self, src: SourceId) -> std::result::Result<Vec<Stmt>, Vec<Diag>> {
        let started = std::time::Instant::now();
        let source = self.sources.get(src);
        let parsed = crate::syntax::parse(src, &source.text);
        self.parse_time += started.elapsed();
        parsed
    }

    /// An error that stops evaluation, after the problems collected before it.
    #[allow(clippy::boxed_local)] // it arrives boxed, as every error does
    fn with_errors(&mut self, e: Box<Diag>) -> Vec<Diag> {
        let mut all = std::mem::take(&mut self.errors);
        all.push(*e);
        all
    }

    /// Typed input (`kenv eval -e`, the REPL): runs the statements in `scope`, which then holds
    /// what they bound; when the last is an expression, its value is the result. Declarations
    /// join the desired state.
    pub fn eval_input(
        &mut self,
        name: &str,
        text: &str,
        scope: &mut Scope,
    ) -> std::result::Result<Option<Value>, Vec<Diag>> {
        let src = self.sources.add(name, None, text);
        let mut stmts = self.parse(src)?;
        let last = match stmts.last() {
            Some(Spanned { node: StmtKind::Expr(_), .. }) => stmts.pop(),
            _ => None,
        };
        self.exec(&stmts, scope, &mut Sink::Top).map_err(|e| self.with_errors(e))?;
        let value = match last {
            Some(Spanned { node: StmtKind::Expr(e), .. }) => {
                Some(self.eval(&e, scope).map_err(|e| self.with_errors(e))?)
            }
            _ => None,
        };
        if !self.errors.is_empty() {
            return Err(std::mem::take(&mut self.errors));
        }
        Ok(value)
    }

    #[inline]
    pub(super) fn tick(&mut self, span: Span) -> Result<()> {
        self.steps += 1;
        if self.steps > self.max_steps {
            return Err(self.out_of_steps(span));
        }
        Ok(())
    }

    #[cold]
    fn out_of_steps(&self, span: Span) -> Box<Diag> {
        Diag::new(ErrorKind::Steps(self.max_steps), span)
            .help("look for a loop over a very large range, or recursion that does too much work")
            .boxed()
    }

    /// The leaves (literals, names) are answered where the caller is: no step of their own (the
    /// budget stops loops and recursion, which tick), no nesting, no call.
    #[inline(always)]
    pub fn eval(&mut self, expr: &Expr, scope: &Scope) -> Result<Value> {
        match &expr.node {
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Str(s) => Ok(Value::Str(s.into())),
            ExprKind::Var(name, place) => self.lookup_at(name, *place, scope, expr.span),
            _ => self.eval_inner(expr, scope),
        }
    }

    #[inline(never)]
    fn eval_inner(&mut self, expr: &Expr, scope: &Scope) -> Result<Value> {
        self.tick(expr.span)?;
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            self.nesting = 0;
            return Diag::new(ErrorKind::TooDeep(MAX_NESTING), expr.span)
                .help("split the expression into named parts with `let`")
                .err();
        }
        let result = self.eval_kind(expr, scope);
        self.nesting = self.nesting.saturating_sub(1);
        result
    }

    fn eval_kind(&mut self, expr: &Expr, scope: &Scope) -> Result<Value> {
        let span = expr.span;
        Ok(match &expr.node {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(n) => Value::Int(*n),
            ExprKind::Duration(s) => Value::Duration(*s),
            ExprKind::Str(s) => Value::Str(s.into()),
            ExprKind::Interp(parts) => {
                let mut out = Concat::reusing(std::mem::take(&mut self.text));
                for part in parts {
                    match part {
                        StrPart::Lit(s) => out.push_str(s),
                        StrPart::Expr(e) => out.push(&self.eval(e, scope)?),
                    }
                }
                let (value, buffer) = out.finish_keeping();
                self.text = buffer;
                value
            }
            ExprKind::List(items) => {
                let base = self.items.len();
                let filled = items.iter().try_for_each(|item| {
                    let v = self.eval(item, scope)?;
                    self.items.push(v);
                    Ok(())
                });
                Value::List(gathered(&mut self.items, base, filled)?)
            }
            ExprKind::ListComp(elem, clauses) => {
                let base = self.items.len();
                let filled = self.comprehend(clauses, scope, &mut |this, s| {
                    let v = this.eval(elem, s)?;
                    this.items.push(v);
                    Ok(())
                });
                Value::List(gathered(&mut self.items, base, filled)?)
            }
            ExprKind::Record(fields) => match fields.rank() {
                Some(rank) => self.record_in_place(&fields.written, rank, scope)?,
                None => self.record_by_key(&fields.written, scope)?,
            },
            ExprKind::RecordComp(key, value, clauses) => {
                let mut rec = crate::model::RecordBuilder::default();
                self.comprehend(clauses, scope, &mut |this, s| {
                    let k = match this.eval(key, s)? {
                        Value::Str(k) => k,
                        other => return type_error("a string key", &other, key.span),
                    };
                    let v = this.eval(value, s)?;
                    rec.insert(k.to_rc(), v);
                    Ok(())
                })?;
                Value::record(rec.finish())
            }
            ExprKind::Var(name, place) => self.lookup_at(name, *place, scope, span)?,
            ExprKind::Field(target, field) => {
                let v = self.eval(target, scope)?;
                super::ops::field(&v, field)?
            }
            ExprKind::Index(target, index) => {
                let v = self.eval(target, scope)?;
                let i = self.eval(index, scope)?;
                super::ops::index(&v, &i, index.span)?
            }
            ExprKind::Call(callee, args) => self.eval_call(callee, args, scope, span)?,
            ExprKind::Unary(op, operand) => {
                let v = self.eval(operand, scope)?;
                super::ops::unary(*op, v, span)?
            }
            ExprKind::Binary(op, lhs, rhs) => self.eval_binary(*op, lhs, rhs, scope)?,
            ExprKind::If(cond, then, els) => {
                if self.condition(cond, scope)? {
                    self.eval(then, scope)?
                } else {
                    self.eval(els, scope)?
                }
            }
            ExprKind::Lambda(def) => {
                Value::Func(Rc::new(crate::model::Closure { def: def.clone(), scope: scope.capture() }))
            }
            ExprKind::Decl(kind, name, body) => self.eval_decl(*kind, name, body, scope, span)?,
            ExprKind::PolicyUse(inner) => {
                let v = self.eval(inner, scope)?;
                super::ops::policies_in(v, inner.span)?
            }
            ExprKind::Rule(rule) => self.eval_rule(rule, scope, span)?,
            ExprKind::Install(name, value) => self.eval_install(name, value, scope, span)?,
            ExprKind::Allow(actions, resources) => self.eval_allow(actions, resources, scope, span)?,
            ExprKind::Suppress(s) => self.eval_suppress(s, scope, span)?,
            ExprKind::With(base, block) => self.eval_with(base, block, scope)?,
        })
    }

    /// A record literal whose fields' places are known: each goes straight to its place (the
    /// first key holds the places until then).
    fn record_in_place(&mut self, written: &[(Spanned<Name>, Expr)], rank: &[u32], scope: &Scope) -> Result<Value> {
        let base = self.fields.len();
        if let Some((first, _)) = written.first() {
            self.fields.resize(base + written.len(), (first.node.clone(), Value::Null));
        }
        let filled = written.iter().zip(rank).try_for_each(|((key, value), &at)| {
            let v = self.eval(value, scope)?;
            self.fields[base + at as usize] = (key.node.clone(), v);
            Ok(())
        });
        Ok(Value::record(crate::model::Record::from_sorted(gathered(&mut self.fields, base, filled)?)))
    }

    /// A record literal built key by key, reporting a key given twice.
    fn record_by_key(&mut self, written: &[(Spanned<Name>, Expr)], scope: &Scope) -> Result<Value> {
        let mut rec = crate::model::RecordBuilder::default();
        for (key, value) in written {
            let v = self.eval(value, scope)?;
            if rec.insert(key.node.clone(), v).is_some() {
                return Diag::new(
                    ErrorKind::Duplicate { what: "record key".into(), name: key.node.to_string() },
                    key.span,
                )
                .label("already set in this record")
                .err();
            }
        }
        Ok(Value::record(rec.finish()))
    }

    /// A name where reading the file found it (`syntax::places`); by name when that fails. A
    /// slot is read in the evaluation loop itself.
    #[inline(always)]
    fn lookup_at(&self, name: &str, place: Place, scope: &Scope, span: Span) -> Result<Value> {
        if let Place::Slot { hops, index } = place {
            if let Some(v) = scope.slot(hops, index, name) {
                return Ok(v);
            }
        }
        self.lookup_by_name(name, place, scope, span)
    }

    fn lookup_by_name(&self, name: &str, place: Place, scope: &Scope, span: Span) -> Result<Value> {
        if let Place::Above { hops } = place {
            match scope.up(hops).and_then(|s| s.lookup(name)) {
                Some(v) => return Ok(v),
                None => {
                    if let Some(b) = builtins::get(name) {
                        return Ok(Value::Builtin(b));
                    }
                }
            }
        }
        self.lookup(name, scope, span)
    }

    pub fn lookup(&self, name: &str, scope: &Scope, span: Span) -> Result<Value> {
        if let Some(v) = scope.lookup(name) {
            return Ok(v);
        }
        if let Some(b) = builtins::get(name) {
            return Ok(Value::Builtin(b));
        }
        Err(unknown_name(name, scope, span))
    }

    /// A condition must be a bool: kenv has no truthiness.
    pub(super) fn condition(&mut self, expr: &Expr, scope: &Scope) -> Result<bool> {
        let v = self.eval(expr, scope)?;
        match v.truthy() {
            Some(b) => Ok(b),
            None => type_error("a bool", &v, expr.span),
        }
    }

    fn eval_binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, scope: &Scope) -> Result<Value> {
        match op {
            BinOp::And | BinOp::Or => {
                let l = self.condition(lhs, scope)?;
                if l == (op == BinOp::Or) {
                    return Ok(Value::Bool(l));
                }
                Ok(Value::Bool(self.condition(rhs, scope)?))
            }
            BinOp::Coalesce => match self.eval(lhs, scope)? {
                Value::Null => self.eval(rhs, scope),
                v => Ok(v),
            },
            _ => {
                let l = self.eval(lhs, scope)?;
                let r = self.eval(rhs, scope)?;
                if let (Value::Int(a), Value::Int(b)) = (&l, &r) {
                    if let Some(v) = super::ops::ints(op, *a, *b) {
                        return Ok(v);
                    }
                }
                super::ops::binary(op, l, r, lhs.span, rhs.span)
            }
        }
    }

    /// Runs `body` once per binding of nested `for … in … if …` clauses.
    pub(super) fn comprehend(
        &mut self,
        clauses: &[ForClause],
        scope: &Scope,
        body: &mut dyn FnMut(&mut Interp, &Scope) -> Result<()>,
    ) -> Result<()> {
        let Some((clause, rest)) = clauses.split_first() else {
            return body(self, scope);
        };
        let iter = self.iterable(&clause.iter, scope)?;
        let mut previous = None;
        for (a, b) in super::ops::iterate(&iter, clause, clause.iter.span)? {
            self.tick(clause.iter.span)?;
            let inner = scope.next_item(previous.take());
            bind_loop_vars(&inner, clause, a, b);
            let kept = match &clause.filter {
                Some(filter) => self.condition(filter, &inner)?,
                None => true,
            };
            if kept {
                self.comprehend(rest, &inner, body)?;
            }
            previous = Some(inner);
        }
        Ok(())
    }
}

/// What was pushed onto `stack` since `base`, taken off it as one allocation; on an error, dropped.
fn gathered<T>(stack: &mut Vec<T>, base: usize, filled: Result<()>) -> Result<Rc<[T]>> {
    match filled {
        Ok(()) => Ok(stack.drain(base..).collect()),
        Err(e) => {
            stack.truncate(base);
            Err(e)
        }
    }
}

/// A name neither the scope nor the builtins know, with the nearest one as a hint.
#[cold]
fn unknown_name(name: &str, scope: &Scope, span: Span) -> Box<Diag> {
    let names = scope.names();
    let mut candidates: Vec<&str> = names.iter().map(|n| &**n).collect();
    for b in builtins::names() {
        candidates.push(b);
    }
    let help = keyword_hint(name).or_else(|| suggest(name, candidates));
    Diag::new(ErrorKind::UnknownName(name.into()), span).label("not defined here").help_opt(help).boxed()
}

/// Words people bring from other languages.
fn keyword_hint(name: &str) -> Option<String> {
    let hint = match name {
        "True" | "False" => "booleans are written `true` and `false`",
        "None" | "nil" | "undefined" => "the empty value is written `null`",
        "var" | "const" => "name a value with `let`",
        "def" | "func" | "function" => "define a function with `fn name(args) = …`",
        "elif" => "write `else if`",
        // Declaration words are names only where their declaration does not parse.
        "environment" => "an environment is declared as `environment \"name\" { … }`",
        "role" => "a role is declared as `role \"name\" { trust = […] }`",
        "policy" => "a policy is declared as `policy \"name\" { message = \"…\"  check = fn(state) => […] }`, or turned on with `policy EXPR`",
        "ingress" | "egress" => "a rule is written `ingress tcp 443 from \"10.0.0.0/8\" \"description\"`",
        "install" => "an install step is written `install \"name\" = \"script\"` or `= { script: … }`",
        "allow" => "a role statement is written `allow [\"service:Action\"] on \"arn:…\"`",
        "suppress" | "because" => "a suppression is written `suppress \"policy-name\" because \"reason\"`, optionally followed by `owner \"who\" expires \"YYYY-MM-DD\"`",
        _ => return None,
    };
    Some(hint.into())
}
