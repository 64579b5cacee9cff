//! Lexical scopes. The names a block binds (`let`, `fn`, import) are visible throughout it, so a
//! function may use helpers and constants defined below it and the functions of a block may
//! call each other in any order. Binding a name the block has bound already makes a new binding
//! for the code after it; closures made before keep seeing the old one.
//!
//! Frames are shared; a re-binding that would change what a closure already sees goes on in a
//! new frame that continues the block. A block that re-binds nothing keeps one frame, however
//! many names it binds.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use smallvec::SmallVec;

use super::value::Value;
use crate::syntax::ast::Name;

#[derive(Clone, Default)]
pub struct Scope(Rc<Frame>);

#[derive(Default)]
struct Frame {
    vars: RefCell<Vars>,
    parent: Option<Scope>,
    /// This frame goes on with its parent's block (made by a `let`), rather than opening one.
    continues: bool,
    /// A closure holds this frame: what it binds from now on, the closure would see.
    captured: Cell<bool>,
}

/// A frame's bindings: a short list (function calls bind a few names), kept in the frame itself
/// while short, indexed by a hash map once it grows (a generated file may define thousands at
/// its top).
#[derive(Default)]
struct Vars {
    list: SmallVec<[(Name, Value); 3]>,
    index: Option<HashMap<Name, usize>>,
}

const INDEX_FROM: usize = 16;

thread_local! {
    /// The frames closures have captured, kept once a long-running caller asks (`track_captured`).
    static CAPTURED: RefCell<Option<Vec<Weak<Frame>>>> = const { RefCell::new(None) };
}

/// From now on, remember the frames closures capture, for `release_captured`.
pub fn track_captured() {
    CAPTURED.with(|c| {
        c.borrow_mut().get_or_insert_with(Vec::new);
    });
}

/// Empties every frame a closure captured since the last call: a frame that binds a function
/// holding the frame is a cycle reference counting never frees. For a caller that evaluates one
/// program after another in one process and keeps none of their values (the language server);
/// a value still held afterwards sees those names gone.
pub fn release_captured() {
    let frames = CAPTURED.with(|c| c.borrow_mut().as_mut().map(std::mem::take)).unwrap_or_default();
    for frame in frames.iter().filter_map(Weak::upgrade) {
        let vars = std::mem::take(&mut *frame.vars.borrow_mut());
        drop(frame);
        drop(vars);
    }
}

impl Vars {
    #[inline(always)]
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.list.iter().position(|(n, _)| same_name(n, name)),
        }
    }

    fn define(&mut self, name: Name, value: Value) {
        match self.position(&name) {
            Some(i) => self.list[i].1 = value,
            None => self.push(name, value),
        }
    }

    /// Adds a name this frame does not bind yet.
    fn push(&mut self, name: Name, value: Value) {
        self.list.push((name.clone(), value));
        match &mut self.index {
            Some(index) => {
                index.insert(name, self.list.len() - 1);
            }
            None if self.list.len() > INDEX_FROM => {
                self.index = Some(self.list.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect());
            }
            None => {}
        }
    }
}

/// Names are interned per file: the same name is mostly the same pointer, and a name of
/// another length is never compared byte by byte.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a.as_bytes()[0] == b.as_bytes()[0] && a == b)
}

impl Scope {
    /// A new block (a function's parameters, a loop's body, a branch) inside this one.
    pub fn child(&self) -> Scope {
        self.frame(false)
    }

    /// Binds a name this frame does not bind yet (a call's parameters, which are distinct).
    pub fn define_new(&self, name: Name, value: Value) {
        self.0.vars.borrow_mut().push(name, value);
    }

    /// A new block inside this one, made in `spare` (a frame `into_spare` emptied) when given:
    /// a call reuses the frame an earlier call left instead of allocating one.
    pub fn child_in(&self, spare: Option<Scope>) -> Scope {
        if let Some(mut spare) = spare {
            if let Some(frame) = Rc::get_mut(&mut spare.0) {
                frame.parent = Some(self.clone());
                return spare;
            }
        }
        self.child()
    }

    /// This frame emptied for `child_in`, when nothing else holds it (no closure captured it,
    /// no value refers to it).
    pub fn into_spare(mut self) -> Option<Scope> {
        let frame = Rc::get_mut(&mut self.0)?;
        if frame.continues || frame.captured.get() {
            return None;
        }
        *frame.vars.get_mut() = Vars::default();
        frame.parent = None;
        Some(self)
    }

    /// The block for a comprehension's next item: the previous item's frame when nothing kept it
    /// (no closure, no value holds it; its loop variables are then bound again), else a new one.
    pub fn next_item(&self, previous: Option<Scope>) -> Scope {
        match previous {
            Some(frame) if Rc::strong_count(&frame.0) == 1 && !frame.0.captured.get() => frame,
            _ => self.child(),
        }
    }

    fn frame(&self, continues: bool) -> Scope {
        let frame = Frame { parent: Some(self.clone()), continues, ..Frame::default() };
        Scope(Rc::new(frame))
    }

    /// Binds a name in this frame, replacing an earlier binding of the same name here. For names
    /// no closure can have seen yet: parameters, loop variables.
    pub fn define(&self, name: Name, value: Value) {
        self.0.vars.borrow_mut().define(name, value);
    }

    /// A `let`, `fn` or import: a new name joins the block's first frame (visible to the whole
    /// block); a name the block has bound already is re-bound for the code after this point,
    /// leaving what earlier closures see as it was.
    pub fn bind(&mut self, name: Name, value: Value) {
        if !self.block_defines(&name) {
            return self.block_root().0.vars.borrow_mut().push(name, value);
        }
        if self.0.captured.get() || self.defines(&name) {
            *self = self.frame(true);
        }
        self.define(name, value);
    }

    /// This scope, for a closure to keep: later `let`s will not change what it sees.
    pub fn capture(&self) -> Scope {
        if !self.0.captured.replace(true) {
            CAPTURED.with(|c| {
                if let Some(frames) = c.borrow_mut().as_mut() {
                    frames.push(Rc::downgrade(&self.0));
                }
            });
        }
        self.clone()
    }

    /// This block's frames, innermost first.
    fn block(&self) -> impl Iterator<Item = &Scope> {
        let mut next = Some(self);
        std::iter::from_fn(move || {
            let frame = next?;
            next = if frame.0.continues { frame.0.parent.as_ref() } else { None };
            Some(frame)
        })
    }

    /// The block's first frame (the one a `fn` or a new name joins).
    fn block_root(&self) -> &Scope {
        self.block().last().unwrap_or(self)
    }

    /// Whether this block binds `name` (an import under a name taken).
    pub fn block_defines(&self, name: &str) -> bool {
        self.block().any(|f| f.defines(name))
    }

    pub fn lookup(&self, name: &str) -> Option<Value> {
        let mut frame: &Frame = &self.0;
        loop {
            {
                let vars = frame.vars.borrow();
                if let Some(i) = vars.position(name) {
                    return Some(vars.list[i].1.clone());
                }
            }
            frame = &frame.parent.as_ref()?.0;
        }
    }

    /// The frame `hops` up from this one.
    #[inline(always)]
    pub fn up(&self, hops: u16) -> Option<&Scope> {
        let mut frame = self;
        for _ in 0..hops {
            frame = frame.0.parent.as_ref()?;
        }
        Some(frame)
    }

    /// The value `hops` frames up at `index`, when that is `name` (as `syntax::reach` found it).
    #[inline(always)]
    pub fn slot(&self, hops: u16, index: u16, name: &str) -> Option<Value> {
        let vars = self.up(hops)?.0.vars.borrow();
        let (bound, value) = vars.list.get(usize::from(index))?;
        same_name(bound, name).then(|| value.clone())
    }

    /// Whether `name` is bound in this frame itself (not a parent).
    fn defines(&self, name: &str) -> bool {
        self.0.vars.borrow().position(name).is_some()
    }

    /// Every name visible here, innermost first (for suggestions and completion).
    pub fn names(&self) -> Vec<Name> {
        let mut out = Vec::new();
        let mut frame = Some(self);
        while let Some(f) = frame {
            out.extend(f.0.vars.borrow().list.iter().map(|(n, _)| n.clone()));
            frame = f.0.parent.as_ref();
        }
        out
    }

    /// This block's bindings, the earliest first (a module's exports: a later one of a name
    /// wins when they are collected into a record).
    pub fn bindings(&self) -> Vec<(Name, Value)> {
        let frames: Vec<&Scope> = self.block().collect();
        frames.iter().rev().flat_map(|f| f.0.vars.borrow().list.to_vec()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::Closure;
    use crate::syntax::ast::{Body, Expr, ExprKind, FnDef};

    /// A function bound in the frame it captured: a cycle, freed only by `release_captured`.
    #[test]
    fn released_frames_are_freed() {
        track_captured();
        let mut scope = Scope::default();
        let span = crate::source::Span::new(crate::source::SourceId(0), 0, 0);
        let body = Body::Expr(Expr { node: ExprKind::Null, span });
        let def = Rc::new(FnDef { name: None, params: Vec::new(), body, span });
        let closure = Closure { def, scope: scope.capture() };
        scope.bind("f".into(), Value::Func(Rc::new(closure)));
        let frame = Rc::downgrade(&scope.0);
        drop(scope);
        assert!(frame.upgrade().is_some(), "the cycle keeps the frame");
        release_captured();
        assert!(frame.upgrade().is_none(), "released, the frame is freed");
    }
}
