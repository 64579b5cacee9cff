//! Where a statement's value goes: the desired state at the top of a file, a declaration's body,
//! or a block-bodied function's result list.

use crate::model::{Attr, Children, Value};
use crate::syntax::ast::{DeclKind, Stmt, StmtKind};

pub enum Sink {
    /// The top of a program or module: declarations join the desired state.
    Top,
    /// The body of an `environment`, `role` or `policy`.
    Decl(DeclSink),
    /// A block-bodied function: everything its statements produce, in order.
    List(Vec<Value>),
}

pub struct DeclSink {
    pub(super) kind: DeclKind,
    pub(super) attrs: Vec<Attr>,
    pub(super) children: Children,
}

impl DeclSink {
    /// Room for the attributes the body sets (one statement each, most likely).
    pub(super) fn for_body(kind: DeclKind, body: &[Stmt]) -> DeclSink {
        let attrs = body.iter().filter(|s| matches!(s.node, StmtKind::Attr(..))).count();
        DeclSink { kind, attrs: Vec::with_capacity(attrs), children: Children::default() }
    }
}
