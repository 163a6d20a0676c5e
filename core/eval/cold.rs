//! Cold-start evaluation: how well are brand-new items placed from their
//! attributes alone?
//!
//! A seeded random share of the items that have positives is held out: every
//! positive on them leaves training and becomes the test. ALS is fitted on the
//! rest; the attribute map ([`AttributeVectors`]) is learned on the warm items
//! and gives each cold item its vector. Every tested customer ranks the cold
//! items only (the "new arrivals" rail), and three rankers are compared:
//!
//! - `als+attributes`: the customer's vector against the cold items' attribute
//!   vectors — personalised;
//! - `attribute-popularity`: the same ridge map trained to predict each warm
//!   item's (log) popularity — the best non-personalised guess from attributes;
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

/// Customer vectors against a table of item vectors.
struct Vectors<'a> {
    users: &'a Factors,
    items: &'a Factors,
}

impl Scorer for Vectors<'_> {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        self.items.scores(self.users.row(user), out);
    }
}

/// Holds out items, fits on the rest and compares the three rankers (see the
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
    let model = config
        .als
        .fit_matrix(&split.train, |_| ControlFlow::Continue(()))?;
    let map = AttributeVectors::fit(items, &model.items, &warm, &cold.params)?;
    let mut placed = model.items.clone();
    for (i, _) in is_cold.iter().enumerate().filter(|(_, &c)| c) {
        placed.set_row(i as u32, &map.vector(&items[i]))?;
    }

    // Popularity as a one-dimensional "vector" per item, so the same ridge map
    // predicts it from attributes.
    let by_item = split.train.transpose();
    let log_popularity: Vec<f32> = (0..positives.n_items as u32)
        .map(|i| (1.0 + by_item.row(i).0.len() as f32).ln())
        .collect();
    let popularity = Factors::from_vec(positives.n_items, 1, log_popularity)?;
    let pop_map = AttributeVectors::fit(items, &popularity, &warm, &cold.params)?;
    let attribute_popularity = Fixed(items.iter().map(|it| pop_map.vector(it)[0]).collect());
    let mut oracle = vec![0f32; positives.n_items];
    for (_, held) in &split.test {
        for &i in held {
            oracle[i as usize] += 1.0;
        }
    }
    let oracle = Fixed(oracle);
    let als = Vectors {
        users: &model.users,
        items: &placed,
    };

    let rankers: [(&str, &dyn Scorer); 3] = [
        ("popularity (oracle)", &oracle),
        ("attribute-popularity", &attribute_popularity),
        ("als+attributes", &als),
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
