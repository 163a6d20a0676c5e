//! Cold-start evaluation: how well are brand-new items placed from their
//! attributes alone?
//!
//! A seeded random share of the items that have positives is held out: every
//! positive on them leaves training and becomes the test. ALS is fitted on the
//! rest; the attribute map ([`AttributeVectors`]) is learned on the warm items
//! and gives each cold item its vector. Every tested customer ranks the cold
//! items only (the "new arrivals" rail), and four rankers are compared:
//!
//! - `als+attributes`: the customer's vector against the cold items' attribute
//!   vectors — personalised;
//! - `attribute-popularity`: the same ridge map trained to predict each warm
//!   item's (log) popularity — the best non-personalised guess from attributes;
//! - `als+attributes+popularity`: the two above added, `u·v + β·popularity`,
//!   with β chosen on a validation split that holds out a further share of
//!   the warm items the same way (the test is never looked at);
//! - `popularity (oracle)`: the cold items' popularity counted on the test
//!   itself. No real system has it (the items are new); it is an upper bound on
//!   what any non-personalised ranking could do, so beating it is a strong claim.

use super::{score_split, EvalConfig, ModelResult, Positives, Scorer, SplitData};
use crate::catalog::Catalog;
use crate::embed::{AttributeVectors, ColdStartParams, Factors};
use crate::error::{Error, Result};
use crate::events::EventLog;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::ops::ControlFlow;

/// How the cold items are chosen and mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStartConfig {
    /// Share of the items with positives that are held out. Default 0.1.
    pub fraction: f64,
    /// Seed of the choice.
    pub seed: u64,
    pub params: ColdStartParams,
}

impl Default for ColdStartConfig {
    fn default() -> Self {
        ColdStartConfig {
            fraction: 0.1,
            seed: 7,
            params: ColdStartParams::default(),
        }
    }
}

/// The cold-start comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColdStartReport {
    /// Items held out of training.
    pub cold_items: usize,
    /// Customers with a positive on a cold item and a warm training history.
    pub users: usize,
    pub results: Vec<ModelResult>,
    /// Validation recall@20 for each popularity blend weight tried.
    pub validation: Vec<(f32, f64)>,
}

/// Scores only the candidate items; everything else ranks last.
struct Candidates<'a> {
    is_candidate: &'a [bool],
    inner: &'a dyn Scorer,
}

impl Scorer for Candidates<'_> {
    fn score(&self, user: u32, history: &[u32], out: &mut [f32]) {
        self.inner.score(user, history, out);
        for (o, &c) in out.iter_mut().zip(self.is_candidate) {
            if !c {
                *o = f32::NEG_INFINITY;
            }
        }
    }
}

/// The same score for every customer.
struct Fixed(Vec<f32>);

impl Scorer for Fixed {
    fn score(&self, _user: u32, _history: &[u32], out: &mut [f32]) {
        out.copy_from_slice(&self.0);
    }
}

/// The popularity blend weights tried on validation (scores are inner
/// products near 0–1; predicted log-popularity is near 0–5).
const POPULARITY_BLEND: [f32; 10] = [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0];

/// What the attribute maps give one hold-out: ALS customer vectors, item
/// vectors with the held-out items placed from attributes, and every item's
/// log-popularity predicted from its attributes.
struct Placed {
    users: Factors,
    items: Factors,
    popularity: Vec<f32>,
}

/// Fits ALS on `split.train`, learns both attribute maps on `warm`, and
/// places the `held` items.
fn place(
    split: &SplitData,
    held: &[bool],
    warm: &[u32],
    items: &[crate::catalog::Item],
    config: &EvalConfig,
    cold: &ColdStartConfig,
) -> Result<Placed> {
    let model = config
        .als
        .fit_matrix(&split.train, |_| ControlFlow::Continue(()))?;
    let map = AttributeVectors::fit(items, &model.items, warm, &cold.params)?;
    let mut placed = model.items.clone();
    for (i, _) in held.iter().enumerate().filter(|(_, &c)| c) {
        placed.set_row(i as u32, &map.vector(&items[i]))?;
    }
    // Popularity as a one-dimensional "vector" per item, so the same ridge map
    // predicts it from attributes.
    let by_item = split.train.transpose();
    let log_popularity: Vec<f32> = (0..split.n_items() as u32)
        .map(|i| (1.0 + by_item.row(i).0.len() as f32).ln())
        .collect();
    let popularity = Factors::from_vec(split.n_items(), 1, log_popularity)?;
    let pop_map = AttributeVectors::fit(items, &popularity, warm, &cold.params)?;
    Ok(Placed {
        users: model.users,
        items: placed,
        popularity: items.iter().map(|it| pop_map.vector(it)[0]).collect(),
    })
}

/// A fixed pseudo-random number in [0, 1) per item (SplitMix64).
fn tie_breaker(i: u64) -> f32 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
}

/// `u·v + β·predicted log-popularity`.
struct Blend<'a> {
    placed: &'a Placed,
    beta: f32,
}

impl Scorer for Blend<'_> {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        self.placed.items.scores(self.placed.users.row(user), out);
        if self.beta != 0.0 {
            out.iter_mut()
                .zip(&self.placed.popularity)
                .for_each(|(o, p)| *o += self.beta * p);
        }
    }
}

/// Holds out items, fits on the rest and compares the four rankers (see the
/// module doc). `catalog` must be aligned with `log` ([`Catalog::aligned`]).
pub fn evaluate_cold_start(
    log: &EventLog,
    catalog: &Catalog,
    config: &EvalConfig,
    cold: &ColdStartConfig,
) -> Result<ColdStartReport> {
    if !(cold.fraction > 0.0 && cold.fraction < 1.0) {
        return Err(Error::param(
            "fraction",
            format!("{} must be between 0 and 1, exclusive", cold.fraction),
        ));
    }
    if catalog.len() != log.items().len() {
        return Err(Error::LengthMismatch {
            name: "catalog".into(),
            expected: log.items().len(),
            got: catalog.len(),
        });
    }
    let positives = Positives::from_log(log, config.positive_kinds.as_deref(), config.min_value)?;
    let mut with_positives: Vec<u32> = positives.item.clone();
    with_positives.sort_unstable();
    with_positives.dedup();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cold.seed);
    with_positives.shuffle(&mut rng);
    let n_cold = ((with_positives.len() as f64 * cold.fraction).round() as usize).max(1);
    let mut is_cold = vec![false; positives.n_items];
    for &i in &with_positives[..n_cold] {
        is_cold[i as usize] = true;
    }
    let is_test: Vec<bool> = positives
        .item
        .iter()
        .map(|&i| is_cold[i as usize])
        .collect();
    let split = SplitData::new(&positives, &is_test)?;
    let warm: Vec<u32> = with_positives[n_cold..].to_vec();
    let items = catalog.items();

    // Validation: hold out a further share of the warm items from the
    // training positives, the same way, to choose the popularity blend.
    let n_valid = ((warm.len() as f64 * cold.fraction).round() as usize).max(1);
    let mut is_valid = vec![false; positives.n_items];
    for &i in &warm[..n_valid.min(warm.len())] {
        is_valid[i as usize] = true;
    }
    let keep: Vec<usize> = (0..positives.len()).filter(|&r| !is_test[r]).collect();
    let inner = Positives {
        user: keep.iter().map(|&r| positives.user[r]).collect(),
        item: keep.iter().map(|&r| positives.item[r]).collect(),
        timestamp: keep.iter().map(|&r| positives.timestamp[r]).collect(),
        n_users: positives.n_users,
        n_items: positives.n_items,
    };
    let inner_test: Vec<bool> = inner.item.iter().map(|&i| is_valid[i as usize]).collect();
    let inner_split = SplitData::new(&inner, &inner_test)?;
    let inner_placed = place(
        &inner_split,
        &is_valid,
        &warm[n_valid.min(warm.len())..],
        items,
        config,
        cold,
    )?;
    let validation: Vec<(f32, f64)> = POPULARITY_BLEND
        .iter()
        .map(|&beta| {
            let scorer = Blend {
                placed: &inner_placed,
                beta,
            };
            let candidates = Candidates {
                is_candidate: &is_valid,
                inner: &scorer,
            };
            (beta, score_split(&inner_split, &candidates)["recall@20"])
        })
        .collect();
    let beta = validation
        .iter()
        .fold((0.0f32, f64::NEG_INFINITY), |best, &(b, r)| {
            if r > best.1 {
                (b, r)
            } else {
                best
            }
        })
        .0;

    let placed = place(&split, &is_cold, &warm, items, config, cold)?;
    // Items with the same attributes get the same prediction. Ties must not be
    // broken by item index: the synthetic generator numbers products in
    // popularity order, which would leak the answer into the baseline.
    let attribute_popularity = Fixed(
        placed
            .popularity
            .iter()
            .enumerate()
            .map(|(i, p)| p + 1e-4 * tie_breaker(i as u64))
            .collect(),
    );
    let mut oracle = vec![0f32; positives.n_items];
    for (_, held) in &split.test {
        for &i in held {
            oracle[i as usize] += 1.0;
        }
    }
    let oracle = Fixed(oracle);
    let als = Blend {
        placed: &placed,
        beta: 0.0,
    };
    let blended = Blend {
        placed: &placed,
        beta,
    };
    let blended_name = format!("als+attributes+popularity (blend {beta}, chosen on validation)");

    let rankers: [(&str, &dyn Scorer); 4] = [
        ("popularity (oracle)", &oracle),
        ("attribute-popularity", &attribute_popularity),
        ("als+attributes", &als),
        (&blended_name, &blended),
    ];
    let results = rankers
        .into_iter()
        .map(|(name, inner)| ModelResult {
            model: name.into(),
            metrics: score_split(
                &split,
                &Candidates {
                    is_candidate: &is_cold,
                    inner,
                },
            ),
            fit_seconds: 0.0,
        })
        .collect();
    Ok(ColdStartReport {
        cold_items: n_cold,
        users: split.test.len(),
        results,
        validation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{synthetic_storefront, Size};

    #[test]
    fn attribute_vectors_rank_new_items_better_than_chance() {
        let shop = synthetic_storefront(5, Size::Small).unwrap();
        let config = EvalConfig::default()
            .positive_kinds(["purchase"])
            .als(crate::embed::Als::params().factors(16).iterations(6));
        let report = evaluate_cold_start(
            &shop.log,
            &shop.catalog,
            &config,
            &ColdStartConfig::default(),
        )
        .unwrap();
        let recall = |name: &str| {
            report
                .results
                .iter()
                .find(|r| r.model == name)
                .unwrap()
                .metrics["recall@20"]
        };
        // A random order of the cold items finds 20 / n of each customer's items.
        let chance = 20.0 / report.cold_items as f64;
        assert!(report.cold_items > 40, "{}", report.cold_items);
        assert!(recall("als+attributes") > 1.5 * chance, "{report:?}");
        let bad = ColdStartConfig {
            fraction: 1.0,
            ..ColdStartConfig::default()
        };
        assert!(evaluate_cold_start(&shop.log, &shop.catalog, &config, &bad).is_err());
    }
}
