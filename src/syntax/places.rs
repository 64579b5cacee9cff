//! Where the names of an expression-bodied function are found, worked out once when the file is
//! read. Inside such a body the frames between a use and the function's parameters are known —
//! the call's own frame (its parameters, in order) and one frame per comprehension clause (its
//! loop variables) — so a name bound there is a slot (`hops` frames up, at `index`), and any
//! other name is looked up by name from the scope the function captured, past those frames.
//! Whatever could open frames of its own (declarations, `with` blocks, a nested function's
//! defaults) is left to the lookup by name, as is all code outside such a function: statements
//! bind as they run.

use super::ast::*;

/// Resolves the names of `def`'s body when it is an expression. A nested function was resolved
/// when it was read; its body's names that reach out of it are looked up from what it captured.
pub fn resolve(def: &mut FnDef) {
    if let Body::Expr(body) = &mut def.body {
        let params = def.params.iter().map(|p| p.name.node.clone()).collect();
        Frames(vec![params]).expr(body);
    }
}

/// The frames at a point of the body, the innermost last.
struct Frames(Vec<Vec<Name>>);

impl Frames {
    fn place(&self, name: &str) -> Place {
        for (hops, frame) in self.0.iter().rev().enumerate() {
            if let Some(index) = frame.iter().position(|n| &**n == name) {
                return match (u16::try_from(hops), u16::try_from(index)) {
                    (Ok(hops), Ok(index)) => Place::Slot { hops, index },
                    _ => Place::Dynamic,
                };
            }
        }
        u16::try_from(self.0.len()).map_or(Place::Dynamic, |hops| Place::Above { hops })
    }

    fn expr(&mut self, expr: &mut Expr) {
        match &mut expr.node {
            ExprKind::Var(name, place) => *place = self.place(name),
            ExprKind::Interp(parts) => {
                for part in parts {
                    if let StrPart::Expr(e) = part {
                        self.expr(e);
                    }
                }
            }
            ExprKind::List(items) => items.iter_mut().for_each(|e| self.expr(e)),
            ExprKind::Record(fields) => fields.written.iter_mut().for_each(|(_, e)| self.expr(e)),
            ExprKind::ListComp(elem, clauses) => self.comprehension(clauses, &mut [&mut **elem]),
            ExprKind::RecordComp(key, value, clauses) => self.comprehension(clauses, &mut [&mut **key, &mut **value]),
            ExprKind::Field(target, _) | ExprKind::Unary(_, target) => self.expr(target),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee);
                args.iter_mut().for_each(|a| self.expr(&mut a.value));
            }
            ExprKind::If(cond, then, els) => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            // Leaves, a nested function (resolved on its own), and what opens frames of its own.
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Duration(_)
            | ExprKind::Str(_)
            | ExprKind::Lambda(_)
            | ExprKind::Decl(..)
            | ExprKind::PolicyUse(_)
            | ExprKind::Rule(_)
            | ExprKind::Install(..)
            | ExprKind::Allow(..)
            | ExprKind::Suppress(_)
            | ExprKind::With(..) => {}
        }
    }

    /// Each clause's iterable is evaluated in the frames before it, its filter and what follows
    /// in a frame of its own loop variables (`for k, v`: k, then v).
    fn comprehension(&mut self, clauses: &mut [ForClause], body: &mut [&mut Expr]) {
        let depth = self.0.len();
        for clause in clauses.iter_mut() {
            self.expr(&mut clause.iter);
            let vars = std::iter::once(&clause.first).chain(&clause.second).map(|n| n.node.clone());
            self.0.push(vars.collect());
            if let Some(filter) = &mut clause.filter {
                self.expr(filter);
            }
        }
        body.iter_mut().for_each(|e| self.expr(e));
        self.0.truncate(depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The place of every name in `f`'s body, in the order written.
    fn places(text: &str) -> Vec<(String, Place)> {
        fn walk(expr: &Expr, out: &mut Vec<(String, Place)>) {
            match &expr.node {
                ExprKind::Var(name, place) => out.push((name.to_string(), *place)),
                ExprKind::ListComp(elem, clauses) => {
                    for c in clauses {
                        walk(&c.iter, out);
                        c.filter.iter().for_each(|f| walk(f, out));
                    }
                    walk(elem, out);
                }
                ExprKind::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                ExprKind::Call(callee, args) => {
                    walk(callee, out);
                    args.iter().for_each(|a| walk(&a.value, out));
                }
                _ => {}
            }
        }
        let stmts = crate::syntax::parse(crate::source::SourceId(0), text).unwrap();
        let StmtKind::Fn(_, def) = &stmts[0].node else { panic!("not a function") };
        let Body::Expr(body) = &def.body else { panic!("not an expression body") };
        let mut out = Vec::new();
        walk(body, &mut out);
        out
    }

    #[test]
    fn parameters_and_loop_variables_are_slots_and_the_rest_is_looked_up_above() {
        let found = places("fn f(a, b) = [a + c + k + len(b) for c in b for k, v in c if v]");
        let slot = |hops, index| Place::Slot { hops, index };
        let expected = [
            ("b", slot(0, 1)), // the first clause's list: before its frame
            ("c", slot(0, 0)), // the second's: in the first clause's frame
            ("v", slot(0, 1)), // the filter: in the second clause's frame
            ("a", slot(2, 0)), // a parameter, two clause frames up
            ("c", slot(1, 0)),
            ("k", slot(0, 0)),
            ("len", Place::Above { hops: 3 }), // not the function's: above its three frames
            ("b", slot(2, 1)),
        ];
        let expected: Vec<(String, Place)> = expected.iter().map(|(n, r)| (n.to_string(), *r)).collect();
        assert_eq!(found, expected);
    }
}
