//! Segments: k-means on a per-customer representation, each segment
//! described in plain words.

use super::kmeans::KMeansParams;
use super::CustomerBase;
use crate::catalog::ItemKind;
use crate::embed::Factors;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the customers are clustered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Representation {
    /// The customer vectors given with [`CustomerBase::with_vectors`] (ALS).
    Vectors = 0,
    /// Each customer's category profile ([`CustomerBase::category_shares`]:
    /// square roots of per-visit category shares), one column per category in
    /// name order. Needs only the log and catalogue.
    CategoryShares = 1,
}

/// One label and its share (of a segment's events, or of its customers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub name: String,
    pub share: f64,
}

/// One segment, described.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub id: u32,
    /// Customers in it.
    pub size: usize,
    /// Sum of their purchase value (price × quantity).
    pub value: f64,
    /// Mean purchase value per customer.
    pub value_per_customer: f64,
    /// Top categories by share of the segment's product events.
    pub categories: Vec<Share>,
    /// Top brands by share of the segment's product events.
    pub brands: Vec<Share>,
    /// Top channels by share of the segment's events.
    pub channels: Vec<Share>,
    /// The description in one sentence.
    pub description: String,
}

/// A segmentation of a [`CustomerBase`]'s customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segments {
    pub representation: Representation,
    #[serde(skip)]
    pub(crate) dim: usize,
    /// Segment of each customer, in customer order.
    pub labels: Vec<u32>,
    /// `k × dim` centres (in the representation's space).
    #[serde(skip)]
    pub centroids: Vec<f32>,
    /// k-means inertia at fit time (over the rows the centres were fitted on).
    pub inertia: f64,
    /// `(k, silhouette)` for every `k` tried when `k` was chosen.
    pub silhouettes: Vec<(usize, f64)>,
    /// The segments, described.
    pub segments: Vec<Segment>,
}

/// Top entries of a label → weight table, by weight then name.
fn top(weights: BTreeMap<String, f64>, n: usize) -> Vec<Share> {
    let total: f64 = weights.values().sum();
    let mut all: Vec<Share> = weights
        .into_iter()
        .map(|(name, w)| Share {
            name,
            share: if total > 0.0 { w / total } else { 0.0 },
        })
        .collect();
    all.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.name.cmp(&b.name)));
    all.truncate(n);
    all
}

/// Up to two categories whose share in `weights` is at least 1.2 times
/// their share over everyone (and at least 2 % of the segment), by that
/// ratio.
fn above_average(
    weights: &BTreeMap<String, f64>,
    overall: &BTreeMap<String, f64>,
    overall_total: f64,
) -> Vec<(String, f64)> {
    let total: f64 = weights.values().sum();
    if total <= 0.0 || overall_total <= 0.0 {
        return Vec::new();
    }
    let mut lifts: Vec<(String, f64)> = weights
        .iter()
        .filter(|(_, &w)| w / total >= 0.02)
        .filter_map(|(name, &w)| {
            let base = overall.get(name)? / overall_total;
            let lift = (w / total) / base;
            (lift >= 1.2).then(|| (name.clone(), lift))
        })
        .collect();
    lifts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    lifts.truncate(2);
    lifts
}

fn words(shares: &[Share]) -> String {
    let parts: Vec<String> = shares
        .iter()
        .map(|s| format!("{} ({:.0} %)", s.name, 100.0 * s.share))
        .collect();
    match parts.len() {
        0 => "nothing in particular".into(),
        1 => parts[0].clone(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// What one segment holds, counted over its customers' events: the input
/// [`describe`] words. Counts are per event: categories and brands over
/// product events, channels over every event with a `channel` context.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentTally {
    pub id: u32,
    /// Customers in it.
    pub size: usize,
    /// Sum of their purchase value (price × quantity).
    pub value: f64,
    pub categories: BTreeMap<String, f64>,
    pub brands: BTreeMap<String, f64>,
    pub channels: BTreeMap<String, f64>,
}

/// Each segment's summary and one-sentence description from its tallies.
/// `overall` holds every customer's product-event counts per category (what
/// "more than average" compares with) and `customers` how many there are.
/// [`Segments`] describes itself with this; a caller that counted elsewhere
/// (Spark, say) gets the same words.
///
/// ```
/// use maitre::customers::{describe, SegmentTally};
/// use std::collections::BTreeMap;
/// let shoes: BTreeMap<String, f64> = [("shoes".to_string(), 3.0)].into();
/// let tally = SegmentTally { id: 0, size: 2, value: 30.0, categories: shoes.clone(), ..Default::default() };
/// let segments = describe(vec![tally], &shoes, 4);
/// assert_eq!(segments[0].description,
///            "2 customers (50 % of all), mostly shoes (100 %); 15.00 spent per customer");
/// ```
pub fn describe(
    tallies: Vec<SegmentTally>,
    overall: &BTreeMap<String, f64>,
    customers: usize,
) -> Vec<Segment> {
    let total_customers = customers.max(1) as f64;
    let overall_total: f64 = overall.values().sum();
    tallies
        .into_iter()
        .map(|t| {
            let size = t.size;
            let total_value = t.value;
            let distinct = above_average(&t.categories, overall, overall_total);
            let categories = top(t.categories, 3);
            let brands = top(t.brands, 3);
            let channels = top(t.channels, 3);
            let per = if size > 0 {
                total_value / size as f64
            } else {
                0.0
            };
            let mut description = format!(
                "{size} customers ({:.0} % of all), mostly {}",
                100.0 * size as f64 / total_customers,
                words(&categories),
            );
            if !distinct.is_empty() {
                let more: Vec<String> = distinct
                    .iter()
                    .map(|(name, lift)| format!("{name} {lift:.1}×"))
                    .collect();
                description += &format!("; more than average: {}", more.join(", "));
            }
            if !brands.is_empty() {
                description += &format!("; brands {}", words(&brands));
            }
            if !channels.is_empty() {
                description += &format!("; on {}", words(&channels));
            }
            if total_value > 0.0 {
                description += &format!("; {per:.2} spent per customer");
            }
            Segment {
                id: t.id,
                size,
                value: total_value,
                value_per_customer: per,
                categories,
                brands,
                channels,
                description,
            }
        })
        .collect()
}

impl Segments {
    /// Recomputes every segment's description from `base` (after a fit or a forget).
    pub(crate) fn describe(&mut self, base: &CustomerBase) {
        let k = self.centroids.len().checked_div(self.dim).unwrap_or(0);
        let log = base.log();
        let catalog = base.catalog();
        let vocab = log.context_vocab();
        let channel_of = |row: usize| {
            log.context_of(row)
                .iter()
                .filter_map(|&p| vocab.pair(p))
                .find(|(key, _)| *key == "channel")
                .map(|(_, v)| v.to_owned())
        };
        let n = base.customers().len();
        let value = base.purchase_values();
        // Every customer's category weights, to say what sets a segment
        // apart (its largest categories are often everyone's largest).
        let mut overall: BTreeMap<String, f64> = BTreeMap::new();
        for rows in &base.rows_of {
            for &row in rows {
                if let Some(cat) = catalog
                    .item(log.item_column()[row as usize])
                    .filter(|i| i.kind == ItemKind::Product)
                    .and_then(|i| i.category.as_ref())
                {
                    *overall.entry(cat.clone()).or_insert(0.0) += 1.0;
                }
            }
        }
        let tallies = (0..k as u32)
            .map(|s| {
                let mut tally = SegmentTally {
                    id: s,
                    ..SegmentTally::default()
                };
                for c in (0..n).filter(|&c| self.labels[c] == s) {
                    tally.size += 1;
                    tally.value += value[c];
                    for &row in &base.rows_of[c] {
                        let row = row as usize;
                        if let Some(ch) = channel_of(row) {
                            *tally.channels.entry(ch).or_insert(0.0) += 1.0;
                        }
                        let Some(item) = catalog.item(log.item_column()[row]) else {
                            continue;
                        };
                        if item.kind != ItemKind::Product {
                            continue;
                        }
                        if let Some(cat) = &item.category {
                            *tally.categories.entry(cat.clone()).or_insert(0.0) += 1.0;
                        }
                        if let Some(brand) = &item.brand {
                            *tally.brands.entry(brand.clone()).or_insert(0.0) += 1.0;
                        }
                    }
                }
                tally
            })
            .collect();
        self.segments = describe(tallies, &overall, n);
    }

    /// This segmentation without customer `c`: its label row dropped and its
    /// segment's centre recomputed from the remaining members (in
    /// [`Representation::Vectors`], from `vectors`, which no longer hold `c`).
    /// Descriptions are left for the caller to recompute.
    pub(crate) fn without(&self, c: u32, vectors: Option<&Factors>) -> Segments {
        let mut out = self.clone();
        let s = out.labels.remove(c as usize);
        let dim = self.dim;
        let mut sum = vec![0.0f64; dim];
        let mut count = 0usize;
        if let (Representation::Vectors, Some(v)) = (self.representation, vectors) {
            for (row, _) in out.labels.iter().enumerate().filter(|(_, &l)| l == s) {
                for (t, &x) in sum.iter_mut().zip(v.row(row as u32)) {
                    *t += f64::from(x);
                }
                count += 1;
            }
        }
        // Category profiles are recomputed from the log on the next fit; until
        // then the centre is zeroed rather than kept with their share in it.
        let centre = &mut out.centroids[s as usize * dim..(s as usize + 1) * dim];
        for (c, t) in centre.iter_mut().zip(&sum) {
            *c = if count > 0 {
                (t / count as f64) as f32
            } else {
                0.0
            };
        }
        out.segments.clear();
        out
    }
}

impl CustomerBase {
    /// Each customer's category profile: `(categories in name order,
    /// customers × categories row-major)`. A visit counts once per category
    /// it touched (distinct calendar day × category over products, content
    /// and offers with a category), so ten views in one visit weigh what one
    /// does; the row holds the square roots of the shares (the Hellinger
    /// embedding, where Euclidean k-means compares distributions fairly).
    /// Customers with no such event get a row of zeros.
    pub fn category_shares(&self) -> (Vec<String>, Vec<f32>) {
        let catalog = self.catalog();
        let mut names: Vec<String> = catalog
            .items()
            .iter()
            .filter(|i| i.kind != ItemKind::Service)
            .filter_map(|i| i.category.clone())
            .collect();
        names.sort();
        names.dedup();
        let column: Vec<Option<usize>> = catalog
            .items()
            .iter()
            .map(|i| {
                (i.kind != ItemKind::Service)
                    .then_some(i.category.as_ref())
                    .flatten()
                    .and_then(|c| names.binary_search(c).ok())
            })
            .collect();
        let dim = names.len();
        let (items, times) = (self.log().item_column(), self.log().timestamp_column());
        let mut out = vec![0.0f32; self.customers().len() * dim];
        for (c, rows) in self.rows_of.iter().enumerate() {
            let row = &mut out[c * dim..(c + 1) * dim];
            let mut visits: Vec<(i64, usize)> = rows
                .iter()
                .filter_map(|&r| {
                    column[items[r as usize] as usize]
                        .map(|col| (times[r as usize].div_euclid(86_400), col))
                })
                .collect();
            visits.sort_unstable();
            visits.dedup();
            for &(_, col) in &visits {
                row[col] += 1.0;
            }
            let total = visits.len() as f32;
            if total > 0.0 {
                row.iter_mut().for_each(|x| *x = (*x / total).sqrt());
            }
        }
        (names, out)
    }

    /// Distinct calendar days (UTC) each customer was active on.
    pub fn active_days(&self) -> Vec<usize> {
        let times = self.log().timestamp_column();
        self.rows_of
            .iter()
            .map(|rows| {
                let mut days: Vec<i64> = rows
                    .iter()
                    .map(|&r| times[r as usize].div_euclid(86_400))
                    .collect();
                days.dedup();
                days.len()
            })
            .collect()
    }

    /// Segments the customers with k-means++ and describes each segment.
    /// The centres are fitted on the customers active on at least
    /// `fit_min_days` distinct days (1: everyone), and every customer is then
    /// assigned to the nearest centre: a customer seen once says little about
    /// their taste and would only blur the centres. Replaces any earlier
    /// segmentation only on success.
    ///
    /// ```
    /// use maitre::customers::{CustomerBase, CustomerSettings, KMeansParams, Representation};
    /// use maitre::catalog::{Catalog, Item};
    /// use maitre::events::{Event, EventLog};
    /// let mut log = EventLog::new();
    /// for (who, sku) in [("a", "s1"), ("b", "s1"), ("c", "s2"), ("d", "s2")] {
    ///     log.push(&Event::new(who, sku, "purchase", 1_700_000_000))?;
    /// }
    /// let items = vec![Item::new("s1").category("shoes"), Item::new("s2").category("books")];
    /// let catalog = Catalog::aligned(&mut log, items)?;
    /// let mut base = CustomerBase::new(log, catalog, CustomerSettings::default())?;
    /// let segments = base.segment(&KMeansParams::default().k(2), Representation::CategoryShares, 1)?;
    /// assert_eq!(segments.labels[0], segments.labels[1]);
    /// assert_ne!(segments.labels[0], segments.labels[2]);
    /// assert!(segments.segments[0].description.contains("2 customers"));
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn segment(
        &mut self,
        params: &KMeansParams,
        representation: Representation,
        fit_min_days: usize,
    ) -> Result<&Segments> {
        let (data, dim) = match representation {
            Representation::Vectors => {
                let v = self.vectors().ok_or_else(|| {
                    Error::param(
                        "representation",
                        "no customer vectors: give them with with_vectors, or segment on \
                         category shares",
                    )
                })?;
                (v.view().as_slice().unwrap_or_default().to_vec(), v.k())
            }
            Representation::CategoryShares => {
                let (names, data) = self.category_shares();
                if names.is_empty() {
                    return Err(Error::NotEnoughData(
                        "no product in the catalogue has a category".into(),
                    ));
                }
                (data, names.len())
            }
        };
        let fit = if fit_min_days > 1 {
            let days = self.active_days();
            let sub: Vec<f32> = data
                .chunks_exact(dim)
                .zip(&days)
                .filter(|(_, &d)| d >= fit_min_days)
                .flat_map(|(row, _)| row.iter().copied())
                .collect();
            params.fit(&sub, dim)?
        } else {
            params.fit(&data, dim)?
        };
        let labels = if fit_min_days > 1 {
            data.chunks_exact(dim)
                .map(|row| fit.predict(row))
                .collect::<Result<Vec<u32>>>()?
        } else {
            fit.labels
        };
        let mut segments = Segments {
            representation,
            dim,
            labels,
            centroids: fit.centroids,
            inertia: fit.inertia,
            silhouettes: fit.silhouettes,
            segments: Vec::new(),
        };
        segments.describe(self);
        Ok(self.segments.insert(segments))
    }
}
