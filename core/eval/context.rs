//! Context-aware evaluation: does blending context vectors into the query help
//! at the moment a visit starts?
//!
//! The positives (e.g. purchases) are split as usual. ALS is then trained on
//! *every* event kind (views, carts, purchases, returns, with the log's kind
//! weights), minus what a live system could not know when the tested visit
//! began: the held-out (customer, item) pairs, and the tested customer's
//! events from [`SESSION_GAP`] before the held-out event on. Each context
//! pair (`device=mobile`, …) gets a vector from the training events that
//! happened in it ([`ContextVectors`]); a tested customer's query is their
//! vector plus `weight ×` the vectors of the held-out event's context. Training
//! positives are excluded from the ranking as in [`super::evaluate`].
//!
//! The weight is chosen on a validation split carved from the training
//! positives the same way (the test is never looked at), from [`BLEND_GRID`].

use super::{
    lower_quantile, score_split, EvalConfig, ModelResult, Positives, Scorer, Split, SplitData,
};
use crate::embed::{AlsModel, ContextVectors, Factors};
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::identity::Identities;
use crate::interactions::Csr;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

/// The blend weights tried on the validation split.
pub const BLEND_GRID: [f32; 10] = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0];

/// How long before a held-out event its visit may have started: events of
/// the tested customer after that are unknown at query time.
pub const SESSION_GAP: i64 = 2 * 3600;

/// Context pairs need this many training events to get a vector.
const MIN_CONTEXT_EVENTS: usize = 20;

/// ALS with and without context, on all tested customers and on those whose
/// held-out event is one where context matters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextReport {
    /// The blend weight chosen on validation.
    pub weight: f32,
    /// Validation NDCG@10 for each weight tried.
    pub validation: Vec<(f32, f64)>,
    /// Tested customers.
    pub users: usize,
    /// `als` (weight 0) and `als+context` (the chosen weight) on everyone.
    pub results: Vec<ModelResult>,
    /// Tested customers whose held-out event is one where context matters.
    pub context_users: usize,
    /// The same two models on those customers only.
    pub context_results: Vec<ModelResult>,
}

/// Scores with one query vector per customer against item factors.
struct QueryScorer<'a> {
    queries: HashMap<u32, Vec<f32>>,
    items: &'a Factors,
}

impl Scorer for QueryScorer<'_> {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        match self.queries.get(&user) {
            Some(q) => self.items.scores(q, out),
            None => out.fill(0.0),
        }
    }
}

/// One split with what it hides from training.
pub(super) struct Fold {
    pub(super) split: SplitData,
    /// Log row of each tested customer's earliest held-out event.
    held_event: HashMap<u32, usize>,
    /// Events of a tested customer at or after this time are hidden.
    cutoff: HashMap<u32, i64>,
    held_pairs: HashSet<(u32, u32)>,
    /// A temporal split's cut: every event at or after it is hidden, and
    /// nothing before it (a live system at the cut had seen every earlier
    /// event, the views of items bought after it included).
    cut: Option<i64>,
}

impl Fold {
    /// Splits `positives`; a tested customer's events from `gap` seconds
    /// before their first held-out event on are hidden, and every event of a
    /// held-out (customer, item) pair. A temporal split cuts at its quantile
    /// of `cut_times` (the whole log's timestamps for the outer fold; for a
    /// fold carved from training, the training positives' — the whole log's
    /// cut would leave it no test at all) and hides exactly the events from
    /// the cut on, whoever they belong to.
    pub(super) fn new(
        log: &EventLog,
        positives: &Positives,
        events: &[usize],
        config: &EvalConfig,
        gap: i64,
        cut_times: &[i64],
    ) -> Result<Self> {
        let split = config.split.apply(positives, cut_times)?;
        let held_pairs: HashSet<(u32, u32)> = split
            .test
            .iter()
            .flat_map(|(u, items)| items.iter().map(move |&i| (*u, i)))
            .collect();
        let times = log.timestamp_column();
        let mut held_event: HashMap<u32, usize> = HashMap::new();
        for ((&u, &i), &e) in positives.user.iter().zip(&positives.item).zip(events) {
            if held_pairs.contains(&(u, i)) {
                let earlier = held_event
                    .get(&u)
                    .is_none_or(|&prev| times[e] < times[prev]);
                if earlier {
                    held_event.insert(u, e);
                }
            }
        }
        let cutoff = held_event
            .iter()
            .map(|(&u, &e)| (u, times[e].saturating_sub(gap)))
            .collect();
        let cut = match config.split {
            Split::Temporal { quantile } => lower_quantile(cut_times, quantile),
            _ => None,
        };
        Ok(Fold {
            split,
            held_event,
            cutoff,
            held_pairs,
            cut,
        })
    }

    pub(super) fn hides(&self, user: u32, item: u32, time: i64) -> bool {
        match self.cut {
            Some(cut) => time >= cut,
            None => {
                self.held_pairs.contains(&(user, item))
                    || self.cutoff.get(&user).is_some_and(|&c| time >= c)
            }
        }
    }

    /// The training positives, as a smaller `Positives` with their log rows.
    fn train_positives(&self, positives: &Positives, events: &[usize]) -> (Positives, Vec<usize>) {
        let keep: Vec<usize> = (0..positives.len())
            .filter(|&r| {
                !self
                    .held_pairs
                    .contains(&(positives.user[r], positives.item[r]))
            })
            .collect();
        (
            positives.select(&keep),
            keep.iter().map(|&r| events[r]).collect(),
        )
    }
}

/// Every event of the log that none of `folds` hides, kind-weighted.
fn training_matrix(log: &EventLog, identities: &Identities, folds: &[&Fold]) -> Result<Csr> {
    events_matrix(log, identities, |user, item, time| {
        folds.iter().any(|f| f.hides(user, item, time))
    })
}

/// Every event of the log for which `hidden(customer, item, time)` is false,
/// kind-weighted, customers resolved: the matrix a live system would train on.
pub(super) fn events_matrix(
    log: &EventLog,
    identities: &Identities,
    hidden: impl Fn(u32, u32, i64) -> bool,
) -> Result<Csr> {
    let kinds = log.kinds();
    let times = log.timestamp_column();
    let triplets: Vec<(u32, u32, f32)> = (0..log.len())
        .filter_map(|e| {
            let user = identities.customer_of(log.customer_column()[e]);
            let item = log.item_column()[e];
            if hidden(user, item, times[e]) {
                return None;
            }
            let weight = kinds.contribution(log.kind_column()[e], log.value_column()[e]);
            Some((user, item, weight))
        })
        .collect();
    Csr::from_triplets(identities.len(), log.items().len(), triplets)
}

/// Context vectors from the training events of `matrix`'s source.
fn context_vectors(
    log: &EventLog,
    identities: &Identities,
    model: &AlsModel,
    folds: &[&Fold],
) -> Result<ContextVectors> {
    let kinds = log.kinds();
    let times = log.timestamp_column();
    let mut observations = Vec::new();
    for (e, &time) in times.iter().enumerate() {
        let user = identities.customer_of(log.customer_column()[e]);
        let item = log.item_column()[e];
        let weight = kinds.contribution(log.kind_column()[e], log.value_column()[e]);
        if weight <= 0.0 || folds.iter().any(|f| f.hides(user, item, time)) {
            continue;
        }
        observations.extend(log.context_of(e).iter().map(|&p| (p, item, weight)));
    }
    ContextVectors::fit(
        &model.items,
        log.context_vocab().len(),
        &observations,
        MIN_CONTEXT_EVENTS,
    )
}

fn queries(
    log: &EventLog,
    model: &AlsModel,
    vectors: &ContextVectors,
    fold: &Fold,
    weight: f32,
) -> HashMap<u32, Vec<f32>> {
    fold.split
        .test
        .iter()
        .map(|(u, _)| {
            let pairs = fold
                .held_event
                .get(u)
                .map_or(&[][..], |&e| log.context_of(e));
            (*u, vectors.blend(model.users.row(*u), pairs, weight))
        })
        .collect()
}

/// Runs the comparison; `matters(event)` marks held-out events whose context
/// matters (the synthetic storefront knows this by construction).
pub fn evaluate_context(
    log: &EventLog,
    config: &EvalConfig,
    matters: impl Fn(usize) -> bool,
) -> Result<ContextReport> {
    let identities = log.identities();
    let (positives, events) =
        Positives::from_log_with_events(log, config.positive_kinds.as_deref(), config.min_value)?;
    let outer = Fold::new(
        log,
        &positives,
        &events,
        config,
        SESSION_GAP,
        log.timestamp_column(),
    )?;
    let (inner_positives, inner_events) = outer.train_positives(&positives, &events);
    let inner_times: Vec<i64> = inner_events
        .iter()
        .map(|&e| log.timestamp_column()[e])
        .collect();
    let inner = Fold::new(
        log,
        &inner_positives,
        &inner_events,
        config,
        SESSION_GAP,
        &inner_times,
    )?;
    let fit = |train: &Csr| config.als.fit_matrix(train, |_| ControlFlow::Continue(()));

    let train = training_matrix(log, &identities, &[&outer, &inner])?;
    let model = fit(&train)?;
    let vectors = context_vectors(log, &identities, &model, &[&outer, &inner])?;
    let validation: Vec<(f32, f64)> = BLEND_GRID
        .iter()
        .map(|&w| {
            let scorer = QueryScorer {
                queries: queries(log, &model, &vectors, &inner, w),
                items: &model.items,
            };
            (w, score_split(&inner.split, &scorer)["ndcg@10"])
        })
        .collect();
    // The first weight with the best score: ties go to the simpler model.
    let weight = validation
        .iter()
        .fold((0.0f32, f64::NEG_INFINITY), |best, &(w, n)| {
            if n > best.1 {
                (w, n)
            } else {
                best
            }
        })
        .0;

    let train = training_matrix(log, &identities, &[&outer])?;
    let started = web_time::Instant::now();
    let model = fit(&train)?;
    let vectors = context_vectors(log, &identities, &model, &[&outer])?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let subset = SplitData {
        train: outer.split.train.clone(),
        test: outer
            .split
            .test
            .iter()
            .filter(|(u, _)| outer.held_event.get(u).is_some_and(|&e| matters(e)))
            .cloned()
            .collect(),
    };
    if subset.test.is_empty() {
        return Err(Error::NotEnoughData(
            "no tested event is one where context matters".into(),
        ));
    }
    let results = |split: &SplitData| {
        [("als", 0.0), ("als+context", weight)]
            .into_iter()
            .map(|(name, w)| ModelResult {
                model: name.into(),
                metrics: score_split(
                    split,
                    &QueryScorer {
                        queries: queries(log, &model, &vectors, &outer, w),
                        items: &model.items,
                    },
                ),
                fit_seconds,
            })
            .collect::<Vec<_>>()
    };
    Ok(ContextReport {
        weight,
        validation,
        users: outer.split.test.len(),
        results: results(&outer.split),
        context_users: subset.test.len(),
        context_results: results(&subset),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{synthetic_storefront, Size};

    /// A temporal split's validation fold is cut inside the training
    /// period (a first version cut it at the outer test's time and found no
    /// validation customers, so the comparison failed on every temporal run).
    #[test]
    fn a_temporal_split_gets_a_validation_fold_of_its_own() {
        let shop = synthetic_storefront(3, Size::Small).unwrap();
        let config = EvalConfig::default()
            .positive_kinds(["purchase"])
            .split(crate::eval::Split::Temporal { quantile: 0.8 })
            .als(crate::embed::Als::params().factors(8).iterations(4));
        let report = evaluate_context(&shop.log, &config, |e| shop.context_matters(e)).unwrap();
        assert!(report.users > 0 && report.context_users > 0);
        assert!(
            report.validation.iter().all(|v| v.1 > 0.0),
            "{:?}",
            report.validation
        );
    }

    #[test]
    fn weight_is_the_validation_argmax_and_held_out_items_are_hidden() {
        let shop = synthetic_storefront(3, Size::Tiny).unwrap();
        let config = EvalConfig::default()
            .positive_kinds(["purchase"])
            .als(crate::embed::Als::params().factors(8).iterations(4));
        let report = evaluate_context(&shop.log, &config, |e| shop.context_matters(e)).unwrap();
        let best = report
            .validation
            .iter()
            .map(|v| v.1)
            .fold(f64::MIN, f64::max);
        let chosen = report
            .validation
            .iter()
            .find(|v| v.0 == report.weight)
            .unwrap();
        assert_eq!(chosen.1, best);
        assert!(report.context_users > 0 && report.context_users <= report.users);

        // The held-out items never reach training.
        let (positives, events) =
            Positives::from_log_with_events(&shop.log, Some(&["purchase".into()]), None).unwrap();
        let fold = Fold::new(
            &shop.log,
            &positives,
            &events,
            &config,
            SESSION_GAP,
            shop.log.timestamp_column(),
        )
        .unwrap();
        let identities = shop.log.identities();
        let train = training_matrix(&shop.log, &identities, &[&fold]).unwrap();
        for (user, held) in &fold.split.test {
            let row = train.row(*user).0;
            assert!(held.iter().all(|i| row.binary_search(i).is_err()));
        }
        assert!(evaluate_context(&shop.log, &config, |_| false).is_err());
    }
}
