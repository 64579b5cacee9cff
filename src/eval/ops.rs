//! Operators, field access, indexing and iteration over values.

use super::errors::type_error;
use crate::diag::{suggest, Diag, ErrorKind, Result};
use crate::model::{Decl, Scope, Value};
use crate::source::{Span, Spanned};
use crate::syntax::ast::{BinOp, ForClause, Name, UnOp};

pub fn unary(op: UnOp, v: Value, span: Span) -> Result<Value> {
    match (op, v) {
        (UnOp::Neg, Value::Int(n)) => n.checked_neg().map(Value::Int).ok_or_else(|| overflow(span)),
        (UnOp::Neg, Value::Duration(n)) => Ok(Value::Duration(-n)),
        (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnOp::Neg, other) => type_error("a number or a duration", &other, span),
        (UnOp::Not, other) => type_error("a bool", &other, span),
    }
}

fn overflow(span: Span) -> Box<Diag> {
    Diag::new(ErrorKind::Overflow, span).boxed()
}

/// An operator on two integers, when it gives a value (not on overflow or division by zero,
/// which `binary` reports): the common case, without `binary`'s generality.
#[inline]
pub fn ints(op: BinOp, a: i64, b: i64) -> Option<Value> {
    use BinOp::*;
    Some(match op {
        Add => Value::Int(a.checked_add(b)?),
        Sub => Value::Int(a.checked_sub(b)?),
        Mul => Value::Int(a.checked_mul(b)?),
        Div => Value::Int(a.checked_div(b)?),
        Rem => Value::Int(a.checked_rem(b)?),
        Eq => Value::Bool(a == b),
        Ne => Value::Bool(a != b),
        Lt => Value::Bool(a < b),
        Le => Value::Bool(a <= b),
        Gt => Value::Bool(a > b),
        Ge => Value::Bool(a >= b),
        _ => return None,
    })
}

pub fn binary(op: BinOp, l: Value, r: Value, ls: Span, rs: Span) -> Result<Value> {
    use BinOp::*;
    use Value::*;
    let span = ls.to(rs);
    let mismatch = || -> Result<Value> {
        let help = match (op, &l, &r) {
            (Add, Str(_) | Secret(_), _) | (Add, _, Str(_) | Secret(_)) => {
                Some("join strings with `++`, or interpolate: \"${a}${b}\"")
            }
            (Add, List(_), List(_)) => Some("join lists with `++`"),
            (Concat, Str(_), Int(_) | Bool(_) | Duration(_)) | (Concat, Int(_) | Bool(_) | Duration(_), Str(_)) => {
                Some("turn the value into text with interpolation: \"${x}\" or str(x)")
            }
            _ => None,
        };
        let detail = format!("`{}` cannot combine {} and {}", op.symbol(), l.type_name(), r.type_name());
        Diag::new(
            ErrorKind::Type {
                expected: "operands of matching types".into(),
                found: format!("{} and {}", l.type_name(), r.type_name()),
            },
            span,
        )
        .label(detail)
        .help_opt(help.map(str::to_string))
        .err()
    };
    Ok(match (op, &l, &r) {
        (Eq, _, _) => Bool(l.equals(&r)),
        (Ne, _, _) => Bool(!l.equals(&r)),
        (Lt | Le | Gt | Ge, _, _) => {
            let ord = match (&l, &r) {
                (Int(a), Int(b)) | (Duration(a), Duration(b)) => a.cmp(b),
                (Str(a), Str(b)) => a.cmp(b),
                _ => return mismatch(),
            };
            Bool(match op {
                Lt => ord.is_lt(),
                Le => ord.is_le(),
                Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        (In | NotIn, _, _) => {
            let found = match &r {
                List(items) => items.iter().any(|x| x.equals(&l)),
                Record(rec) => match &l {
                    Str(k) => rec.contains_key(k),
                    _ => return type_error("a string key", &l, ls),
                },
                Str(hay) => match &l {
                    Str(needle) => hay.contains(&**needle),
                    _ => return type_error("a string", &l, ls),
                },
                _ => return type_error("a list, record or string", &r, rs),
            };
            Bool(found == (op == In))
        }
        (Concat, Str(_) | Secret(_), Str(_) | Secret(_)) => crate::model::Secret::concat([l.clone(), r.clone()]),
        (Concat, List(a), List(b)) => Value::list(a.iter().chain(b.iter()).cloned().collect()),
        (Concat, Record(a), Record(b)) => {
            let mut merged = a.clone();
            merged.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::record(merged)
        }
        (Add, Int(a), Int(b)) => Int(a.checked_add(*b).ok_or_else(|| overflow(span))?),
        (Sub, Int(a), Int(b)) => Int(a.checked_sub(*b).ok_or_else(|| overflow(span))?),
        (Mul, Int(a), Int(b)) => Int(a.checked_mul(*b).ok_or_else(|| overflow(span))?),
        (Div | Rem, Int(_), Int(0)) => return Diag::new(ErrorKind::DivZero, rs).err(),
        (Div, Int(a), Int(b)) => Int(a.checked_div(*b).ok_or_else(|| overflow(span))?),
        (Rem, Int(a), Int(b)) => Int(a.checked_rem(*b).ok_or_else(|| overflow(span))?),
        (Add, Duration(a), Duration(b)) => Duration(a.checked_add(*b).ok_or_else(|| overflow(span))?),
        (Sub, Duration(a), Duration(b)) => Duration(a.checked_sub(*b).ok_or_else(|| overflow(span))?),
        (Mul, Duration(a), Int(b)) | (Mul, Int(b), Duration(a)) => {
            Duration(a.checked_mul(*b).ok_or_else(|| overflow(span))?)
        }
        (Div, Duration(_), Int(0)) => return Diag::new(ErrorKind::DivZero, rs).err(),
        (Div, Duration(a), Int(b)) => Duration(a / b),
        _ => return mismatch(),
    })
}

/// `value.name`
pub fn field(v: &Value, name: &Spanned<Name>) -> Result<Value> {
    let found = match v {
        Value::Record(rec) => rec.get(&name.node).cloned(),
        Value::Decl(d) => d.field(&name.node),
        other => {
            let what = crate::eval::an(other.type_name());
            let help = matches!(other, Value::Null)
                .then(|| "use `x.field ?? default` only after checking `x != null`".to_string());
            return Diag::new(ErrorKind::NoField(what, name.node.to_string()), name.span).help_opt(help).err();
        }
    };
    if let Some(found) = found {
        return Ok(found);
    }
    let keys = v.field_names();
    let help = suggest(&name.node, keys.iter().map(|k| &**k)).or_else(|| {
        let keys: Vec<&str> = keys.iter().map(|k| &**k).take(12).collect();
        (!keys.is_empty()).then(|| format!("its fields are: {}", keys.join(", ")))
    });
    Diag::new(ErrorKind::NoField(format!("this {}", v.type_name()), name.node.to_string()), name.span)
        .help_opt(help)
        .err()
}

/// `list[i]` (negative counts from the end), `record["key"]`.
pub fn index(v: &Value, i: &Value, span: Span) -> Result<Value> {
    match (v, i) {
        (Value::List(items), Value::Int(n)) => {
            let len = items.len() as i64;
            let at = if *n < 0 { len + n } else { *n };
            if (0..len).contains(&at) {
                Ok(items[at as usize].clone())
            } else {
                Diag::new(ErrorKind::Index { index: *n, len: items.len() }, span).err()
            }
        }
        (Value::Record(rec), Value::Str(k)) => match rec.get(k) {
            Some(v) => Ok(v.clone()),
            None => {
                let help = suggest(k, rec.keys().map(|k| &**k));
                Diag::new(ErrorKind::NoField("this record".into(), k.to_string()), span)
                    .help_opt(help)
                    .help("use get(record, key, default) when the key may be missing")
                    .err()
            }
        },
        (Value::List(_), other) => type_error("an integer index", other, span),
        (Value::Record(_), other) => type_error("a string key", other, span),
        (other, _) => {
            Diag::new(ErrorKind::Type { expected: "a list or a record".into(), found: other.type_name().into() }, span)
                .label("only lists and records can be indexed")
                .err()
        }
    }
}

/// What a `for` goes over (`Interp::iterable`).
pub enum Iterable {
    Value(Value),
    /// `range(…)`'s numbers.
    Range(std::ops::Range<i64>),
}

/// The (key, value) pairs a `for` visits, one at a time: (index, item) for lists and ranges,
/// (key, value) for records.
pub fn iterate<'v>(v: &'v Iterable, clause: &ForClause, span: Span) -> Result<Items<'v>> {
    match v {
        Iterable::Range(numbers) => Ok(Items::Range(numbers.clone().enumerate())),
        Iterable::Value(Value::List(items)) => Ok(Items::List(items.iter().enumerate())),
        Iterable::Value(Value::Record(rec)) => Ok(Items::Record(rec.iter(), clause.second.is_some())),
        Iterable::Value(other) => {
            Diag::new(ErrorKind::Type { expected: "a list or a record".into(), found: other.type_name().into() }, span)
                .label("`for` goes over a list or a record")
                .err()
        }
    }
}

/// What `iterate` visits: borrowed from the value, each pair made when it is reached.
pub enum Items<'v> {
    List(std::iter::Enumerate<std::slice::Iter<'v, Value>>),
    Range(std::iter::Enumerate<std::ops::Range<i64>>),
    /// A record's fields: (key, value) for `for k, v`, (null, key) for `for k`.
    Record(<&'v crate::model::Record as IntoIterator>::IntoIter, bool),
}

impl Iterator for Items<'_> {
    type Item = (Value, Value);

    fn next(&mut self) -> Option<(Value, Value)> {
        match self {
            Items::List(items) => items.next().map(|(i, x)| (Value::Int(i as i64), x.clone())),
            Items::Range(numbers) => numbers.next().map(|(i, n)| (Value::Int(i as i64), Value::Int(n))),
            Items::Record(fields, true) => fields.next().map(|(k, x)| (Value::Str(k.into()), x.clone())),
            Items::Record(fields, false) => fields.next().map(|(k, _)| (Value::Null, Value::Str(k.into()))),
        }
    }
}

/// `for x in …` binds the item; `for k, v in …` binds key (or index) and value.
pub(super) fn bind_loop_vars(scope: &Scope, clause: &ForClause, first: Value, second: Value) {
    match &clause.second {
        Some(name) => {
            scope.define(clause.first.node.clone(), first);
            scope.define(name.node.clone(), second);
        }
        None => scope.define(clause.first.node.clone(), second),
    }
}

/// `policy EXPR`: EXPR must be a policy or a list of them; the value is those policies.
pub fn policies_in(v: Value, span: Span) -> Result<Value> {
    match &v {
        Value::Decl(Decl::Policy(_)) => Ok(v),
        Value::List(items) => {
            for item in items.iter() {
                policies_in(item.clone(), span)?;
            }
            Ok(v)
        }
        other => type_error("a policy or a list of policies", other, span),
    }
}
