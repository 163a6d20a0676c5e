//! Off-policy evaluation: what a target policy would have earned, estimated
//! from rounds logged under another policy — direct method (DM), inverse
//! propensity scoring (IPS), self-normalised IPS (SNIPS) and doubly robust
//! (DR), each with a seeded percentile-bootstrap interval.
//!
//! Definitions, for logged rounds `i` with context `x_i`, action `a_i`,
//! logging propensity `p_i`, reward `r_i`, target probabilities `π(·|x_i)`
//! and importance weight `w_i = π(a_i|x_i) / p_i`:
//!
//! - DM: `mean_i Σ_a π(a|x_i) q̂(x_i, a)`
//! - IPS: `mean_i w_i r_i`
//! - SNIPS: `Σ_i w_i r_i / Σ_i w_i`
//! - DR: `mean_i [Σ_a π(a|x_i) q̂(x_i, a) + w_i (r_i − q̂(x_i, a_i))]`
//!
//! `q̂` is a ridge regression per action on `[x, 1]`, cross-fitted: each
//! round's `q̂` comes from a model that did not see it. The fold split is
//! shuffled with its own seed (`fold_seed`), independent of anything that
//! generated the log: splitting in log order, or with the logger's stream,
//! can put whole actions in one fold and bias DR. The bootstrap resamples
//! rounds with `q̂` held fixed (it does not refit the reward model).

use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The most reward-model cells (folds × actions × (dim+1)²) one evaluation
/// may allocate: 2^26 `f64`s, 512 MB.
pub const MAX_MODEL_CELLS: usize = 1 << 26;

/// Logged rounds as plain arrays (what a DataFrame or numpy hands over).
#[derive(Debug, Clone, Copy)]
pub struct Logged<'a> {
    /// Row-major `n × dim` context features.
    pub contexts: &'a [f32],
    pub dim: usize,
    /// The logged action of each round, in `0..n_actions`.
    pub actions: &'a [usize],
    /// The logging policy's probability of that action, in (0, 1].
    pub propensities: &'a [f64],
    pub rewards: &'a [f64],
    pub n_actions: usize,
}

/// Estimator settings. Defaults: ridge 1, 5 folds, 1,000 bootstrap
/// resamples, a 95 % interval, seeds 0 and 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpeParams {
    pub ridge: f64,
    pub folds: usize,
    pub bootstrap: usize,
    pub confidence: f64,
    /// Seeds the bootstrap resampling.
    pub seed: u64,
    /// Seeds the cross-fitting fold split (keep it independent of the log).
    pub fold_seed: u64,
}

impl Default for OpeParams {
    fn default() -> Self {
        OpeParams {
            ridge: 1.0,
            folds: 5,
            bootstrap: 1_000,
            confidence: 0.95,
            seed: 0,
            fold_seed: 1,
        }
    }
}

impl OpeParams {
    #[must_use]
    pub fn ridge(mut self, ridge: f64) -> Self {
        self.ridge = ridge;
        self
    }
    #[must_use]
    pub fn folds(mut self, folds: usize) -> Self {
        self.folds = folds;
        self
    }
    #[must_use]
    pub fn bootstrap(mut self, resamples: usize) -> Self {
        self.bootstrap = resamples;
        self
    }
    #[must_use]
    pub fn confidence(mut self, confidence: f64) -> Self {
        self.confidence = confidence;
        self
    }
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    #[must_use]
    pub fn fold_seed(mut self, seed: u64) -> Self {
        self.fold_seed = seed;
        self
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.ridge.is_finite() && self.ridge > 0.0) {
            return Err(Error::param(
                "ridge",
                format!("{} must be finite and positive", self.ridge),
            ));
        }
        if !(2..=100).contains(&self.folds) {
            return Err(Error::param(
                "folds",
                format!("{} must be in 2..=100", self.folds),
            ));
        }
        if !(1..=100_000).contains(&self.bootstrap) {
            return Err(Error::param(
                "bootstrap",
                format!("{} must be in 1..=100000", self.bootstrap),
            ));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::param(
                "confidence",
                format!("{} must be in (0, 1)", self.confidence),
            ));
        }
        Ok(())
    }
}

/// A point estimate with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// The four estimates of one target policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpeReport {
    pub dm: Estimate,
    pub ips: Estimate,
    pub snips: Estimate,
    pub dr: Estimate,
    pub rounds: usize,
}

/// Estimates the value of the target policy `target` (row-major
/// `n × n_actions` action probabilities, one row per logged round, each row
/// summing to 1) from `logged`.
///
/// ```
/// use maitre::offers::{evaluate_policy, Logged, OpeParams};
/// // Two actions logged uniformly; action 1 always pays 1, action 0 nothing.
/// let n = 200;
/// let actions: Vec<usize> = (0..n).map(|i| i % 2).collect();
/// let rewards: Vec<f64> = actions.iter().map(|&a| a as f64).collect();
/// let logged = Logged {
///     contexts: &vec![0.0; n], dim: 1, actions: &actions,
///     propensities: &vec![0.5; n], rewards: &rewards, n_actions: 2,
/// };
/// let always_1: Vec<f64> = (0..n).flat_map(|_| [0.0, 1.0]).collect();
/// let report = evaluate_policy(&logged, &always_1, &OpeParams::default().bootstrap(200))?;
/// assert!((report.ips.value - 1.0).abs() < 1e-12);
/// assert!((report.snips.value - 1.0).abs() < 1e-12);
/// // DR's reward model is cross-fitted (and shrunk by the ridge): close, not exact.
/// assert!((report.dr.value - 1.0).abs() < 0.01);
/// assert!(report.dr.low <= report.dr.value && report.dr.value <= report.dr.high);
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn evaluate_policy(logged: &Logged, target: &[f64], params: &OpeParams) -> Result<OpeReport> {
    let n = checked(logged, Some(target), params)?;
    let k = logged.n_actions;
    let q = cross_fitted(logged, params)?;
    // Per-round pieces: every estimator is a mean (or ratio of means) of them.
    let mut dm = Vec::with_capacity(n);
    let mut ips = Vec::with_capacity(n);
    let mut w = Vec::with_capacity(n);
    let mut dr = Vec::with_capacity(n);
    for i in 0..n {
        let pi = &target[i * k..(i + 1) * k];
        let qi = &q[i * k..(i + 1) * k];
        let a = logged.actions[i];
        let direct: f64 = pi.iter().zip(qi).map(|(p, q)| p * q).sum();
        let wi = pi[a] / logged.propensities[i];
        let r = logged.rewards[i];
        dm.push(direct);
        ips.push(wi * r);
        w.push(wi);
        dr.push(direct + wi * (r - qi[a]));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let snips_of = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    let point = [
        mean(&dm),
        mean(&ips),
        snips_of(ips.iter().sum(), w.iter().sum()),
        mean(&dr),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let b = params.bootstrap;
    let mut draws: [Vec<f64>; 4] = std::array::from_fn(|_| Vec::with_capacity(b));
    for _ in 0..b {
        let mut s = [0.0f64; 5];
        for _ in 0..n {
            let i = rng.random_range(0..n);
            s[0] += dm[i];
            s[1] += ips[i];
            s[2] += w[i];
            s[3] += dr[i];
        }
        let nf = n as f64;
        draws[0].push(s[0] / nf);
        draws[1].push(s[1] / nf);
        draws[2].push(snips_of(s[1], s[2]));
        draws[3].push(s[3] / nf);
    }
    let alpha = (1.0 - params.confidence) / 2.0;
    let est = |j: usize| {
        let v = &mut draws[j].clone();
        v.sort_by(f64::total_cmp);
        Estimate {
            value: point[j],
            low: percentile(v, alpha),
            high: percentile(v, 1.0 - alpha),
        }
    };
    Ok(OpeReport {
        dm: est(0),
        ips: est(1),
        snips: est(2),
        dr: est(3),
        rounds: n,
    })
}

/// The cross-fitted reward model `q̂(x_i, a)` that DM and DR use, row-major
/// `n × n_actions`: each round predicted by the ridge models of the folds
/// that did not contain it. Exposed so another library's DM/DR can be
/// checked on the same `q̂` (definitions compared apart from the model).
///
/// ```
/// use maitre::offers::{reward_model, Logged, OpeParams};
/// let actions: Vec<usize> = (0..100).map(|i| i % 2).collect();
/// let rewards: Vec<f64> = actions.iter().map(|&a| a as f64).collect();
/// let logged = Logged {
///     contexts: &vec![0.0; 100], dim: 1, actions: &actions,
///     propensities: &vec![0.5; 100], rewards: &rewards, n_actions: 2,
/// };
/// let q = reward_model(&logged, &OpeParams::default())?;
/// assert_eq!(q.len(), 200);
/// assert!(q[1] > 0.9 && q[0].abs() < 1e-12); // action 1 pays, action 0 never does
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn reward_model(logged: &Logged, params: &OpeParams) -> Result<Vec<f64>> {
    checked(logged, None, params)?;
    cross_fitted(logged, params)
}

/// Validates parameters, the log (and the target, if given) and the model's
/// size before anything is allocated; returns the number of rounds.
fn checked(logged: &Logged, target: Option<&[f64]>, params: &OpeParams) -> Result<usize> {
    params.validate()?;
    let n = validate(logged, target)?;
    if n < params.folds {
        return Err(Error::NotEnoughData(format!(
            "{n} logged rounds for {} cross-fitting folds",
            params.folds
        )));
    }
    let k = logged.n_actions;
    // The reward models hold folds × actions × (dim+1)² sums: bound them
    // before allocating, so a huge action count is an error, not an abort.
    let d1 = logged.dim.saturating_add(1);
    let cells = params
        .folds
        .saturating_mul(k)
        .saturating_mul(d1.saturating_mul(d1));
    if cells > MAX_MODEL_CELLS {
        return Err(Error::param(
            "n_actions",
            format!(
                "{k} actions × {} folds × {d1}² features is more than {MAX_MODEL_CELLS} model cells",
                params.folds
            ),
        ));
    }
    Ok(n)
}

/// Linear interpolation between order statistics of a sorted sample.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn validate(logged: &Logged, target: Option<&[f64]>) -> Result<usize> {
    let n = logged.actions.len();
    if n == 0 {
        return Err(Error::NotEnoughData("no logged rounds".into()));
    }
    if logged.n_actions == 0 {
        return Err(Error::param("n_actions", "must be at least 1"));
    }
    let checks = [
        ("propensities", n, logged.propensities.len()),
        ("rewards", n, logged.rewards.len()),
        (
            "contexts",
            n.saturating_mul(logged.dim),
            logged.contexts.len(),
        ),
        (
            "target",
            n.saturating_mul(logged.n_actions),
            target.map_or(n.saturating_mul(logged.n_actions), <[f64]>::len),
        ),
    ];
    for (name, expected, got) in checks {
        if expected != got {
            return Err(Error::LengthMismatch {
                name: name.into(),
                expected,
                got,
            });
        }
    }
    for i in 0..n {
        let a = logged.actions[i];
        if a >= logged.n_actions {
            return Err(Error::param(
                format!("actions[{i}]"),
                format!("{a} is not below n_actions {}", logged.n_actions),
            ));
        }
        let p = logged.propensities[i];
        if !(p.is_finite() && p > 0.0 && p <= 1.0) {
            return Err(Error::param(
                format!("propensities[{i}]"),
                format!("{p} is not in (0, 1]"),
            ));
        }
        if !logged.rewards[i].is_finite() {
            return Err(Error::param(
                format!("rewards[{i}]"),
                format!("{} is not finite", logged.rewards[i]),
            ));
        }
        let Some(target) = target else { continue };
        let row = &target[i * logged.n_actions..(i + 1) * logged.n_actions];
        if row.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
            return Err(Error::param(
                format!("target row {i}"),
                "probabilities must be finite and non-negative",
            ));
        }
        let sum: f64 = row.iter().sum();
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::param(
                format!("target row {i}"),
                format!("probabilities sum to {sum}, not 1"),
            ));
        }
    }
    if let Some(i) = logged.contexts.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "contexts",
            format!("element {i} is {}, not finite", logged.contexts[i]),
        ));
    }
    Ok(n)
}

/// `q̂(x_i, a)` for every round and action (row-major `n × n_actions`), each
/// round predicted by models fitted on the other folds.
fn cross_fitted(logged: &Logged, params: &OpeParams) -> Result<Vec<f64>> {
    let n = logged.actions.len();
    let (d, k) = (logged.dim + 1, logged.n_actions);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(params.fold_seed);
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let mut fold = vec![0usize; n];
    for (rank, &i) in order.iter().enumerate() {
        fold[i] = rank % params.folds;
    }
    let x = |i: usize| -> Vec<f64> {
        let mut v: Vec<f64> = logged.contexts[i * logged.dim..(i + 1) * logged.dim]
            .iter()
            .map(|&c| f64::from(c))
            .collect();
        v.push(1.0);
        v
    };
    // Sufficient statistics per fold and action: XᵀX and Xᵀr. A fold's model
    // is the total minus its own statistics, so fitting costs one pass.
    let mut gram = vec![vec![0.0f64; d * d]; params.folds * k];
    let mut xr = vec![vec![0.0f64; d]; params.folds * k];
    for (i, &f) in fold.iter().enumerate() {
        let xi = x(i);
        let s = f * k + logged.actions[i];
        for r in 0..d {
            for c in 0..d {
                gram[s][r * d + c] += xi[r] * xi[c];
            }
            xr[s][r] += xi[r] * logged.rewards[i];
        }
    }
    let mut q = vec![0.0; n * k];
    for f in 0..params.folds {
        let thetas: Vec<Vec<f64>> = (0..k)
            .map(|a| {
                let mut g = vec![0.0; d * d];
                let mut b = vec![0.0; d];
                for other in (0..params.folds).filter(|&o| o != f) {
                    for (x, y) in g.iter_mut().zip(&gram[other * k + a]) {
                        *x += y;
                    }
                    for (x, y) in b.iter_mut().zip(&xr[other * k + a]) {
                        *x += y;
                    }
                }
                for i in 0..d {
                    g[i * d + i] += params.ridge;
                }
                solve_spd(&mut g, &mut b, d)?;
                Ok(b)
            })
            .collect::<Result<_>>()?;
        for i in (0..n).filter(|&i| fold[i] == f) {
            let xi = x(i);
            for a in 0..k {
                q[i * k + a] = xi.iter().zip(&thetas[a]).map(|(u, v)| u * v).sum();
            }
        }
    }
    Ok(q)
}

/// Solves `G θ = b` in place for a symmetric positive definite `G`
/// (Cholesky; ridge makes it SPD), leaving θ in `b`.
fn solve_spd(g: &mut [f64], b: &mut [f64], d: usize) -> Result<()> {
    for j in 0..d {
        let mut s = g[j * d + j];
        for k in 0..j {
            s -= g[j * d + k] * g[j * d + k];
        }
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::param(
                "contexts",
                "the reward model's normal equations are not positive definite (features too large?)",
            ));
        }
        let l = s.sqrt();
        g[j * d + j] = l;
        for i in j + 1..d {
            let mut s = g[i * d + j];
            for k in 0..j {
                s -= g[i * d + k] * g[j * d + k];
            }
            g[i * d + j] = s / l;
        }
    }
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= g[i * d + k] * b[k];
        }
        b[i] = s / g[i * d + i];
    }
    for i in (0..d).rev() {
        let mut s = b[i];
        for k in i + 1..d {
            s -= g[k * d + i] * b[k];
        }
        b[i] = s / g[i * d + i];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_solve_matches_a_known_system() {
        // G = [[4, 2], [2, 3]], b = [2, 1] → θ = [0.5, 0].
        let mut g = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        solve_spd(&mut g, &mut b, 2).unwrap();
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
    }

    #[test]
    fn bad_logs_are_typed_errors() {
        let ctx = [0.0f32; 4];
        let ok = Logged {
            contexts: &ctx,
            dim: 1,
            actions: &[0, 1, 0, 1],
            propensities: &[0.5; 4],
            rewards: &[1.0, 0.0, 1.0, 0.0],
            n_actions: 2,
        };
        let target = [0.5; 8];
        let p = OpeParams::default().folds(2).bootstrap(10);
        assert!(evaluate_policy(&ok, &target, &p).is_ok());
        let bad_p = [0.5, 0.0, 0.5, 0.5];
        let bad_r = [1.0, f64::NAN, 1.0, 0.0];
        let bad_a = [0, 2, 0, 1];
        let cases = [
            Logged {
                propensities: &bad_p,
                ..ok
            },
            Logged {
                rewards: &bad_r,
                ..ok
            },
            Logged {
                actions: &bad_a,
                ..ok
            },
            Logged {
                rewards: &[1.0],
                ..ok
            },
            Logged { dim: 2, ..ok },
        ];
        for c in cases {
            assert!(evaluate_policy(&c, &target, &p).is_err());
        }
        assert!(evaluate_policy(&ok, &[0.5; 6], &p).is_err());
        assert!(evaluate_policy(&ok, &[0.9; 8], &p).is_err());
        assert!(evaluate_policy(&ok, &target, &p.clone().folds(5)).is_err());
        assert!(evaluate_policy(&ok, &target, &p.clone().confidence(1.0)).is_err());
    }
}
