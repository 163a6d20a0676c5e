//! String ids in, dense `u32` indices inside.
//!
//! External ids (customers, items, context values) are strings; every
//! algorithm works on dense indices so vectors and matrices can be plain arrays.
//! Depends on nothing else in the crate.

use std::collections::HashMap;

/// An append-only map between strings and dense `u32` indices (0, 1, 2, … in
/// order of first appearance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `name`, adding it if new.
    ///
    /// ```
    /// let mut ids = maitre::Interner::new();
    /// assert_eq!(ids.intern("sku-1"), 0);
    /// assert_eq!(ids.intern("sku-2"), 1);
    /// assert_eq!(ids.intern("sku-1"), 0);
    /// assert_eq!(ids.name(1), Some("sku-2"));
    /// ```
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("more than u32::MAX distinct ids");
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The name at `index`, if in range.
    pub fn name(&self, index: u32) -> Option<&str> {
        self.names.get(index as usize).map(String::as_str)
    }

    /// All names, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How many distinct names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Forgets every name interned after the first `len`; how a rejected batch
    /// leaves no trace.
    pub(crate) fn truncate(&mut self, len: usize) {
        for name in self.names.drain(len.min(self.names.len())..) {
            self.index.remove(&name);
        }
    }
}
