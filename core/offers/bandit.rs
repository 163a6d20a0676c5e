//! A contextual linear bandit: LinUCB, linear Thompson sampling and an
//! ε-greedy baseline, with Sherman–Morrison rank-1 updates, pending decisions,
//! a reward window and a default reward.
//!
//! Features: the caller's context vector `c` (e.g. the customer's ALS vector
//! or a session fold-in) with a constant 1 appended, crossed with the offer's
//! one-hot: the outer product `x ⊗ e_a`. Its Gram matrix is block-diagonal, so
//! it is stored as one ridge model of dimension `dim + 1` per offer (exactly
//! the same estimates, `K` times less memory and `(dim+1)²` work per score).
//! Offer attributes are not features yet: a new offer starts from the prior.

use super::apprentice::{ApprenticeParams, ApprenticeStatus, Lesson, Tutor};
use super::log::{DecisionLog, LoggedChoice, Record};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

/// The largest context vector accepted (each offer keeps a `(dim+1)²` matrix).
pub const MAX_DIM: usize = 1024;
/// The most candidates one call may rank.
pub const MAX_CANDIDATES: usize = 10_000;
/// The most multiply-adds one `rank` may cost (candidates × (dim+1)²): about
/// a tenth of a second.
pub const MAX_RANK_WORK: usize = 1 << 27;
/// The most numbers all offer models together may hold (2^27 `f64`s, 1 GB):
/// a `rank` that could grow them past it is refused.
pub const MAX_ARM_CELLS: usize = 1 << 27;

/// How the bandit turns estimates into a choice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Policy {
    /// Score `value × (θ·x + alpha·√(xᵀA⁻¹x))`, the argmax taken (then
    /// ε-softened: see [`BanditParams::epsilon`]).
    LinUcb { alpha: f64 },
    /// Score `value × (θ·x + scale·√(xᵀA⁻¹x)·z)`, `z ~ N(0,1)` per offer: one
    /// draw of θ ~ N(θ̂, scale²A⁻¹) seen through `x` (exact, because each
    /// offer's model is independent and sees one `x`).
    Thompson { scale: f64 },
    /// Score `value × θ·x`; exploration comes only from ε.
    EpsilonGreedy,
}

/// Bandit settings. Defaults: LinUCB (alpha 0.5) softened by ε = 0.02, so
/// every logged propensity is exact and at least ε / candidates (what
/// off-policy evaluation needs), ridge 1, seed 0, a 1-day reward window,
/// default reward 0 (an ignored offer counts as not accepted), 128 draws to
/// estimate propensities when Thompson sampling is chosen. LinUCB is the
/// default because on the simulator (`offers::tests`, 20,000 rounds, mean of
/// 5 runs) it earned 0.957 of the oracle's reward against Thompson
/// sampling's 0.924 (ε = 0.05 gave 0.929). That world is the test's, so the
/// choice was checked on two others (`OfferWorld` seeds 8 and 9: 0.947 and
/// 0.951 against 0.903 and 0.921). It also ranks several times faster
/// (Thompson sampling's propensities need the extra draws).
///
/// ```
/// use maitre::offers::{BanditParams, Policy};
/// let p = BanditParams::default().policy(Policy::LinUcb { alpha: 0.5 }).epsilon(0.05).seed(7);
/// assert!(p.validate().is_ok());
/// assert!(BanditParams::default().epsilon(1.5).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BanditParams {
    pub policy: Policy,
    /// With probability ε a slot is filled uniformly at random from the
    /// remaining candidates of its tier. Makes LinUCB's and ε-greedy's
    /// propensities exact and never 0 (which IPS needs).
    pub epsilon: f64,
    /// Ridge prior λ: each offer's A starts at λI.
    pub ridge: f64,
    pub seed: u64,
    /// Rewards later than this many seconds after the decision are rejected;
    /// [`Bandit::expire`] applies `default_reward` to decisions past it.
    pub reward_window_secs: i64,
    pub default_reward: f64,
    /// Draws used to estimate Thompson sampling's propensities.
    pub propensity_draws: usize,
    /// Decisions awaiting a reward beyond this make `rank` fail until
    /// `expire` is called (bounds memory in a service that never expires).
    pub max_pending: usize,
    /// Keep a [`DecisionLog`] (off to save memory; it grows by one record per
    /// decision until [`Bandit::take_log`]).
    pub keep_log: bool,
    /// Apprentice mode (off by default): follow a teacher's choice, given
    /// per decision, until the model matches or beats it (see
    /// [`ApprenticeParams`] and [`Bandit::rank_with_teacher`]).
    pub apprentice: Option<ApprenticeParams>,
}

impl Default for BanditParams {
    fn default() -> Self {
        BanditParams {
            policy: Policy::LinUcb { alpha: 0.5 },
            epsilon: 0.02,
            ridge: 1.0,
            seed: 0,
            reward_window_secs: 86_400,
            default_reward: 0.0,
            propensity_draws: 128,
            max_pending: 1_000_000,
            keep_log: true,
            apprentice: None,
        }
    }
}

impl BanditParams {
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }
    #[must_use]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
    #[must_use]
    pub fn ridge(mut self, ridge: f64) -> Self {
        self.ridge = ridge;
        self
    }
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    #[must_use]
    pub fn reward_window(mut self, secs: i64) -> Self {
        self.reward_window_secs = secs;
        self
    }
    #[must_use]
    pub fn default_reward(mut self, reward: f64) -> Self {
        self.default_reward = reward;
        self
    }
    #[must_use]
    pub fn propensity_draws(mut self, draws: usize) -> Self {
        self.propensity_draws = draws;
        self
    }
    #[must_use]
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n;
        self
    }
    #[must_use]
    pub fn keep_log(mut self, keep: bool) -> Self {
        self.keep_log = keep;
        self
    }

    #[must_use]
    pub fn apprentice(mut self, apprentice: ApprenticeParams) -> Self {
        self.apprentice = Some(apprentice);
        self
    }

    pub fn validate(&self) -> Result<()> {
        let finite_pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::param(
                    name,
                    format!("{v} must be finite and positive"),
                ))
            }
        };
        match self.policy {
            Policy::LinUcb { alpha } if !(alpha.is_finite() && alpha >= 0.0) => {
                return Err(Error::param(
                    "alpha",
                    format!("{alpha} must be finite and ≥ 0"),
                ))
            }
            Policy::Thompson { scale } => finite_pos("scale", scale)?,
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.epsilon) {
            return Err(Error::param(
                "epsilon",
                format!("{} must be in [0, 1]", self.epsilon),
            ));
        }
        finite_pos("ridge", self.ridge)?;
        if self.reward_window_secs <= 0 {
            return Err(Error::param(
                "reward_window_secs",
                "must be at least 1 second",
            ));
        }
        if !self.default_reward.is_finite() {
            return Err(Error::param("default_reward", "must be finite"));
        }
        if !(1..=100_000).contains(&self.propensity_draws) {
            return Err(Error::param("propensity_draws", "must be in 1..=100000"));
        }
        if self.max_pending == 0 {
            return Err(Error::param("max_pending", "must be at least 1"));
        }
        if let Some(a) = &self.apprentice {
            a.validate()?;
        }
        Ok(())
    }
}

/// One offer the bandit may choose, with what an acceptance is worth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub value: f64,
}

impl Candidate {
    pub fn new(id: impl Into<String>, value: f64) -> Self {
        Candidate {
            id: id.into(),
            value,
        }
    }
}

/// One filled slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chosen {
    pub id: String,
    /// Index into the candidates as passed.
    pub candidate: usize,
    /// Slot, 0 first.
    pub position: usize,
    /// Pass to [`Bandit::reward`].
    pub event_id: u64,
    /// Probability this candidate was chosen for this slot given the slots
    /// before it: exact for LinUCB and ε-greedy (ε-softened argmax); for
    /// Thompson sampling the frequency over `propensity_draws` draws (the
    /// actual draw included, so never 0).
    pub propensity: f64,
}

/// A candidate's score (what the policy ranked by) and estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub id: String,
    /// Policy score (UCB, sampled or mean), × value.
    pub score: f64,
    /// Estimated reward θ·x (P(accept) when rewards are 0/1).
    pub estimate: f64,
    /// √(xᵀA⁻¹x): the estimate's uncertainty.
    pub width: f64,
}

/// What [`Bandit::rank`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// `min(slots, candidates)` offers, no repeats, in slot order.
    pub chosen: Vec<Chosen>,
    /// Every candidate's score, in candidate order.
    pub scores: Vec<Scored>,
    /// The first slot's distribution over candidates (candidate order; sums to 1).
    pub probabilities: Vec<f64>,
    /// The first slot followed a teacher (apprentice mode): it holds the
    /// teacher's offer, or with probability ε an exploratory one.
    pub taught: bool,
}

/// What a reward or an expiry settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settled {
    pub event_id: u64,
    pub offer: String,
    pub customer: Option<String>,
    pub reward: f64,
    /// The default reward, applied by [`Bandit::expire`].
    pub defaulted: bool,
    pub decided_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Arm {
    pub(super) a_inv: Vec<f64>,
    pub(super) b: Vec<f64>,
    pub(super) theta: Vec<f64>,
    pub(super) pulls: u64,
}

impl Arm {
    fn prior(n: usize, ridge: f64) -> Arm {
        let mut a_inv = vec![0.0; n * n];
        for i in 0..n {
            a_inv[i * n + i] = 1.0 / ridge;
        }
        Arm {
            a_inv,
            b: vec![0.0; n],
            theta: vec![0.0; n],
            pulls: 0,
        }
    }

    /// (θ·x, xᵀA⁻¹x). A⁻¹ is symmetric, so the quadratic form reads only
    /// the upper triangle (half the multiply-adds), and a zero feature skips
    /// its row (one-hot contexts cost a few rows, not `n`). On x86-64 with
    /// AVX2 the same code is compiled four doubles wide: no fused
    /// multiply-adds and the same summation order, so both paths give the
    /// same bits.
    /// `z` is scratch space (reused across offers by the caller).
    fn estimate(&self, x: &[f64], z: &mut Vec<f64>) -> (f64, f64) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked on the line above.
            return unsafe { estimate_avx2(&self.theta, &self.a_inv, x, z) };
        }
        estimate_portable(&self.theta, &self.a_inv, x, z)
    }

    /// Sherman–Morrison: (A + xxᵀ)⁻¹ = A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x).
    fn update(&mut self, x: &[f64], r: f64) {
        self.apply(x, r, 1.0);
        // Saturating: a count read from a foreign artifact may already be at
        // the top (found by fuzzing the artifact reader).
        self.pulls = self.pulls.saturating_add(1);
    }

    /// Takes back an earlier `update(x, r)`: A − xxᵀ by Sherman–Morrison,
    /// b − r·x. Returns false (and changes nothing) when the update cannot
    /// have been part of this model (`xᵀA⁻¹x` not below 1).
    pub(super) fn downdate(&mut self, x: &[f64], r: f64) -> bool {
        let mut z = Vec::with_capacity(x.len());
        let (_, q) = self.estimate(x, &mut z);
        if q.is_nan() || q >= 1.0 - 1e-9 || self.pulls == 0 {
            return false;
        }
        self.apply(x, r, -1.0);
        self.pulls -= 1;
        true
    }

    /// A ← A + sign·xxᵀ (through A⁻¹), b ← b + sign·r·x, θ = A⁻¹b. With
    /// sign 1 the arithmetic is exactly the original update's (×1.0 is exact).
    fn apply(&mut self, x: &[f64], r: f64, sign: f64) {
        let n = x.len();
        // u = A⁻¹x as a sum of rows (A⁻¹ is symmetric): zero features cost nothing.
        let mut u = vec![0.0; n];
        for (i, &xi) in x.iter().enumerate() {
            if xi != 0.0 {
                axpy(xi, &self.a_inv[i * n..(i + 1) * n], &mut u);
            }
        }
        let denom = 1.0 + sign * dot(&u, x);
        // The upper triangle, then mirrored: A⁻¹ stays exactly symmetric,
        // which `estimate` relies on when it reads only the upper half.
        for i in 0..n {
            let s = -(sign * u[i]) / denom;
            axpy(s, &u[i..], &mut self.a_inv[i * n + i..(i + 1) * n]);
        }
        for i in 0..n {
            for j in i + 1..n {
                self.a_inv[j * n + i] = self.a_inv[i * n + j];
            }
        }
        for (b, &xi) in self.b.iter_mut().zip(x) {
            *b += sign * r * xi;
        }
        for i in 0..n {
            self.theta[i] = dot(&self.a_inv[i * n..(i + 1) * n], &self.b);
        }
    }
}

/// [`estimate_portable`] compiled with AVX2 (not FMA: the results stay
/// bit-identical to the portable path's).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn estimate_avx2(theta: &[f64], a_inv: &[f64], x: &[f64], z: &mut Vec<f64>) -> (f64, f64) {
    estimate_portable(theta, a_inv, x, z)
}

#[inline(always)]
fn estimate_portable(theta: &[f64], a_inv: &[f64], x: &[f64], z: &mut Vec<f64>) -> (f64, f64) {
    let n = x.len();
    let mean = dot(theta, x);
    // xᵀA⁻¹x = Σ_i A_ii x_i² + 2 Σ_j x_j z_j with z_j = Σ_{i<j} x_i A_ij: the
    // strict upper triangle gathered by row-wise axpys (contiguous, no
    // horizontal sums per row; each z_j sums in row order whatever the
    // vector width).
    z.clear();
    z.resize(n, 0.0);
    let mut diag = 0.0;
    let mut i = 0;
    // A dense context goes four rows at a time, so each z_j is loaded and
    // stored once per four rows; a sparse one (one-hot) visits only its
    // non-zero rows. Which path runs depends on `x` alone.
    if 4 * x.iter().filter(|&&v| v != 0.0).count() >= n {
        while i + 4 <= n {
            let (x0, x1, x2, x3) = (x[i], x[i + 1], x[i + 2], x[i + 3]);
            let r0 = &a_inv[i * n..(i + 1) * n];
            let r1 = &a_inv[(i + 1) * n..(i + 2) * n];
            let r2 = &a_inv[(i + 2) * n..(i + 3) * n];
            let r3 = &a_inv[(i + 3) * n..(i + 4) * n];
            diag += r0[i] * x0 * x0;
            diag += r1[i + 1] * x1 * x1;
            diag += r2[i + 2] * x2 * x2;
            diag += r3[i + 3] * x3 * x3;
            z[i + 1] += x0 * r0[i + 1];
            z[i + 2] += x0 * r0[i + 2] + x1 * r1[i + 2];
            z[i + 3] += x0 * r0[i + 3] + x1 * r1[i + 3] + x2 * r2[i + 3];
            let rest = i + 4;
            for ((((zj, a), b), c), d) in z[rest..]
                .iter_mut()
                .zip(&r0[rest..])
                .zip(&r1[rest..])
                .zip(&r2[rest..])
                .zip(&r3[rest..])
            {
                *zj += x0 * a + x1 * b + x2 * c + x3 * d;
            }
            i += 4;
        }
    }
    for (i, &xi) in x.iter().enumerate().skip(i) {
        if xi == 0.0 {
            continue;
        }
        let row = &a_inv[i * n..(i + 1) * n];
        diag += row[i] * xi * xi;
        axpy(xi, &row[i + 1..], &mut z[i + 1..]);
    }
    let quad = diag + 2.0 * dot(z, x);
    (mean, quad.max(0.0))
}

/// The kernels' eight-accumulator dot in `f64` (a plain `zip().sum()` is one
/// serial chain of additions: scoring 50 offers at 64 dimensions took 65 µs
/// that way); the ridge inverses stay `f64` (thousands of rank-1 updates).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    crate::kernels::dot_f64(&a[..n], &b[..n])
}

/// `y += s·x`.
#[inline(always)]
fn axpy(s: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += s * x;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pending {
    pub(super) offer: String,
    pub(super) x: Vec<f64>,
    pub(super) decided_at: i64,
    pub(super) customer: Option<String>,
    /// Set on the first slot of a decision that followed a teacher.
    pub(super) lesson: Option<Lesson>,
}

#[derive(Debug, Default)]
pub(super) struct Outstanding {
    pub(super) pending: BTreeMap<u64, Pending>,
    pub(super) log: DecisionLog,
    pub(super) tutor: Tutor,
}

/// Extra facts the offer engine attaches to a decision's log record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub customer: Option<String>,
    pub rules: Vec<String>,
    /// The teacher's choice for the first slot (a candidate index), in
    /// apprentice mode.
    pub teacher: Option<usize>,
}

/// A contextual bandit shared between threads: `rank`, `reward` and `expire`
/// take `&self`. The model sits behind an `RwLock` (many `rank`s read it at
/// once; a `reward` writes it), decisions awaiting a reward and the log
/// behind a `Mutex` taken briefly. `Bandit` is `Send + Sync`.
///
/// Determinism: a decision's random numbers come from the ChaCha8 stream
/// numbered by its first event id under the seed, so the same seed, data and
/// call order give the same decisions.
///
/// ```
/// use maitre::offers::{Bandit, BanditParams, Candidate};
/// let bandit = Bandit::new(2, BanditParams::default().seed(1))?;
/// let offers = [Candidate::new("a", 1.0), Candidate::new("b", 2.0)];
/// let r = bandit.rank(&[0.3, -0.1], &offers, 1, 1_000)?;
/// assert_eq!(r.chosen.len(), 1);
/// assert!((r.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
/// bandit.reward(r.chosen[0].event_id, 1.0, 1_060)?;
/// assert!(bandit.reward(r.chosen[0].event_id, 1.0, 1_070).is_err()); // already settled
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug)]
pub struct Bandit {
    dim: usize,
    params: BanditParams,
    pub(super) arms: RwLock<HashMap<String, Arm>>,
    pub(super) outstanding: Mutex<Outstanding>,
    pub(super) next_event: AtomicU64,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-applied update (all
    // validation happens before mutation), so a poisoned lock is still sound.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Box–Muller: `n` standard normals, two from each pair of uniforms (the
/// transcendental functions are most of a Thompson decision's time).
fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        out.push(r * cos);
        out.push(r * sin);
    }
    out.truncate(n);
    out
}

impl Bandit {
    /// A bandit over context vectors of length `dim` (0 is allowed: a
    /// context-free bandit on the bias alone).
    pub fn new(dim: usize, params: BanditParams) -> Result<Bandit> {
        params.validate()?;
        if dim > MAX_DIM {
            return Err(Error::param("dim", format!("{dim}; at most {MAX_DIM}")));
        }
        Ok(Bandit {
            dim,
            params,
            arms: RwLock::new(HashMap::new()),
            outstanding: Mutex::new(Outstanding::default()),
            next_event: AtomicU64::new(1),
        })
    }

    pub fn params(&self) -> &BanditParams {
        &self.params
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Decisions awaiting a reward.
    pub fn pending(&self) -> usize {
        lock(&self.outstanding).pending.len()
    }

    /// Chooses `slots` offers among `candidates` for `context` at `now`.
    /// Errors (nothing changes): a context of the wrong length or not finite,
    /// no candidates, a duplicate id, a value that is negative or not
    /// finite, `slots` outside `1..=MAX_CANDIDATES` (more slots than
    /// candidates fill every candidate), too many decisions pending.
    pub fn rank(
        &self,
        context: &[f32],
        candidates: &[Candidate],
        slots: usize,
        now: i64,
    ) -> Result<Ranking> {
        let tiers = vec![(0..candidates.len()).collect::<Vec<_>>()];
        self.rank_tiers(context, candidates, &tiers, slots, now, Meta::default())
    }

    /// `rank` in apprentice mode: `teacher` is the offer an existing rule
    /// would show. Until the bandit graduates (see
    /// [`ApprenticeParams`]) the teacher's offer takes the first slot with
    /// probability `1 − apprentice.epsilon` (the rest uniformly drawn, all
    /// propensities exact) and every settled first slot is a lesson; after,
    /// and when apprentice mode is off, this is `rank`. Errors as `rank`,
    /// and a teacher that is not among the candidates.
    ///
    /// ```
    /// use maitre::offers::{ApprenticeParams, Bandit, BanditParams, Candidate};
    /// let params = BanditParams::default().apprentice(ApprenticeParams::default().epsilon(0.0));
    /// let bandit = Bandit::new(1, params)?;
    /// let offers = [Candidate::new("a", 1.0), Candidate::new("b", 5.0)];
    /// let r = bandit.rank_with_teacher(&[0.5], &offers, "a", 1, 100)?;
    /// assert_eq!(r.chosen[0].id, "a"); // the teacher's, though "b" is worth more
    /// assert_eq!(r.chosen[0].propensity, 1.0);
    /// bandit.reward(r.chosen[0].event_id, 1.0, 160)?;
    /// assert_eq!(bandit.apprentice().unwrap().lessons, 1);
    /// assert!(bandit.rank_with_teacher(&[0.5], &offers, "c", 1, 200).is_err());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn rank_with_teacher(
        &self,
        context: &[f32],
        candidates: &[Candidate],
        teacher: &str,
        slots: usize,
        now: i64,
    ) -> Result<Ranking> {
        let t = candidates
            .iter()
            .position(|c| c.id == teacher)
            .ok_or_else(|| Error::Unknown {
                what: "teacher offer (not among the candidates)",
                id: teacher.to_owned(),
            })?;
        let tiers = vec![(0..candidates.len()).collect::<Vec<_>>()];
        let meta = Meta {
            teacher: Some(t),
            ..Meta::default()
        };
        self.rank_tiers(context, candidates, &tiers, slots, now, meta)
    }

    /// Apprentice mode's progress, or `None` when it is off.
    pub fn apprentice(&self) -> Option<ApprenticeStatus> {
        let params = self.params.apprentice.as_ref()?;
        Some(lock(&self.outstanding).tutor.status(params))
    }

    /// The distribution the current model would choose the first slot
    /// with, over `candidates` in `context`, recording nothing: the target
    /// policy's action probabilities for [`super::evaluate_policy`] (e.g. on
    /// the rounds of a [`DecisionLog`]). Exact for LinUCB and ε-greedy; for
    /// Thompson sampling the mean over `propensity_draws` seeded draws (the
    /// same for the same seed, model and input).
    ///
    /// ```
    /// use maitre::offers::{Bandit, BanditParams, Candidate};
    /// let b = Bandit::new(1, BanditParams::default())?;
    /// let c = [Candidate::new("a", 1.0), Candidate::new("b", 3.0)];
    /// let p = b.probabilities(&[0.5], &c)?;
    /// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// assert!(p[1] > p[0]); // same prior estimate, three times the value
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn probabilities(&self, context: &[f32], candidates: &[Candidate]) -> Result<Vec<f64>> {
        let x = self.features(context)?;
        validate_candidates(candidates)?;
        check_work(candidates.len(), x.len())?;
        let (means, widths) = {
            let arms = self.arms.read().unwrap_or_else(|e| e.into_inner());
            let mut z = Vec::with_capacity(x.len());
            candidates
                .iter()
                .map(|c| self.estimate_arm(arms.get(&c.id), &x, &mut z))
                .unzip::<f64, f64, Vec<f64>, Vec<f64>>()
        };
        let tiers = vec![(0..candidates.len()).collect::<Vec<_>>()];
        let eps = self.params.epsilon;
        let mut rng = ChaCha8Rng::seed_from_u64(self.params.seed);
        // Stream 0 is never a decision's (event ids start at 1).
        rng.set_stream(0);
        match self.params.policy {
            Policy::Thompson { scale } => {
                let m = self.params.propensity_draws;
                let mut dist = vec![0.0; candidates.len()];
                for _ in 0..m {
                    let s: Vec<f64> = candidates
                        .iter()
                        .zip(normals(&mut rng, candidates.len()))
                        .enumerate()
                        .map(|(i, (c, z))| c.value * (means[i] + scale * widths[i] * z))
                        .collect();
                    let (_, _, d) = select(&s, &tiers, 1, eps, None, &mut rng);
                    for (a, b) in dist.iter_mut().zip(&d) {
                        *a += b / m as f64;
                    }
                }
                Ok(dist)
            }
            policy => {
                let s = value_scores(policy, candidates, &means, &widths);
                Ok(select(&s, &tiers, 1, eps, None, &mut rng).2)
            }
        }
    }

    /// `rank` with candidates grouped in priority tiers: slots are filled
    /// from the first tier with candidates left.
    pub(crate) fn rank_tiers(
        &self,
        context: &[f32],
        candidates: &[Candidate],
        tiers: &[Vec<usize>],
        slots: usize,
        now: i64,
        meta: Meta,
    ) -> Result<Ranking> {
        let x = self.features(context)?;
        validate_candidates(candidates)?;
        if slots == 0 || slots > MAX_CANDIDATES {
            return Err(Error::param(
                "slots",
                format!("{slots} must be in 1..={MAX_CANDIDATES} (more than the candidates fills them all)"),
            ));
        }
        let graduated = {
            let out = lock(&self.outstanding);
            if out.pending.len() >= self.params.max_pending {
                return Err(Error::param(
                    "max_pending",
                    format!(
                        "{} decisions await a reward; call expire(now) to settle old ones",
                        self.params.max_pending
                    ),
                ));
            }
            out.tutor.graduated.is_some()
        };
        check_work(candidates.len(), x.len())?;
        let (means, widths) = {
            let arms = self.arms.read().unwrap_or_else(|e| e.into_inner());
            // Every chosen offer may become a model of (dim+1)² numbers:
            // refuse to track more than MAX_ARM_CELLS in all.
            // One look-up per candidate serves both the count and the estimate.
            let mut new = 0;
            let mut z = Vec::with_capacity(x.len());
            let estimates: (Vec<f64>, Vec<f64>) = candidates
                .iter()
                .map(|c| {
                    let arm = arms.get(&c.id);
                    new += usize::from(arm.is_none());
                    self.estimate_arm(arm, &x, &mut z)
                })
                .unzip();
            let models = (arms.len() + new).saturating_mul(x.len() * x.len());
            if models > MAX_ARM_CELLS {
                return Err(Error::param(
                    "candidates",
                    format!(
                        "{} offer models of {}² numbers would exceed {MAX_ARM_CELLS} cells",
                        arms.len() + new,
                        x.len()
                    ),
                ));
            }
            estimates
        };
        let slots = slots.min(candidates.len());
        let first = self.next_event.fetch_add(slots as u64, Ordering::Relaxed);
        let mut rng = ChaCha8Rng::seed_from_u64(self.params.seed);
        rng.set_stream(first);
        let eps = self.params.epsilon;
        let base = value_scores(self.params.policy, candidates, &means, &widths);
        let sample = |rng: &mut ChaCha8Rng| -> Vec<f64> {
            match self.params.policy {
                Policy::Thompson { scale } => candidates
                    .iter()
                    .zip(normals(rng, candidates.len()))
                    .enumerate()
                    .map(|(i, (c, z))| c.value * (means[i] + scale * widths[i] * z))
                    .collect(),
                _ => base.clone(),
            }
        };
        // Apprentice: the teacher leads the first slot while the model learns
        // (only from the tier the contact policy puts first).
        // The model's own choice is its best estimate × value (no bonus).
        let q = |i: usize| candidates[i].value * means[i];
        let lead = match (&self.params.apprentice, meta.teacher) {
            (Some(a), Some(teacher)) if !graduated => tiers
                .iter()
                .find(|t| !t.is_empty())
                .filter(|tier| tier.contains(&teacher))
                .map(|tier| Lead {
                    teacher,
                    model: tier
                        .iter()
                        .copied()
                        .fold(tier[0], |b, i| if q(i) > q(b) { i } else { b }),
                    epsilon: a.epsilon,
                }),
            _ => None,
        };
        let scores = sample(&mut rng);
        let (picks, conditional, first_dist) = select(&scores, tiers, slots, eps, lead, &mut rng);
        // Apprentice mode's first slot has an exact distribution under every
        // policy (Thompson's draws do not move it).
        let exact_first = lead.map(|_| first_dist.clone());
        let (propensities, probabilities) = match self.params.policy {
            Policy::Thompson { .. } => {
                // Propensities of a sampled argmax have no closed form over
                // many offers: estimate them from further draws, the actual
                // one included, averaging the exact ε-part of each.
                let m = self.params.propensity_draws;
                let mut dist = first_dist;
                let mut at: Vec<f64> = vec![1.0; picks.len()];
                for _ in 1..m {
                    let s = sample(&mut rng);
                    let (p, _, d) = select(&s, tiers, slots, eps, lead, &mut rng);
                    for (a, b) in dist.iter_mut().zip(&d) {
                        *a += b;
                    }
                    for (j, &pick) in picks.iter().enumerate() {
                        at[j] += f64::from(u8::from(p.get(j) == Some(&pick)));
                    }
                }
                let m = m as f64;
                (
                    at.iter().map(|a| a / m).collect::<Vec<_>>(),
                    dist.iter().map(|a| a / m).collect(),
                )
            }
            _ => (conditional, first_dist),
        };
        let (propensities, probabilities) = match exact_first {
            Some(first) => {
                let mut propensities = propensities;
                propensities[0] = first[picks[0]];
                (propensities, first)
            }
            None => (propensities, probabilities),
        };
        let chosen: Vec<Chosen> = picks
            .iter()
            .enumerate()
            .map(|(pos, &i)| Chosen {
                id: candidates[i].id.clone(),
                candidate: i,
                position: pos,
                event_id: first + pos as u64,
                propensity: propensities[pos],
            })
            .collect();
        let scored = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| Scored {
                id: c.id.clone(),
                score: scores[i],
                estimate: means[i],
                width: widths[i],
            })
            .collect();
        let lesson = lead.map(|lead| {
            let served = picks[0];
            Lesson {
                agreed: lead.model == lead.teacher,
                q_model: q(lead.model),
                q_teacher: q(lead.teacher),
                q_served: q(served),
                value: candidates[served].value,
                propensity: probabilities[served],
                served_model: served == lead.model,
                served_teacher: served == lead.teacher,
            }
        });
        let mut out = lock(&self.outstanding);
        for c in &chosen {
            out.pending.insert(
                c.event_id,
                Pending {
                    offer: c.id.clone(),
                    x: x.clone(),
                    decided_at: now,
                    customer: meta.customer.clone(),
                    lesson: lesson.filter(|_| c.position == 0),
                },
            );
        }
        if self.params.keep_log {
            out.log.push(Record {
                decision: first,
                timestamp: now,
                customer: meta.customer,
                context: context.to_vec(),
                candidates: candidates.iter().map(|c| c.id.clone()).collect(),
                values: candidates.iter().map(|c| c.value).collect(),
                probabilities: probabilities.clone(),
                chosen: chosen
                    .iter()
                    .map(|c| LoggedChoice {
                        offer: c.id.clone(),
                        candidate: c.candidate,
                        position: c.position,
                        event_id: c.event_id,
                        propensity: c.propensity,
                        reward: None,
                        rewarded_at: None,
                        defaulted: false,
                    })
                    .collect(),
                rules: meta.rules,
            });
        }
        drop(out);
        Ok(Ranking {
            chosen,
            scores: scored,
            probabilities,
            taught: lead.is_some(),
        })
    }

    pub(super) fn features(&self, context: &[f32]) -> Result<Vec<f64>> {
        if context.len() != self.dim {
            return Err(Error::LengthMismatch {
                name: "context".into(),
                expected: self.dim,
                got: context.len(),
            });
        }
        if let Some(i) = context.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "context",
                format!("element {i} is {}, not finite", context[i]),
            ));
        }
        let mut x: Vec<f64> = context.iter().map(|&v| f64::from(v)).collect();
        x.push(1.0);
        Ok(x)
    }

    /// Learns from the outcome of decision `event_id`: `value` is the reward
    /// (1 accepted, 0 declined; any finite number is learned as given). The
    /// model learns E[reward | context, offer]; ranking multiplies it by the
    /// offer's value. Errors (nothing changes): an unknown, already rewarded
    /// or expired event id; a value that is not finite; `now` before the
    /// decision or at/after the end of its reward window (the decision stays
    /// pending: [`Bandit::expire`] applies the default reward).
    pub fn reward(&self, event_id: u64, value: f64, now: i64) -> Result<Settled> {
        if !value.is_finite() {
            return Err(Error::param(
                "value",
                format!("{value} is not a finite reward"),
            ));
        }
        let mut out = lock(&self.outstanding);
        let p = out.pending.get(&event_id).ok_or_else(|| Error::Unknown {
            what: "decision event id (never issued, already rewarded or expired)",
            id: event_id.to_string(),
        })?;
        if now < p.decided_at {
            return Err(Error::param(
                "now",
                format!("{now} is before the decision at {}", p.decided_at),
            ));
        }
        let window = self.params.reward_window_secs;
        // Saturating: a decision at i64::MIN rewarded at i64::MAX is late, not an overflow.
        if now.saturating_sub(p.decided_at) >= window {
            return Err(Error::param(
                "now",
                format!(
                    "the reward arrived {}s after the decision; the window is {window}s \
                     (expire(now) applies the default reward)",
                    now.saturating_sub(p.decided_at)
                ),
            ));
        }
        let p = out.pending.remove(&event_id).expect("checked above");
        self.learn(&p, value);
        self.grade(&mut out, &p, value);
        out.log.settle(event_id, value, now, false);
        Ok(Settled {
            event_id,
            offer: p.offer,
            customer: p.customer,
            reward: value,
            defaulted: false,
            decided_at: p.decided_at,
        })
    }

    fn learn(&self, p: &Pending, value: f64) {
        let mut arms = self.arms.write().unwrap_or_else(|e| e.into_inner());
        let n = p.x.len();
        arms.entry(p.offer.clone())
            .or_insert_with(|| Arm::prior(n, self.params.ridge))
            .update(&p.x, value);
    }

    fn grade(&self, out: &mut Outstanding, p: &Pending, reward: f64) {
        if let (Some(lesson), Some(params)) = (&p.lesson, &self.params.apprentice) {
            out.tutor.record(params, lesson.grade(reward));
        }
    }

    /// Applies the default reward to every decision whose window has closed
    /// at `now` (decided at or before `now − reward_window_secs`), in event id
    /// order, and returns them.
    pub fn expire(&self, now: i64) -> Result<Vec<Settled>> {
        let mut out = lock(&self.outstanding);
        let window = self.params.reward_window_secs;
        let due: Vec<u64> = out
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.decided_at) >= window)
            .map(|(&id, _)| id)
            .collect();
        let r = self.params.default_reward;
        let mut settled = Vec::with_capacity(due.len());
        for id in due {
            let p = out.pending.remove(&id).expect("listed above");
            self.learn(&p, r);
            self.grade(&mut out, &p, r);
            out.log.settle(id, r, now, true);
            settled.push(Settled {
                event_id: id,
                offer: p.offer,
                customer: p.customer,
                reward: r,
                defaulted: true,
                decided_at: p.decided_at,
            });
        }
        Ok(settled)
    }

    /// The decision log so far (a copy).
    pub fn log(&self) -> DecisionLog {
        lock(&self.outstanding).log.clone()
    }

    /// Takes the decision log, leaving it empty (records of decisions still
    /// pending then miss their reward).
    pub fn take_log(&self) -> DecisionLog {
        std::mem::take(&mut lock(&self.outstanding).log)
    }

    /// The current estimate and uncertainty for an offer in a context.
    pub fn estimate(&self, context: &[f32], offer: &str) -> Result<(f64, f64)> {
        let x = self.features(context)?;
        let arms = self.arms.read().unwrap_or_else(|e| e.into_inner());
        Ok(self.estimate_arm(arms.get(offer), &x, &mut Vec::new()))
    }

    /// (θ·x, √(xᵀA⁻¹x)); an offer never rewarded is at the prior θ = 0,
    /// A⁻¹ = I/λ, computed without building its matrix.
    fn estimate_arm(&self, arm: Option<&Arm>, x: &[f64], z: &mut Vec<f64>) -> (f64, f64) {
        match arm {
            Some(arm) => {
                let (m, q) = arm.estimate(x, z);
                (m, q.sqrt())
            }
            None => (0.0, (dot(x, x) / self.params.ridge).sqrt()),
        }
    }
}

fn validate_candidates(candidates: &[Candidate]) -> Result<()> {
    if candidates.is_empty() {
        return Err(Error::NotEnoughData("no candidate offers to rank".into()));
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(Error::param(
            "candidates",
            format!("{}; at most {MAX_CANDIDATES}", candidates.len()),
        ));
    }
    let mut seen = HashSet::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        if !seen.insert(c.id.as_str()) {
            return Err(Error::param(
                "candidates",
                format!("offer {:?} appears twice (at {i})", c.id),
            ));
        }
        if !(c.value.is_finite() && c.value >= 0.0) {
            return Err(Error::param(
                format!("candidates[{i}].value"),
                format!("{} must be finite and non-negative", c.value),
            ));
        }
    }
    Ok(())
}

/// Fills `slots` slots from `tiers` by ε-softened argmax of `scores`
/// (ties: the earlier candidate). Returns the picks, each pick's probability
/// given the earlier picks, and the first slot's distribution. With a
/// `lead` (apprentice mode) the first slot is instead its teacher with
/// probability `1 − ε`, its model's choice with `ε/2` and uniform with `ε/2`.
fn select(
    scores: &[f64],
    tiers: &[Vec<usize>],
    slots: usize,
    eps: f64,
    lead: Option<Lead>,
    rng: &mut ChaCha8Rng,
) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let mut taken = vec![false; scores.len()];
    let mut picks = Vec::with_capacity(slots);
    let mut props = Vec::with_capacity(slots);
    let mut first = vec![0.0; scores.len()];
    for slot in 0..slots {
        let Some(tier) = tiers
            .iter()
            .map(|t| t.iter().copied().filter(|&i| !taken[i]).collect::<Vec<_>>())
            .find(|t| !t.is_empty())
        else {
            break;
        };
        if let (Some(lead), 0) = (lead, slot) {
            let uniform = lead.epsilon / 2.0 / tier.len() as f64;
            let mass = |i: usize| {
                uniform
                    + if i == lead.model {
                        lead.epsilon / 2.0
                    } else {
                        0.0
                    }
                    + if i == lead.teacher {
                        1.0 - lead.epsilon
                    } else {
                        0.0
                    }
            };
            let u = rng.random::<f64>();
            let pick = if u < 1.0 - lead.epsilon {
                lead.teacher
            } else if u < 1.0 - lead.epsilon / 2.0 {
                lead.model
            } else {
                tier[rng.random_range(0..tier.len())]
            };
            for &i in &tier {
                first[i] = mass(i);
            }
            taken[pick] = true;
            picks.push(pick);
            props.push(mass(pick));
            continue;
        }
        let greedy = tier
            .iter()
            .copied()
            .fold(None, |best: Option<usize>, i| match best {
                Some(b) if scores[b] >= scores[i] => Some(b),
                _ => Some(i),
            })
            .expect("tier is not empty");
        let uniform = eps / tier.len() as f64;
        let pick = if eps > 0.0 && rng.random::<f64>() < eps {
            tier[rng.random_range(0..tier.len())]
        } else {
            greedy
        };
        let p = uniform + if pick == greedy { 1.0 - eps } else { 0.0 };
        if slot == 0 {
            for &i in &tier {
                first[i] = uniform + if i == greedy { 1.0 - eps } else { 0.0 };
            }
        }
        taken[pick] = true;
        picks.push(pick);
        props.push(p);
    }
    (picks, props, first)
}

/// Apprentice mode's first slot: candidates of the first tier.
#[derive(Debug, Clone, Copy)]
struct Lead {
    teacher: usize,
    /// The model's greedy choice (best estimate × value).
    model: usize,
    epsilon: f64,
}

/// One call costs candidates × (dim+1)² multiply-adds: bounded, so a hostile
/// size is an error rather than a stall.
fn check_work(candidates: usize, features: usize) -> Result<()> {
    let work = candidates.saturating_mul(features.saturating_mul(features));
    if work > MAX_RANK_WORK {
        return Err(Error::param(
            "candidates",
            format!(
                "{candidates} candidates × {features}² features exceeds {MAX_RANK_WORK} operations per call"
            ),
        ));
    }
    Ok(())
}

/// Each candidate's score to rank by: its value times its estimated
/// acceptance, optimistic by `alpha` widths under LinUCB.
fn value_scores(
    policy: Policy,
    candidates: &[Candidate],
    means: &[f64],
    widths: &[f64],
) -> Vec<f64> {
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.value
                * match policy {
                    Policy::LinUcb { alpha } => means[i] + alpha * widths[i],
                    _ => means[i],
                }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn shares_between_threads() {
        assert_send_sync::<Bandit>();
    }

    #[test]
    fn sherman_morrison_matches_the_direct_inverse() {
        let mut arm = Arm::prior(3, 2.0);
        let xs = [
            [1.0, 0.5, 1.0],
            [-0.3, 2.0, 1.0],
            [0.7, 0.1, 1.0],
            [0.2, -1.0, 1.0],
        ];
        for (k, x) in xs.iter().enumerate() {
            arm.update(x, k as f64);
        }
        // A = 2I + Σ xxᵀ; A · A⁻¹ must be I.
        let mut a = [[0.0f64; 3]; 3];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = 2.0;
        }
        for x in &xs {
            for (row, xi) in a.iter_mut().zip(x) {
                for (cell, xj) in row.iter_mut().zip(x) {
                    *cell += xi * xj;
                }
            }
        }
        for (i, row) in a.iter().enumerate() {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| row[k] * arm.a_inv[k * 3 + j]).sum();
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-12, "{v}");
            }
        }
    }

    #[test]
    fn the_half_matrix_quadratic_form_is_the_full_one() {
        let n = 9;
        let mut arm = Arm::prior(n, 1.5);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for t in 0..40 {
            // Some features exactly 0, as in one-hot contexts.
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    if (i + t) % 3 == 0 {
                        0.0
                    } else {
                        rng.random::<f64>() - 0.5
                    }
                })
                .collect();
            arm.update(&x, f64::from(u8::from(t % 4 == 0)));
        }
        for i in 0..n {
            for j in 0..n {
                assert_eq!(arm.a_inv[i * n + j], arm.a_inv[j * n + i]);
            }
        }
        let dense: Vec<f64> = (0..n)
            .map(|i| {
                if i == 4 {
                    0.0
                } else {
                    rng.random::<f64>() * 2.0 - 1.0
                }
            })
            .collect();
        // One-hot-like: the sparse path (rows of zero features skipped).
        let mut sparse = vec![0.0; n];
        sparse[2] = 1.0;
        sparse[7] = -0.5;
        for x in [dense, sparse] {
            let full: f64 = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| x[i] * arm.a_inv[i * n + j] * x[j])
                        .sum::<f64>()
                })
                .sum();
            let mean: f64 = (0..n).map(|i| arm.theta[i] * x[i]).sum();
            let (m, q) = arm.estimate(&x, &mut Vec::new());
            assert!(
                (q - full).abs() < 1e-12 * full.abs().max(1.0),
                "{q} vs {full}"
            );
            assert!((m - mean).abs() < 1e-12, "{m} vs {mean}");
            // The portable and the AVX2 build of the same code give the same bits.
            assert_eq!(
                estimate_portable(&arm.theta, &arm.a_inv, &x, &mut Vec::new()),
                (m, q)
            );
        }
    }

    #[test]
    fn epsilon_greedy_propensities_are_exact() {
        let b = Bandit::new(
            1,
            BanditParams::default()
                .policy(Policy::EpsilonGreedy)
                .epsilon(0.2),
        )
        .unwrap();
        let c: Vec<Candidate> = (0..4)
            .map(|i| Candidate::new(format!("o{i}"), 1.0))
            .collect();
        let r = b.rank(&[1.0], &c, 2, 0).unwrap();
        // Untrained: all tie, the first is greedy.
        assert!((r.probabilities[0] - 0.85).abs() < 1e-12);
        assert!((r.probabilities[1] - 0.05).abs() < 1e-12);
        let second = r.chosen[1].propensity;
        assert!(second == 0.2 / 3.0 || (second - (0.8 + 0.2 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn same_seed_same_decisions() {
        let run = |seed| {
            let b = Bandit::new(
                2,
                BanditParams::default()
                    .policy(Policy::Thompson { scale: 0.5 })
                    .seed(seed),
            )
            .unwrap();
            let c: Vec<Candidate> = (0..5)
                .map(|i| Candidate::new(format!("o{i}"), 1.0))
                .collect();
            (0..50)
                .map(|t| {
                    let r = b.rank(&[0.5, -0.5], &c, 2, t).unwrap();
                    b.reward(r.chosen[0].event_id, (t % 3 == 0) as u8 as f64, t)
                        .unwrap();
                    (
                        r.chosen[0].id.clone(),
                        r.chosen[1].id.clone(),
                        r.chosen[0].propensity,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn bad_calls_are_typed_errors_and_change_nothing() {
        let b = Bandit::new(2, BanditParams::default().reward_window(100)).unwrap();
        let c = [Candidate::new("a", 1.0), Candidate::new("b", 1.0)];
        let r = b.rank(&[0.1, 0.2], &c, 1, 1_000).unwrap();
        let id = r.chosen[0].event_id;
        let before = b.estimate(&[0.1, 0.2], &r.chosen[0].id).unwrap();
        let bad = [
            b.rank(&[0.1], &c, 1, 0).err(),
            b.rank(&[f32::NAN, 0.0], &c, 1, 0).err(),
            b.rank(&[0.1, 0.2], &[], 1, 0).err(),
            b.rank(&[0.1, 0.2], &[c[0].clone(), c[0].clone()], 1, 0)
                .err(),
            b.rank(&[0.1, 0.2], &[Candidate::new("z", f64::NAN)], 1, 0)
                .err(),
            b.rank(&[0.1, 0.2], &c, 0, 0).err(),
            b.rank(&[0.1, 0.2], &c, MAX_CANDIDATES + 1, 0).err(),
            b.reward(id + 99, 1.0, 1_001).err(),
            b.reward(id, f64::NAN, 1_001).err(),
            b.reward(id, f64::INFINITY, 1_001).err(),
            b.reward(id, 1.0, 999).err(),
            b.reward(id, 1.0, 1_100).err(),
        ];
        for e in bad {
            assert!(e.is_some());
        }
        assert_eq!(b.pending(), 1);
        assert_eq!(b.log().records().len(), 1);
        assert_eq!(b.estimate(&[0.1, 0.2], &r.chosen[0].id).unwrap(), before);
        // Expiry applies the default reward once.
        assert!(b.expire(1_099).unwrap().is_empty());
        let s = b.expire(1_100).unwrap();
        assert_eq!(s.len(), 1);
        assert!(s[0].defaulted);
        assert_eq!(b.pending(), 0);
        assert!(matches!(
            b.reward(id, 1.0, 1_050),
            Err(Error::Unknown { .. })
        ));
    }

    #[test]
    fn ranks_and_rewards_from_many_threads() {
        let b = Bandit::new(2, BanditParams::default().seed(9)).unwrap();
        let c: Vec<Candidate> = (0..6)
            .map(|i| Candidate::new(format!("o{i}"), 1.0))
            .collect();
        let ids = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..4 {
                let (b, c, ids) = (&b, &c, &ids);
                s.spawn(move || {
                    for i in 0..250 {
                        let r = b.rank(&[0.1 * t as f32, 0.5], c, 2, i).unwrap();
                        b.reward(r.chosen[0].event_id, (i % 2) as f64, i).unwrap();
                        ids.lock()
                            .unwrap()
                            .extend(r.chosen.iter().map(|x| x.event_id));
                    }
                });
            }
        });
        let mut ids = ids.into_inner().unwrap();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 2_000, "event ids are unique across threads");
        assert_eq!(b.pending(), 1_000, "second slots await their reward");
        assert_eq!(b.log().len(), 1_000);
        assert_eq!(b.expire(i64::MAX).unwrap().len(), 1_000);
    }

    #[test]
    fn hostile_sizes_are_refused() {
        let b = Bandit::new(MAX_DIM, BanditParams::default()).unwrap();
        let c: Vec<Candidate> = (0..200)
            .map(|i| Candidate::new(format!("o{i}"), 1.0))
            .collect();
        assert!(matches!(
            b.rank(&vec![0.0; MAX_DIM], &c, 1, 0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(Bandit::new(MAX_DIM + 1, BanditParams::default()).is_err());
    }

    #[test]
    fn probabilities_match_what_rank_logs_and_record_nothing() {
        let b = Bandit::new(1, BanditParams::default().epsilon(0.1)).unwrap();
        let c: Vec<Candidate> = (0..4)
            .map(|i| Candidate::new(format!("o{i}"), 1.0))
            .collect();
        for t in 0..40 {
            let r = b.rank(&[0.5], &c, 1, t).unwrap();
            b.reward(
                r.chosen[0].event_id,
                f64::from(u8::from(r.chosen[0].candidate == 2)),
                t,
            )
            .unwrap();
        }
        let p = b.probabilities(&[0.5], &c).unwrap();
        let before = (b.pending(), b.log().len());
        let r = b.rank(&[0.5], &c, 1, 50).unwrap();
        assert_eq!(p, r.probabilities);
        assert!((p[2] - (0.9 + 0.025)).abs() < 1e-12, "{p:?}");
        assert_eq!((before.0 + 1, before.1 + 1), (b.pending(), b.log().len()));
        let ts = Bandit::new(
            1,
            BanditParams::default().policy(Policy::Thompson { scale: 0.5 }),
        )
        .unwrap();
        let q = ts.probabilities(&[0.5], &c).unwrap();
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(q, ts.probabilities(&[0.5], &c).unwrap());
        assert!(b.probabilities(&[0.5], &[]).is_err());
    }

    #[test]
    fn pending_is_bounded() {
        let b = Bandit::new(0, BanditParams::default().max_pending(2)).unwrap();
        let c = [Candidate::new("a", 1.0)];
        b.rank(&[], &c, 1, 0).unwrap();
        b.rank(&[], &c, 1, 0).unwrap();
        assert!(b.rank(&[], &c, 1, 0).is_err());
        b.expire(86_400).unwrap();
        assert!(b.rank(&[], &c, 1, 86_400).is_ok());
    }
}
