//! One row of a declaration kind's attribute table: everything kenv knows of an attribute, in one
//! place. The manual's table, hover, completion and `kenv doc` read its text; evaluation builds
//! the declaration by its `read`s, in table order; field access, policies and JSON see its
//! `field`; a plan compares it with what AWS has by its `change`. Adding an attribute is a row
//! (and a field to keep its value in) plus the AWS call that sets it.

use std::collections::BTreeMap;

use super::{Attrs, Field, FieldList};

/// What the manual, hover, completion and `kenv doc` say of an attribute.
pub struct About {
    pub name: &'static str,
    /// Its type, as the manual says it.
    pub ty: &'static str,
    /// Its default, as the manual says it; "" when it has none (required, or absent means unset).
    pub default: &'static str,
    /// The AWS rule it is checked against, and what else a user should know.
    pub rule: &'static str,
    /// Bare words it may take (`kind = cloud9`).
    pub words: &'static [&'static str],
}

/// An attribute of declaration type `D`, whose live counterpart on AWS is an `L`.
pub struct Attribute<D: 'static, L: 'static = ()> {
    pub about: About,
    /// Reads and checks it into the declaration being built (a diagnostic for each problem;
    /// reading goes on). Rows are read in table order, so a row may look at what the rows above
    /// it read: `image` is checked against `kind`.
    pub read: fn(&mut Attrs, &mut D),
    /// Its value as a field of the declaration (`env.image`, policies, JSON); None: not a field.
    pub field: Option<for<'a> fn(&'a D) -> Field<'a>>,
    pub change: Change<D, L>,
}

/// What a change to an attribute does to the live resource.
pub enum Change<D: 'static, L: 'static> {
    /// Not compared with AWS: kenv's own, or checked by another part of the plan.
    Ignored,
    /// Brought to the file's value where it stands.
    InPlace(Compare<D, L>),
    /// Cannot change on AWS: a different value means a new resource.
    Replaces(Compare<D, L>),
}

/// How an attribute is compared: the file's value and AWS's, each as text. A side may write
/// nothing (compared only when declared, or on one kind of environment only), and a record
/// attribute may be compared part by part (`imds.tokens`).
pub struct Compare<D: 'static, L: 'static> {
    pub desired: fn(&D, &mut Side),
    pub live: fn(&L, &mut Side),
}

/// One side of a comparison, attribute (or part) → text.
#[derive(Default)]
pub struct Side {
    attr: &'static str,
    pub texts: BTreeMap<String, String>,
}

impl Side {
    /// The attribute being written.
    pub fn put(&mut self, text: impl Into<String>) {
        self.texts.insert(self.attr.to_string(), text.into());
    }

    /// A part of it: `part("tokens", …)` of `imds` is `imds.tokens`.
    pub fn part(&mut self, part: &str, text: impl Into<String>) {
        self.texts.insert(format!("{}.{part}", self.attr), text.into());
    }
}

/// A declaration type that is built from an attribute table.
pub trait Declared: Sized + 'static {
    /// What it is on AWS (`()`: nothing to compare with).
    type Live: 'static;
    const ATTRIBUTES: &'static [Attribute<Self, Self::Live>];

    /// Reads every attribute into `blank` (the declaration with its name, children and span).
    fn read_attributes(mut blank: Self, a: &mut Attrs) -> Self {
        for row in Self::ATTRIBUTES {
            (row.read)(a, &mut blank);
        }
        blank
    }

    /// The fields its attributes make, in table order.
    fn attribute_fields(&self) -> impl Iterator<Item = (&'static str, Field<'_>)> {
        Self::ATTRIBUTES.iter().filter_map(move |row| row.field.map(|f| (row.about.name, f(self))))
    }

    /// The compared attributes of a declaration (`desired`) and of its live counterpart.
    fn desired_texts(&self) -> BTreeMap<String, String> {
        compared(|c, side| (c.desired)(self, side))
    }

    fn live_texts(live: &Self::Live) -> BTreeMap<String, String> {
        compared::<Self>(|c, side| (c.live)(live, side))
    }

    /// Whether a change to `attr` (or a part of it) means a new resource.
    fn replaces(attr: &str) -> bool {
        let name = attr.split('.').next().unwrap_or(attr);
        Self::ATTRIBUTES.iter().any(|row| row.about.name == name && matches!(row.change, Change::Replaces(_)))
    }
}

/// A field getter: the field borrows from the declaration.
pub type Getter<D> = for<'a> fn(&'a D) -> Field<'a>;

/// Every field of a `D` in name order, as records keep theirs: its table's, and `parts`, what it
/// shows besides its attributes (its name, its children). Made once per type (a `LazyLock`).
pub fn fields_by_name<D: Declared>(parts: &[(&'static str, Getter<D>)]) -> Vec<(&'static str, Getter<D>)> {
    let rows = D::ATTRIBUTES.iter().filter_map(|r| r.field.map(|f| (r.about.name, f)));
    let mut all: Vec<(&'static str, Getter<D>)> = rows.chain(parts.iter().copied()).collect();
    all.sort_by_key(|(name, _)| *name);
    all
}

/// How many fields a table and `parts` more make: the length of the type's `FieldList`.
pub const fn field_count<D, L>(rows: &[Attribute<D, L>], parts: usize) -> usize {
    let (mut i, mut n) = (0, parts);
    while i < rows.len() {
        if rows[i].field.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The fields of `d`, by the getters `fields_by_name` made.
pub fn fields_of<'a, D, const N: usize>(by_name: &[(&'static str, Getter<D>)], d: &'a D) -> FieldList<'a, N> {
    std::array::from_fn(|i| (by_name[i].0, (by_name[i].1)(d)))
}

fn compared<D: Declared>(mut write: impl FnMut(&Compare<D, D::Live>, &mut Side)) -> BTreeMap<String, String> {
    let mut side = Side::default();
    for row in D::ATTRIBUTES {
        if let Change::InPlace(c) | Change::Replaces(c) = &row.change {
            side.attr = row.about.name;
            write(c, &mut side);
        }
    }
    side.texts
}

/// A row's text, whatever the declaration type: what the manual and the editor show.
#[derive(Clone, Copy)]
pub struct Doc {
    pub about: &'static About,
    /// What a change does on AWS: "replaces", "in place", or "" (not compared).
    pub change: &'static str,
}

impl Doc {
    /// Its type, default and what a change does: `duration, default never; a change on AWS:
    /// replaces` (hover and `kenv doc` show it).
    pub fn summary(&self) -> String {
        let mut out = self.about.ty.to_string();
        if !self.about.default.is_empty() {
            out.push_str(&format!(", default {}", self.about.default));
        }
        if !self.change.is_empty() {
            out.push_str(&format!("; a change on AWS: {}", self.change));
        }
        out
    }
}

/// The text of the row named `name`: one search of the table (evaluation asks at every
/// attribute a body sets).
pub fn find<D: Declared>(name: &str) -> Option<Doc> {
    doc::<D>(D::ATTRIBUTES.iter().position(|row| row.about.name == name)?)
}

/// Row `i`'s text.
pub fn doc<D: Declared>(i: usize) -> Option<Doc> {
    let row = D::ATTRIBUTES.get(i)?;
    let change = match row.change {
        Change::Replaces(_) => "replaces",
        Change::InPlace(_) => "in place",
        Change::Ignored => "",
    };
    Some(Doc { about: &row.about, change })
}

/// A string as a kenv literal, for comparisons and plans.
pub fn quoted(s: &str) -> String {
    let mut out = String::new();
    super::write_quoted(&mut out, s);
    out
}

pub fn opt_quoted(s: Option<&str>) -> String {
    s.map_or("null".into(), quoted)
}

/// A list of strings in sorted order: AWS keeps no order for them.
pub fn list_text<S: AsRef<str>>(items: &[S]) -> String {
    let mut sorted: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    sorted.sort();
    format!("[{}]", sorted.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "))
}

/// Text pairs as the record of strings a file declares them as.
pub fn string_map_text<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    super::Value::record(pairs.map(|(k, v)| (k.into(), super::Value::str(v))).collect()).to_kenv()
}
