//! maitre's own HNSW graph (Malkov & Yashunin, 2018) on inner products.
//!
//! Why not hnsw_rs, the first choice: wrapped by this index it answered 215
//! queries/s on 50,000 × 64 vectors where hnswlib answered 1,370 (6×), it cannot
//! be seeded, its parallel build is not deterministic, and it needs mmap so it
//! does not build for wasm32. This graph follows hnswlib's layout and search,
//! with the dot product from the run-time-dispatched SIMD kernels:
//!
//! * the bottom layer's links sit in one flat `u32` array, `m0 + 1` slots per
//!   node (a count, then the links), so a hop is one cache line away;
//! * visited marks are 16-bit epoch tags in a per-thread buffer, cleared
//!   once per 65,535 searches;
//! * the search loop is compiled once per instruction set ([`Dispatch`]), so
//!   the dot product inlines into it;
//! * expanding a node fetches all its neighbours' marks, then all unvisited
//!   neighbours' rows, before scoring any: the search waits on memory, and
//!   this keeps many loads in flight (hnswlib fetches one neighbour ahead;
//!   this was 1.25× faster at ef 100).
//!
//! The distance is `−x·y`, hnswlib's "ip" space. It is not a metric, but links
//! then favour high-norm items, which is what inner-product queries reach for
//! (the extra-dimension transform to a sphere lost recall on vectors whose
//! norms vary; see ARCHITECTURE.md).
//!
//! Build, deterministically in parallel. Items are inserted in batches that
//! grow with the graph (at most 1/[`BATCH_DIV`] of it, at most [`MAX_BATCH`]):
//! every item of a batch searches the graph as it stood before the batch, in
//! parallel, and picks its links with hnswlib's heuristic; then the reverse
//! links are grouped by target, each target's list is merged and pruned in
//! parallel, and all lists are written in item order. Layers are drawn from a
//! hash of the seed and the item id. So the graph depends on the seed and the
//! data only, never on the thread count or on scheduling. Items of one batch do
//! not see each other while linking, which costs recall when batches are big:
//! on 50,000 × 64 clustered vectors with spread-out norms (`examples/ann.rs`),
//! recall@10 at ef 10 / 100 was 0.9974 / 0.9996 built serially, 0.9917 /
//! 0.9972 with batches of up to 1,024, and 0.9973 / 0.9995 with up to 64.
//!
//! Depends on: the SIMD kernels and `hash` only. Node ids are the caller's item ids, and
//! vectors are read from the caller's row-major buffer, never copied.

use crate::hash::{mix, GOLDEN};
use crate::kernels::{prefetch, Dispatch, Kernels, Task};
use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A batch is at most this fraction of the graph it is inserted into.
const BATCH_DIV: usize = 32;
/// A batch never holds more items than this.
const MAX_BATCH: usize = 64;
/// Layers above this are never drawn (probability `M^-16`).
const MAX_LEVEL: usize = 16;

/// A node and its distance to whatever is being searched for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Near {
    pub(crate) dist: f32,
    pub(crate) node: u32,
}

impl PartialEq for Near {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    /// By distance, then id, so ties never depend on heap layout. Distances
    /// are products of finite vectors, never NaN; a plain float comparison
    /// (not `total_cmp`) keeps the heaps' hot loops short.
    #[inline(always)]
    fn cmp(&self, other: &Self) -> Ordering {
        match self.dist.partial_cmp(&other.dist) {
            Some(Ordering::Equal) | None => self.node.cmp(&other.node),
            Some(order) => order,
        }
    }
}

/// The vectors a graph indexes: row `i` is node `i`.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) dim: usize,
}

impl Rows<'_> {
    #[inline(always)]
    fn row(&self, node: u32) -> &[f32] {
        let at = node as usize * self.dim;
        &self.data[at..at + self.dim]
    }
}

/// A query against the rows, with the kernels that score it.
#[derive(Clone, Copy)]
struct Probe<'a, K> {
    kern: K,
    rows: Rows<'a>,
    query: &'a [f32],
}

impl<K: Kernels> Probe<'_, K> {
    /// Distance of `node` to the query: `−x·q`.
    #[inline(always)]
    fn near(&self, node: u32) -> Near {
        Near {
            dist: -self.kern.dot(self.query, self.rows.row(node)),
            node,
        }
    }

    #[inline(always)]
    fn prefetch(&self, node: u32) {
        self.kern.prefetch(self.rows.row(node));
    }
}

/// Visited marks: a node is visited in the current search if its tag equals
/// the epoch, so starting a search is one increment, not a clear. Tags are
/// 16-bit, as in hnswlib: half the cache footprint, and a clear every 65,535
/// searches costs nothing next to them.
#[derive(Default)]
struct Visited {
    tags: Vec<u16>,
    epoch: u16,
}

impl Visited {
    fn start(&mut self, nodes: usize) {
        if self.tags.len() < nodes {
            self.tags.resize(nodes, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.tags.fill(0);
            self.epoch = 1;
        }
    }

    /// Starts fetching `node`'s mark.
    #[inline(always)]
    fn prefetch(&self, node: u32) {
        prefetch(&self.tags[node as usize]);
    }

    /// Marks `node`; true if it was not marked yet.
    #[inline(always)]
    fn insert(&mut self, node: u32) -> bool {
        let tag = &mut self.tags[node as usize];
        let fresh = *tag != self.epoch;
        *tag = self.epoch;
        fresh
    }
}

/// What a search needs besides the graph, kept per thread so that a search
/// allocates nothing once warm.
#[derive(Default)]
struct Scratch {
    visited: Visited,
    /// Unvisited links of the node being expanded.
    fresh: Vec<u32>,
    candidates: BinaryHeap<Reverse<Near>>,
    results: BinaryHeap<Near>,
}

thread_local! {
    /// Taken out for a search and put back after, rather than borrowed in a
    /// `with` closure: the search loop must inline into the function compiled
    /// for the CPU's instruction set, and a closure handed to std's `with` is
    /// compiled apart from it (the dot product then became a call: 30 % of
    /// search time).
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// Shape of a graph: links per node and layer, and the build's effort.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    /// Links per node on upper layers ("M"); the bottom layer keeps `2m`.
    pub(crate) m: usize,
    pub(crate) ef_construction: usize,
    pub(crate) seed: u64,
}

/// The graph. Node ids are item ids; items never inserted have no links and
/// are never reached.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    shape: Shape,
    /// Bottom-layer links: `m0 + 1` slots per node, a count then the links.
    base: Vec<u32>,
    /// Each node's top layer.
    levels: Vec<u8>,
    /// Upper-layer links of nodes above the bottom layer: `m + 1` slots per
    /// layer 1..=level, laid out like `base`. Empty for most nodes.
    upper: Vec<Vec<u32>>,
    entry: Option<u32>,
    /// Nodes in the graph.
    size: usize,
}

/// A graph as plain arrays, for artifacts: borrowed from a graph being saved
/// (no copy of its link array), owned when decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphParts<'a> {
    pub(crate) base: Cow<'a, [u32]>,
    pub(crate) levels: Cow<'a, [u8]>,
    /// Every node's upper-layer slots, concatenated in node order.
    pub(crate) upper: Vec<u32>,
    pub(crate) entry: Option<u32>,
    pub(crate) size: usize,
}

impl Graph {
    pub(crate) fn to_parts(&self) -> GraphParts<'_> {
        GraphParts {
            base: Cow::Borrowed(&self.base),
            levels: Cow::Borrowed(&self.levels),
            upper: self.upper.concat(),
            entry: self.entry,
            size: self.size,
        }
    }

    /// A graph over `nodes` rows from stored parts, checked for everything a
    /// search relies on (counts within caps, links to existing nodes that
    /// reach the layer they are on), so that no stored bytes can make a search
    /// index out of bounds. The reason is returned if they fail.
    pub(crate) fn from_parts(
        shape: Shape,
        nodes: usize,
        parts: GraphParts<'_>,
    ) -> std::result::Result<Graph, String> {
        let GraphParts {
            base,
            levels,
            upper,
            entry,
            size,
        } = parts;
        let (base, levels) = (base.into_owned(), levels.into_owned());
        let (m, m0) = (shape.m, 2 * shape.m);
        if levels.len() != nodes || base.len() != nodes * (m0 + 1) {
            return Err(format!(
                "{} levels and {} bottom-layer slots for {nodes} nodes",
                levels.len(),
                base.len()
            ));
        }
        if let Some(level) = levels.iter().find(|&&l| l as usize > MAX_LEVEL) {
            return Err(format!("layer {level} is above {MAX_LEVEL}"));
        }
        let wanted: usize = levels.iter().map(|&l| l as usize * (m + 1)).sum();
        if upper.len() != wanted {
            return Err(format!("{} upper slots, {wanted} expected", upper.len()));
        }
        let check = |list: &[u32], cap: usize, layer: usize| -> std::result::Result<(), String> {
            let count = list[0] as usize;
            if count > cap {
                return Err(format!("{count} links on layer {layer}, more than {cap}"));
            }
            match list[1..=count].iter().find(|&&to| {
                levels
                    .get(to as usize)
                    .is_none_or(|&l| (l as usize) < layer)
            }) {
                Some(to) => Err(format!("a link on layer {layer} to node {to}, not there")),
                None => Ok(()),
            }
        };
        for list in base.chunks_exact(m0 + 1) {
            check(list, m0, 0)?;
        }
        let mut rest = upper.as_slice();
        let mut per_node = Vec::with_capacity(nodes);
        for &level in &levels {
            let (mine, tail) = rest.split_at(level as usize * (m + 1));
            for (layer, list) in mine.chunks_exact(m + 1).enumerate() {
                check(list, m, layer + 1)?;
            }
            per_node.push(mine.to_vec());
            rest = tail;
        }
        if size > nodes
            || entry.is_some_and(|e| e as usize >= nodes)
            || entry.is_none() != (size == 0)
        {
            return Err(format!("entry {entry:?} and size {size} for {nodes} nodes"));
        }
        Ok(Graph {
            shape,
            base,
            levels,
            upper: per_node,
            entry,
            size,
        })
    }

    pub(crate) fn new(shape: Shape) -> Self {
        Graph {
            shape,
            base: Vec::new(),
            levels: Vec::new(),
            upper: Vec::new(),
            entry: None,
            size: 0,
        }
    }

    fn m0(&self) -> usize {
        2 * self.shape.m
    }

    /// Nodes in the graph.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The layer of `node`, drawn from `−ln(u)/ln(m)` with `u` a hash of the
    /// seed and the id: the same node gets the same layer in any build order.
    fn draw_level(&self, node: u32) -> usize {
        let z = mix(self
            .shape
            .seed
            .wrapping_add(u64::from(node).wrapping_mul(GOLDEN)));
        // 53 random bits in (0, 1].
        let u = ((z >> 11) + 1) as f64 / (1u64 << 53) as f64;
        let level = -u.ln() / (self.shape.m as f64).ln();
        (level as usize).min(MAX_LEVEL)
    }

    #[inline(always)]
    fn links(&self, node: u32, layer: usize) -> &[u32] {
        let list = if layer == 0 {
            let at = node as usize * (self.m0() + 1);
            &self.base[at..at + self.m0() + 1]
        } else {
            let at = (layer - 1) * (self.shape.m + 1);
            &self.upper[node as usize][at..at + self.shape.m + 1]
        };
        &list[1..1 + list[0] as usize]
    }

    #[inline(always)]
    fn prefetch_links(&self, node: u32, layer: usize) {
        if layer == 0 {
            prefetch(&self.base[node as usize * (self.m0() + 1)]);
        }
    }

    fn set_links(&mut self, node: u32, layer: usize, links: &[u32]) {
        let list = if layer == 0 {
            let at = node as usize * (self.m0() + 1);
            let width = self.m0() + 1;
            &mut self.base[at..at + width]
        } else {
            let at = (layer - 1) * (self.shape.m + 1);
            &mut self.upper[node as usize][at..at + self.shape.m + 1]
        };
        list[0] = links.len() as u32;
        list[1..1 + links.len()].copy_from_slice(links);
    }

    /// Makes room for node ids below `nodes`.
    fn grow(&mut self, nodes: usize) {
        if self.levels.len() < nodes {
            self.base.resize(nodes * (self.m0() + 1), 0);
            self.levels.resize(nodes, 0);
            self.upper.resize(nodes, Vec::new());
        }
    }

    /// Inserts `nodes` (ids of rows of `rows`, not yet in the graph, ascending
    /// for a reproducible graph) in growing parallel batches.
    pub(crate) fn insert(&mut self, rows: Rows<'_>, nodes: &[u32]) {
        let Some(&last) = nodes.iter().max() else {
            return;
        };
        self.grow(last as usize + 1);
        let mut at = 0;
        while at < nodes.len() {
            let batch = (self.size / BATCH_DIV).clamp(1, MAX_BATCH);
            let end = (at + batch).min(nodes.len());
            self.insert_batch(rows, &nodes[at..end]);
            at = end;
        }
    }

    fn insert_batch(&mut self, rows: Rows<'_>, batch: &[u32]) {
        for &node in batch {
            let level = self.draw_level(node);
            self.levels[node as usize] = level as u8;
            self.upper[node as usize] = vec![0; level * (self.shape.m + 1)];
        }
        let Some(entry) = self.entry else {
            // An empty graph: the first node is the entry; link the rest one by one.
            self.entry = Some(batch[0]);
            self.size = 1;
            for &node in &batch[1..] {
                self.insert_batch(rows, &[node]);
            }
            return;
        };
        let dispatch = Dispatch::detect();
        let graph = &*self;
        // Each node's chosen links per layer, against the graph before the batch.
        let plans: Vec<Vec<Vec<u32>>> = batch
            .par_iter()
            .map(|&node| {
                dispatch.run(Plan {
                    graph,
                    rows,
                    node,
                    entry,
                })
            })
            .collect();
        // Reverse links, grouped by (layer, target) in a fixed order.
        let mut reverse: Vec<(usize, u32, u32)> = Vec::new();
        for (&node, plan) in batch.iter().zip(&plans) {
            for (layer, links) in plan.iter().enumerate() {
                reverse.extend(links.iter().map(|&to| (layer, to, node)));
            }
        }
        reverse.sort_unstable();
        let groups: Vec<&[(usize, u32, u32)]> =
            reverse.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)).collect();
        let merged: Vec<Vec<u32>> = groups
            .par_iter()
            .map(|group| {
                let (layer, target) = (group[0].0, group[0].1);
                let mut list = graph.links(target, layer).to_vec();
                list.extend(group.iter().map(|r| r.2));
                let cap = if layer == 0 {
                    graph.m0()
                } else {
                    graph.shape.m
                };
                if list.len() > cap {
                    list = dispatch.run(Prune {
                        rows,
                        node: target,
                        list,
                        cap,
                    });
                }
                list
            })
            .collect();
        for (&node, plan) in batch.iter().zip(&plans) {
            for (layer, links) in plan.iter().enumerate() {
                self.set_links(node, layer, links);
            }
        }
        for (group, list) in groups.iter().zip(&merged) {
            self.set_links(group[0].1, group[0].0, list);
        }
        self.size += batch.len();
        let top = self.levels[entry as usize];
        // The highest new node becomes the entry (the first of equals).
        if let Some(&high) = batch
            .iter()
            .filter(|&&n| self.levels[n as usize] > top)
            .max_by_key(|&&n| (self.levels[n as usize], Reverse(n)))
        {
            self.entry = Some(high);
        }
    }

    /// Up to `ef` nodes nearest to `query` (largest inner products), nearest
    /// first.
    pub(crate) fn search(&self, rows: Rows<'_>, query: &[f32], ef: usize) -> Vec<Near> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        Dispatch::detect().run(Search {
            graph: self,
            rows,
            query,
            entry,
            ef,
        })
    }

    /// Greedy descent from the entry to `layer + 1`, then the best-first search
    /// of each layer down to 0; `visit(layer, results)` sees each layer's
    /// results (nearest first) from `stop` down.
    #[inline(always)]
    fn descend<K: Kernels>(
        &self,
        probe: Probe<'_, K>,
        entry: u32,
        stop: usize,
        ef: usize,
        mut visit: impl FnMut(usize, &[Near]),
    ) {
        let top = self.levels[entry as usize] as usize;
        let mut cur = probe.near(entry);
        for layer in (stop + 1..=top).rev() {
            loop {
                let mut moved = false;
                for &next in self.links(cur.node, layer) {
                    let cand = probe.near(next);
                    if cand < cur {
                        cur = cand;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        let mut s = SCRATCH.take().unwrap_or_default();
        let mut found = Vec::new();
        for layer in (0..=stop.min(top)).rev() {
            self.search_layer(probe, cur, layer, ef, &mut s);
            found.clear();
            found.extend(s.results.drain());
            found.sort_unstable();
            visit(layer, &found);
            cur = found[0];
        }
        SCRATCH.set(Some(s));
    }

    /// Best-first search of one layer from `start`, `ef` results into
    /// `s.results` (a max-heap: the farthest on top).
    #[inline(always)]
    fn search_layer<K: Kernels>(
        &self,
        probe: Probe<'_, K>,
        start: Near,
        layer: usize,
        ef: usize,
        s: &mut Scratch,
    ) {
        s.visited.start(self.levels.len());
        s.candidates.clear();
        s.results.clear();
        s.visited.insert(start.node);
        s.candidates.push(Reverse(start));
        s.results.push(start);
        while let Some(Reverse(c)) = s.candidates.pop() {
            let worst = s.results.peek().map_or(f32::INFINITY, |w| w.dist);
            if c.dist > worst && s.results.len() >= ef {
                break;
            }
            // Three passes over the links so that many loads are in flight at
            // once (the search is bound by memory latency, not arithmetic):
            // fetch every mark, then keep the unvisited and fetch their rows,
            // then score them.
            let links = self.links(c.node, layer);
            for &next in links {
                s.visited.prefetch(next);
            }
            s.fresh.clear();
            for &next in links {
                if s.visited.insert(next) {
                    probe.prefetch(next);
                    s.fresh.push(next);
                }
            }
            for &next in &s.fresh {
                let near = probe.near(next);
                let full = s.results.len() >= ef;
                if !full || near.dist < s.results.peek().map_or(f32::INFINITY, |w| w.dist) {
                    s.candidates.push(Reverse(near));
                    // The next node to expand: fetch its links while this
                    // list is finished (hnswlib does the same).
                    if let Some(Reverse(head)) = s.candidates.peek() {
                        self.prefetch_links(head.node, layer);
                    }
                    s.results.push(near);
                    if full {
                        s.results.pop();
                    }
                }
            }
        }
    }

    /// hnswlib's neighbour heuristic: walk `sorted` (nearest first) and keep a
    /// node unless a kept one is nearer to it than the base is, up to `cap`.
    /// Links then spread in direction instead of clustering.
    #[inline(always)]
    fn select<K: Kernels>(kern: K, rows: Rows<'_>, sorted: &[Near], cap: usize) -> Vec<u32> {
        if sorted.len() <= cap {
            return sorted.iter().map(|n| n.node).collect();
        }
        let mut kept: Vec<u32> = Vec::with_capacity(cap);
        for c in sorted {
            if kept.len() >= cap {
                break;
            }
            let row = rows.row(c.node);
            if kept.iter().all(|&k| -kern.dot(rows.row(k), row) >= c.dist) {
                kept.push(c.node);
            }
        }
        kept
    }
}

/// Chooses a new node's links on each of its layers.
struct Plan<'a> {
    graph: &'a Graph,
    rows: Rows<'a>,
    node: u32,
    entry: u32,
}

impl Task for Plan<'_> {
    type Output = Vec<Vec<u32>>;

    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> Vec<Vec<u32>> {
        let g = self.graph;
        let level = g.levels[self.node as usize] as usize;
        let top = g.levels[self.entry as usize] as usize;
        let mut plan = vec![Vec::new(); level.min(top) + 1];
        let probe = Probe {
            kern,
            rows: self.rows,
            query: self.rows.row(self.node),
        };
        let ef = g.shape.ef_construction;
        g.descend(probe, self.entry, level, ef, |layer, found| {
            plan[layer] = Graph::select(kern, self.rows, found, g.shape.m);
        });
        plan
    }
}

/// Cuts an over-full link list back to `cap` with the heuristic.
struct Prune<'a> {
    rows: Rows<'a>,
    node: u32,
    list: Vec<u32>,
    cap: usize,
}

impl Task for Prune<'_> {
    type Output = Vec<u32>;

    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> Vec<u32> {
        let probe = Probe {
            kern,
            rows: self.rows,
            query: self.rows.row(self.node),
        };
        let mut sorted: Vec<Near> = self.list.iter().map(|&n| probe.near(n)).collect();
        sorted.sort_unstable();
        Graph::select(kern, self.rows, &sorted, self.cap)
    }
}

struct Search<'a> {
    graph: &'a Graph,
    rows: Rows<'a>,
    query: &'a [f32],
    entry: u32,
    ef: usize,
}

impl Task for Search<'_> {
    type Output = Vec<Near>;

    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> Vec<Near> {
        let probe = Probe {
            kern,
            rows: self.rows,
            query: self.query,
        };
        let mut out = Vec::new();
        self.graph
            .descend(probe, self.entry, 0, self.ef, |layer, found| {
                if layer == 0 {
                    out = found.to_vec();
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: u32) -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                let a = i as f32 * 0.37;
                [a.cos() * (1.0 + (i % 5) as f32 * 0.1), a.sin(), 0.5]
            })
            .collect()
    }

    /// The rows of a [`grid`].
    fn rows_of(data: &[f32]) -> Rows<'_> {
        Rows { data, dim: 3 }
    }

    fn shape() -> Shape {
        Shape {
            m: 8,
            ef_construction: 64,
            seed: 3,
        }
    }

    #[test]
    fn the_same_nodes_give_the_same_graph_on_any_thread_count() {
        let data = grid(3000);
        let rows = rows_of(&data);
        let nodes: Vec<u32> = (0..3000).collect();
        let build = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut g = Graph::new(shape());
                g.insert(rows, &nodes);
                g
            })
        };
        let (one, two) = (build(1), build(2));
        assert_eq!(one.base, two.base);
        assert_eq!(one.upper, two.upper);
        assert_eq!(one.entry, two.entry);
        assert!(one.levels.iter().any(|&l| l > 0));
        // The seed, not the build, draws the layers.
        let mut other = Graph::new(Shape { seed: 4, ..shape() });
        other.insert(rows, &nodes);
        assert_ne!(other.levels, one.levels);
    }

    #[test]
    fn parts_round_trip_and_bad_parts_are_refused() {
        let data = grid(1000);
        let rows = rows_of(&data);
        let mut g = Graph::new(shape());
        g.insert(rows, &(0..1000).collect::<Vec<_>>());
        let back = Graph::from_parts(shape(), 1000, g.to_parts()).unwrap();
        assert_eq!((back.base == g.base, back.upper == g.upper), (true, true));
        assert_eq!(
            back.search(rows, &[1.0, 0.0, 0.0], 10),
            g.search(rows, &[1.0, 0.0, 0.0], 10)
        );

        let high = (0..1000u32).find(|&n| g.levels[n as usize] > 0).unwrap();
        let low = (0..1000u32).find(|&n| g.levels[n as usize] == 0).unwrap();
        let spoil: [&dyn Fn(&mut GraphParts); 6] = [
            &|p| p.base.to_mut()[0] = 17,   // more links than 2m
            &|p| p.base.to_mut()[1] = 1000, // a node that does not exist
            &|p| p.levels.to_mut()[0] = 40, // above the highest layer
            &|p| p.upper.push(0),           // slots that belong to no layer
            &|p| p.entry = Some(5000),
            &|p| p.entry = None, // no entry, yet nodes
        ];
        for (i, spoil) in spoil.iter().enumerate() {
            let mut parts = g.to_parts();
            spoil(&mut parts);
            assert!(
                Graph::from_parts(shape(), 1000, parts).is_err(),
                "spoil {i}"
            );
        }
        // A link on layer 1 to a node that only lives on layer 0.
        let mut parts = g.to_parts();
        let at: usize = parts.levels[..high as usize]
            .iter()
            .map(|&l| l as usize * 9)
            .sum();
        parts.upper[at] = 1;
        parts.upper[at + 1] = low;
        assert!(Graph::from_parts(shape(), 1000, parts).is_err());
    }

    #[test]
    fn visited_marks_survive_the_epoch_wrapping() {
        let mut v = Visited::default();
        v.start(4);
        assert!(v.insert(2));
        for _ in 0..u16::MAX as usize + 3 {
            v.start(4);
            assert!(v.insert(1) && !v.insert(1));
            assert!(v.insert(2), "a mark from an earlier search leaked");
        }
    }

    #[test]
    fn every_list_respects_its_cap_and_links_only_inserted_nodes() {
        let data = grid(2000);
        let rows = rows_of(&data);
        let nodes: Vec<u32> = (0..2000).filter(|i| i % 3 != 0).collect();
        let mut g = Graph::new(shape());
        g.insert(rows, &nodes);
        assert_eq!(g.size(), nodes.len());
        for &n in &nodes {
            for layer in 0..=g.levels[n as usize] as usize {
                let links = g.links(n, layer);
                assert!(links.len() <= if layer == 0 { 16 } else { 8 });
                assert!(
                    links.iter().all(|&l| l % 3 != 0 && l != n),
                    "{n}: {links:?}"
                );
            }
        }
        for skipped in (0..2000).step_by(3) {
            assert!(g.links(skipped, 0).is_empty());
        }
    }

    #[test]
    fn search_finds_the_best_inner_product() {
        let data = grid(2000);
        let rows = rows_of(&data);
        let mut g = Graph::new(shape());
        g.insert(rows, &(0..2000).collect::<Vec<_>>());
        let query = [0.3f32, -0.9, 0.1];
        let best = (0..2000u32)
            .max_by(|&a, &b| {
                let (x, y) = (
                    crate::index::dot(rows.row(a), &query),
                    crate::index::dot(rows.row(b), &query),
                );
                x.total_cmp(&y)
            })
            .unwrap();
        let found = g.search(rows, &query, 32);
        assert_eq!(found.len(), 32);
        assert_eq!(found[0].node, best);
        assert!(found.windows(2).all(|w| w[0] <= w[1]));
    }
}
