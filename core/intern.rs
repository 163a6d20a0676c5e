//! String ids in, dense `u32` indices inside.
//!
//! External ids (customers, items, context values) are strings; every
//! algorithm works on dense indices so vectors and matrices can be plain arrays.
//! Depends on nothing else in the crate but `kernels`' prefetch hint.

use crate::kernels::prefetch;
use std::hash::BuildHasher;

/// An append-only map between strings and dense `u32` indices (0, 1, 2, … in
/// order of first appearance).
#[derive(Debug, Clone, Default)]
pub struct Interner {
    names: Vec<String>,
    table: Table,
}

/// foldhash rather than std's SipHash: every ingested event hashes its
/// customer and item ids, and SipHash took 5–7 % of ingestion's CPU.
/// Still seeded per process, so ids chosen to collide cannot be prepared in
/// advance; indices follow first appearance, never the hash, so a model is
/// the same whatever the seed.
type Seeded = foldhash::fast::RandomState;

impl PartialEq for Interner {
    /// Same names in the same order (the table is a function of them).
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names
    }
}

impl Eq for Interner {}

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
        let hash = self.table.hash(name);
        if let Some(i) = self.table.find(hash, name, &self.names) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("more than u32::MAX distinct ids");
        self.names.push(name.to_owned());
        self.table.insert(hash, name, i);
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.table.find(self.table.hash(name), name, &self.names)
    }

    /// [`Interner::get`] for many names at once: `out[i]` is the index of
    /// `names[i]`, or `missing` for an unknown name or `None`. Faster than
    /// one `get` each on a large table: the slot of a name a few places
    /// ahead is fetched from memory while the current one is compared, so
    /// the cache misses overlap instead of queueing.
    pub fn get_many(&self, names: &[Option<&str>], out: &mut [u32], missing: u32) {
        /// Names ahead: enough to cover a memory latency with the
        /// hashing and comparing of the names in between.
        const AHEAD: usize = 8;
        debug_assert_eq!(names.len(), out.len());
        let hashes: Vec<u64> = names
            .iter()
            .map(|n| n.map_or(0, |n| self.table.hash(n)))
            .collect();
        for (i, (name, slot)) in names.iter().zip(out.iter_mut()).enumerate() {
            if let Some(&ahead) = hashes.get(i + AHEAD) {
                self.table.prefetch(ahead);
            }
            *slot = name
                .and_then(|n| self.table.find(hashes[i], n, &self.names))
                .unwrap_or(missing);
        }
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
        while self.names.len() > len {
            let name = self.names.last().expect("longer than len");
            self.table.remove(self.table.hash(name), name, &self.names);
            self.names.pop();
        }
    }
}

/// One slot of [`Table`]: 32 bytes, two to a cache line, never straddling one.
/// A name up to [`Slot::INLINE`] bytes (most ids) is held in the slot itself,
/// so a lookup compares bytes already in the line it fetched instead of
/// following a pointer to a heap string: with hundreds of thousands of ids,
/// that pointer was a cache miss on every lookup. Longer names are compared
/// with the interner's own copy.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    /// The name's index; `EMPTY` for a free slot.
    index: u32,
    /// The hash's low 32 bits: filters comparisons, and gives the slot's
    /// home (`tag & mask`) when entries are moved.
    tag: u32,
    /// Length of an inline name, or `LONG`.
    len: u8,
    bytes: [u8; Slot::INLINE],
}

impl Slot {
    const INLINE: usize = 23;
    const LONG: u8 = u8::MAX;
    const EMPTY: u32 = u32::MAX;
    const FREE: Slot = Slot {
        index: Self::EMPTY,
        tag: 0,
        len: 0,
        bytes: [0; Self::INLINE],
    };

    fn holds(&self, tag: u32, name: &str, names: &[String]) -> bool {
        if self.tag != tag {
            return false;
        }
        let name = name.as_bytes();
        if self.len == Self::LONG {
            names[self.index as usize].as_bytes() == name
        } else {
            self.len as usize == name.len() && inline_eq(&self.bytes, name)
        }
    }
}

/// Whether `name` (at most [`Slot::INLINE`] bytes) equals the start of
/// `bytes`, by overlapping word loads: for ids of a few bytes, the call to
/// `memcmp` that a slice comparison makes cost more than the comparison.
fn inline_eq(bytes: &[u8; Slot::INLINE], name: &[u8]) -> bool {
    let n = name.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        8.. => {
            let mid = (n - 8).min(8);
            word(bytes, 0) == word(name, 0)
                && word(bytes, mid) == word(name, mid)
                && word(bytes, n - 8) == word(name, n - 8)
        }
        4.. => half(bytes, 0) == half(name, 0) && half(bytes, n - 4) == half(name, n - 4),
        _ => bytes[..n] == *name,
    }
}

/// Open addressing with linear probing, at most three quarters full.
/// Indices are `u32`, so `tag & mask` (32 bits of hash) addresses any table
/// that can hold them.
#[derive(Debug, Clone, Default)]
struct Table {
    slots: Vec<Slot>,
    /// Live entries.
    len: usize,
    hasher: Seeded,
}

impl Table {
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name.as_bytes())
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn prefetch(&self, hash: u64) {
        if let Some(slot) = self.slots.get(hash as u32 as usize & self.mask()) {
            prefetch(slot);
        }
    }

    fn find(&self, hash: u64, name: &str, names: &[String]) -> Option<u32> {
        self.position(hash, name, names)
            .map(|at| self.slots[at].index)
    }

    /// Where `name` sits, if present.
    fn position(&self, hash: u64, name: &str, names: &[String]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let (tag, mask) = (hash as u32, self.mask());
        let mut at = tag as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.index == Slot::EMPTY {
                return None;
            }
            if slot.holds(tag, name, names) {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `name` (not present) as `index`.
    fn insert(&mut self, hash: u64, name: &str, index: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let bytes = name.as_bytes();
        let mut slot = Slot {
            index,
            tag: hash as u32,
            len: Slot::LONG,
            bytes: [0; Slot::INLINE],
        };
        if bytes.len() <= Slot::INLINE {
            slot.len = bytes.len() as u8;
            slot.bytes[..bytes.len()].copy_from_slice(bytes);
        }
        self.place(slot);
        self.len += 1;
    }

    fn place(&mut self, slot: Slot) {
        let mask = self.mask();
        let mut at = slot.tag as usize & mask;
        while self.slots[at].index != Slot::EMPTY {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    /// Twice the slots (16 at first), every entry placed again.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![Slot::FREE; size]);
        for slot in old.into_iter().filter(|s| s.index != Slot::EMPTY) {
            self.place(slot);
        }
    }

    /// Removes `name` if present, shifting the entries after it back so no
    /// probe sequence is broken (no tombstones).
    fn remove(&mut self, hash: u64, name: &str, names: &[String]) {
        let Some(mut hole) = self.position(hash, name, names) else {
            return;
        };
        let mask = self.mask();
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let slot = self.slots[next];
            if slot.index == Slot::EMPTY {
                break;
            }
            let home = slot.tag as usize & mask;
            // The entry at `next` may fill the hole unless its home lies
            // cyclically in (hole, next]: then its probe never passes the hole.
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                self.slots[hole] = slot;
                hole = next;
            }
        }
        self.slots[hole] = Slot::FREE;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: usize) -> String {
        // Short ids inline, every seventh longer than a slot holds.
        if i % 7 == 0 {
            format!("a-customer-id-long-enough-for-the-heap-{i}")
        } else {
            format!("c{i}")
        }
    }

    #[test]
    fn finds_every_name_after_growth_and_none_other() {
        let mut ids = Interner::new();
        for i in 0..5_000 {
            assert_eq!(ids.intern(&id(i)), i as u32);
        }
        for i in 0..5_000 {
            assert_eq!(ids.get(&id(i)), Some(i as u32));
            assert_eq!(ids.intern(&id(i)), i as u32);
        }
        assert_eq!(ids.get("c5000"), None);
        assert_eq!(ids.get(""), None);
        assert!(ids.table.len * 4 <= ids.table.slots.len() * 3);
    }

    #[test]
    fn get_many_agrees_with_get() {
        let mut ids = Interner::new();
        for i in (0..3_000).step_by(2) {
            ids.intern(&id(i));
        }
        let names: Vec<String> = (0..3_000).map(id).collect();
        let asked: Vec<Option<&str>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (i % 11 != 3).then_some(n.as_str()))
            .collect();
        let mut out = vec![0; asked.len()];
        ids.get_many(&asked, &mut out, u32::MAX);
        for (name, got) in asked.iter().zip(&out) {
            assert_eq!(*got, name.and_then(|n| ids.get(n)).unwrap_or(u32::MAX));
        }
        assert!(out.iter().filter(|&&o| o != u32::MAX).count() > 1_000);
    }

    #[test]
    fn inline_comparison_sees_every_byte_of_every_length() {
        for n in 0..=Slot::INLINE {
            let name: Vec<u8> = (0..n as u8).map(|b| b'a' + b).collect();
            let mut bytes = [0u8; Slot::INLINE];
            bytes[..n].copy_from_slice(&name);
            assert!(inline_eq(&bytes, &name), "length {n}");
            for at in 0..n {
                let mut other = bytes;
                other[at] ^= 0x20;
                assert!(!inline_eq(&other, &name), "length {n}, byte {at}");
            }
        }
    }

    #[test]
    fn truncate_forgets_exactly_the_newer_names() {
        let mut ids = Interner::new();
        for i in 0..2_000 {
            ids.intern(&id(i));
        }
        let before = ids.clone();
        for i in 2_000..2_700 {
            ids.intern(&id(i));
        }
        ids.truncate(2_000);
        assert_eq!(ids, before);
        for i in 0..2_700 {
            assert_eq!(ids.get(&id(i)), (i < 2_000).then_some(i as u32), "{i}");
        }
        // Interning again after the removals gives the next indices.
        assert_eq!(ids.intern(&id(2_500)), 2_000);
        assert_eq!(ids.table.len, 2_001);
    }

    #[test]
    fn colliding_homes_survive_removal() {
        // A tiny table: many names share homes and wrap around its end.
        let mut ids = Interner::new();
        for i in 0..12 {
            ids.intern(&id(i));
        }
        for keep in (0..12).rev() {
            ids.truncate(keep);
            for i in 0..12 {
                assert_eq!(ids.get(&id(i)), (i < keep).then_some(i as u32));
            }
        }
        assert_eq!(ids.table.len, 0);
    }
}
