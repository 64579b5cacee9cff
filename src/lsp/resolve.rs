//! Names, resolved from a file's syntax as evaluation would bind them: each `let`, `fn`,
//! parameter, loop variable and import, where it is defined and where it is visible, and each
//! use of a name with the binding it refers to (`team.dev_env` refers to `dev_env` in the module
//! `team` imports). Go to definition, hover and completion read it; it needs a file that parses,
//! not one that evaluates.

use std::rc::Rc;

use crate::source::{SourceMap, Span, Spanned};
use crate::syntax::ast::{Block, Body, Expr, ExprKind, FnDef, ForClause, Name, StmtKind, StrPart};

#[derive(Debug, Clone)]
pub enum Kind {
    Let(Expr),
    Fn(Rc<FnDef>),
    Param,
    Loop,
    /// An import, by the path as written.
    Import(String),
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub name: Name,
    /// The name where it is bound.
    pub at: Span,
    /// The whole statement (a doc comment is the one before it).
    pub stmt: Span,
    /// Where the name may be used: from its binding to the end of its scope (byte offsets).
    pub visible: (usize, usize),
    pub kind: Kind,
    /// Bound at the file's top (what an import of the file sees, when it is not `_private`).
    pub top: bool,
}

/// A use of a name: the binding it refers to and, for `module.name`, the member.
#[derive(Debug, Clone)]
pub struct Use {
    pub at: Span,
    pub binding: usize,
    pub member: Option<Name>,
}

#[derive(Debug, Default)]
pub struct Index {
    pub bindings: Vec<Binding>,
    pub uses: Vec<Use>,
}

impl Index {
    /// The index of a file's text (empty when it does not parse).
    pub fn of(text: &str) -> Index {
        Index::parse(text).unwrap_or_default()
    }

    /// The index of a file's text, if it parses.
    pub fn parse(text: &str) -> Option<Index> {
        let sources = SourceMap::default();
        let stmts = crate::syntax::parse(sources.add(String::new(), None, text), text).ok()?;
        let mut walker = Walker { index: Index::default(), scopes: Vec::new() };
        walker.block(&stmts.into(), text.len(), true);
        Some(walker.index)
    }

    /// The use or binding at a byte offset: (its span, the binding, the member named).
    pub fn at(&self, offset: usize) -> Option<(Span, &Binding, Option<&Name>)> {
        let covers = |s: Span| (s.start as usize..=s.end as usize).contains(&offset);
        if let Some(u) = self.uses.iter().find(|u| covers(u.at)) {
            return Some((u.at, &self.bindings[u.binding], u.member.as_ref()));
        }
        self.bindings.iter().find(|b| covers(b.at)).map(|b| (b.at, b, None))
    }

    /// The bindings visible at a byte offset, innermost first, one per name.
    pub fn in_scope(&self, offset: usize) -> Vec<&Binding> {
        let mut seen: Vec<&Binding> = Vec::new();
        for b in self.bindings.iter().rev() {
            let (from, to) = b.visible;
            if from <= offset && offset <= to && !seen.iter().any(|s| s.name == b.name) {
                seen.push(b);
            }
        }
        seen
    }

    /// A module's names, as an import of it sees them.
    pub fn exported(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(|b| b.top && !b.name.starts_with('_') && !matches!(b.kind, Kind::Import(_)))
    }
}

struct Walker {
    index: Index,
    /// For each scope open: its bindings (indexes) and where it ends.
    scopes: Vec<(Vec<usize>, usize)>,
}

impl Walker {
    fn block(&mut self, stmts: &Block, end: usize, top: bool) {
        self.scopes.push((Vec::new(), end));
        for stmt in stmts.iter() {
            match &stmt.node {
                StmtKind::Import(import) => {
                    self.bind(&import.alias, stmt.span, Kind::Import(import.path.node.clone()), top);
                }
                StmtKind::Let(name, value) => {
                    self.expr(value);
                    self.bind(name, stmt.span, Kind::Let(value.clone()), top);
                }
                StmtKind::Fn(name, def) => {
                    self.bind(name, stmt.span, Kind::Fn(def.clone()), top);
                    self.function(def);
                }
                StmtKind::Assert(cond, message) => {
                    self.expr(cond);
                    message.iter().for_each(|m| self.expr(m));
                }
                StmtKind::For(clause, body) => {
                    self.scopes.push((Vec::new(), stmt.span.end as usize));
                    self.clause(clause);
                    self.block(body, stmt.span.end as usize, false);
                    self.scopes.pop();
                }
                StmtKind::If(cond, then, els) => {
                    self.expr(cond);
                    self.block(then, stmt.span.end as usize, false);
                    if let Some(els) = els {
                        self.block(els, stmt.span.end as usize, false);
                    }
                }
                StmtKind::Attr(_, value) | StmtKind::Expr(value) => self.expr(value),
                StmtKind::Test(_, body) => self.block(body, stmt.span.end as usize, false),
            }
        }
        self.scopes.pop();
    }

    fn bind(&mut self, name: &Spanned<Name>, stmt: Span, kind: Kind, top: bool) {
        let Some((scope, end)) = self.scopes.last_mut() else { return };
        let visible = (name.span.end as usize, *end);
        let binding = Binding { name: name.node.clone(), at: name.span, stmt, visible, kind, top };
        scope.push(self.index.bindings.len());
        self.index.bindings.push(binding);
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        let mut scopes = self.scopes.iter().rev();
        scopes.find_map(|(s, _)| s.iter().rev().copied().find(|&b| &*self.index.bindings[b].name == name))
    }

    fn function(&mut self, def: &FnDef) {
        self.scopes.push((Vec::new(), def.span.end as usize));
        for p in &def.params {
            p.default.iter().for_each(|d| self.expr(d));
            self.bind(&p.name, p.name.span, Kind::Param, false);
        }
        match &def.body {
            Body::Expr(e) => self.expr(e),
            Body::Block(b) => self.block(b, def.span.end as usize, false),
        }
        self.scopes.pop();
    }

    /// A `for` clause's iterable, its variables (into the scope open) and its filter.
    fn clause(&mut self, clause: &ForClause) {
        self.expr(&clause.iter);
        for var in std::iter::once(&clause.first).chain(&clause.second) {
            self.bind(var, var.span, Kind::Loop, false);
        }
        clause.filter.iter().for_each(|f| self.expr(f));
    }

    fn comprehension(&mut self, clauses: &[ForClause], end: u32, results: &[&Expr]) {
        self.scopes.push((Vec::new(), end as usize));
        clauses.iter().for_each(|c| self.clause(c));
        results.iter().for_each(|e| self.expr(e));
        self.scopes.pop();
    }

    fn expr(&mut self, e: &Expr) {
        match &e.node {
            ExprKind::Null | ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Duration(_) | ExprKind::Str(_) => {}
            ExprKind::Interp(parts) => {
                for part in parts {
                    if let StrPart::Expr(e) = part {
                        self.expr(e);
                    }
                }
            }
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i)),
            ExprKind::ListComp(item, clauses) => self.comprehension(clauses, e.span.end, &[item]),
            ExprKind::Record(fields) => fields.written.iter().for_each(|(_, v)| self.expr(v)),
            ExprKind::RecordComp(k, v, clauses) => self.comprehension(clauses, e.span.end, &[k, v]),
            ExprKind::Var(name, _) => {
                if let Some(binding) = self.lookup(name) {
                    self.index.uses.push(Use { at: e.span, binding, member: None });
                }
            }
            ExprKind::Field(base, field) => {
                self.expr(base);
                let module = match &base.node {
                    ExprKind::Var(name, _) => self.lookup(name),
                    _ => None,
                };
                if let Some(b) = module.filter(|&b| matches!(self.index.bindings[b].kind, Kind::Import(_))) {
                    self.index.uses.push(Use { at: field.span, binding: b, member: Some(field.node.clone()) });
                }
            }
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) | ExprKind::Install(a, b) | ExprKind::Allow(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::With(base, body) => {
                self.expr(base);
                self.block(body, e.span.end as usize, false);
            }
            ExprKind::Call(f, args) => {
                self.expr(f);
                args.iter().for_each(|a| self.expr(&a.value));
            }
            ExprKind::Unary(_, a) | ExprKind::PolicyUse(a) => self.expr(a),
            ExprKind::If(c, a, b) => [c, a, b].into_iter().for_each(|x| self.expr(x)),
            ExprKind::Lambda(def) => self.function(def),
            ExprKind::Decl(_, name, body) => {
                self.expr(name);
                self.block(body, e.span.end as usize, false);
            }
            ExprKind::Rule(rule) => {
                if let Some((from, to)) = &rule.ports {
                    self.expr(from);
                    to.iter().for_each(|t| self.expr(t));
                }
                self.expr(&rule.peer);
                rule.description.iter().for_each(|d| self.expr(d));
            }
            ExprKind::Suppress(s) => {
                for e in [Some(&s.policy), Some(&s.reason), s.owner.as_ref(), s.expires.as_ref()].into_iter().flatten()
                {
                    self.expr(e);
                }
            }
        }
    }
}
