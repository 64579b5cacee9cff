//! Statements and declarations. A statement whose value is a declaration adds it to the nearest
//! enclosing sink: the desired state at the top, an environment's or role's body inside one, or
//! the result list of a function with a block body.

use std::rc::Rc;

use super::errors::{an, type_error};
use super::interp::Interp;
use super::ops::bind_loop_vars;
use super::sink::{DeclSink, Sink};
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::model::Mode;
use crate::model::Scope;
use crate::model::Value;
use crate::model::{
    self, Allow, Attr, Attrs, Children, Decl, Environment, InstallStep, Policy, Role, Rule, Suppression,
};
use crate::source::{Span, Spanned};
use crate::syntax::ast::*;

impl Interp {
    /// Runs a block's statements in order. `scope` ends as the scope after the last of them
    /// (a `let` may have continued the block in a new frame: see `Scope::bind`).
    pub fn exec(&mut self, stmts: &[Stmt], scope: &mut Scope, sink: &mut Sink) -> Result<()> {
        for stmt in stmts {
            self.exec_one(stmt, scope, sink)?;
        }
        Ok(())
    }

    fn exec_one(&mut self, stmt: &Stmt, scope: &mut Scope, sink: &mut Sink) -> Result<()> {
        self.tick(stmt.span)?;
        match &stmt.node {
            StmtKind::Import(import) => self.import(import, scope)?,
            StmtKind::Let(name, value) => {
                let v = self.eval(value, scope)?;
                scope.bind(name.node.clone(), v);
            }
            StmtKind::Fn(name, def) => {
                let closure = crate::model::Closure { def: def.clone(), scope: scope.capture() };
                scope.bind(name.node.clone(), Value::Func(Rc::new(closure)));
            }
            StmtKind::Assert(cond, message) => {
                // A comparison shows both sides when it fails (each evaluated once).
                let (holds, sides) = match &cond.node {
                    ExprKind::Binary(op @ (BinOp::Eq | BinOp::Ne), l, r) => {
                        let (lv, rv) = (self.eval(l, scope)?, self.eval(r, scope)?);
                        let v = super::ops::binary(*op, lv.clone(), rv.clone(), l.span, r.span)?;
                        (v.truthy() == Some(true), Some((lv, rv)))
                    }
                    _ => (self.condition(cond, scope)?, None),
                };
                if !holds {
                    let text = match message {
                        Some(m) => self.eval(m, scope)?.to_text(),
                        None => self.sources.snippet(cond.span),
                    };
                    let diag = Diag::new(ErrorKind::Assert(text), cond.span).label("this is false");
                    return match sides {
                        Some((l, r)) => diag.help(format!("left:  {}\nright: {}", l.to_kenv(), r.to_kenv())),
                        None => diag,
                    }
                    .err();
                }
            }
            StmtKind::For(clause, body) => {
                let iter = self.iterable(&clause.iter, scope)?;
                for (a, b) in super::ops::iterate(&iter, clause, clause.iter.span)? {
                    let mut inner = scope.child();
                    bind_loop_vars(&inner, clause, a, b);
                    self.exec(body, &mut inner, sink)?;
                }
            }
            StmtKind::If(cond, then, els) => {
                if self.condition(cond, scope)? {
                    self.exec(then, &mut scope.child(), sink)?;
                } else if let Some(els) = els {
                    self.exec(els, &mut scope.child(), sink)?;
                }
            }
            StmtKind::Attr(name, value) => self.exec_attr(name, value, scope, sink)?,
            StmtKind::Test(name, body) => self.exec_test(name, body, scope, sink)?,
            StmtKind::Expr(expr) => {
                let v = self.eval(expr, scope)?;
                self.emit(v, expr.span, sink)?;
            }
        }
        Ok(())
    }

    /// `account = "123456789012"` at the top of a file: the one AWS account plan, apply and
    /// destroy may act in.
    fn exec_account(&mut self, name: &Spanned<Name>, value: &Expr, scope: &Scope) -> Result<()> {
        let v = self.eval(value, scope)?;
        let id = match &v {
            Value::Str(s) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => Rc::<str>::from(&**s),
            Value::Str(s) => {
                let detail = format!("\"{}\" is not an AWS account id (12 digits)", &**s);
                return Diag::new(ErrorKind::Invalid { what: "account".into(), detail }, value.span).err();
            }
            other => return type_error("string", other, value.span),
        };
        if let Some((_, first)) = &self.state.account {
            let diag = Diag::new(ErrorKind::DuplicateAttr("account".into()), name.span)
                .note(*first, "first set here")
                .help("a stack is in one account: set it once");
            return Err(diag.boxed());
        }
        self.state.account = Some((id, value.span));
        Ok(())
    }

    fn exec_attr(&mut self, name: &Spanned<Name>, value: &Expr, scope: &Scope, sink: &mut Sink) -> Result<()> {
        if matches!(sink, Sink::Top) && &*name.node == "account" {
            return self.exec_account(name, value, scope);
        }
        let Sink::Decl(decl) = sink else {
            return Diag::new(ErrorKind::AttrOutside(name.node.to_string()), name.span)
                .help(format!("use `let {} = …` to name a value", name.node))
                .err();
        };
        let schema = model::schema(decl.kind);
        let Some(attr) = schema.attr(&name.node) else {
            let help = suggest(&name.node, schema.names()).unwrap_or_else(|| {
                format!("{} takes: {}", an(decl.kind.keyword()), schema.names().collect::<Vec<_>>().join(", "))
            });
            let kind = ErrorKind::UnknownAttr { attr: name.node.to_string(), decl: an(decl.kind.keyword()) };
            self.errors.push(Diag::new(kind, name.span).help(help));
            return Ok(());
        };
        // `kind = cloud9`: a bare word names a value of a word-valued attribute, unless it is a
        // variable in scope.
        let words = attr.about.words;
        let v = match &value.node {
            ExprKind::Var(w, _) if !words.is_empty() && scope.lookup(w).is_none() && words.contains(&&**w) => {
                Value::Str(w.into())
            }
            ExprKind::Var(w, _) if !words.is_empty() && scope.lookup(w).is_none() => {
                let help =
                    suggest(w, words.iter().copied()).unwrap_or_else(|| format!("use one of: {}", words.join(", ")));
                let kind = ErrorKind::NotOneOf {
                    what: name.node.to_string(),
                    found: w.to_string(),
                    allowed: words.join(", "),
                };
                return Diag::new(kind, value.span).help(help).err();
            }
            _ => self.eval(value, scope)?,
        };
        if let Some(first) = decl.attrs.iter().find(|a| a.name.node == name.node) {
            let diag = Diag::new(ErrorKind::DuplicateAttr(name.node.to_string()), name.span)
                .note(first.name.span, "first set here")
                .help("set each attribute once");
            self.errors.push(diag);
            return Ok(());
        }
        decl.attrs.push(Attr { name: name.clone(), value: v, span: value.span });
        Ok(())
    }

    /// Adds a statement's value to the sink; `null` adds nothing and lists add each item.
    fn emit(&mut self, v: Value, span: Span, sink: &mut Sink) -> Result<()> {
        match (v, &mut *sink) {
            (Value::Null, _) => Ok(()),
            // A script (or the REPL) calls things for their effects: what they return may be dropped.
            (v, Sink::Top)
                if matches!(self.mode, Mode::Run | Mode::Repl) && !matches!(v, Value::Decl(_) | Value::List(_)) =>
            {
                Ok(())
            }
            (Value::List(items), Sink::Top | Sink::Decl(_)) => {
                for item in items.iter() {
                    self.emit(item.clone(), span, sink)?;
                }
                Ok(())
            }
            (v, Sink::List(out)) => {
                out.push(v);
                Ok(())
            }
            (Value::Decl(d), Sink::Top) => {
                let what = d.type_name();
                self.state.add(d).or_else(|_| misplaced(what, "the top level of a file", span))
            }
            (Value::Decl(d), Sink::Decl(decl)) => match decl.children.admit(model::schema(decl.kind).children, d) {
                Ok(()) => Ok(()),
                Err(d) => misplaced(d.type_name(), &an(decl.kind.keyword()), span),
            },
            (other, Sink::Top) => Diag::new(ErrorKind::NotDeclaration(an(other.type_name())), span)
                .help("use `let name = …` to keep a value, or `assert` to check one")
                .err(),
            (other, Sink::Decl(decl)) => {
                Diag::new(ErrorKind::CannotHold { place: an(decl.kind.keyword()), what: an(other.type_name()) }, span)
                    .help("set attributes with `name = value`")
                    .err()
            }
        }
    }

    pub(super) fn eval_decl(
        &mut self,
        kind: DeclKind,
        name: &Expr,
        body: &Block,
        scope: &Scope,
        span: Span,
    ) -> Result<Value> {
        let name_value = self.eval(name, scope)?;
        let Value::Str(decl_name) = name_value else {
            return type_error("a string name", &name_value, name.span);
        };
        let mut sink = Sink::Decl(DeclSink::for_body(kind, body));
        self.exec(body, &mut scope.child(), &mut sink)?;
        let Sink::Decl(decl) = sink else { unreachable!() };
        let head = Span { end: name.span.end, ..span };
        Ok(Value::Decl(self.build_decl(kind, decl_name.to_rc(), head, decl.attrs, decl.children)))
    }

    /// Builds a declaration from its body's attributes and children, keeping the attributes for
    /// `with`.
    fn build_decl(&mut self, kind: DeclKind, name: Rc<str>, head: Span, attrs: Vec<Attr>, children: Children) -> Decl {
        let body = Rc::new(model::DeclBody { attrs });
        let mut a = Attrs {
            decl: format!("{} `{name}`", kind.keyword()),
            span: head,
            attrs: &body.attrs,
            errors: &mut self.errors,
        };
        match kind {
            DeclKind::Environment => {
                if let Err(e) = model::validate::environment_name(&name) {
                    a.invalid(head, "environment name", e, None);
                }
                Decl::Env(Rc::new(Environment { body: body.clone(), ..Environment::build(name, &mut a, children) }))
            }
            DeclKind::Role => Decl::Role(Rc::new(Role { body: body.clone(), ..Role::build(name, &mut a, children) })),
            DeclKind::Policy => Decl::Policy(Rc::new(Policy { body: body.clone(), ..Policy::build(name, &mut a) })),
            DeclKind::Sessions => {
                Decl::Sessions(Rc::new(model::Sessions { body: body.clone(), ..model::Sessions::build(name, &mut a) }))
            }
        }
    }

    /// `decl with { … }`: the declaration rebuilt with the block's attributes in place of its own
    /// of the same names, and the block's rules, steps, statements or suppressions added.
    pub(super) fn eval_with(&mut self, base: &Expr, block: &Block, scope: &Scope) -> Result<Value> {
        let v = self.eval(base, scope)?;
        let (kind, name, body, head, children) = match &v {
            Value::Decl(Decl::Env(e)) => (DeclKind::Environment, e.name.clone(), e.body.clone(), e.span, e.children()),
            Value::Decl(Decl::Role(r)) => (DeclKind::Role, r.name.clone(), r.body.clone(), r.span, r.children()),
            Value::Decl(Decl::Policy(p)) => {
                (DeclKind::Policy, p.name.clone(), p.body.clone(), p.span, Children::default())
            }
            Value::Decl(Decl::Sessions(s)) => {
                (DeclKind::Sessions, s.name.clone(), s.body.clone(), s.span, Children::default())
            }
            other => {
                return Diag::new(
                    ErrorKind::Type {
                        expected: "an environment, a role, a policy or sessions".into(),
                        found: an(other.type_name()),
                    },
                    base.span,
                )
                .help("`with` changes one declaration: `make(\"al\") with { instance_type = \"t3.large\" }`")
                .err()
            }
        };
        let mut sink = Sink::Decl(DeclSink::for_body(kind, block));
        self.exec(block, &mut scope.child(), &mut sink)?;
        let Sink::Decl(over) = sink else { unreachable!() };
        let mut attrs: Vec<Attr> =
            body.attrs.iter().filter(|a| !over.attrs.iter().any(|o| o.name.node == a.name.node)).cloned().collect();
        attrs.extend(over.attrs);
        // The declaration's own children first, then the block's (admitted by the sink).
        let mut all = children;
        all.append(over.children);
        Ok(Value::Decl(self.build_decl(kind, name, head, attrs, all)))
    }

    pub(super) fn eval_rule(&mut self, rule: &RuleExpr, scope: &Scope, span: Span) -> Result<Value> {
        let spanned =
            |this: &mut Interp, e: &Expr| -> Result<Spanned<Value>> { Ok(Spanned::new(this.eval(e, scope)?, e.span)) };
        let ports = match &rule.ports {
            Some((from, to)) => Some((spanned(self, from)?, to.as_ref().map(|t| spanned(self, t)).transpose()?)),
            None => None,
        };
        let peer = spanned(self, &rule.peer)?;
        let description = rule.description.as_ref().map(|d| spanned(self, d)).transpose()?;
        let parts = model::RuleParts {
            direction: rule.direction,
            protocol: rule.protocol.clone(),
            ports,
            peer,
            description,
            span,
        };
        Ok(Value::Decl(Decl::Rule(Rc::new(Rule::build(parts, &mut self.errors)))))
    }

    pub(super) fn eval_install(&mut self, name: &Expr, value: &Expr, scope: &Scope, span: Span) -> Result<Value> {
        let name_value = self.eval(name, scope)?;
        let Value::Str(step_name) = name_value else {
            return type_error("a string name", &name_value, name.span);
        };
        let v = Spanned::new(self.eval(value, scope)?, value.span);
        let head = Span { end: name.span.end, ..span };
        Ok(Value::Decl(Decl::Install(Rc::new(InstallStep::build(step_name.to_rc(), v, head, &mut self.errors)))))
    }

    pub(super) fn eval_allow(&mut self, actions: &Expr, resources: &Expr, scope: &Scope, span: Span) -> Result<Value> {
        let a = Spanned::new(self.eval(actions, scope)?, actions.span);
        let r = Spanned::new(self.eval(resources, scope)?, resources.span);
        Ok(Value::Decl(Decl::Allow(Rc::new(Allow::build(a, r, span, &mut self.errors)))))
    }

    pub(super) fn eval_suppress(&mut self, s: &SuppressExpr, scope: &Scope, span: Span) -> Result<Value> {
        let p = Spanned::new(self.eval(&s.policy, scope)?, s.policy.span);
        let r = Spanned::new(self.eval(&s.reason, scope)?, s.reason.span);
        let mut clause = |e: &Option<Expr>| -> Result<Option<Spanned<Value>>> {
            e.as_ref().map(|e| Ok(Spanned::new(self.eval(e, scope)?, e.span))).transpose()
        };
        let (owner, expires) = (clause(&s.owner)?, clause(&s.expires)?);
        let built = Suppression::build(p, r, owner, expires, span, &mut self.errors);
        Ok(Value::Decl(Decl::Suppress(Rc::new(built))))
    }
}

/// A declaration in a place that cannot hold it, with where it belongs.
fn misplaced<T>(what: &str, place: &str, span: Span) -> Result<T> {
    let help = match what {
        "rule" | "install step" => "put it inside an `environment \"…\" { … }`",
        "allow statement" => "put it inside a `role \"…\" { … }`",
        "suppression" => "put it inside the `environment` or `role` whose violation it accepts",
        _ => "declare it at the top level of a file, or return it from a function called there",
    };
    Diag::new(ErrorKind::CannotHold { place: place.to_string(), what: an(what) }, span).help(help).err()
}
