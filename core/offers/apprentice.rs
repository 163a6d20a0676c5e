//! Apprentice mode: the bandit serves an existing rule's choice (the
//! *teacher*) while it learns, and takes over once the evidence says it is
//! at least as good.
//!
//! Why it is built this way (a first version that served the teacher every
//! time and graduated on raw agreement never graduated: each offer's model
//! saw only the contexts in which the teacher picked it, so it could not
//! judge that offer anywhere else):
//! - the teacher's offer fills the first slot with probability `1 − ε`; with
//!   `ε/2` the model's own choice does, so the comparison below rests on
//!   more than a few rounds, and with `ε/2` a uniformly drawn candidate of
//!   the same tier, so every offer is seen in every context. Every logged
//!   propensity is exact (the apprentice's decision log feeds
//!   `evaluate_policy` as it is);
//! - each settled decision is a *lesson*: whether the model's own greedy
//!   choice (best estimate × value at decision time, no exploration bonus)
//!   was the teacher's, and a doubly robust estimate of both policies'
//!   value on that decision, `q(π) + (r·v − q(a))·1[a = π]/p(a)`, with `q`
//!   the model's estimates *at decision time*. With exact propensities that
//!   estimate is unbiased whatever `q` is, so the model is not graded by its
//!   own opinion;
//! - the bandit graduates, for good, when a window of `window` new lessons
//!   shows agreement ≥ `agreement`, or the model's value above the
//!   teacher's by more than three standard errors of the mean paired
//!   difference. The test runs once per window, not at every lesson: a test
//!   repeated thousands of times passes by chance sooner or later (a first
//!   version that did graduated past a perfect teacher).
//!
//! A perfect teacher is never beaten, so an apprentice of one graduates only
//! through agreement; an apprentice of a weak rule graduates on value.
//!
//! Depends on `error` only (the bandit calls in).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Standard errors by which the model's value must exceed the teacher's.
const Z: f64 = 3.0;

/// The most lessons a window may hold.
pub const MAX_WINDOW: usize = 1_000_000;

/// Apprentice settings (in [`super::BanditParams::apprentice`]). Defaults:
/// ε 0.2, a window of 1,000 lessons, agreement 0.9 — chosen on the
/// simulator (`offers::tests`, world 7, runs 0–2) among ε 0.1/0.2/0.3 and
/// windows 500/1,000: ε 0.1 needed up to 15,000 lessons to see that a weak
/// rule was beaten, 0.3 cost a good rule's apprentice its head start, and
/// windows of 500 graduated before the model was steady.
///
/// ```
/// use maitre::offers::{ApprenticeParams, BanditParams};
/// let p = BanditParams::default().apprentice(ApprenticeParams::default().window(500));
/// assert!(p.validate().is_ok());
/// assert!(ApprenticeParams::default().epsilon(1.5).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprenticeParams {
    /// Share of first slots not given to the teacher's choice: half to the
    /// model's own choice, half to a uniformly drawn candidate (what lets
    /// the model learn the other offers and be compared with the teacher).
    pub epsilon: f64,
    /// Lessons (settled first-slot decisions that followed a teacher) the
    /// graduation test looks at; it runs only once the window is full.
    pub window: usize,
    /// Graduate when the model's greedy choice is the teacher's in at least
    /// this share of the window.
    pub agreement: f64,
}

impl Default for ApprenticeParams {
    fn default() -> Self {
        ApprenticeParams {
            epsilon: 0.2,
            window: 1_000,
            agreement: 0.9,
        }
    }
}

impl ApprenticeParams {
    #[must_use]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    #[must_use]
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    #[must_use]
    pub fn agreement(mut self, agreement: f64) -> Self {
        self.agreement = agreement;
        self
    }

    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.epsilon) {
            return Err(Error::param(
                "apprentice.epsilon",
                format!("{} must be in [0, 1]", self.epsilon),
            ));
        }
        if !(1..=MAX_WINDOW).contains(&self.window) {
            return Err(Error::param(
                "apprentice.window",
                format!("{} must be in 1..={MAX_WINDOW}", self.window),
            ));
        }
        if !(0.0..=1.0).contains(&self.agreement) {
            return Err(Error::param(
                "apprentice.agreement",
                format!("{} must be in [0, 1]", self.agreement),
            ));
        }
        Ok(())
    }
}

/// What a first-slot decision that followed a teacher needs at settlement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Lesson {
    /// The model's greedy choice was the teacher's.
    pub agreed: bool,
    /// The model's estimate × value of its greedy choice, the teacher's
    /// choice and the served offer, at decision time.
    pub q_model: f64,
    pub q_teacher: f64,
    pub q_served: f64,
    /// The served offer's value and propensity.
    pub value: f64,
    pub propensity: f64,
    pub served_model: bool,
    pub served_teacher: bool,
}

/// One settled lesson: agreement and both policies' doubly robust values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Graded {
    pub agreed: bool,
    pub model: f64,
    pub teacher: f64,
}

impl Lesson {
    pub(super) fn grade(&self, reward: f64) -> Graded {
        let residual = (reward * self.value - self.q_served) / self.propensity;
        let hit = |served: bool| if served { residual } else { 0.0 };
        Graded {
            agreed: self.agreed,
            model: self.q_model + hit(self.served_model),
            teacher: self.q_teacher + hit(self.served_teacher),
        }
    }
}

/// The apprentice's progress: the last `window` lessons and, once it has
/// happened, when it graduated.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Tutor {
    pub recent: VecDeque<Graded>,
    pub lessons: u64,
    /// The number of lessons at graduation.
    pub graduated: Option<u64>,
}

impl Tutor {
    pub(super) fn record(&mut self, params: &ApprenticeParams, graded: Graded) {
        // Saturating, like every count an artifact may bring in at any value.
        self.lessons = self.lessons.saturating_add(1);
        if self.graduated.is_some() {
            return;
        }
        if self.recent.len() == params.window {
            self.recent.pop_front();
        }
        self.recent.push_back(graded);
        // One test per full window of new lessons, not one per lesson: a
        // test repeated at every lesson would, sooner or later, pass by
        // chance.
        if self.lessons % params.window as u64 == 0 {
            let s = self.status(params);
            if s.agreement >= params.agreement || s.gain - Z * s.gain_se > 0.0 {
                self.graduated = Some(self.lessons);
            }
        }
    }

    pub(super) fn status(&self, params: &ApprenticeParams) -> ApprenticeStatus {
        let n = self.recent.len();
        let nf = n.max(1) as f64;
        let mean = |f: &dyn Fn(&Graded) -> f64| self.recent.iter().map(f).sum::<f64>() / nf;
        let agreement = mean(&|g| f64::from(u8::from(g.agreed)));
        let model = mean(&|g| g.model);
        let teacher = mean(&|g| g.teacher);
        let gain = model - teacher;
        let var = if n > 1 {
            self.recent
                .iter()
                .map(|g| (g.model - g.teacher - gain).powi(2))
                .sum::<f64>()
                / (n - 1) as f64
        } else {
            0.0
        };
        ApprenticeStatus {
            graduated: self.graduated.is_some(),
            graduated_after: self.graduated,
            lessons: self.lessons,
            window: n,
            window_needed: params.window,
            agreement,
            model_value: model,
            teacher_value: teacher,
            gain,
            gain_se: (var / nf).sqrt(),
        }
    }
}

/// Where an apprentice stands ([`super::Bandit::apprentice`]). The values
/// are per decision (reward × value), doubly robust, over the window (the
/// one the bandit graduated on, once it has).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprenticeStatus {
    /// The bandit now chooses for itself; teachers are ignored.
    pub graduated: bool,
    /// Lessons settled when it graduated.
    pub graduated_after: Option<u64>,
    /// Lessons settled so far.
    pub lessons: u64,
    /// Lessons in the window, and how many the test needs.
    pub window: usize,
    pub window_needed: usize,
    /// Share of the window where the model's greedy choice was the teacher's.
    pub agreement: f64,
    pub model_value: f64,
    pub teacher_value: f64,
    /// `model_value − teacher_value` and its standard error.
    pub gain: f64,
    pub gain_se: f64,
}
