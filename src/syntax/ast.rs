//! The typed AST. Every node the user wrote carries its span; nodes made by desugaring keep the
//! span of the text they came from.

use std::rc::Rc;

pub use crate::source::{Span, Spanned};

pub type Name = Rc<str>;

/// How names are hashed where they are looked up often (the lowerer's interning, the builtin
/// registry): FNV-1a, as a name is a few bytes and std's SipHash spends ~200 instructions on it.
pub type Fnv = std::hash::BuildHasherDefault<FnvHasher>;

pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
pub type Expr = Spanned<ExprKind>;
pub type Stmt = Spanned<StmtKind>;
pub type Block = Rc<[Stmt]>;

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Import(Import),
    Let(Spanned<Name>, Expr),
    Fn(Spanned<Name>, Rc<FnDef>),
    Assert(Expr, Option<Expr>),
    For(ForClause, Block),
    If(Expr, Block, Option<Block>),
    /// `name = value` inside a declaration's body.
    Attr(Spanned<Name>, Expr),
    /// `test "name" { … }`: statements `kenv test` runs (with a desired state of their own, the
    /// test's fixtures); skipped everywhere else.
    Test(Spanned<String>, Block),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: Spanned<String>,
    pub sha256: Option<Spanned<String>>,
    /// The name the module is bound to: `as x`, or the file's stem.
    pub alias: Spanned<Name>,
    /// `grant exec, aws_write`: the effects the imported code may have (it has none by default).
    pub grants: Vec<Spanned<Name>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForClause {
    pub first: Spanned<Name>,
    pub second: Option<Spanned<Name>>,
    pub iter: Expr,
    pub filter: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Spanned<Name>,
    /// `name: string`: the type an argument must have (`string?`: or null), checked at the call.
    pub ty: Option<Spanned<Name>>,
    pub default: Option<Expr>,
}

/// The types a parameter may declare: `Value::type_name`s, `any`, and a `?` suffix for null.
pub const PARAM_TYPES: &[&str] = &[
    "any",
    "bool",
    "int",
    "duration",
    "string",
    "list",
    "record",
    "function",
    "secret",
    "environment",
    "role",
    "rule",
    "policy",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Expr(Expr),
    Block(Block),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    /// `None` for an anonymous function.
    pub name: Option<Name>,
    pub params: Vec<Param>,
    pub body: Body,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Spanned<Name>>,
    pub value: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Coalesce,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Or => "or",
            And => "and",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            In => "in",
            NotIn => "not in",
            Coalesce => "??",
            Concat => "++",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    Lit(Rc<str>),
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
    /// Out of the environment to a peer: an egress rule on its own group for a CIDR; for a
    /// security group (a server kenv does not own), an ingress rule on that group whose source
    /// is the environment's group.
    Reach,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleExpr {
    pub direction: Direction,
    pub protocol: Spanned<Name>,
    pub ports: Option<(Expr, Option<Expr>)>,
    pub peer: Expr,
    pub description: Option<Expr>,
}

/// `suppress POLICY because REASON [owner WHO] [expires "YYYY-MM-DD"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SuppressExpr {
    pub policy: Expr,
    pub reason: Expr,
    pub owner: Option<Expr>,
    pub expires: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    Environment,
    Role,
    Policy,
    Sessions,
}

/// Where a name is found, when reading the file could tell (`syntax::places`): a slot `hops`
/// frames up at `index`, or by name from `hops` frames up; otherwise by name from where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Place {
    #[default]
    Dynamic,
    Slot {
        hops: u16,
        index: u16,
    },
    Above {
        hops: u16,
    },
}

/// A record literal's fields as written, and where each lands in the record (which keeps its
/// fields sorted by key), found at the literal's second evaluation so that from then on building
/// it compares no keys: a literal evaluated once (most of a data file) never pays for the sort.
#[derive(Debug, Clone)]
pub struct Fields {
    pub written: Vec<(Spanned<Name>, Expr)>,
    evaluated: std::cell::Cell<bool>,
    /// `None` inside when a key is given twice (evaluation reports it).
    rank: std::cell::OnceCell<Option<Box<[u32]>>>,
}

/// Two literals are equal when they are written alike, however often each was evaluated.
impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.written == other.written
    }
}

impl Fields {
    pub fn new(written: Vec<(Spanned<Name>, Expr)>) -> Fields {
        Fields { written, evaluated: Default::default(), rank: Default::default() }
    }

    /// Where each field lands, from the second evaluation on.
    pub fn rank(&self) -> Option<&[u32]> {
        if !self.evaluated.replace(true) {
            return None;
        }
        self.rank.get_or_init(|| self.sorted()).as_deref()
    }

    fn sorted(&self) -> Option<Box<[u32]>> {
        let key = |i: usize| &self.written[i].0.node;
        let mut order: Vec<usize> = (0..self.written.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(key(b)));
        if order.windows(2).any(|w| key(w[0]) == key(w[1])) {
            return None;
        }
        let mut rank = vec![0; order.len()];
        for (at, &i) in order.iter().enumerate() {
            rank[i] = at as u32;
        }
        Some(rank.into())
    }
}

/// The tag is a byte of its own: evaluation matches on it at every node, and a tag kept in a
/// niche of a field would take several instructions to read.
#[derive(Debug, Clone, PartialEq)]
#[repr(u8)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    /// Seconds.
    Duration(i64),
    Str(Rc<str>),
    Interp(Vec<StrPart>),
    List(Vec<Expr>),
    ListComp(Box<Expr>, Vec<ForClause>),
    Record(Fields),
    /// `{ key: value for … }`: the key is an expression.
    RecordComp(Box<Expr>, Box<Expr>, Vec<ForClause>),
    Var(Name, Place),
    Field(Box<Expr>, Spanned<Name>),
    Index(Box<Expr>, Box<Expr>),
    /// `decl with { … }`: the declaration rebuilt with the block's attributes and children.
    With(Box<Expr>, Block),
    Call(Box<Expr>, Vec<Arg>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Lambda(Rc<FnDef>),
    /// `environment NAME { … }`, `role NAME { … }`, `policy NAME { … }`.
    Decl(DeclKind, Box<Expr>, Block),
    /// `policy EXPR`: turns on the policies EXPR evaluates to.
    PolicyUse(Box<Expr>),
    Rule(Box<RuleExpr>),
    Install(Box<Expr>, Box<Expr>),
    Allow(Box<Expr>, Box<Expr>),
    Suppress(Box<SuppressExpr>),
}
