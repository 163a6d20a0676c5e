//! String ids in, dense `u32` indices inside.
//!
//! External ids (customers, items, context values) are strings; every
//! algorithm works on dense indices so vectors and matrices can be plain arrays.
//! Depends on nothing else in the crate.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// An append-only map between strings and dense `u32` indices (0, 1, 2, … in
/// order of first appearance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interner {
    names: Vec<String>,
    index: HashMap<Key, u32, Seeded>,
}

/// foldhash rather than std's SipHash: every ingested event hashes its
/// customer and item ids, and SipHash took 5–7 % of ingestion's CPU.
/// Still seeded per process, so ids chosen to collide cannot be prepared in
/// advance; indices follow first appearance, never the hash, so a model is
/// the same whatever the seed.
type Seeded = foldhash::fast::RandomState;

/// A name as the index's key. Names up to 22 bytes (most ids) are held in
/// the key itself, so a lookup compares bytes already in the bucket it
/// probed instead of following a pointer to a heap string: with hundreds of
/// thousands of ids, that pointer was a cache miss on every lookup, the
/// largest single cost of ingesting an event. Longer names live on the heap.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Inline { len: u8, bytes: [u8; Key::INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    const INLINE: usize = 22;

    fn new(name: &str) -> Self {
        let name = name.as_bytes();
        if name.len() <= Self::INLINE {
            let mut bytes = [0; Self::INLINE];
            bytes[..name.len()].copy_from_slice(name);
            Key::Inline {
                len: name.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(name.into())
        }
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Heap(bytes) => bytes,
        }
    }
}

// Hashes as the bytes it borrows as, which `HashMap::get(&[u8])` requires.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Borrow::<[u8]>::borrow(self).hash(state);
    }
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
        if let Some(&i) = self.index.get(name.as_bytes()) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("more than u32::MAX distinct ids");
        self.names.push(name.to_owned());
        self.index.insert(Key::new(name), i);
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name.as_bytes()).copied()
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
            self.index.remove(name.as_bytes());
        }
    }
}
