//! Lexical scopes. A closure keeps its defining scope alive; frames are shared, so a function
//! defined at the top of a file sees names defined after it (functions may call each other).

use std::cell::RefCell;
use std::rc::Rc;

use super::value::Value;
use crate::syntax::ast::Name;

#[derive(Clone, Default)]
pub struct Scope(Rc<Frame>);

#[derive(Default)]
struct Frame {
    vars: RefCell<Vec<(Name, Value)>>,
    parent: Option<Scope>,
}

impl Scope {
    pub fn child(&self) -> Scope {
        Scope(Rc::new(Frame { vars: RefCell::default(), parent: Some(self.clone()) }))
    }

    /// Binds a name in this frame, replacing an earlier binding of the same name here.
    pub fn define(&self, name: Name, value: Value) {
        let mut vars = self.0.vars.borrow_mut();
        match vars.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => vars.push((name, value)),
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Value> {
        let mut frame = self;
        loop {
            let found = frame.0.vars.borrow().iter().rev().find(|(n, _)| &**n == name).map(|(_, v)| v.clone());
            if found.is_some() {
                return found;
            }
            frame = frame.0.parent.as_ref()?;
        }
    }

    /// Whether `name` is bound in this frame itself (not a parent).
    pub fn defines(&self, name: &str) -> bool {
        self.0.vars.borrow().iter().any(|(n, _)| &**n == name)
    }

    /// Every name visible here, innermost first (for suggestions and completion).
    pub fn names(&self) -> Vec<Name> {
        let mut out = Vec::new();
        let mut frame = Some(self);
        while let Some(f) = frame {
            out.extend(f.0.vars.borrow().iter().map(|(n, _)| n.clone()));
            frame = f.0.parent.as_ref();
        }
        out
    }

    /// This frame's own bindings, in definition order (a module's exports).
    pub fn bindings(&self) -> Vec<(Name, Value)> {
        self.0.vars.borrow().clone()
    }
}
