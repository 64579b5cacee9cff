//! Lexical scopes. A closure keeps its defining scope alive; frames are shared, so a function
//! defined at the top of a file sees names defined after it (functions may call each other).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::value::Value;
use crate::syntax::ast::Name;

#[derive(Clone, Default)]
pub struct Scope(Rc<Frame>);

#[derive(Default)]
struct Frame {
    vars: RefCell<Vars>,
    parent: Option<Scope>,
}

/// A frame's bindings: a short list (function calls bind a few names), indexed by a hash map
/// once it grows (a generated file may define thousands at its top).
#[derive(Default)]
struct Vars {
    list: Vec<(Name, Value)>,
    index: Option<HashMap<Name, usize>>,
}

const INDEX_FROM: usize = 16;

impl Vars {
    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.list.iter().position(|(n, _)| &**n == name),
        }
    }

    fn define(&mut self, name: Name, value: Value) {
        if let Some(i) = self.position(&name) {
            self.list[i].1 = value;
            return;
        }
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

impl Scope {
    pub fn child(&self) -> Scope {
        Scope(Rc::new(Frame { vars: RefCell::default(), parent: Some(self.clone()) }))
    }

    /// Binds a name in this frame, replacing an earlier binding of the same name here.
    pub fn define(&self, name: Name, value: Value) {
        self.0.vars.borrow_mut().define(name, value);
    }

    pub fn lookup(&self, name: &str) -> Option<Value> {
        let mut frame = self;
        loop {
            let vars = frame.0.vars.borrow();
            let found = vars.position(name).map(|i| vars.list[i].1.clone());
            if found.is_some() {
                return found;
            }
            frame = frame.0.parent.as_ref()?;
        }
    }

    /// Whether `name` is bound in this frame itself (not a parent).
    pub fn defines(&self, name: &str) -> bool {
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

    /// This frame's own bindings, in definition order (a module's exports).
    pub fn bindings(&self) -> Vec<(Name, Value)> {
        self.0.vars.borrow().list.clone()
    }
}
