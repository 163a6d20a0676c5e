//! Positive interactions and the ways to split them into train and test.

use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::interactions::Csr;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::str::FromStr;

/// The positive interactions of a log, in log order, with resolved customers.
///
/// A (customer, item) pair counts once, at its first positive event: a repeat
/// purchase is not a new item to predict, and a test item already in the
/// customer's training history could never be hit (training items are
/// excluded from every ranking).
#[derive(Debug, Clone, PartialEq)]
pub struct Positives {
    /// Customer index of each positive.
    pub user: Vec<u32>,
    /// Item index of each positive.
    pub item: Vec<u32>,
    /// Timestamp of each positive.
    pub timestamp: Vec<i64>,
    /// Number of customers (resolved identities).
    pub n_users: usize,
    /// Catalogue size: every item of the log, with or without events.
    pub n_items: usize,
}

impl Positives {
    /// Selects the positive events of `log`: those of `kinds` (default: every kind
    /// with a positive weight) whose value is at least `min_value` (when given).
    pub fn from_log(
        log: &EventLog,
        kinds: Option<&[String]>,
        min_value: Option<f64>,
    ) -> Result<Self> {
        Ok(Self::from_log_with_events(log, kinds, min_value)?.0)
    }

    /// [`Positives::from_log`], with the log row of each positive's event.
    pub fn from_log_with_events(
        log: &EventLog,
        kinds: Option<&[String]>,
        min_value: Option<f64>,
    ) -> Result<(Self, Vec<usize>)> {
        let registry = log.kinds();
        let mut wanted = vec![false; registry.specs().len()];
        match kinds {
            Some(names) => {
                for name in names {
                    let id = registry.id(name).ok_or_else(|| Error::Unknown {
                        what: "event kind",
                        id: name.clone(),
                    })?;
                    wanted[id as usize] = true;
                }
            }
            None => {
                for (w, spec) in wanted.iter_mut().zip(registry.specs()) {
                    *w = spec.weight > 0.0;
                }
            }
        }
        if let Some(v) = min_value {
            if !v.is_finite() {
                return Err(Error::param("min_value", format!("{v} is not finite")));
            }
        }
        let identities = log.identities();
        let mut seen = HashSet::new();
        let mut out = Positives {
            user: Vec::new(),
            item: Vec::new(),
            timestamp: Vec::new(),
            n_users: identities.len(),
            n_items: log.items().len(),
        };
        let values = log.value_column();
        let mut rows = Vec::new();
        for i in 0..log.len() {
            if !wanted[log.kind_column()[i] as usize] {
                continue;
            }
            if let Some(min) = min_value {
                // An event without a value never passes a value threshold.
                if values[i].is_nan() || (values[i] as f64) < min {
                    continue;
                }
            }
            let user = identities.customer_of(log.customer_column()[i]);
            let item = log.item_column()[i];
            if seen.insert((user, item)) {
                out.user.push(user);
                out.item.push(item);
                out.timestamp.push(log.timestamp_column()[i]);
                rows.push(i);
            }
        }
        Ok((out, rows))
    }

    /// Number of positives.
    pub fn len(&self) -> usize {
        self.user.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// The positives at `rows`, in that order, over the same customers and
    /// items. Panics if a row is out of range (callers pass rows of `self`).
    pub(crate) fn select(&self, rows: &[usize]) -> Positives {
        Positives {
            user: rows.iter().map(|&r| self.user[r]).collect(),
            item: rows.iter().map(|&r| self.item[r]).collect(),
            timestamp: rows.iter().map(|&r| self.timestamp[r]).collect(),
            n_users: self.n_users,
            n_items: self.n_items,
        }
    }
}

/// How to hold out test interactions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Split {
    /// Each customer with at least `min_positives` positives is tested on the last
    /// one in time (ties: the later row); everything else trains.
    LeaveLastOut { min_positives: usize },
    /// Cut at the lower `quantile` of all event timestamps: positives strictly
    /// before train; those at or after test, for customers with training positives.
    Temporal { quantile: f64 },
    /// Each positive is held out with probability `test_fraction` (seeded), for
    /// customers that keep at least one training positive.
    Random { test_fraction: f64, seed: u64 },
}

impl Default for Split {
    fn default() -> Self {
        Split::LeaveLastOut { min_positives: 5 }
    }
}

impl FromStr for Split {
    type Err = Error;

    /// `leave-last-out` (≥ 5 positives), `temporal` (80th percentile), `random` (20 %, seed 0).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "leave-last-out" => Ok(Split::LeaveLastOut { min_positives: 5 }),
            "temporal" => Ok(Split::Temporal { quantile: 0.8 }),
            "random" => Ok(Split::Random {
                test_fraction: 0.2,
                seed: 0,
            }),
            other => Err(Error::param(
                "split",
                format!("{other:?}: expected leave-last-out, temporal or random"),
            )),
        }
    }
}

impl Split {
    /// The split's name as the evaluate example reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Split::LeaveLastOut { .. } => "leave-last-out",
            Split::Temporal { .. } => "temporal",
            Split::Random { .. } => "random",
        }
    }

    fn validate(&self) -> Result<()> {
        match *self {
            Split::LeaveLastOut { min_positives } if min_positives < 2 => Err(Error::param(
                "min_positives",
                format!("{min_positives}: a tested customer needs at least 2 positives"),
            )),
            Split::Temporal { quantile } if !(quantile > 0.0 && quantile < 1.0) => {
                Err(Error::param(
                    "quantile",
                    format!("{quantile} is not strictly between 0 and 1"),
                ))
            }
            Split::Random { test_fraction, .. }
                if !(test_fraction > 0.0 && test_fraction < 1.0) =>
            {
                Err(Error::param(
                    "test_fraction",
                    format!("{test_fraction} is not strictly between 0 and 1"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Splits `positives`. `all_timestamps` are the timestamps the temporal cut is
    /// taken over (every event, not only positives).
    pub fn apply(&self, positives: &Positives, all_timestamps: &[i64]) -> Result<SplitData> {
        self.validate()?;
        let n = positives.len();
        let mut is_test = vec![false; n];
        match *self {
            Split::LeaveLastOut { min_positives } => {
                let mut count = vec![0usize; positives.n_users];
                let mut last: Vec<Option<usize>> = vec![None; positives.n_users];
                for r in 0..n {
                    let u = positives.user[r] as usize;
                    count[u] += 1;
                    // `>=`: a later row wins a timestamp tie.
                    if last[u].is_none_or(|l| positives.timestamp[r] >= positives.timestamp[l]) {
                        last[u] = Some(r);
                    }
                }
                for (u, l) in last.iter().enumerate() {
                    if let (Some(l), true) = (l, count[u] >= min_positives) {
                        is_test[*l] = true;
                    }
                }
            }
            Split::Temporal { quantile } => {
                let cut = lower_quantile(all_timestamps, quantile)
                    .ok_or_else(|| Error::NotEnoughData("no events to cut in time".into()))?;
                for (t, &time) in is_test.iter_mut().zip(&positives.timestamp) {
                    *t = time >= cut;
                }
            }
            Split::Random {
                test_fraction,
                seed,
            } => {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                for t in is_test.iter_mut() {
                    *t = rng.random::<f64>() < test_fraction;
                }
            }
        }
        SplitData::new(positives, &is_test)
    }
}

/// The lower `q`-quantile: the sorted value at index ⌊q·(n−1)⌋ (numpy's `method="lower"`).
pub fn lower_quantile(values: &[i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    let at = ((q * (sorted.len() - 1) as f64).floor() as usize).min(sorted.len() - 1);
    Some(*sorted.select_nth_unstable(at).1)
}

/// A train matrix and, per tested customer, the held-out items.
#[derive(Debug, Clone)]
pub struct SplitData {
    /// Customers × items, 1.0 per training positive.
    pub train: Csr,
    /// Tested customers and their held-out items (sorted), in customer order.
    /// Only customers with at least one training positive are tested.
    pub test: Vec<(u32, Vec<u32>)>,
}

impl SplitData {
    /// Builds the split from a test mask over `positives`.
    pub fn new(positives: &Positives, is_test: &[bool]) -> Result<Self> {
        let triplets: Vec<(u32, u32, f32)> = (0..positives.len())
            .filter(|&r| !is_test[r])
            .map(|r| (positives.user[r], positives.item[r], 1.0))
            .collect();
        let train = Csr::from_triplets(positives.n_users, positives.n_items, triplets)?;
        let mut held: Vec<Vec<u32>> = vec![Vec::new(); positives.n_users];
        for r in (0..positives.len()).filter(|&r| is_test[r]) {
            held[positives.user[r] as usize].push(positives.item[r]);
        }
        let test: Vec<(u32, Vec<u32>)> = held
            .into_iter()
            .enumerate()
            .filter(|(u, items)| !items.is_empty() && !train.row(*u as u32).0.is_empty())
            .map(|(u, mut items)| {
                items.sort_unstable();
                (u as u32, items)
            })
            .collect();
        if test.is_empty() {
            return Err(Error::NotEnoughData(
                "the split leaves no customer with both training and test positives".into(),
            ));
        }
        Ok(SplitData { train, test })
    }

    /// Catalogue size.
    pub fn n_items(&self) -> usize {
        self.train.n_cols()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positives(rows: &[(u32, u32, i64)], n_users: usize, n_items: usize) -> Positives {
        Positives {
            user: rows.iter().map(|r| r.0).collect(),
            item: rows.iter().map(|r| r.1).collect(),
            timestamp: rows.iter().map(|r| r.2).collect(),
            n_users,
            n_items,
        }
    }

    #[test]
    fn leave_last_out_breaks_ties_by_row_order() {
        // User 0: five positives, the last two share a timestamp: row 4 (item 4) is last.
        // User 1: two positives, below the threshold: all train, not tested.
        let p = positives(
            &[
                (0, 0, 1),
                (0, 1, 2),
                (1, 0, 9),
                (0, 2, 3),
                (0, 3, 5),
                (0, 4, 5),
                (1, 1, 1),
            ],
            2,
            5,
        );
        let s = Split::LeaveLastOut { min_positives: 5 }
            .apply(&p, &[])
            .unwrap();
        assert_eq!(s.test, vec![(0, vec![4])]);
        assert_eq!(s.train.row(0).0, &[0, 1, 2, 3]);
        assert_eq!(s.train.row(1).0, &[0, 1]);
    }

    #[test]
    fn temporal_cuts_at_lower_quantile_of_all_events() {
        let p = positives(
            &[(0, 0, 1), (0, 1, 8), (1, 2, 9), (2, 0, 3), (2, 1, 7)],
            3,
            3,
        );
        // All events' timestamps 1..=10: lower 0.8-quantile is index floor(0.8*9)=7 -> 8.
        let all: Vec<i64> = (1..=10).collect();
        assert_eq!(lower_quantile(&all, 0.8), Some(8));
        let s = Split::Temporal { quantile: 0.8 }.apply(&p, &all).unwrap();
        // User 0 tests item 1 (t=8 >= cut); user 1 has no training positive: not tested;
        // user 2's t=7 is before the cut.
        assert_eq!(s.test, vec![(0, vec![1])]);
        assert_eq!(s.train.row(2).0, &[0, 1]);
    }

    #[test]
    fn bad_split_parameters_are_rejected() {
        let p = positives(&[(0, 0, 1)], 1, 1);
        for split in [
            Split::LeaveLastOut { min_positives: 1 },
            Split::Temporal { quantile: 1.0 },
            Split::Random {
                test_fraction: f64::NAN,
                seed: 0,
            },
        ] {
            assert!(matches!(
                split.apply(&p, &[1]),
                Err(Error::InvalidParam { .. })
            ));
        }
        assert!("sideways".parse::<Split>().is_err());
    }
}
