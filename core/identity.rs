//! One customer, one history: identity resolution across channels and devices.
//!
//! Events arrive under raw ids: a logged-in customer id, a device id, an
//! anonymous web session. Link events say two raw ids are the same person. A
//! union-find merges every linked set, so each person ends with one customer
//! index whatever order the links arrived in. The customer's canonical name is
//! the smallest id among those that appeared on the customer side of a link
//! (the known ids), else the smallest id of the set: a choice that depends only
//! on the set, never on arrival order.
//!
//! Depends on: `intern` and the `Link` type of `events`.

use crate::events::Link;
use crate::intern::Interner;

/// Raw ids resolved to customers.
///
/// ```
/// use maitre::events::{Event, EventLog};
/// let mut log = EventLog::new();
/// log.push(&Event::new("anon-7", "sku-1", "view", 100).context("device", "mobile"))?;
/// log.push(&Event::new("c42", "sku-2", "purchase", 200).context("channel", "store"))?;
/// log.link("anon-7", "c42", 150)?;
/// let ids = log.identities();
/// assert_eq!(ids.len(), 1);
/// assert_eq!(ids.resolve_name(log.raw_customers(), "anon-7"), Some("c42"));
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identities {
    customer_of_raw: Vec<u32>,
    names: Vec<String>,
}

impl Identities {
    /// Resolves the raw ids of `raw` with `links`.
    pub fn resolve(raw: &Interner, links: &[Link]) -> Self {
        let n = raw.len();
        let mut sets = UnionFind::new(n);
        let mut known = vec![false; n];
        for link in links {
            sets.union(link.alias, link.customer);
            known[link.customer as usize] = true;
        }
        // Per root: the canonical member, preferring known ids, then the smallest name.
        let mut best: Vec<Option<u32>> = vec![None; n];
        for id in 0..n as u32 {
            let root = sets.find(id) as usize;
            let better = match best[root] {
                None => true,
                Some(b) => {
                    let key = |i: u32| (!known[i as usize], raw.name(i));
                    key(id) < key(b)
                }
            };
            if better {
                best[root] = Some(id);
            }
        }
        // Dense customer indices in order of each set's first raw id.
        let mut customer_of_root = vec![u32::MAX; n];
        let mut customer_of_raw = Vec::with_capacity(n);
        let mut names = Vec::new();
        for id in 0..n as u32 {
            let root = sets.find(id) as usize;
            if customer_of_root[root] == u32::MAX {
                customer_of_root[root] = names.len() as u32;
                let canonical = best[root].unwrap_or(id);
                names.push(raw.name(canonical).unwrap_or_default().to_owned());
            }
            customer_of_raw.push(customer_of_root[root]);
        }
        Identities {
            customer_of_raw,
            names,
        }
    }

    /// The customer index of raw id index `raw`.
    pub fn customer_of(&self, raw: u32) -> u32 {
        self.customer_of_raw[raw as usize]
    }

    /// Customer index of every raw id, in raw id order.
    pub fn customer_of_raw(&self) -> &[u32] {
        &self.customer_of_raw
    }

    /// The canonical name of customer `customer`.
    pub fn name(&self, customer: u32) -> Option<&str> {
        self.names.get(customer as usize).map(String::as_str)
    }

    /// Canonical names, in customer index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The customer index for any of a person's ids.
    pub fn lookup(&self, raw: &Interner, id: &str) -> Option<u32> {
        raw.get(id).map(|r| self.customer_of(r))
    }

    /// The canonical name for any of a person's ids.
    pub fn resolve_name<'a>(&'a self, raw: &Interner, id: &str) -> Option<&'a str> {
        self.lookup(raw, id).and_then(|c| self.name(c))
    }

    /// Every raw id of the person `id` belongs to (itself included), in
    /// the order they were first seen; `None` when `id` was never seen.
    ///
    /// ```
    /// use maitre::events::{Event, EventLog};
    /// let mut log = EventLog::new();
    /// log.push(&Event::new("anon-7", "sku-1", "view", 100))?;
    /// log.push(&Event::new("c42", "sku-2", "purchase", 200))?;
    /// log.link("anon-7", "c42", 150)?;
    /// let ids = log.identities();
    /// assert_eq!(ids.aliases(log.raw_customers(), "c42"), Some(vec!["anon-7", "c42"]));
    /// assert_eq!(ids.aliases(log.raw_customers(), "nobody"), None);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn aliases<'a>(&self, raw: &'a Interner, id: &str) -> Option<Vec<&'a str>> {
        let customer = self.lookup(raw, id)?;
        Some(
            (0..self.customer_of_raw.len() as u32)
                .filter(|&r| self.customer_of(r) == customer)
                .filter_map(|r| raw.name(r))
                .collect(),
        )
    }

    /// Number of distinct customers.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no customers.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Disjoint sets with path halving and union by size.
struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn interner(n: usize) -> Interner {
        let mut raw = Interner::new();
        for i in 0..n {
            raw.intern(&format!("id{i:03}"));
        }
        raw
    }

    #[test]
    fn chains_merge_and_known_ids_win() {
        let raw = interner(5);
        // id000 (anon) -> id003 (known); id001 (device) -> id000; id004 alone.
        let links = [
            Link {
                alias: 0,
                customer: 3,
                timestamp: 1,
            },
            Link {
                alias: 1,
                customer: 0,
                timestamp: 2,
            },
        ];
        let ids = Identities::resolve(&raw, &links);
        assert_eq!(ids.len(), 3); // {0,1,3}, {2}, {4}
                                  // id000 is also known (customer side of the second link) and smallest.
        assert_eq!(ids.resolve_name(&raw, "id001"), Some("id000"));
        assert_eq!(ids.resolve_name(&raw, "id003"), Some("id000"));
        assert_eq!(ids.resolve_name(&raw, "id004"), Some("id004"));
    }

    #[test]
    fn canonical_prefers_known_over_smaller_anonymous() {
        let raw = interner(3);
        let links = [Link {
            alias: 0,
            customer: 2,
            timestamp: 0,
        }];
        let ids = Identities::resolve(&raw, &links);
        assert_eq!(ids.resolve_name(&raw, "id000"), Some("id002"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever order links arrive in, every raw id resolves to the same name.
        #[test]
        fn resolution_is_order_independent(
            pairs in proptest::collection::vec((0u32..30, 0u32..30), 0..40),
            seed in any::<u64>(),
        ) {
            let raw = interner(30);
            let links: Vec<Link> = pairs.iter()
                .map(|&(a, c)| Link { alias: a, customer: c, timestamp: 0 })
                .collect();
            let mut shuffled = links.clone();
            // A deterministic shuffle driven by the seed.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let a = Identities::resolve(&raw, &links);
            let b = Identities::resolve(&raw, &shuffled);
            prop_assert_eq!(a.len(), b.len());
            for i in 0..30u32 {
                prop_assert_eq!(a.name(a.customer_of(i)), b.name(b.customer_of(i)));
            }
            // Linked ids always share a customer.
            for l in &links {
                prop_assert_eq!(a.customer_of(l.alias), a.customer_of(l.customer));
            }
        }
    }
}
