//! A record's fields: one shared allocation of (key, value) pairs kept in key order. Records are
//! small (a handful of fields, written in a file), and a B-tree spends a 450-byte node on even
//! one field; a 1,000-environment config keeps thousands of them, and every page they fill costs
//! a page fault. A record is built whole (`from_sorted`, `collect`, `Builder`) and then only
//! read: changing one copies its fields.

use std::rc::Rc;

use super::Value;

type Field = (Rc<str>, Value);

/// Cheap to clone: the fields are shared.
#[derive(Clone, Default, Debug)]
pub struct Record {
    fields: Rc<[Field]>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    /// A record of fields already sorted by key, each key once.
    pub fn from_sorted(fields: Rc<[Field]>) -> Record {
        debug_assert!(fields.windows(2).all(|w| w[0].0 < w[1].0), "fields out of order");
        Record { fields }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        find(&self.fields, key).ok().map(|i| &self.fields[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        find(&self.fields, key).is_ok()
    }

    /// Sets a field, copying the others (build a record of many fields with `collect` or
    /// `Builder`); returns the value it replaces.
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        let mut fields = Builder(self.fields.to_vec());
        let old = fields.insert(key, value);
        *self = fields.finish();
        old
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn iter(&self) -> <&Record as IntoIterator>::IntoIter {
        self.into_iter()
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Rc<str>> + ExactSizeIterator {
        self.fields.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.fields.iter().map(|(_, v)| v)
    }
}

fn find(fields: &[Field], key: &str) -> Result<usize, usize> {
    fields.binary_search_by(|(k, _)| (**k).cmp(key))
}

/// A record built a field at a time, in any order.
#[derive(Default)]
pub struct Builder(Vec<Field>);

impl Builder {
    /// Sets a field; returns the value it replaces.
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        match find(&self.0, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn finish(self) -> Record {
        Record { fields: self.0.into() }
    }
}

/// Collecting keeps the last value of a key given twice, as inserting one by one does.
impl FromIterator<Field> for Record {
    fn from_iter<I: IntoIterator<Item = Field>>(items: I) -> Record {
        let mut fields: Vec<Field> = items.into_iter().collect();
        fields.reverse();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|later, first| later.0 == first.0);
        Record { fields: fields.into() }
    }
}

impl<'a> IntoIterator for &'a Record {
    type Item = (&'a Rc<str>, &'a Value);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Field>, fn(&'a Field) -> Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter().map(|(k, v)| (k, v))
    }
}

/// The fields given win over the record's own.
impl Extend<Field> for Record {
    fn extend<I: IntoIterator<Item = Field>>(&mut self, items: I) {
        *self = self.iter().map(|(k, v)| (k.clone(), v.clone())).chain(items).collect();
    }
}
