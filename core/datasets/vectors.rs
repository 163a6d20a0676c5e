//! Synthetic embedding tables for index tests and benchmarks.
//!
//! Real item factors are clustered (genres, categories) and their norms spread
//! with popularity; uniform random vectors have neither, and make nearest
//! neighbour search look both harder and less realistic than it is. These are
//! Gaussian clusters with log-normal norms, from one ChaCha8 stream of the
//! seed, so a seed gives the same table on every machine.

use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `rows` vectors of dimension `dim` (row-major) around `clusters` random
/// centres: centre + noise of about half its length, scaled by a log-normal
/// factor `exp(norm_spread × N(0, 1))` so that inner-product and cosine
/// rankings differ (0.3 is a moderate spread; 0 keeps norms alike). Rows are
/// independent given the centres, so a table can be split into items and
/// queries.
///
/// ```
/// let v = maitre::datasets::clustered_vectors(7, 100, 16, 4, 0.3)?;
/// assert_eq!(v.len(), 100 * 16);
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn clustered_vectors(
    seed: u64,
    rows: usize,
    dim: usize,
    clusters: usize,
    norm_spread: f64,
) -> Result<Vec<f32>> {
    if dim == 0 || clusters == 0 {
        return Err(Error::param("dim, clusters", "must both be at least 1"));
    }
    if !(0.0..=3.0).contains(&norm_spread) {
        return Err(Error::param(
            "norm_spread",
            format!("{norm_spread} is outside 0..=3"),
        ));
    }
    let len = rows
        .checked_mul(dim)
        .ok_or_else(|| Error::param("rows", "rows × dim overflows"))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scale = 1.0 / (dim as f64).sqrt();
    let centres: Vec<f64> = (0..clusters * dim)
        .map(|_| normal(&mut rng) * scale)
        .collect();
    let mut out = Vec::with_capacity(len);
    for _ in 0..rows {
        let c = rng.random_range(0..clusters);
        let factor = (norm_spread * normal(&mut rng)).exp();
        for &centre in &centres[c * dim..(c + 1) * dim] {
            out.push(((centre + 0.5 * scale * normal(&mut rng)) * factor) as f32);
        }
    }
    Ok(out)
}

/// A standard normal draw (Box–Muller; `rand` alone has no distributions).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
