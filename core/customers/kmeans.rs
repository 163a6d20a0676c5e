//! k-means++ and Lloyd iterations on row-major `f32` vectors.
//!
//! Deterministic for a seed whatever the thread count: rows are cut into
//! blocks of [`BLOCK`] rows (a constant, not a function of the pool size);
//! each block's partial sums are computed in row order, and blocks are reduced
//! in block order. Per-row work (a distance, a label) never depends on which
//! thread ran it. The distance kernel is the run-time-dispatched dot product of
//! `kernels` (AVX2/FMA where the CPU has it).
//!
//! Initialisation is greedy k-means++ as in scikit-learn: each new centre is
//! the best of `2 + ⌊ln k⌋` candidates drawn with probability proportional
//! to the squared distance to the nearest centre so far, "best" meaning the
//! lowest total squared distance once added.

use crate::error::{Error, Result};
use crate::kernels::{Dispatch, Kernels, Task};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Rows per block of the fixed-order reductions.
pub const BLOCK: usize = 2048;
/// The most segments a fit may ask for (a bound on `k × dim` allocations).
pub const MAX_K: usize = 4096;
/// The largest vector dimension accepted.
pub const MAX_DIM: usize = 4096;
/// The largest `k × dim`: bounds the centres and each block's partial sums.
pub const MAX_CELLS: usize = 1 << 20;
/// The largest `k_max` when choosing `k` (each candidate is a full fit).
pub const MAX_K_CHOICES: usize = 64;
/// The largest silhouette sample (its cost grows with the square).
pub const MAX_SAMPLE: usize = 10_000;
/// The most initialisations a fit may ask for.
pub const MAX_INITS: usize = 100;
/// The most Lloyd iterations a fit may ask for.
pub const MAX_ITERATIONS: usize = 10_000;
/// Partial sums held at once, in `f64` values, across a batch of blocks.
const BATCH_CELLS: usize = 1 << 24;

/// How to choose `k` when it is not given.
///
/// The criterion: every `k` in `2..=k_max` is fitted on all rows, and the one
/// with the highest mean silhouette on a seeded sample of up to `sample` rows
/// wins (ties: the smaller `k`). Silhouette rewards segments that are tight and
/// apart, and unlike inertia it does not always improve with more segments.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of segments; `None` chooses it by silhouette (see above). Default `None`.
    pub k: Option<usize>,
    /// Largest `k` tried when choosing. Default 10.
    pub k_max: usize,
    /// Rows sampled for the silhouette. Default 2,000.
    pub sample: usize,
    /// Lloyd iterations at most. Default 300.
    pub max_iterations: usize,
    /// Stop when the centres move by less than this, in squared distance
    /// summed over centres, relative to the data's mean per-dimension
    /// variance (scikit-learn's rule). Default 1e-4.
    pub tolerance: f64,
    /// Seed of the k-means++ draws and of the silhouette sample. Default 0.
    pub seed: u64,
    /// Initialisations (seeds `seed`, `seed + 1`, …); the fit with the lowest
    /// inertia is kept (ties: the first). 1 to [`MAX_INITS`]. Default 1, as
    /// scikit-learn's `n_init="auto"` with k-means++.
    pub n_init: usize,
    /// Worker threads, 1 to [`crate::embed::MAX_THREADS`]; `None` uses the current rayon pool.
    /// The result does not depend on it.
    pub threads: Option<usize>,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            k: None,
            k_max: 10,
            sample: 2000,
            max_iterations: 300,
            tolerance: 1e-4,
            seed: 0,
            n_init: 1,
            threads: None,
        }
    }
}

impl KMeansParams {
    /// Fixes the number of segments.
    #[must_use]
    pub fn k(mut self, k: usize) -> Self {
        self.k = Some(k);
        self
    }
    /// Largest `k` tried when choosing it.
    #[must_use]
    pub fn k_max(mut self, k_max: usize) -> Self {
        self.k_max = k_max;
        self
    }
    /// Rows sampled for the silhouette.
    #[must_use]
    pub fn sample(mut self, sample: usize) -> Self {
        self.sample = sample;
        self
    }
    /// Lloyd iterations at most.
    #[must_use]
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }
    /// Relative centre-shift tolerance.
    #[must_use]
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }
    /// Seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Initialisations to keep the best of.
    #[must_use]
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }
    /// Worker threads.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Checks the parameters alone (the data is checked by [`KMeansParams::fit`]).
    pub fn validate(&self) -> Result<()> {
        if let Some(k) = self.k {
            if !(1..=MAX_K).contains(&k) {
                return Err(Error::param("k", format!("{k} is not in 1..={MAX_K}")));
            }
        }
        if !(2..=MAX_K_CHOICES).contains(&self.k_max) {
            return Err(Error::param(
                "k_max",
                format!("{} is not in 2..={MAX_K_CHOICES}", self.k_max),
            ));
        }
        if !(2..=MAX_SAMPLE).contains(&self.sample) {
            return Err(Error::param(
                "sample",
                format!("{} is not in 2..={MAX_SAMPLE}", self.sample),
            ));
        }
        if !(1..=MAX_ITERATIONS).contains(&self.max_iterations) {
            return Err(Error::param(
                "max_iterations",
                format!("{} is not in 1..={MAX_ITERATIONS}", self.max_iterations),
            ));
        }
        if !(1..=MAX_INITS).contains(&self.n_init) {
            return Err(Error::param(
                "n_init",
                format!("{} is not in 1..={MAX_INITS}", self.n_init),
            ));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(Error::param(
                "tolerance",
                format!("{} must be finite and ≥ 0", self.tolerance),
            ));
        }
        crate::threads::check(self.threads)
    }

    /// Clusters `rows × dim` row-major vectors.
    ///
    /// ```
    /// use maitre::customers::KMeansParams;
    /// // Two tight groups of two points each.
    /// let data = [0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0];
    /// let fit = KMeansParams::default().k(2).seed(1).fit(&data, 2)?;
    /// assert_eq!(fit.labels[0], fit.labels[1]);
    /// assert_ne!(fit.labels[0], fit.labels[2]);
    /// assert!(fit.inertia < 0.02);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn fit(&self, data: &[f32], dim: usize) -> Result<KMeans> {
        self.validate()?;
        if !(1..=MAX_DIM).contains(&dim) {
            return Err(Error::param(
                "dim",
                format!("{dim} is not in 1..={MAX_DIM}"),
            ));
        }
        if data.len() % dim != 0 {
            return Err(Error::LengthMismatch {
                name: "vectors (a multiple of the dimension)".into(),
                expected: data.len() / dim * dim,
                got: data.len(),
            });
        }
        let rows = data.len() / dim;
        if rows == 0 {
            return Err(Error::NotEnoughData("no vectors to segment".into()));
        }
        let widest = self.k.unwrap_or(self.k_max);
        if widest * dim > MAX_CELLS {
            return Err(Error::param(
                "k",
                format!("{widest} segments × {dim} dimensions exceed {MAX_CELLS} centre values"),
            ));
        }
        if u32::try_from(rows).is_err() {
            return Err(Error::param(
                "vectors",
                format!("{rows} rows: at most 2^32 − 1"),
            ));
        }
        if let Some(k) = self.k {
            if k > rows {
                return Err(Error::param(
                    "k",
                    format!("{k} segments for {rows} vectors: k may not exceed the rows"),
                ));
            }
        }
        if let Some(i) = data.par_iter().position_first(|x| !x.is_finite()) {
            return Err(Error::param(
                "vectors",
                format!(
                    "row {} column {} is {}: values must be finite",
                    i / dim,
                    i % dim,
                    data[i]
                ),
            ));
        }
        let run = || -> Result<KMeans> {
            match self.k {
                Some(k) => Ok(lloyd(data, dim, k, self)),
                None => choose_k(data, dim, self),
            }
        };
        crate::threads::install(self.threads, run)?
    }
}

/// A fitted segmentation.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// `k × dim` row-major centres.
    pub centroids: Vec<f32>,
    pub dim: usize,
    /// Segment of each row.
    pub labels: Vec<u32>,
    /// Sum of squared distances of rows to their centre.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the tolerance (or unchanged labels) stopped it before `max_iterations`.
    pub converged: bool,
    /// When `k` was chosen: `(k, mean silhouette on the sample)` for every `k` tried.
    pub silhouettes: Vec<(usize, f64)>,
}

impl KMeans {
    /// Number of segments.
    pub fn k(&self) -> usize {
        self.centroids.len() / self.dim.max(1)
    }

    /// Centre of segment `s`.
    pub fn centroid(&self, s: usize) -> &[f32] {
        &self.centroids[s * self.dim..(s + 1) * self.dim]
    }

    /// The segment nearest to `vector` (ties: the lower segment).
    pub fn predict(&self, vector: &[f32]) -> Result<u32> {
        if vector.len() != self.dim {
            return Err(Error::LengthMismatch {
                name: "vector".into(),
                expected: self.dim,
                got: vector.len(),
            });
        }
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::param("vector", "values must be finite"));
        }
        let norms = norms(&self.centroids, self.dim);
        Ok(Dispatch::detect()
            .run(Nearest {
                x: vector,
                centres: &self.centroids,
                norms: &norms,
            })
            .0)
    }
}

fn norms(centres: &[f32], dim: usize) -> Vec<f32> {
    centres
        .chunks_exact(dim)
        .map(|c| crate::kernels::dot(c, c))
        .collect()
}

/// The nearest centre to one row and `‖c‖² − 2 x·c` for it (the squared
/// distance minus `‖x‖²`).
struct Nearest<'a> {
    x: &'a [f32],
    centres: &'a [f32],
    norms: &'a [f32],
}

impl Task for Nearest<'_> {
    type Output = (u32, f32);
    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> (u32, f32) {
        nearest(kern, self.x, self.centres, self.norms)
    }
}

#[inline(always)]
fn nearest<K: Kernels>(kern: K, x: &[f32], centres: &[f32], norms: &[f32]) -> (u32, f32) {
    let dim = x.len();
    let mut best = (0u32, f32::INFINITY);
    for (c, centre) in centres.chunks_exact(dim).enumerate() {
        let d = norms[c] - 2.0 * kern.dot(x, centre);
        if d < best.1 {
            best = (c as u32, d);
        }
    }
    best
}

/// One E step plus the sums of the M step over one block of rows.
struct AssignBlock<'a> {
    rows: &'a [f32],
    dim: usize,
    centres: &'a [f32],
    norms: &'a [f32],
    labels: &'a mut [u32],
    dist: &'a mut [f32],
}

/// A block's partial sums: per-centre sums (f64), counts, inertia, label changes.
struct Partial {
    sums: Vec<f64>,
    counts: Vec<u64>,
    inertia: f64,
    changed: usize,
}

impl Task for AssignBlock<'_> {
    type Output = Partial;
    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> Partial {
        let k = self.norms.len();
        let dim = self.dim;
        let mut p = Partial {
            sums: vec![0.0; k * dim],
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
        };
        for ((x, label), dist) in self
            .rows
            .chunks_exact(dim)
            .zip(self.labels.iter_mut())
            .zip(self.dist.iter_mut())
        {
            let (c, partial) = nearest(kern, x, self.centres, self.norms);
            let d = (partial + kern.dot(x, x)).max(0.0);
            if *label != c {
                p.changed += 1;
                *label = c;
            }
            *dist = d;
            p.inertia += f64::from(d);
            p.counts[c as usize] += 1;
            let sum = &mut p.sums[c as usize * dim..(c as usize + 1) * dim];
            for (s, &v) in sum.iter_mut().zip(x) {
                *s += f64::from(v);
            }
        }
        p
    }
}

/// Assigns every row; returns the fixed-order reduction of the block partials.
fn assign(
    data: &[f32],
    dim: usize,
    centres: &[f32],
    labels: &mut [u32],
    dist: &mut [f32],
) -> Partial {
    let norms = norms(centres, dim);
    let dispatch = Dispatch::detect();
    let mut total = Partial {
        sums: vec![0.0; centres.len()],
        counts: vec![0; norms.len()],
        inertia: 0.0,
        changed: 0,
    };
    // Blocks run in batches so that the partials held at once stay bounded;
    // the batch size depends on k × dim only, never on the pool.
    let per_batch = (BATCH_CELLS / centres.len().max(1)).clamp(1, 256);
    for ((data, labels), dist) in data
        .chunks(per_batch * BLOCK * dim)
        .zip(labels.chunks_mut(per_batch * BLOCK))
        .zip(dist.chunks_mut(per_batch * BLOCK))
    {
        let partials: Vec<Partial> = data
            .par_chunks(BLOCK * dim)
            .zip(labels.par_chunks_mut(BLOCK))
            .zip(dist.par_chunks_mut(BLOCK))
            .map(|((rows, labels), dist)| {
                dispatch.run(AssignBlock {
                    rows,
                    dim,
                    centres,
                    norms: &norms,
                    labels,
                    dist,
                })
            })
            .collect();
        reduce(&mut total, partials);
    }
    total
}

/// Adds `partials` into `total` in their order.
fn reduce(total: &mut Partial, partials: Vec<Partial>) {
    for p in partials {
        for (t, s) in total.sums.iter_mut().zip(&p.sums) {
            *t += s;
        }
        for (t, c) in total.counts.iter_mut().zip(&p.counts) {
            *t += c;
        }
        total.inertia += p.inertia;
        total.changed += p.changed;
    }
}

/// Squared distance of every row to its nearest centre among `centres`,
/// updated in place with one more centre (`min(dist, ‖x − c‖²)`).
struct UpdateMin<'a> {
    rows: &'a [f32],
    centre: &'a [f32],
    dist: &'a [f32],
    out: &'a mut [f32],
}

impl Task for UpdateMin<'_> {
    type Output = f64;
    #[inline(always)]
    fn run<K: Kernels>(self, kern: K) -> f64 {
        let dim = self.centre.len();
        let cc = kern.dot(self.centre, self.centre);
        let mut total = 0.0;
        for ((x, &d), o) in self
            .rows
            .chunks_exact(dim)
            .zip(self.dist)
            .zip(self.out.iter_mut())
        {
            let e = (kern.dot(x, x) + cc - 2.0 * kern.dot(x, self.centre)).max(0.0);
            *o = d.min(e);
            total += f64::from(*o);
        }
        total
    }
}

/// `min(dist, ‖x − centre‖²)` for every row into `out`; returns the per-block
/// sums (in block order) so draws and totals reduce the same way on any pool.
fn update_min(data: &[f32], dim: usize, centre: &[f32], dist: &[f32], out: &mut [f32]) -> Vec<f64> {
    let dispatch = Dispatch::detect();
    data.par_chunks(BLOCK * dim)
        .zip(dist.par_chunks(BLOCK))
        .zip(out.par_chunks_mut(BLOCK))
        .map(|((rows, dist), out)| {
            dispatch.run(UpdateMin {
                rows,
                centre,
                dist,
                out,
            })
        })
        .collect()
}

/// Draws a row with probability proportional to `weights` (per-row), using
/// the per-block sums to find the block first.
fn draw(rng: &mut ChaCha8Rng, weights: &[f32], block_sums: &[f64]) -> usize {
    let total: f64 = block_sums.iter().sum();
    if total <= 0.0 {
        return rng.random_range(0..weights.len());
    }
    let mut x = rng.random::<f64>() * total;
    for (b, &s) in block_sums.iter().enumerate() {
        if x < s || b + 1 == block_sums.len() {
            let rows = &weights[b * BLOCK..((b + 1) * BLOCK).min(weights.len())];
            let mut last = b * BLOCK;
            for (i, &w) in rows.iter().enumerate() {
                if w > 0.0 {
                    last = b * BLOCK + i;
                    if x < f64::from(w) {
                        return last;
                    }
                    x -= f64::from(w);
                }
            }
            return last;
        }
        x -= s;
    }
    weights.len() - 1
}

/// Greedy k-means++ (scikit-learn's `init="k-means++"`).
fn kmeans_pp(data: &[f32], dim: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let rows = data.len() / dim;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Vec::with_capacity(k * dim);
    let first = rng.random_range(0..rows);
    centres.extend_from_slice(&data[first * dim..(first + 1) * dim]);
    let mut dist = vec![f32::INFINITY; rows];
    let mut sums = {
        let mut out = vec![0.0; rows];
        let s = update_min(data, dim, &centres[..dim], &dist, &mut out);
        dist = out;
        s
    };
    let mut candidate = vec![0.0f32; rows];
    let mut best = vec![0.0f32; rows];
    for _ in 1..k {
        let mut best_row = usize::MAX;
        let mut best_total = f64::INFINITY;
        let mut best_sums = Vec::new();
        // Draws first, from the same distances, as scikit-learn does.
        let picks: Vec<usize> = (0..trials).map(|_| draw(rng, &dist, &sums)).collect();
        for row in picks {
            let s = update_min(
                data,
                dim,
                &data[row * dim..(row + 1) * dim],
                &dist,
                &mut candidate,
            );
            let total: f64 = s.iter().sum();
            if total < best_total {
                best_total = total;
                best_row = row;
                best_sums = s;
                std::mem::swap(&mut best, &mut candidate);
            }
        }
        centres.extend_from_slice(&data[best_row * dim..(best_row + 1) * dim]);
        std::mem::swap(&mut dist, &mut best);
        sums = best_sums;
    }
    centres
}

/// Mean per-dimension variance (scales the tolerance), reduced in block order.
fn mean_variance(data: &[f32], dim: usize) -> f64 {
    let rows = data.len() / dim;
    let partial: Vec<(Vec<f64>, Vec<f64>)> = data
        .par_chunks(BLOCK * dim)
        .map(|block| {
            let mut s = vec![0.0; dim];
            let mut q = vec![0.0; dim];
            for x in block.chunks_exact(dim) {
                for j in 0..dim {
                    let v = f64::from(x[j]);
                    s[j] += v;
                    q[j] += v * v;
                }
            }
            (s, q)
        })
        .collect();
    let mut s = vec![0.0; dim];
    let mut q = vec![0.0; dim];
    for (ps, pq) in partial {
        for j in 0..dim {
            s[j] += ps[j];
            q[j] += pq[j];
        }
    }
    let n = rows as f64;
    (0..dim)
        .map(|j| (q[j] / n - (s[j] / n).powi(2)).max(0.0))
        .sum::<f64>()
        / dim as f64
}

fn lloyd(data: &[f32], dim: usize, k: usize, params: &KMeansParams) -> KMeans {
    let mut best = lloyd_once(data, dim, k, params, params.seed);
    for i in 1..params.n_init {
        let fit = lloyd_once(data, dim, k, params, params.seed.wrapping_add(i as u64));
        if fit.inertia < best.inertia {
            best = fit;
        }
    }
    best
}

fn lloyd_once(data: &[f32], dim: usize, k: usize, params: &KMeansParams, seed: u64) -> KMeans {
    let rows = data.len() / dim;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres = kmeans_pp(data, dim, k, &mut rng);
    let tol = params.tolerance * mean_variance(data, dim);
    let mut labels = vec![u32::MAX; rows];
    let mut dist = vec![0.0f32; rows];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < params.max_iterations {
        iterations += 1;
        let p = assign(data, dim, &centres, &mut labels, &mut dist);
        if p.changed == 0 {
            converged = true;
            break;
        }
        let mut next = vec![0.0f32; k * dim];
        let mut empty = Vec::new();
        for c in 0..k {
            if p.counts[c] == 0 {
                empty.push(c);
                next[c * dim..(c + 1) * dim].copy_from_slice(&centres[c * dim..(c + 1) * dim]);
                continue;
            }
            let n = p.counts[c] as f64;
            for j in 0..dim {
                next[c * dim + j] = (p.sums[c * dim + j] / n) as f32;
            }
        }
        // An empty segment takes the rows farthest from their centres
        // (highest distance first, ties to the lower row): it stays in use.
        if !empty.is_empty() {
            let mut far: Vec<u32> = (0..rows as u32).collect();
            let n = empty.len().min(rows);
            let order = |a: &u32, b: &u32| {
                dist[*b as usize]
                    .total_cmp(&dist[*a as usize])
                    .then(a.cmp(b))
            };
            if n < far.len() {
                far.select_nth_unstable_by(n, order);
            }
            far.truncate(n);
            far.sort_by(order);
            for (&c, &row) in empty.iter().zip(&far) {
                next[c * dim..(c + 1) * dim]
                    .copy_from_slice(&data[row as usize * dim..(row as usize + 1) * dim]);
            }
        }
        let shift: f64 = centres
            .iter()
            .zip(&next)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum();
        centres = next;
        if shift <= tol {
            converged = true;
            break;
        }
    }
    // Labels and inertia for the final centres.
    let p = assign(data, dim, &centres, &mut labels, &mut dist);
    KMeans {
        centroids: centres,
        dim,
        labels,
        inertia: p.inertia,
        iterations,
        converged,
        silhouettes: Vec::new(),
    }
}

/// Mean silhouette of `sample` rows, distances computed within the sample.
pub fn silhouette(data: &[f32], dim: usize, labels: &[u32], sample: &[usize], k: usize) -> f64 {
    if k < 2 {
        return 0.0;
    }
    let scores: Vec<f64> = sample
        .par_iter()
        .map(|&i| {
            let x = &data[i * dim..(i + 1) * dim];
            let mut sum = vec![0.0f64; k];
            let mut count = vec![0usize; k];
            for &j in sample {
                if j == i {
                    continue;
                }
                let y = &data[j * dim..(j + 1) * dim];
                let d: f64 = x
                    .iter()
                    .zip(y)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>()
                    .sqrt();
                sum[labels[j] as usize] += d;
                count[labels[j] as usize] += 1;
            }
            let own = labels[i] as usize;
            if count[own] == 0 {
                return 0.0;
            }
            let a = sum[own] / count[own] as f64;
            let b = (0..k)
                .filter(|&c| c != own && count[c] > 0)
                .map(|c| sum[c] / count[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            (b - a) / a.max(b).max(f64::MIN_POSITIVE)
        })
        .collect();
    scores.iter().sum::<f64>() / scores.len().max(1) as f64
}

fn choose_k(data: &[f32], dim: usize, params: &KMeansParams) -> Result<KMeans> {
    let rows = data.len() / dim;
    if rows < 2 {
        return Err(Error::NotEnoughData(
            "choosing k needs at least 2 vectors".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x5111_0e77e);
    let sample: Vec<usize> = if rows <= params.sample {
        (0..rows).collect()
    } else {
        let mut s = rand::seq::index::sample(&mut rng, rows, params.sample).into_vec();
        s.sort_unstable();
        s
    };
    let mut best: Option<(f64, KMeans)> = None;
    let mut tried = Vec::new();
    for k in 2..=params.k_max.min(rows) {
        let fit = lloyd(data, dim, k, params);
        let s = silhouette(data, dim, &fit.labels, &sample, k);
        tried.push((k, s));
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, fit));
        }
    }
    let (_, mut fit) = best.expect("k_max ≥ 2 and rows ≥ 2 give one candidate");
    fit.silhouettes = tried;
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(seed: u64, rows: usize, dim: usize, centres: usize) -> (Vec<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let means: Vec<f32> = (0..centres * dim)
            .map(|_| rng.random_range(-10.0..10.0))
            .collect();
        let mut data = Vec::with_capacity(rows * dim);
        let mut truth = Vec::with_capacity(rows);
        for r in 0..rows {
            let c = r % centres;
            truth.push(c);
            for j in 0..dim {
                data.push(means[c * dim + j] + rng.random_range(-1.0..1.0));
            }
        }
        (data, truth)
    }

    #[test]
    fn bit_identical_for_any_thread_count() {
        let (data, _) = blobs(3, 9000, 16, 7);
        let p = KMeansParams::default().k(7).seed(5);
        let one = p.clone().threads(1).fit(&data, 16).unwrap();
        let three = p.clone().threads(3).fit(&data, 16).unwrap();
        assert_eq!(one, three);
        assert_eq!(one.inertia.to_bits(), three.inertia.to_bits());
        let other_seed = KMeansParams::default().k(7).seed(6).fit(&data, 16).unwrap();
        assert_eq!(other_seed.k(), 7);
    }

    #[test]
    fn recovers_separated_blobs_and_chooses_their_number() {
        let (data, truth) = blobs(9, 3000, 8, 5);
        let fit = KMeansParams::default().seed(2).fit(&data, 8).unwrap();
        assert_eq!(fit.k(), 5, "silhouettes {:?}", fit.silhouettes);
        assert_eq!(fit.silhouettes.len(), 9);
        assert!(fit.converged);
        // Every generator blob maps to exactly one segment.
        for c in 0..5 {
            let labels: std::collections::BTreeSet<u32> = truth
                .iter()
                .zip(&fit.labels)
                .filter(|(t, _)| **t == c)
                .map(|(_, l)| *l)
                .collect();
            assert_eq!(labels.len(), 1);
        }
        assert_eq!(fit.predict(&data[..8]).unwrap(), fit.labels[0]);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let data = [0.0, 1.0, 2.0, 3.0];
        let p = KMeansParams::default();
        assert!(matches!(
            p.clone().k(0).fit(&data, 2),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.clone().k(3).fit(&data, 2),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.clone().k(1).fit(&[], 2),
            Err(Error::NotEnoughData(_))
        ));
        assert!(matches!(
            p.clone().k(1).fit(&data, 0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.clone().k(1).fit(&data, 3),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            p.clone().k(1).fit(&[0.0, f32::NAN], 2),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.clone().k(1).threads(0).fit(&data, 2),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.clone().k(usize::MAX).fit(&data, 2),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.clone().fit(&data[..2], 2),
            Err(Error::NotEnoughData(_))
        ));
        // k = rows puts every row in its own segment.
        let fit = p.k(2).fit(&data, 2).unwrap();
        assert_eq!(fit.inertia, 0.0);
    }
}
