//! The recommend path, evaluated as it serves: ALS trained on every event kind
//! a live system would have had, a [`Recommender`] built from that log, and
//! each tested customer's list from [`Recommender::recommend`] with the default
//! rules (products only, in stock, nothing the customer already interacted
//! with).
//!
//! It differs from the `als` row of [`super::evaluate`] in two ways a real
//! deployment differs from the protocol: the model learns from all kinds
//! (ratings of any value, views, carts; with their weights), and the
//! seen-items rule leaves out everything the customer touched, not only the
//! training positives.

use super::context::Fold;
use super::{score_split, EvalConfig, ModelResult, Positives, Scorer};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::interactions::{InteractionConfig, Interactions};
use crate::recommend::{BuildOptions, Recommender, Request, ServeSettings};
use std::collections::HashMap;

/// Item scores from a ranked list: the list's order, everything else last.
struct Lists(HashMap<u32, Vec<u32>>);

impl Scorer for Lists {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        out.fill(f32::NEG_INFINITY);
        for (rank, &item) in self.0.get(&user).into_iter().flatten().enumerate() {
            out[item as usize] = -(rank as f32);
        }
    }
}

/// The events a live system would have had before `config`'s split: for a
/// temporal split, every event before the cut (views of items bought after
/// it included); otherwise the log without the held-out pairs' events and,
/// for each tested customer, without anything from their first held-out
/// positive on. It is what
/// [`evaluate_recommend`] trains on, and the place to carve a validation
/// split from (evaluating on it never touches the test).
///
/// ```
/// use maitre::datasets::{synthetic_storefront, Size};
/// use maitre::eval::{training_log, EvalConfig};
/// let shop = synthetic_storefront(1, Size::Tiny)?;
/// let config = EvalConfig::default().positive_kinds(["purchase"]);
/// let train = training_log(&shop.log, &config)?;
/// assert!(train.len() < shop.log.len());
/// assert_eq!(train.items().len(), shop.log.items().len()); // still aligned with the catalogue
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn training_log(log: &EventLog, config: &EvalConfig) -> Result<EventLog> {
    split_log(log, config).map(|(_, train)| train)
}

fn split_log(log: &EventLog, config: &EvalConfig) -> Result<(Fold, EventLog)> {
    let identities = log.identities();
    let (positives, events) =
        Positives::from_log_with_events(log, config.positive_kinds.as_deref(), config.min_value)?;
    let fold = Fold::new(log, &positives, &events, config, 0, log.timestamp_column())?;
    let times = log.timestamp_column();
    let train = log.subset(|e| {
        let user = identities.customer_of(log.customer_column()[e]);
        !fold.hides(user, log.item_column()[e], times[e])
    });
    Ok((fold, train))
}

/// Evaluates the recommend path on `config`'s split (same positives, same
/// tested customers as [`super::evaluate`]). `catalog` must be aligned with
/// `log`.
pub fn evaluate_recommend(
    log: &EventLog,
    catalog: &Catalog,
    config: &EvalConfig,
) -> Result<ModelResult> {
    let served = Served::fit(log, catalog, config)?;
    served.result()
}

/// [`evaluate_recommend`] under each of `settings` in turn, from one fit: one
/// result per settings, in their order.
///
/// ```
/// use maitre::datasets::{synthetic_storefront, Size};
/// use maitre::eval::{evaluate_recommend_settings, EvalConfig};
/// use maitre::recommend::ServeSettings;
/// let shop = synthetic_storefront(1, Size::Tiny)?;
/// let config = EvalConfig::default().positive_kinds(["purchase"]);
/// let recent = ServeSettings { history_half_life: Some(3600.0), ..Default::default() };
/// let results = evaluate_recommend_settings(&shop.log, &shop.catalog, &config,
///                                           &[ServeSettings::default(), recent])?;
/// assert_eq!(results.len(), 2);
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn evaluate_recommend_settings(
    log: &EventLog,
    catalog: &Catalog,
    config: &EvalConfig,
    settings: &[ServeSettings],
) -> Result<Vec<ModelResult>> {
    for s in settings {
        s.validate()?;
    }
    let mut served = Served::fit(log, catalog, config)?;
    settings
        .iter()
        .map(|s| {
            served.rec.set_settings(s.clone())?;
            served.result()
        })
        .collect()
}

/// The recommender fitted on a split's training events, ready to be scored.
/// (Two functions over one struct rather than a loop in `evaluate_recommend`:
/// the browser package calls only that one, and the loop cost it 0.9 KB.)
struct Served {
    fold: Fold,
    /// Each tested customer's row and name, resolved once for every scoring.
    tested: Vec<(u32, String)>,
    rec: Recommender,
    fit_seconds: f64,
}

impl Served {
    fn fit(log: &EventLog, catalog: &Catalog, config: &EvalConfig) -> Result<Self> {
        if catalog.len() != log.items().len() {
            return Err(Error::LengthMismatch {
                name: "catalog".into(),
                expected: log.items().len(),
                got: catalog.len(),
            });
        }
        let (fold, train) = split_log(log, config)?;
        let started = web_time::Instant::now();
        let matrix = Interactions::build(&train, &InteractionConfig::default())?;
        let model = config.als.fit(&matrix)?;
        let rec = Recommender::build(&train, catalog, model, &BuildOptions::default())?;
        let identities = log.identities();
        let tested = fold
            .split
            .test
            .iter()
            .map(|(u, _)| (*u, identities.name(*u).unwrap_or_default().to_owned()))
            .collect();
        Ok(Served {
            fold,
            tested,
            rec,
            fit_seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn result(&self) -> Result<ModelResult> {
        let k = *super::CUTOFFS.iter().max().expect("cut-offs");
        let lists = self
            .tested
            .iter()
            .map(|(u, name)| {
                let list = self
                    .rec
                    .recommend(&Request::new(k).customer(name.as_str()))?;
                Ok((*u, list.iter().map(|r| r.index).collect()))
            })
            .collect::<Result<HashMap<u32, Vec<u32>>>>()?;
        Ok(ModelResult {
            model: "recommend".into(),
            metrics: score_split(&self.fold.split, &Lists(lists)),
            fit_seconds: self.fit_seconds,
        })
    }
}
