//! The customer × item matrix that models learn from.
//!
//! Each event contributes its kind's confidence weight (times its value, for
//! kinds scaled by value), decayed by age with a configurable half-life; the
//! contributions of one (customer, item) pair are summed. Negative kinds
//! (returns, complaints) lower the sum and may drive it below zero: models
//! decide what a negative affinity means. Customers are resolved identities,
//! so one person's web, app and store events land in one row. The matrix is
//! kept in CSR, with its transpose for item-side sweeps.
//!
//! Depends on: `events`, `identity`, `error`.

use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::identity::Identities;
use rayon::prelude::*;

/// A sparse matrix in compressed sparse row form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

impl Csr {
    /// Builds a matrix from (row, column, value) triplets, summing duplicates.
    /// Sums run in input order, so the result is deterministic.
    ///
    /// ```
    /// use maitre::interactions::Csr;
    /// let m = Csr::from_triplets(2, 3, vec![(1, 2, 1.0), (0, 1, 2.0), (1, 2, 0.5)])?;
    /// assert_eq!(m.row(1), (&[2u32][..], &[1.5f32][..]));
    /// assert_eq!(m.transpose().row(2), (&[1u32][..], &[1.5f32][..]));
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn from_triplets(
        n_rows: usize,
        n_cols: usize,
        mut triplets: Vec<(u32, u32, f32)>,
    ) -> Result<Self> {
        if let Some(&(r, c, _)) = triplets
            .iter()
            .find(|&&(r, c, _)| r as usize >= n_rows || c as usize >= n_cols)
        {
            return Err(Error::param(
                "triplets",
                format!("entry ({r}, {c}) is outside a {n_rows} × {n_cols} matrix"),
            ));
        }
        // Stable: equal (row, col) keep input order, so float sums are reproducible.
        triplets.par_sort_by_key(|&(r, c, _)| ((r as u64) << 32) | c as u64);
        let mut indptr = vec![0usize; n_rows + 1];
        let mut indices = Vec::with_capacity(triplets.len());
        let mut data: Vec<f32> = Vec::with_capacity(triplets.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in triplets {
            if last == Some((r, c)) {
                *data.last_mut().expect("a previous entry") += v;
            } else {
                indices.push(c);
                data.push(v);
                indptr[r as usize + 1] += 1;
                last = Some((r, c));
            }
        }
        for i in 0..n_rows {
            indptr[i + 1] += indptr[i];
        }
        Ok(Csr {
            n_cols,
            indptr,
            indices,
            data,
        })
    }

    /// The transpose, by a counting sort over columns (rows stay sorted).
    pub fn transpose(&self) -> Csr {
        let n_rows = self.n_rows();
        let mut indptr = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            indptr[i + 1] += indptr[i];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.indices.len()];
        let mut data = vec![0f32; self.data.len()];
        for r in 0..n_rows {
            let (cols, vals) = self.row(r as u32);
            for (&c, &v) in cols.iter().zip(vals) {
                let at = &mut next[c as usize];
                indices[*at] = r as u32;
                data[*at] = v;
                *at += 1;
            }
        }
        Csr {
            n_cols: n_rows,
            indptr,
            indices,
            data,
        }
    }

    /// Column indices and values of row `r`.
    pub fn row(&self, r: u32) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r as usize], self.indptr[r as usize + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row pointers: row `r` is `indptr[r]..indptr[r + 1]`.
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Column index of each entry.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Value of each entry.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
}

/// How events become interaction weights.
///
/// Defaults: no decay (`half_life_days: None`); decay, when set, is measured from
/// `reference_time`, or from the log's last event when that is `None`.
///
/// ```
/// use maitre::interactions::InteractionConfig;
/// let config = InteractionConfig::default().half_life_days(30.0);
/// assert_eq!(config.half_life_days, Some(30.0));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InteractionConfig {
    /// Weight halves every this many days of age. `None`: no decay.
    pub half_life_days: Option<f64>,
    /// The "now" ages are measured from (epoch seconds, 1970 to 2100 as
    /// events). `None`: the last event.
    pub reference_time: Option<i64>,
}

impl InteractionConfig {
    /// Sets the recency half-life in days.
    #[must_use]
    pub fn half_life_days(mut self, days: f64) -> Self {
        self.half_life_days = Some(days);
        self
    }

    /// Sets the time ages are measured from.
    #[must_use]
    pub fn reference_time(mut self, epoch_seconds: i64) -> Self {
        self.reference_time = Some(epoch_seconds);
        self
    }

    fn validate(&self) -> Result<()> {
        if let Some(t) = self.reference_time {
            // The events' range, so `reference_time - t` is bounded (see `events`).
            crate::events::check_timestamp(t)
                .map_err(|p| Error::param("reference_time", p.to_string()))?;
        }
        match self.half_life_days {
            Some(d) if !(d.is_finite() && d > 0.0) => Err(Error::param(
                "half_life_days",
                format!("{d} must be a positive, finite number of days"),
            )),
            _ => Ok(()),
        }
    }
}

/// The weighted, decayed, aggregated customer × item matrix of a log.
///
/// ```
/// use maitre::events::{Event, EventLog};
/// use maitre::interactions::{InteractionConfig, Interactions};
/// let day = 86_400;
/// let mut log = EventLog::new();
/// log.push(&Event::new("c1", "sku-1", "view", 0))?;
/// log.push(&Event::new("c1", "sku-1", "purchase", 30 * day))?;
/// log.push(&Event::new("c1", "sku-2", "return", 30 * day))?;
/// let m = Interactions::build(&log, &InteractionConfig::default().half_life_days(30.0))?;
/// let (items, weights) = m.by_customer().row(0);
/// assert_eq!(items, &[0, 1]);
/// assert_eq!(weights, &[0.5 + 5.0, -4.0]); // the view is a half-life old
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Interactions {
    identities: Identities,
    by_customer: Csr,
    by_item: Csr,
    reference_time: i64,
}

impl Interactions {
    /// Builds the matrix: weights computed in parallel, pairs aggregated by a parallel sort.
    pub fn build(log: &EventLog, config: &InteractionConfig) -> Result<Self> {
        config.validate()?;
        let identities = log.identities();
        let times = log.timestamp_column();
        let reference_time = config
            .reference_time
            .or_else(|| times.iter().copied().max())
            .unwrap_or(0);
        // ln 2 / half-life in seconds; 0 means no decay.
        let rate = config
            .half_life_days
            .map_or(0.0, |d| std::f64::consts::LN_2 / (d * 86_400.0));
        let kinds = log.kinds();
        let (customers, items, kind, values) = (
            log.customer_column(),
            log.item_column(),
            log.kind_column(),
            log.value_column(),
        );
        let triplets: Vec<(u32, u32, f32)> = (0..log.len())
            .into_par_iter()
            .map(|i| {
                // Both ends are in the accepted range (checked at ingestion and in
                // `validate`), so this cannot overflow; saturating keeps it so.
                let age = reference_time.saturating_sub(times[i]).max(0) as f64;
                let decay = (-rate * age).exp() as f32;
                let weight = kinds.contribution(kind[i], values[i]) * decay;
                (identities.customer_of(customers[i]), items[i], weight)
            })
            .collect();
        let by_customer = Csr::from_triplets(identities.len(), log.items().len(), triplets)?;
        let by_item = by_customer.transpose();
        Ok(Interactions {
            identities,
            by_customer,
            by_item,
            reference_time,
        })
    }

    /// Rows are customers, columns items.
    pub fn by_customer(&self) -> &Csr {
        &self.by_customer
    }

    /// Rows are items, columns customers.
    pub fn by_item(&self) -> &Csr {
        &self.by_item
    }

    /// The resolved customers (row `c` is customer `c`).
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// The time ages were measured from.
    pub fn reference_time(&self) -> i64 {
        self.reference_time
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The CSR holds exactly the summed triplets, and transposing twice is the identity.
        #[test]
        fn csr_matches_dense(entries in proptest::collection::vec((0u32..7, 0u32..5, -3i32..4), 0..60)) {
            let triplets: Vec<(u32, u32, f32)> = entries.iter().map(|&(r, c, v)| (r, c, v as f32)).collect();
            let m = Csr::from_triplets(7, 5, triplets.clone()).unwrap();
            let mut dense = [[0f32; 5]; 7];
            let mut present = [[false; 5]; 7];
            for (r, c, v) in triplets {
                dense[r as usize][c as usize] += v;
                present[r as usize][c as usize] = true;
            }
            for r in 0..7u32 {
                let (cols, vals) = m.row(r);
                prop_assert!(cols.windows(2).all(|w| w[0] < w[1]));
                let expected: Vec<u32> = (0..5u32).filter(|&c| present[r as usize][c as usize]).collect();
                prop_assert_eq!(cols, &expected[..]);
                for (&c, &v) in cols.iter().zip(vals) {
                    prop_assert_eq!(v, dense[r as usize][c as usize]);
                }
            }
            prop_assert_eq!(m.transpose().transpose(), m);
        }
    }

    #[test]
    fn out_of_range_triplet_is_an_error() {
        assert!(Csr::from_triplets(1, 1, vec![(0, 1, 1.0)]).is_err());
    }

    #[test]
    fn bad_half_life_is_rejected() {
        let log = EventLog::new();
        for d in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = Interactions::build(&log, &InteractionConfig::default().half_life_days(d));
            assert!(matches!(err, Err(Error::InvalidParam { .. })), "{d}");
        }
    }
}
