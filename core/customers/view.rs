//! The single customer view and targeting.

use super::rfm::{Lifecycle, Rfm, Stage};
use super::segments::Share;
use super::CustomerBase;
use crate::catalog::ItemKind;
use crate::error::{Error, Result};
use crate::index::{ExactIndex, Index};
use crate::recommend::Reason;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most timeline events a view may ask for.
pub const MAX_TIMELINE: usize = 10_000;

/// One event on a customer's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEvent {
    pub timestamp: i64,
    pub kind: String,
    pub item: String,
    /// The raw id it arrived under (account, device, anonymous id).
    pub identity: String,
    pub channel: Option<String>,
    pub device: Option<String>,
    pub value: Option<f64>,
}

/// A return or complaint not yet followed by a service action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MomentOfTruth {
    pub kind: String,
    pub item: String,
    pub timestamp: i64,
    pub channel: Option<String>,
}

/// Everything about one customer, in one place; serialises to JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerView {
    /// Canonical id.
    pub customer: String,
    /// Every raw id linked to them, sorted.
    pub identities: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub events: usize,
    /// Events per channel and per device (over the whole history).
    pub channels: BTreeMap<String, usize>,
    pub devices: BTreeMap<String, usize>,
    /// The most recent events across every identity, channel and device, newest first.
    pub timeline: Vec<TimelineEvent>,
    /// Top categories, brands and items by share of their product events.
    pub categories: Vec<Share>,
    pub brands: Vec<Share>,
    pub items: Vec<Share>,
    /// Their segment and its description, when the base was segmented.
    pub segment: Option<u32>,
    pub segment_description: Option<String>,
    pub rfm: Rfm,
    pub lifecycle: Lifecycle,
    pub loyalty: f64,
    pub open_moments_of_truth: Vec<MomentOfTruth>,
    /// Offers shown to any of their ids and what came of them; filled by
    /// `offers::NextBestOffer::customer_view` (this module does not know
    /// the offers engine).
    pub offers: Option<OfferActivity>,
    /// What the offers engine would put first for them now, with why
    /// (computed, not shown; filled the same way).
    pub next_best_action: Option<NextAction>,
}

/// A customer's offers: counts and the latest showings, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OfferActivity {
    pub shown: usize,
    pub accepted: usize,
    pub declined: usize,
    /// No reward within the window (settled by expiry).
    pub ignored: usize,
    pub pending: usize,
    pub recent: Vec<OfferShown>,
}

/// One showing of an offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferShown {
    pub offer: String,
    pub timestamp: i64,
    /// "accepted", "declined", "ignored" or "pending".
    pub outcome: &'static str,
    pub reward: Option<f64>,
}

/// The next best offer or service action for a customer, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextAction {
    pub offer: String,
    /// "offer", "service", …
    pub kind: String,
    pub why: String,
    /// Estimated reward (P(accept) for 0/1 rewards) and the offer's value.
    pub estimate: f64,
    pub value: f64,
    /// Contact-policy rules that fired.
    pub fired: Vec<String>,
}

/// Which customers a targeting list may contain. Empty lists admit all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerFilter {
    /// Only these segments: of `labels` when given, else of the base's own
    /// segmentation ([`CustomerBase::segment`]).
    pub segments: Vec<u32>,
    /// A segmentation made elsewhere (a `maitre.segments` call, Spark), as
    /// (customer id, segment) pairs: with `segments`, only the customers
    /// listed with one of them are admitted; customers it does not list (new
    /// since it was made) are not. Unknown ids are an error.
    pub labels: Vec<(String, u32)>,
    /// Only these lifecycle stages.
    pub stages: Vec<Stage>,
    /// Only these RFM groups (`champions`, `at_risk`, …).
    pub rfm_groups: Vec<String>,
    /// Leave out customers who already bought the item (or, for a category,
    /// anything in it).
    pub exclude_buyers: bool,
    /// Leave out these customers (any of their ids).
    pub exclude: Vec<String>,
}

/// What to target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "id")]
pub enum Targeting {
    /// One item: its vector.
    Item(String),
    /// A category: the mean vector of its products.
    Category(String),
}

/// One targeted customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub customer: String,
    /// Inner product of the customer's vector with the target's.
    pub score: f32,
    /// Why: the items of their history closest to the target, or their taste.
    #[serde(flatten)]
    pub reason: Reason,
}

impl CustomerBase {
    fn context_value(&self, row: usize, key: &str) -> Option<String> {
        let vocab = self.log().context_vocab();
        self.log()
            .context_of(row)
            .iter()
            .filter_map(|&p| vocab.pair(p))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned())
    }

    /// The single customer view of `id` (any of their ids), with the `recent`
    /// latest events (1 to [`MAX_TIMELINE`]) on the timeline.
    pub fn customer_view(&self, id: &str, recent: usize) -> Result<CustomerView> {
        if !(1..=MAX_TIMELINE).contains(&recent) {
            return Err(Error::param(
                "recent",
                format!("{recent} is not in 1..={MAX_TIMELINE}"),
            ));
        }
        let c = self.customer_index(id)? as usize;
        let log = self.log();
        let rows = &self.rows_of[c];
        let (items, kinds, times, values, raw) = (
            log.item_column(),
            log.kind_column(),
            log.timestamp_column(),
            log.value_column(),
            log.customer_column(),
        );
        let kind_name = |r: usize| {
            log.kinds()
                .spec(kinds[r])
                .map(|s| s.name.clone())
                .unwrap_or_default()
        };
        let item_name = |r: usize| log.items().name(items[r]).unwrap_or_default().to_owned();
        let mut channels = BTreeMap::new();
        let mut devices = BTreeMap::new();
        let (mut cats, mut brands, mut its) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut open: Vec<MomentOfTruth> = Vec::new();
        for &r in rows {
            let r = r as usize;
            if let Some(ch) = self.context_value(r, "channel") {
                *channels.entry(ch).or_insert(0) += 1;
            }
            if let Some(d) = self.context_value(r, "device") {
                *devices.entry(d).or_insert(0) += 1;
            }
            let k = kinds[r] as usize;
            if self.classes.ret[k] || self.classes.complaint[k] {
                open.push(MomentOfTruth {
                    kind: kind_name(r),
                    item: item_name(r),
                    timestamp: times[r],
                    channel: self.context_value(r, "channel"),
                });
            } else if self.is_service(items[r]) {
                // A service action answers everything open before it.
                open.retain(|m| m.timestamp > times[r]);
            }
            if let Some(item) = self.catalog().item(items[r]) {
                if item.kind == ItemKind::Product {
                    *its.entry(item.id.clone()).or_insert(0.0) += 1.0;
                    if let Some(cat) = &item.category {
                        *cats.entry(cat.clone()).or_insert(0.0) += 1.0;
                    }
                    if let Some(b) = &item.brand {
                        *brands.entry(b.clone()).or_insert(0.0) += 1.0;
                    }
                }
            }
        }
        let timeline = rows
            .iter()
            .rev()
            .take(recent)
            .map(|&r| {
                let r = r as usize;
                TimelineEvent {
                    timestamp: times[r],
                    kind: kind_name(r),
                    item: item_name(r),
                    identity: log
                        .raw_customers()
                        .name(raw[r])
                        .unwrap_or_default()
                        .to_owned(),
                    channel: self.context_value(r, "channel"),
                    device: self.context_value(r, "device"),
                    value: (!values[r].is_nan()).then_some(f64::from(values[r])),
                }
            })
            .collect();
        let top = |m: BTreeMap<String, f64>| {
            let total: f64 = m.values().sum();
            let mut v: Vec<Share> = m
                .into_iter()
                .map(|(name, w)| Share {
                    name,
                    share: w / total.max(1.0),
                })
                .collect();
            v.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.name.cmp(&b.name)));
            v.truncate(5);
            v
        };
        let segment = self.segments().map(|s| s.labels[c]);
        Ok(CustomerView {
            customer: self.customers()[c].clone(),
            identities: self.identities_of(c as u32),
            first_seen: rows.first().map_or(0, |&r| times[r as usize]),
            last_seen: rows.last().map_or(0, |&r| times[r as usize]),
            events: rows.len(),
            channels,
            devices,
            timeline,
            categories: top(cats),
            brands: top(brands),
            items: top(its),
            segment,
            segment_description: segment.and_then(|s| {
                self.segments()
                    .and_then(|all| all.segments.get(s as usize))
                    .map(|d| d.description.clone())
            }),
            rfm: self.rfm()[c].clone(),
            lifecycle: self.lifecycle()[c].clone(),
            loyalty: self.loyalty()[c].score,
            open_moments_of_truth: open,
            offers: None,
            next_best_action: None,
        })
    }

    /// The `k` customers (1 to the number of customers) most likely to engage
    /// with an item or a category, among those `filter` admits: an exact
    /// top-k inner-product search of the target's vector over the customer
    /// vectors, the filter applied inside the search. Needs customer and item
    /// vectors ([`CustomerBase::with_vectors`]).
    pub fn target(
        &self,
        what: &Targeting,
        k: usize,
        filter: &CustomerFilter,
    ) -> Result<Vec<Target>> {
        let n = self.customers().len();
        if k == 0 {
            return Err(Error::param("k", "must be at least 1"));
        }
        let k = k.min(n);
        let (Some(users), Some(item_vectors)) = (self.vectors(), self.item_vectors.as_ref()) else {
            return Err(Error::param(
                "vectors",
                "targeting needs customer and item vectors (with_vectors)",
            ));
        };
        let log = self.log();
        // Items the target covers, and its query vector.
        let covered: Vec<u32> = match what {
            Targeting::Item(id) => {
                vec![log.items().get(id.trim()).ok_or_else(|| Error::Unknown {
                    what: "item",
                    id: id.clone(),
                })?]
            }
            Targeting::Category(cat) => {
                let v: Vec<u32> = self
                    .catalog()
                    .items()
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| {
                        i.kind == ItemKind::Product && i.category.as_deref() == Some(cat.as_str())
                    })
                    .map(|(i, _)| i as u32)
                    .collect();
                if v.is_empty() {
                    return Err(Error::Unknown {
                        what: "category",
                        id: cat.clone(),
                    });
                }
                v
            }
        };
        let dim = users.k();
        let mut query = vec![0.0f32; dim];
        for &i in &covered {
            for (q, x) in query.iter_mut().zip(item_vectors.row(i)) {
                *q += x / covered.len() as f32;
            }
        }
        let mut admit = vec![true; n];
        for id in &filter.exclude {
            admit[self.customer_index(id)? as usize] = false;
        }
        if !filter.segments.is_empty() {
            let label: Vec<Option<u32>> = if !filter.labels.is_empty() {
                let mut label = vec![None; n];
                for (id, segment) in &filter.labels {
                    label[self.customer_index(id)? as usize] = Some(*segment);
                }
                label
            } else if let Some(seg) = self.segments() {
                seg.labels.iter().copied().map(Some).collect()
            } else {
                return Err(Error::param(
                    "filter.segments",
                    "the base is not segmented: segment it, or give the segmentation as filter.labels",
                ));
            };
            for (c, l) in label.iter().enumerate() {
                admit[c] &= l.is_some_and(|l| filter.segments.contains(&l));
            }
        }
        if !filter.stages.is_empty() {
            for (c, l) in self.lifecycle().iter().enumerate() {
                admit[c] &= filter.stages.contains(&l.stage);
            }
        }
        if !filter.rfm_groups.is_empty() {
            for (c, r) in self.rfm().iter().enumerate() {
                admit[c] &= filter.rfm_groups.iter().any(|g| g == r.group);
            }
        }
        let covered_set: BTreeSet<u32> = covered.iter().copied().collect();
        if filter.exclude_buyers {
            let (items, kinds) = (log.item_column(), log.kind_column());
            for (c, rows) in self.rows_of.iter().enumerate() {
                if rows.iter().any(|&r| {
                    self.classes.purchase[kinds[r as usize] as usize]
                        && covered_set.contains(&items[r as usize])
                }) {
                    admit[c] = false;
                }
            }
        }
        let index = ExactIndex::build(dim, users.view().as_slice().unwrap_or_default())?;
        let keep = |c: u32| admit[c as usize];
        let hits = index.search(&query, k, Some(&keep))?;
        let items = log.item_column();
        Ok(hits
            .into_iter()
            .map(|h| {
                // Their history's items closest to the target, strongest first.
                let mut seen: Vec<(f32, u32)> = self.rows_of[h.item as usize]
                    .iter()
                    .map(|&r| items[r as usize])
                    .collect::<BTreeSet<u32>>()
                    .into_iter()
                    .filter(|i| {
                        self.catalog()
                            .item(*i)
                            .is_some_and(|it| it.kind == ItemKind::Product)
                    })
                    .map(|i| (crate::embed::dot(item_vectors.row(i), &query), i))
                    .filter(|(s, _)| *s > 0.0)
                    .collect();
                seen.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                seen.truncate(3);
                let reason = if seen.is_empty() {
                    Reason::Taste
                } else {
                    Reason::Because {
                        items: seen
                            .into_iter()
                            .map(|(_, i)| log.items().name(i).unwrap_or_default().to_owned())
                            .collect(),
                    }
                };
                Target {
                    customer: self.customers()[h.item as usize].clone(),
                    score: h.score,
                    reason,
                }
            })
            .collect())
    }
}
