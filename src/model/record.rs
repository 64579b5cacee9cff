//! A record's fields: a vector kept in key order. Records are small (a handful of fields, written
//! in a file), and a B-tree spends a 450-byte node on even one field; a 1,000-environment config
//! keeps thousands of them, and every page they fill costs a page fault.

use std::rc::Rc;

use super::Value;

#[derive(Clone, Default, Debug)]
pub struct Record {
    fields: Vec<(Rc<str>, Value)>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    /// A record of fields already sorted by key, each key once.
    pub fn from_sorted(fields: Vec<(Rc<str>, Value)>) -> Record {
        debug_assert!(fields.windows(2).all(|w| w[0].0 < w[1].0), "fields out of order");
        Record { fields }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.fields.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.fields[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets a field; returns the value it replaces.
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.fields[i].1, value)),
            Err(i) => {
                self.fields.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.find(key).ok().map(|i| self.fields.remove(i).1)
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

/// Collecting keeps the last value of a key given twice, as inserting one by one does.
impl FromIterator<(Rc<str>, Value)> for Record {
    fn from_iter<I: IntoIterator<Item = (Rc<str>, Value)>>(items: I) -> Record {
        let mut fields: Vec<(Rc<str>, Value)> = items.into_iter().collect();
        fields.reverse();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|later, first| later.0 == first.0);
        Record { fields }
    }
}

impl<'a> IntoIterator for &'a Record {
    type Item = (&'a Rc<str>, &'a Value);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Rc<str>, Value)>, fn(&'a (Rc<str>, Value)) -> Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter().map(|(k, v)| (k, v))
    }
}

impl Extend<(Rc<str>, Value)> for Record {
    fn extend<I: IntoIterator<Item = (Rc<str>, Value)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}
