//! A customer-response simulator for offers: known acceptance probabilities
//! per customer segment × channel × offer, so a bandit's reward can be
//! compared with the oracle's and an off-policy estimate with the truth.

use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The most cells (segments × channels × offers) a world may have.
pub const MAX_WORLD_CELLS: usize = 1 << 22;

/// Visitors arrive uniformly over segments × channels; a visitor shown offer
/// `k` accepts with probability `p(segment, channel, k)` and is then worth
/// `value(k)`. The context a learner sees is the one-hot of
/// (segment, channel), so a linear model per offer can represent the truth
/// exactly: what a test then measures is the learning, not the fit.
///
/// ```
/// use maitre::datasets::OfferWorld;
/// let world = OfferWorld::new(7, 4, 2, 8)?;
/// let (s, c) = world.visitor(3, 0);
/// let best = world.best(s, c)?;
/// for k in 0..8 {
///     assert!(world.expected(s, c, k)? <= world.expected(s, c, best)?);
/// }
/// assert_eq!(world.context(s, c)?.iter().sum::<f32>(), 1.0);
/// assert!(world.context(4, 0).is_err());
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OfferWorld {
    segments: usize,
    channels: usize,
    values: Vec<f64>,
    accept: Vec<f64>,
    seed: u64,
}

impl OfferWorld {
    /// A world drawn from `seed`: offer values uniform in [1, 5),
    /// acceptance probabilities `0.03 + 0.37·u³` (most offers rarely taken,
    /// a few often, as in practice).
    pub fn new(seed: u64, segments: usize, channels: usize, offers: usize) -> Result<Self> {
        if segments == 0 || channels == 0 || offers == 0 {
            return Err(Error::param(
                "world",
                "segments, channels and offers must each be at least 1",
            ));
        }
        let cells = segments
            .checked_mul(channels)
            .and_then(|v| v.checked_mul(offers))
            .filter(|&v| v <= MAX_WORLD_CELLS)
            .ok_or_else(|| Error::param("world", format!("more than {MAX_WORLD_CELLS} cells")))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values = (0..offers)
            .map(|_| 1.0 + 4.0 * rng.random::<f64>())
            .collect();
        let accept = (0..cells)
            .map(|_| 0.03 + 0.37 * rng.random::<f64>().powi(3))
            .collect();
        Ok(OfferWorld {
            segments,
            channels,
            values,
            accept,
            seed,
        })
    }

    pub fn offers(&self) -> usize {
        self.values.len()
    }

    /// The context vector's length (segments × channels).
    pub fn dim(&self) -> usize {
        self.segments * self.channels
    }

    /// The index of (segment, channel), checked.
    fn cell(&self, segment: usize, channel: usize) -> Result<usize> {
        if segment >= self.segments || channel >= self.channels {
            return Err(Error::param(
                "visitor",
                format!(
                    "segment {segment}, channel {channel} is outside {} × {}",
                    self.segments, self.channels
                ),
            ));
        }
        Ok(segment * self.channels + channel)
    }

    fn offer(&self, offer: usize) -> Result<usize> {
        if offer >= self.offers() {
            return Err(Error::Unknown {
                what: "offer index",
                id: offer.to_string(),
            });
        }
        Ok(offer)
    }

    pub fn value(&self, offer: usize) -> Result<f64> {
        Ok(self.values[self.offer(offer)?])
    }

    /// The one-hot context of (segment, channel).
    pub fn context(&self, segment: usize, channel: usize) -> Result<Vec<f32>> {
        let mut v = vec![0.0; self.dim()];
        v[self.cell(segment, channel)?] = 1.0;
        Ok(v)
    }

    pub fn accept_probability(&self, segment: usize, channel: usize, offer: usize) -> Result<f64> {
        Ok(self.accept[self.cell(segment, channel)? * self.offers() + self.offer(offer)?])
    }

    /// P(accept) × value.
    pub fn expected(&self, segment: usize, channel: usize, offer: usize) -> Result<f64> {
        Ok(self.accept_probability(segment, channel, offer)? * self.values[offer])
    }

    /// The oracle's offer for (segment, channel) (ties: the lower index).
    pub fn best(&self, segment: usize, channel: usize) -> Result<usize> {
        let cell = self.cell(segment, channel)?;
        let e = |k: usize| self.accept[cell * self.offers() + k] * self.values[k];
        Ok((0..self.offers()).fold(0, |b, k| if e(k) > e(b) { k } else { b }))
    }

    /// The mean expected reward of a uniformly random offer.
    pub fn uniform(&self, segment: usize, channel: usize) -> Result<f64> {
        let cell = self.cell(segment, channel)?;
        let total: f64 = (0..self.offers())
            .map(|k| self.accept[cell * self.offers() + k] * self.values[k])
            .sum();
        Ok(total / self.offers() as f64)
    }

    /// The visitor of round `round` in run `run`: (segment, channel).
    pub fn visitor(&self, run: u64, round: u64) -> (usize, usize) {
        let mut rng = self.stream(run, round, 0);
        (
            rng.random_range(0..self.segments),
            rng.random_range(0..self.channels),
        )
    }

    /// Whether the visitor of `round` in `run` accepts `offer`. Each
    /// (run, round) has its own stream, so two policies shown the same
    /// visitor face the same coin for the same offer.
    pub fn accepts(
        &self,
        run: u64,
        round: u64,
        segment: usize,
        channel: usize,
        offer: usize,
    ) -> Result<bool> {
        let p = self.accept_probability(segment, channel, offer)?;
        Ok(self.coin(run, round, offer)? < p)
    }

    /// The uniform in [0, 1) behind [`OfferWorld::accepts`]: the visitor of
    /// `round` in `run` accepts `offer` when it is below the acceptance
    /// probability. Written out, it lets a learner outside this crate (a peer
    /// library) face exactly the same outcomes.
    ///
    /// ```
    /// use maitre::datasets::OfferWorld;
    /// let w = OfferWorld::new(1, 2, 2, 3)?;
    /// let (s, c) = w.visitor(0, 5);
    /// let accepted = w.coin(0, 5, 2)? < w.accept_probability(s, c, 2)?;
    /// assert_eq!(accepted, w.accepts(0, 5, s, c, 2)?);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn coin(&self, run: u64, round: u64, offer: usize) -> Result<f64> {
        let offer = self.offer(offer)?;
        let mut rng = self.stream(run, round, 1 + offer as u64);
        Ok(rng.random::<f64>())
    }

    fn stream(&self, run: u64, round: u64, what: u64) -> ChaCha8Rng {
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ run.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.set_stream(round);
        rng.set_word_pos(u128::from(what) * 16);
        rng
    }
}
