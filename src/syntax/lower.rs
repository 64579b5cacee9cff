//! pest pairs → typed AST. Errors found here (bad escapes, oversized integers) are collected, and
//! the node is replaced by `null`, so that one pass reports all of them.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::LazyLock;

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use super::strings;
use super::Rule;
use crate::diag::{suggest, Diag, ErrorKind};
use crate::source::SourceId;

/// Precedence, lowest first. `not` binds looser than comparisons (`not a == b` is `not (a == b)`).
static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    use Rule::*;
    let left = |r| Op::infix(r, Assoc::Left);
    PrattParser::new()
        .op(left(or))
        .op(left(and))
        .op(Op::prefix(not))
        .op(left(eq) | left(ne) | left(lt) | left(le) | left(gt) | left(ge) | left(in_) | left(not_in))
        .op(left(coalesce))
        .op(left(concat))
        .op(left(add) | left(sub))
        .op(left(mul) | left(div) | left(rem))
        .op(Op::prefix(neg))
        .op(Op::postfix(call) | Op::postfix(field) | Op::postfix(index) | Op::postfix(with))
});

/// The most prefix operators in a row (`- - - x`); deeper chains would recurse without bound.
const MAX_PREFIX_RUN: usize = 256;

pub struct Lowerer {
    src: SourceId,
    /// Byte offset of the parsed text within the source (non-zero when resuming after an error).
    offset: usize,
    pub errors: RefCell<Vec<Diag>>,
    /// Every name met so far, so that a file naming the same field a thousand times holds its
    /// text once (and records built from it share their keys).
    names: RefCell<HashSet<Name, super::ast::Fnv>>,
}

impl Lowerer {
    pub fn new(src: SourceId, offset: usize) -> Lowerer {
        Lowerer { src, offset, errors: RefCell::new(Vec::new()), names: RefCell::default() }
    }

    /// The pair's span, without the whitespace pest's implicit skipping leaves at the end of a
    /// rule that ends in a repetition (`expr`).
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        let trailing = s.as_str().len() - s.as_str().trim_end_matches([' ', '\t', '\r', '\n']).len();
        Span::new(self.src, s.start() + self.offset, s.end() - trailing + self.offset)
    }

    fn error(&self, diag: Diag) -> ExprKind {
        self.errors.borrow_mut().push(diag);
        ExprKind::Null
    }

    fn name(&self, pair: Pair<Rule>) -> Spanned<Name> {
        Spanned::new(self.intern(pair.as_str()), self.span(&pair))
    }

    fn intern(&self, name: &str) -> Name {
        let mut names = self.names.borrow_mut();
        if let Some(known) = names.get(name) {
            return known.clone();
        }
        let name: Name = Rc::from(name);
        names.insert(name.clone());
        name
    }

    pub fn stmts(&self, pairs: Pairs<Rule>) -> Vec<Stmt> {
        pairs.filter(|p| p.as_rule() != Rule::EOI).map(|p| self.stmt(p)).collect()
    }

    fn block(&self, pair: Pair<Rule>) -> Block {
        self.stmts(pair.into_inner()).into()
    }

    fn stmt(&self, pair: Pair<Rule>) -> Stmt {
        let span = self.span(&pair);
        let which = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match which {
            Rule::import_stmt => StmtKind::Import(self.import(inner)),
            Rule::let_stmt => StmtKind::Let(self.name(inner.next().unwrap()), self.expr(inner.next().unwrap())),
            Rule::fn_stmt => {
                let name = self.name(inner.next().unwrap());
                let def = self.fn_def(Some(name.node.clone()), inner, span);
                StmtKind::Fn(name, def)
            }
            Rule::assert_stmt => StmtKind::Assert(self.expr(inner.next().unwrap()), inner.next().map(|p| self.expr(p))),
            Rule::for_stmt => {
                let clause = self.for_clause(&mut inner);
                StmtKind::For(clause, self.block(inner.next().unwrap()))
            }
            Rule::if_stmt => {
                let cond = self.expr(inner.next().unwrap());
                let then = self.block(inner.next().unwrap());
                let els = inner.next().map(|p| match p.as_rule() {
                    Rule::block => self.block(p),
                    _ => Rc::from(vec![self.stmt(p)]),
                });
                StmtKind::If(cond, then, els)
            }
            Rule::test_stmt => {
                let name = self.literal_string(inner.next().unwrap());
                StmtKind::Test(name, self.block(inner.next().unwrap()))
            }
            Rule::attr_stmt => StmtKind::Attr(self.name(inner.next().unwrap()), self.expr(inner.next().unwrap())),
            Rule::expr_stmt => StmtKind::Expr(self.expr(inner.next().unwrap())),
            r => unreachable!("statement rule {r:?}"),
        };
        Spanned::new(kind, span)
    }

    fn import(&self, mut inner: Pairs<Rule>) -> Import {
        let path_pair = inner.next().unwrap();
        let path = self.literal_string(path_pair);
        let mut sha256 = None;
        let mut alias = None;
        let mut grants = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::string => sha256 = Some(self.literal_string(p)),
                Rule::grant => grants = p.into_inner().map(|g| self.name(g)).collect(),
                _ => alias = Some(self.name(p)),
            }
        }
        let alias = alias.unwrap_or_else(|| Spanned::new(Rc::from(module_stem(&path.node)), path.span));
        Import { path, sha256, alias, grants }
    }

    /// A string that must be plain text (import paths, pins): interpolation is an error.
    fn literal_string(&self, pair: Pair<Rule>) -> Spanned<String> {
        let span = self.span(&pair);
        match self.primary(pair).node {
            ExprKind::Str(s) => Spanned::new(s.to_string(), span),
            _ => {
                self.error(Diag::new(ErrorKind::Syntax("this string must not interpolate".into()), span));
                Spanned::new(String::new(), span)
            }
        }
    }

    fn fn_def(&self, name: Option<Name>, mut inner: Pairs<Rule>, span: Span) -> Rc<FnDef> {
        let params: Vec<Param> = inner.next().unwrap().into_inner().map(|p| self.param(p)).collect();
        self.check_params(&params);
        let body_pair = inner.next().unwrap();
        let body = match body_pair.as_rule() {
            Rule::fn_body => {
                let b = body_pair.into_inner().next().unwrap();
                match b.as_rule() {
                    Rule::block => Body::Block(self.block(b)),
                    _ => Body::Expr(self.expr(b)),
                }
            }
            Rule::block => Body::Block(self.block(body_pair)),
            _ => Body::Expr(self.expr(body_pair)),
        };
        let mut def = FnDef { name, params, body, span };
        super::places::resolve(&mut def);
        Rc::new(def)
    }

    /// A parameter named twice would hide the first; a required one after a default could only
    /// be passed by name, which is surely not what was meant.
    fn check_params(&self, params: &[Param]) {
        for (i, param) in params.iter().enumerate() {
            let name = &param.name;
            if let Some(first) = params[..i].iter().find(|p| p.name.node == name.node) {
                let kind = ErrorKind::Duplicate { what: "parameter".into(), name: name.node.to_string() };
                let diag = Diag::new(kind, name.span).note(first.name.span, "first declared here");
                let _ = self.error(diag.help("give each parameter its own name"));
            }
        }
        let first_default = params.iter().position(|p| p.default.is_some());
        let late = first_default.and_then(|at| params[at..].iter().find(|p| p.default.is_none()));
        if let (Some(at), Some(param)) = (first_default, late) {
            let optional = &params[at].name;
            let diag = Diag::new(ErrorKind::ParamOrder(param.name.node.to_string()), param.name.span)
                .note(optional.span, "this one has a default")
                .help(format!("move `{}` before `{}`, or give it a default too", param.name.node, optional.node));
            let _ = self.error(diag);
        }
    }

    fn param(&self, pair: Pair<Rule>) -> Param {
        let mut inner = pair.into_inner();
        let name = self.name(inner.next().unwrap());
        let mut ty = None;
        let mut default = None;
        for p in inner {
            if p.as_rule() == Rule::param_type {
                let t = self.name(p);
                let base = t.node.trim_end_matches('?');
                if !PARAM_TYPES.contains(&base) {
                    let help = suggest(base, PARAM_TYPES.iter().copied())
                        .unwrap_or_else(|| format!("the types are: {}", PARAM_TYPES.join(", ")));
                    let _ = self.error(Diag::new(ErrorKind::UnknownName(base.to_string()), t.span).help(help));
                }
                ty = Some(t);
            } else {
                default = Some(self.expr(p));
            }
        }
        Param { name, ty, default }
    }

    fn for_clause(&self, inner: &mut Pairs<Rule>) -> ForClause {
        let mut vars = inner.next().unwrap().into_inner();
        let first = self.name(vars.next().unwrap());
        let second = vars.next().map(|p| self.name(p));
        let iter = self.expr(inner.next().unwrap());
        ForClause { first, second, iter, filter: None }
    }

    fn comp_for(&self, pair: Pair<Rule>) -> ForClause {
        let mut inner = pair.into_inner();
        let mut clause = self.for_clause(&mut inner);
        clause.filter = inner.next().map(|p| self.expr(p));
        clause
    }

    /// A list item or record value: an expression, or a lone literal the grammar took as it is.
    fn item(&self, pair: Pair<Rule>) -> Expr {
        match pair.as_rule() {
            Rule::expr => self.expr(pair),
            _ => self.primary(pair),
        }
    }

    pub fn expr(&self, pair: Pair<Rule>) -> Expr {
        let mut inner = pair.clone().into_inner();
        if let (Some(only), None) = (inner.next(), inner.next()) {
            return self.primary(only);
        }
        let span = self.span(&pair);
        let mut run = 0;
        for p in pair.clone().into_inner() {
            run = if matches!(p.as_rule(), Rule::neg | Rule::not) { run + 1 } else { 0 };
            if run > MAX_PREFIX_RUN {
                return Spanned::new(self.error(Diag::new(ErrorKind::TooDeep(MAX_PREFIX_RUN), span)), span);
            }
        }
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let span = self.span(&op).to(rhs.span);
                let op = if op.as_rule() == Rule::neg { UnOp::Neg } else { UnOp::Not };
                Spanned::new(ExprKind::Unary(op, Box::new(rhs)), span)
            })
            .map_postfix(|lhs, op| self.postfix(lhs, op))
            .map_infix(|lhs, op, rhs| {
                let span = lhs.span.to(rhs.span);
                Spanned::new(ExprKind::Binary(binop(op.as_rule()), Box::new(lhs), Box::new(rhs)), span)
            })
            .parse(pair.into_inner())
    }

    fn postfix(&self, lhs: Expr, op: Pair<Rule>) -> Expr {
        let span = lhs.span.to(self.span(&op));
        let kind = match op.as_rule() {
            Rule::call => ExprKind::Call(Box::new(lhs), op.into_inner().map(|a| self.arg(a)).collect()),
            Rule::field => ExprKind::Field(Box::new(lhs), self.name(op.into_inner().next().unwrap())),
            Rule::index => ExprKind::Index(Box::new(lhs), Box::new(self.expr(op.into_inner().next().unwrap()))),
            Rule::with => ExprKind::With(Box::new(lhs), self.block(op.into_inner().next().unwrap())),
            r => unreachable!("postfix {r:?}"),
        };
        Spanned::new(kind, span)
    }

    fn arg(&self, pair: Pair<Rule>) -> Arg {
        let mut inner = pair.into_inner();
        let first = inner.next().unwrap();
        match inner.next() {
            Some(value) => Arg { name: Some(self.name(first)), value: self.expr(value) },
            None => Arg { name: None, value: self.expr(first) },
        }
    }

    fn primary(&self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::null => ExprKind::Null,
            Rule::boolean => ExprKind::Bool(text == "true"),
            Rule::int => match text.replace('_', "").parse() {
                Ok(n) => ExprKind::Int(n),
                Err(_) => self.error(Diag::new(ErrorKind::IntTooLarge(text.into()), span)),
            },
            Rule::duration => match strings::duration_seconds(text) {
                Some(secs) => ExprKind::Duration(secs),
                None => self.error(Diag::new(ErrorKind::IntTooLarge(text.into()), span)),
            },
            Rule::plain_string => ExprKind::Str(Rc::from(&text[1..text.len() - 1])),
            Rule::string | Rule::text => self.string(pair),
            Rule::raw_string | Rule::raw_text => {
                let body = pair.into_inner().next().map_or("", |p| p.as_str());
                let body = if text.starts_with("r\"\"\"") { strings::dedent(body) } else { body.to_string() };
                ExprKind::Str(Rc::from(body))
            }
            Rule::list => self.list(pair),
            Rule::record => self.record(pair),
            Rule::paren => return self.expr(pair.into_inner().next().unwrap()),
            Rule::ident => ExprKind::Var(self.intern(text), Place::Dynamic),
            Rule::if_expr => {
                let mut inner = pair.into_inner();
                let c = self.expr(inner.next().unwrap());
                let t = self.expr(inner.next().unwrap());
                let e = inner.next().unwrap();
                let e = if e.as_rule() == Rule::if_expr { self.primary(e) } else { self.expr(e) };
                ExprKind::If(Box::new(c), Box::new(t), Box::new(e))
            }
            Rule::lambda => ExprKind::Lambda(self.fn_def(None, pair.into_inner(), span)),
            Rule::environment | Rule::role | Rule::policy_decl | Rule::sessions => {
                let kind = match pair.as_rule() {
                    Rule::environment => DeclKind::Environment,
                    Rule::role => DeclKind::Role,
                    Rule::sessions => DeclKind::Sessions,
                    _ => DeclKind::Policy,
                };
                let mut inner = pair.into_inner();
                let name = self.primary(inner.next().unwrap());
                ExprKind::Decl(kind, Box::new(name), self.block(inner.next().unwrap()))
            }
            Rule::policy_use => ExprKind::PolicyUse(Box::new(self.expr(pair.into_inner().next().unwrap()))),
            Rule::rule => self.rule(pair),
            Rule::install => {
                let mut inner = pair.into_inner();
                let name = self.primary(inner.next().unwrap());
                ExprKind::Install(Box::new(name), Box::new(self.expr(inner.next().unwrap())))
            }
            Rule::allow => {
                let mut inner = pair.into_inner();
                let actions = self.expr(inner.next().unwrap());
                ExprKind::Allow(Box::new(actions), Box::new(self.expr(inner.next().unwrap())))
            }
            Rule::suppress => {
                let mut inner = pair.into_inner();
                let policy = self.expr(inner.next().unwrap());
                let reason = self.expr(inner.next().unwrap());
                let (mut owner, mut expires) = (None, None);
                for clause in inner {
                    let slot = if clause.as_rule() == Rule::suppress_owner { &mut owner } else { &mut expires };
                    *slot = Some(self.expr(clause.into_inner().next().unwrap()));
                }
                ExprKind::Suppress(Box::new(SuppressExpr { policy, reason, owner, expires }))
            }
            r => unreachable!("primary {r:?}"),
        };
        Spanned::new(kind, span)
    }

    fn string(&self, pair: Pair<Rule>) -> ExprKind {
        let multiline = pair.as_rule() == Rule::text;
        let mut parts: Vec<StrPart> = Vec::new();
        let mut lit = String::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::str_chars | Rule::text_chars => lit.push_str(p.as_str()),
                Rule::escape => match strings::unescape(p.as_str()) {
                    Some(c) => lit.push(c),
                    None => {
                        let span = self.span(&p);
                        self.error(Diag::new(ErrorKind::BadEscape(p.as_str().into()), span).help(strings::ESCAPE_HELP));
                    }
                },
                _ => {
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(Rc::from(std::mem::take(&mut lit))));
                    }
                    parts.push(StrPart::Expr(self.expr(p.into_inner().next().unwrap())));
                }
            }
        }
        if !lit.is_empty() {
            parts.push(StrPart::Lit(Rc::from(lit)));
        }
        if multiline {
            strings::dedent_parts(&mut parts);
        }
        match parts.as_slice() {
            [] => ExprKind::Str(Rc::from("")),
            [StrPart::Lit(s)] => ExprKind::Str(s.clone()),
            _ => ExprKind::Interp(parts),
        }
    }

    fn list(&self, pair: Pair<Rule>) -> ExprKind {
        let mut items = Vec::new();
        let mut clauses = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::comp_for => clauses.push(self.comp_for(p)),
                _ => items.push(self.item(p)),
            }
        }
        if clauses.is_empty() {
            ExprKind::List(items)
        } else {
            ExprKind::ListComp(Box::new(items.pop().unwrap()), clauses)
        }
    }

    fn record(&self, pair: Pair<Rule>) -> ExprKind {
        let mut entries = Vec::new();
        let mut inner = pair.into_inner().peekable();
        while let (Some(key), Some(value)) = (inner.next(), inner.next()) {
            let value = self.item(value);
            if inner.peek().is_some_and(|p| p.as_rule() == Rule::comp_for) {
                // In a comprehension the key is an expression: a bare word names a variable.
                let key = match key.as_rule() {
                    Rule::word => {
                        Spanned::new(ExprKind::Var(self.intern(key.as_str()), Place::Dynamic), self.span(&key))
                    }
                    _ => self.primary(key),
                };
                let clauses = inner.map(|p| self.comp_for(p)).collect();
                return ExprKind::RecordComp(Box::new(key), Box::new(value), clauses);
            }
            entries.push((self.record_key(key), value));
        }
        ExprKind::Record(Fields::new(entries))
    }

    fn record_key(&self, key: Pair<Rule>) -> Spanned<Name> {
        match key.as_rule() {
            Rule::word => self.name(key),
            _ => {
                let s = self.literal_string(key);
                Spanned::new(Rc::from(s.node), s.span)
            }
        }
    }

    fn rule(&self, pair: Pair<Rule>) -> ExprKind {
        let mut inner = pair.into_inner();
        let direction = match inner.next().unwrap().as_str() {
            "ingress" => Direction::Ingress,
            "reach" => Direction::Reach,
            _ => Direction::Egress,
        };
        let protocol = self.name(inner.next().unwrap());
        let mut next = inner.next().unwrap();
        let mut ports = None;
        if next.as_rule() == Rule::ports {
            let mut p = next.into_inner();
            let from = self.primary(p.next().unwrap());
            ports = Some((from, p.next().map(|q| self.primary(q))));
            next = inner.next().unwrap();
        }
        let peer = self.expr(next);
        let description = inner.next().map(|p| self.primary(p));
        ExprKind::Rule(Box::new(RuleExpr { direction, protocol, ports, peer, description }))
    }
}

fn binop(op: Rule) -> BinOp {
    match op {
        Rule::or => BinOp::Or,
        Rule::and => BinOp::And,
        Rule::eq => BinOp::Eq,
        Rule::ne => BinOp::Ne,
        Rule::lt => BinOp::Lt,
        Rule::le => BinOp::Le,
        Rule::gt => BinOp::Gt,
        Rule::ge => BinOp::Ge,
        Rule::in_ => BinOp::In,
        Rule::not_in => BinOp::NotIn,
        Rule::coalesce => BinOp::Coalesce,
        Rule::concat => BinOp::Concat,
        Rule::add => BinOp::Add,
        Rule::sub => BinOp::Sub,
        Rule::mul => BinOp::Mul,
        Rule::div => BinOp::Div,
        Rule::rem => BinOp::Rem,
        r => unreachable!("infix {r:?}"),
    }
}

/// `std/c1ws` → `c1ws`, `./team.kenv` → `team`, `git+https://…/dev.kenv?ref=v1` → `dev`.
pub fn module_stem(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let last = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = last.strip_suffix(".kenv").unwrap_or(last);
    stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}
