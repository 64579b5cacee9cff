//! Calls: binding arguments to parameters (positional and named), the call-depth budget, and
//! the chain of calls attached to an error on its way out.

use std::rc::Rc;

use super::interp::{Interp, MAX_CALL_DEPTH};
use super::ops::Iterable;
use super::sink::Sink;
use crate::builtins;
use crate::diag::{suggest, Diag, ErrorKind, Frame, Result};
use crate::model::Scope;
use crate::model::{param_name, Builtin};
use crate::model::{Closure, Value};
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;

/// Frames kept for the next calls (a call deeper than this allocates its frame).
const SPARE_FRAMES: usize = 64;

/// A builtin's arguments in its parameters' places (None: left out).
type Bound = Vec<Option<(Value, Span)>>;

/// An evaluated argument.
pub struct ArgValue {
    pub name: Option<Spanned<Name>>,
    pub value: Value,
    pub span: Span,
}

impl Interp {
    pub(super) fn eval_call(&mut self, callee: &Expr, args: &[Arg], scope: &Scope, span: Span) -> Result<Value> {
        let f = self.eval(callee, scope)?;
        // The common call of a function, by position: each argument goes straight into its frame.
        if let Value::Func(closure) = &f {
            if positional(args.len(), args.iter().map(|a| &a.name), closure.def.params.len()) {
                let frame = closure.scope.child_in(self.spare_frames.pop());
                for (param, arg) in closure.def.params.iter().zip(args) {
                    let value = self.eval(&arg.value, scope)?;
                    bind_param(&closure.def, param, value, arg.value.span, &frame)?;
                }
                return self.run_closure(closure, frame, args.len(), span);
            }
        }
        // A builtin by position, leaving out only optional parameters: each argument goes
        // straight into its place.
        if let Value::Builtin(b) = &f {
            if let Some(values) = self.builtin_args(b, args, scope)? {
                self.allowed(b, span)?;
                return self.run_builtin(b, values, span);
            }
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            let value = self.eval(&arg.value, scope)?;
            values.push(ArgValue { name: arg.name.clone(), value, span: arg.value.span });
        }
        self.call(&f, values, span)
    }

    /// A builtin's arguments, each evaluated straight into its place, when the call is by
    /// position and leaves out only optional parameters; None when it needs matching.
    fn builtin_args(&mut self, b: &Builtin, args: &[Arg], scope: &Scope) -> Result<Option<Bound>> {
        let names = args.iter().map(|a| &a.name);
        if !positional(args.len(), names, b.params.len()) || !b.params[args.len()..].iter().all(|p| optional(p)) {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(b.params.len());
        for arg in args {
            values.push(Some((self.eval(&arg.value, scope)?, arg.value.span)));
        }
        values.resize(b.params.len(), None);
        Ok(Some(values))
    }

    /// What a `for` goes over: a list or a record, or the numbers of a `range(…)` called by name
    /// and position, counted instead of first made into a list.
    pub(super) fn iterable(&mut self, iter: &Expr, scope: &Scope) -> Result<Iterable> {
        if let ExprKind::Call(callee, args) = &iter.node {
            if let (ExprKind::Var(..), Value::Builtin(b)) = (&callee.node, self.eval(callee, scope)?) {
                if builtins::is_range(b) {
                    if let Some(values) = self.builtin_args(b, args, scope)? {
                        self.tick(iter.span)?;
                        let call = crate::model::Args { values, span: iter.span, name: b.name };
                        return Ok(Iterable::Range(builtins::range_numbers(&call)?));
                    }
                }
            }
        }
        self.eval(iter, scope).map(Iterable::Value)
    }

    /// Calls a function value (a kenv closure or a builtin).
    pub fn call(&mut self, f: &Value, args: Vec<ArgValue>, span: Span) -> Result<Value> {
        match f {
            Value::Func(closure) => self.call_closure(closure, args, span),
            Value::Builtin(b) => self.call_builtin(b, args, span),
            other => {
                Diag::new(ErrorKind::Type { expected: "a function".into(), found: other.type_name().into() }, span)
                    .label("this is not a function")
                    .err()
            }
        }
    }

    /// Calls a function with positional arguments (from builtins like `map`).
    pub fn call_with(&mut self, f: &Value, args: Vec<Value>, span: Span) -> Result<Value> {
        let args = args.into_iter().map(|value| ArgValue { name: None, value, span }).collect();
        self.call(f, args, span)
    }

    fn call_closure(&mut self, closure: &Rc<Closure>, args: Vec<ArgValue>, span: Span) -> Result<Value> {
        let def = &closure.def;
        let frame = closure.scope.child_in(self.spare_frames.pop());
        if positional(args.len(), args.iter().map(|a| &a.name), def.params.len()) {
            let given = args.len();
            for (param, arg) in def.params.iter().zip(args) {
                bind_param(def, param, arg.value, arg.span, &frame)?;
            }
            return self.run_closure(closure, frame, given, span);
        }
        let params: Vec<&str> = def.params.iter().map(|p| &*p.name.node).collect();
        let by_name = bind(fn_name(def), &params, args, span, Some(def.span))?;
        for (i, (param, given)) in def.params.iter().zip(by_name).enumerate() {
            match given {
                Some((value, at)) => bind_param(def, param, value, at, &frame)?,
                None => self.bind_default(def, i, span, &frame)?,
            }
        }
        self.run_closure(closure, frame, def.params.len(), span)
    }

    /// A parameter left out: its default, evaluated at the call (it may use earlier parameters).
    fn bind_default(&mut self, def: &FnDef, i: usize, call: Span, frame: &Scope) -> Result<()> {
        let param = &def.params[i];
        let Some(default) = &param.default else {
            return Diag::new(
                ErrorKind::MissingArg { param: param.name.node.to_string(), func: fn_name(def).to_string() },
                call,
            )
            .note(param.name.span, "parameter declared here")
            .help(format!("pass it by position or as `{}: …`", param.name.node))
            .err();
        };
        let value = self.eval(default, frame)?;
        if let Some(ty) = &param.ty {
            // A default's mistake is the template's, shown with the call that used it.
            check_param_type(fn_name(def), param, ty, &value, default.span, Some(call))?;
        }
        frame.define_new(param.name.node.clone(), value);
        Ok(())
    }

    /// Runs a function whose first `given` parameters `frame` binds: the rest take their defaults.
    fn run_closure(&mut self, closure: &Rc<Closure>, mut frame: Scope, given: usize, span: Span) -> Result<Value> {
        let def = &closure.def;
        for i in given..def.params.len() {
            self.bind_default(def, i, span, &frame)?;
        }
        let name = fn_name(def);
        self.depth += 1;
        if self.depth > MAX_CALL_DEPTH {
            self.depth = 0;
            let diag = Diag::new(ErrorKind::Recursion(MAX_CALL_DEPTH), span)
                .help("a function that calls itself needs a case that stops: `if n == 0 { … } else { f(n - 1) }`");
            return Err(with_frame(diag.boxed(), name, span));
        }
        // A function runs with what its caller may do, met with its own module's grants.
        let outer = self.grants;
        self.grants = outer.meet(self.grants_of(def.span.src));
        let result = match &def.body {
            Body::Expr(e) => self.eval(e, &frame),
            Body::Block(stmts) => {
                let mut sink = Sink::List(Vec::new());
                self.exec(stmts, &mut frame, &mut sink).map(|()| match sink {
                    Sink::List(items) => Value::list(items),
                    _ => unreachable!(),
                })
            }
        };
        self.grants = outer;
        self.depth = self.depth.saturating_sub(1);
        if self.spare_frames.len() < SPARE_FRAMES {
            self.spare_frames.extend(frame.into_spare());
        }
        result.map_err(|e| with_frame(e, name, span))
    }

    fn call_builtin(&mut self, b: &'static Builtin, args: Vec<ArgValue>, span: Span) -> Result<Value> {
        self.allowed(b, span)?;
        let bound = bind(b.name, b.params, args, span, None)?;
        self.run_builtin(b, bound, span)
    }

    /// Whether the mode and the grants allow the builtin's effect.
    fn allowed(&self, b: &'static Builtin, span: Span) -> Result<()> {
        if !b.effect.allowed_in(self.mode) {
            let kind = ErrorKind::Effect {
                name: b.name.into(),
                effect: b.effect.describe().into(),
                mode: self.mode.name().into(),
            };
            return Diag::new(kind, span).help(b.effect.where_allowed()).err();
        }
        if !self.grants.allows(b.effect) {
            return Err(self.not_granted(b, span));
        }
        Ok(())
    }

    /// Runs a builtin on its arguments, bound to its parameters.
    fn run_builtin(&mut self, b: &'static Builtin, values: Bound, span: Span) -> Result<Value> {
        let mut call = crate::model::Args { values, span, name: b.name };
        call.check_types(b.params)?;
        (b.func)(self, &mut call)
    }
}

impl Interp {
    /// A builtin with an effect called by imported code whose import did not grant it; the note
    /// points at that import when the call is in the imported module itself.
    fn not_granted(&self, b: &Builtin, span: Span) -> Box<Diag> {
        let grant = crate::model::Grants::word(b.effect);
        let kind =
            ErrorKind::NotGranted { name: b.name.into(), effect: b.effect.describe().into(), grant: grant.into() };
        let diag = Diag::new(kind, span);
        let diag = match self.modules.grants.get(&span.src) {
            Some((_, import)) => diag
                .note(*import, format!("imported here without `grant {grant}`"))
                .help(format!("if you trust it to, grant it: `import \"…\" grant {grant}`")),
            None => diag.help(format!("the imported code calling this needs `grant {grant}` on its import")),
        };
        diag.boxed()
    }
}

/// A function's name in messages (`<fn>` for a lambda).
fn fn_name(def: &FnDef) -> &str {
    def.name.as_deref().unwrap_or("<fn>")
}

/// A call that needs no matching: by position, no more arguments than `params` parameters.
fn positional<'a>(count: usize, mut names: impl Iterator<Item = &'a Option<Spanned<Name>>>, params: usize) -> bool {
    count <= params && names.all(|n| n.is_none())
}

/// Optional parameters are marked `name?`.
fn optional(param: &str) -> bool {
    param_name(param).ends_with('?')
}

/// Binds a given argument to its parameter, checking the parameter's type.
fn bind_param(def: &FnDef, param: &Param, value: Value, at: Span, frame: &Scope) -> Result<()> {
    if let Some(ty) = &param.ty {
        check_param_type(fn_name(def), param, ty, &value, at, None)?;
    }
    frame.define_new(param.name.node.clone(), value);
    Ok(())
}

/// A typed parameter's argument: the diagnostic points at the argument (or, for a default, at
/// the default) with a note at the parameter's declaration.
fn check_param_type(
    name: &str,
    param: &Param,
    ty: &Spanned<Name>,
    v: &Value,
    at: Span,
    call: Option<Span>,
) -> Result<()> {
    let (base, nullable) = match ty.node.strip_suffix('?') {
        Some(base) => (base, true),
        None => (&*ty.node, false),
    };
    let ok = base == "any" || v.type_name() == base || (nullable && matches!(v, Value::Null));
    if ok {
        return Ok(());
    }
    let kind = ErrorKind::ArgType {
        param: param.name.node.to_string(),
        func: name.to_string(),
        expected: super::an(base),
        found: super::an(v.type_name()),
    };
    let diag = Diag::new(kind, at)
        .label(format!("{} here", super::an(v.type_name())))
        .note(ty.span, format!("`{}` is declared `{}` here", param.name.node, ty.node));
    match call {
        Some(call) => diag.note(call, "in this call").err(),
        None => diag.err(),
    }
}

/// Matches arguments to parameter names. A parameter ending in `?` is optional.
fn bind(name: &str, params: &[&str], args: Vec<ArgValue>, span: Span, decl: Option<Span>) -> Result<Bound> {
    let clean: Vec<&str> = params.iter().map(|p| param_name(p).trim_end_matches('?')).collect();
    let mut out: Bound = vec![None; params.len()];
    let mut next = 0;
    for arg in args {
        let slot = match &arg.name {
            Some(n) => match clean.iter().position(|p| *p == &*n.node) {
                Some(i) => i,
                None => {
                    let help = suggest(&n.node, clean.iter().copied())
                        .unwrap_or_else(|| format!("`{name}` takes: {}", clean.join(", ")));
                    return Diag::new(ErrorKind::NoParam { func: name.to_string(), param: n.node.to_string() }, n.span)
                        .help(help)
                        .err();
                }
            },
            None => {
                while next < out.len() && out[next].is_some() {
                    next += 1;
                }
                if next >= out.len() {
                    let diag = Diag::new(
                        ErrorKind::TooManyArgs { func: name.to_string(), takes: count(params.len()) },
                        arg.span,
                    );
                    return with_decl(diag, decl).help(format!("`{name}({})`", clean.join(", "))).err();
                }
                next
            }
        };
        if out[slot].is_some() {
            return Diag::new(ErrorKind::ArgTwice(clean[slot].to_string()), arg.span).err();
        }
        out[slot] = Some((arg.value, arg.span));
    }
    if decl.is_none() {
        if let Some(i) = (0..params.len()).position(|i| !optional(params[i]) && out[i].is_none()) {
            return Diag::new(ErrorKind::MissingArg { param: clean[i].to_string(), func: name.to_string() }, span)
                .help(format!("`{name}({})`", clean.join(", ")))
                .err();
        }
    }
    Ok(out)
}

fn count(n: usize) -> String {
    match n {
        0 => "no arguments".into(),
        1 => "1 argument".into(),
        n => format!("{n} arguments"),
    }
}

fn with_decl(diag: Diag, decl: Option<Span>) -> Diag {
    match decl {
        Some(d) => diag.note(d, "function declared here"),
        None => diag,
    }
}

fn with_frame(mut e: Box<Diag>, name: &str, call: Span) -> Box<Diag> {
    // A diagnostic at the call itself needs no frame for it.
    if e.span != Some(call) {
        e.trace.push(Frame { name: name.into(), call, import: false });
    }
    e
}

/// What builtins may ask of the interpreter.
impl crate::model::Context for Interp {
    fn mode(&self) -> crate::model::Mode {
        self.mode
    }

    fn aws(&self) -> Rc<crate::aws::Aws> {
        self.aws.clone()
    }

    fn cache(&mut self) -> &mut crate::model::ReadCache {
        &mut self.cache
    }

    fn host(&self) -> Rc<dyn crate::host::Host> {
        self.host.clone()
    }

    fn call(&mut self, f: &Value, args: Vec<Value>, span: Span) -> Result<Value> {
        self.call_with(f, args, span)
    }

    fn confirm(&mut self, what: &str, span: Span) -> Result<()> {
        Interp::confirm(self, what, span)
    }
}
