//! Customer intelligence: who the customers are, one customer at a time and
//! in segments, for the people who act on maitre's answers (an agent on the
//! phone, a marketer planning a campaign, a privacy officer).
//!
//! A [`CustomerBase`] holds an event log, its catalogue, the resolved
//! identities and (optionally) customer and item vectors, and answers:
//!
//! * [`CustomerBase::segment`]: k-means++ segments ([`KMeansParams`]) on
//!   customer vectors or per-customer category shares, each described in plain
//!   words (top categories, brands, channels, size, value);
//! * [`CustomerBase::rfm`] and [`CustomerBase::lifecycle`]: quantile RFM
//!   scores with named groups, and lifecycle stages learnt from each
//!   customer's own purchase rhythm;
//! * [`CustomerBase::loyalty`] and [`CustomerBase::advocates`];
//! * [`CustomerBase::customer_view`]: the single customer view;
//! * [`CustomerBase::target`]: the customers most likely to engage with an
//!   item or a category, through the customer vectors and the index;
//! * [`CustomerBase::forget`]: a customer removed from everything it holds.
//!
//! Depends on: `events`, `identity`, `catalog`, `embed` (vectors as
//! [`Factors`]), `index` (targeting), `recommend` (its `Reason`, reused) and
//! `artifact` (the saved form). It may not depend on `eval`, `datasets` or
//! `offers`.

mod kmeans;
mod rfm;
mod segments;
mod view;

#[cfg(test)]
mod tests;

pub use kmeans::{
    silhouette, KMeans, KMeansParams, BLOCK, MAX_CELLS, MAX_DIM, MAX_INITS, MAX_ITERATIONS, MAX_K,
    MAX_K_CHOICES, MAX_SAMPLE,
};
pub use rfm::{Lifecycle, Loyalty, Rfm, Stage};
pub use segments::{describe, Representation, Segment, SegmentTally, Segments, Share};
pub use view::{
    CustomerFilter, CustomerView, MomentOfTruth, NextAction, OfferActivity, OfferShown, Target,
    Targeting, TimelineEvent, MAX_TIMELINE,
};

use crate::artifact::{Artifact, ArtifactWriter, Encoder, Flavour};
use crate::catalog::{Catalog, ItemKind};
use crate::embed::Factors;
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::identity::Identities;
use serde::Serialize;

/// What the base reads from the log: which kinds mean what, when "now" is,
/// and the lifecycle and loyalty constants.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSettings {
    /// Kinds that are purchases. Default `["purchase"]`.
    pub purchase_kinds: Vec<String>,
    /// Kinds that are returns. Default `["return"]`.
    pub return_kinds: Vec<String>,
    /// Kinds that are complaints. Default `["complaint"]`.
    pub complaint_kinds: Vec<String>,
    /// Kinds whose value is a rating (stars). Default `["review", "rating"]`.
    pub rating_kinds: Vec<String>,
    /// A rating at least this high is positive. Default 4.
    pub positive_rating: f32,
    /// The time stages and recency are measured at; `None`: the log's last event.
    pub now: Option<i64>,
    /// A customer whose first purchase is at most this many days old is new. Default 30.
    pub new_days: f64,
    /// At risk when the time since the last purchase exceeds this many of the
    /// customer's typical gaps. Default 2.
    pub at_risk_gaps: f64,
    /// Lapsed beyond this many typical gaps. Default 5.
    pub lapsed_gaps: f64,
    /// Weight of the population's typical gap, in gaps, when estimating a
    /// customer's own (so one observed gap does not decide alone). Default 1.
    pub prior_gaps: f64,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        CustomerSettings {
            purchase_kinds: vec!["purchase".into()],
            return_kinds: vec!["return".into()],
            complaint_kinds: vec!["complaint".into()],
            rating_kinds: vec!["review".into(), "rating".into()],
            positive_rating: 4.0,
            now: None,
            new_days: 30.0,
            at_risk_gaps: 2.0,
            lapsed_gaps: 5.0,
            prior_gaps: 1.0,
        }
    }
}

impl CustomerSettings {
    /// Measures recency and stages at `epoch_seconds`.
    #[must_use]
    pub fn now(mut self, epoch_seconds: i64) -> Self {
        self.now = Some(epoch_seconds);
        self
    }
    /// Days a customer stays new.
    #[must_use]
    pub fn new_days(mut self, days: f64) -> Self {
        self.new_days = days;
        self
    }
    /// Gaps before at risk.
    #[must_use]
    pub fn at_risk_gaps(mut self, gaps: f64) -> Self {
        self.at_risk_gaps = gaps;
        self
    }
    /// Gaps before lapsed.
    #[must_use]
    pub fn lapsed_gaps(mut self, gaps: f64) -> Self {
        self.lapsed_gaps = gaps;
        self
    }

    /// Checks ranges and order (`at_risk_gaps < lapsed_gaps`).
    pub fn validate(&self) -> Result<()> {
        if let Some(now) = self.now {
            crate::events::check_timestamp(now).map_err(|p| Error::param("now", p.to_string()))?;
        }
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::param(name, format!("{v} must be finite and > 0")))
            }
        };
        positive("new_days", self.new_days)?;
        positive("at_risk_gaps", self.at_risk_gaps)?;
        positive("lapsed_gaps", self.lapsed_gaps)?;
        if !(self.prior_gaps.is_finite() && self.prior_gaps >= 0.0) {
            return Err(Error::param("prior_gaps", "must be finite and ≥ 0"));
        }
        if self.at_risk_gaps >= self.lapsed_gaps {
            return Err(Error::param(
                "at_risk_gaps",
                format!(
                    "{} must be below lapsed_gaps ({})",
                    self.at_risk_gaps, self.lapsed_gaps
                ),
            ));
        }
        if !self.positive_rating.is_finite() {
            return Err(Error::param("positive_rating", "must be finite"));
        }
        Ok(())
    }
}

/// What [`CustomerBase::forget`] removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forgotten {
    /// The canonical id asked about.
    pub customer: String,
    /// Every raw id (accounts, devices, anonymous ids) that was theirs.
    pub identities: Vec<String>,
    /// Events removed from the log.
    pub events: usize,
    /// Identity links removed.
    pub links: usize,
    /// Whether a customer vector was removed.
    pub vector: bool,
    /// The segment they were removed from (its centre recomputed without them).
    pub segment: Option<u32>,
}

/// Per-customer kind classes, looked up once.
#[derive(Debug, Clone, Default)]
struct KindClasses {
    purchase: Vec<bool>,
    ret: Vec<bool>,
    complaint: Vec<bool>,
    rating: Vec<bool>,
}

/// The customers of one event log, with everything derived from them.
///
/// ```
/// use maitre::customers::{CustomerBase, CustomerSettings};
/// use maitre::catalog::{Catalog, Item};
/// use maitre::events::{Event, EventLog};
/// let mut log = EventLog::new();
/// log.push(&Event::new("ann", "sku-1", "purchase", 1_700_000_000).context("channel", "web"))?;
/// log.push(&Event::new("app-9", "sku-1", "view", 1_700_086_400).context("channel", "app"))?;
/// log.link("app-9", "ann", 1_700_086_400)?;
/// let catalog = Catalog::aligned(&mut log, vec![Item::new("sku-1").category("shoes").price(40.0)])?;
/// let base = CustomerBase::new(log, catalog, CustomerSettings::default())?;
/// let view = base.customer_view("app-9", 10)?;
/// assert_eq!(view.customer, "ann");
/// assert_eq!(view.identities, ["ann", "app-9"]);
/// assert_eq!(view.channels.len(), 2);
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CustomerBase {
    log: EventLog,
    catalog: Catalog,
    ids: Identities,
    /// Event rows of each customer, by (timestamp, row).
    rows_of: Vec<Vec<u32>>,
    /// Raw ids of each customer, in raw id order.
    raw_of: Vec<Vec<u32>>,
    /// Customer vectors, row `c` for customer `c`.
    vectors: Option<Factors>,
    /// Item vectors (rows are item indices), for targeting.
    item_vectors: Option<Factors>,
    segments: Option<Segments>,
    settings: CustomerSettings,
    classes: KindClasses,
    now: i64,
    derived: Derived,
}

/// Per-customer answers computed once per change of the base, so a view is
/// a look-up and a forgotten customer leaves no stale row behind.
#[derive(Debug, Clone, Default)]
struct Derived {
    rfm: Vec<Rfm>,
    lifecycle: Vec<Lifecycle>,
    loyalty: Vec<Loyalty>,
}

impl CustomerBase {
    /// Indexes `log` by customer. `catalog` must be aligned with it
    /// ([`Catalog::aligned`]); an empty log is [`Error::NotEnoughData`].
    pub fn new(log: EventLog, catalog: Catalog, settings: CustomerSettings) -> Result<Self> {
        settings.validate()?;
        if log.is_empty() {
            return Err(Error::NotEnoughData("the event log is empty".into()));
        }
        if catalog.len() != log.items().len() {
            return Err(Error::LengthMismatch {
                name: "catalog (aligned with the log's items)".into(),
                expected: log.items().len(),
                got: catalog.len(),
            });
        }
        let mut base = CustomerBase {
            log,
            catalog,
            ids: Identities::resolve(&crate::Interner::new(), &[]),
            rows_of: Vec::new(),
            raw_of: Vec::new(),
            vectors: None,
            item_vectors: None,
            segments: None,
            classes: KindClasses::default(),
            now: 0,
            derived: Derived::default(),
            settings,
        };
        base.reindex();
        Ok(base)
    }

    /// Adds customer vectors (row `c` is customer `c` of
    /// [`CustomerBase::customers`], as `Interactions::build` numbers them)
    /// and, optionally, item vectors (row `i` is item index `i`) for targeting.
    pub fn with_vectors(mut self, customers: Factors, items: Option<Factors>) -> Result<Self> {
        if customers.rows() != self.ids.len() {
            return Err(Error::LengthMismatch {
                name: "customer vectors (one row per customer)".into(),
                expected: self.ids.len(),
                got: customers.rows(),
            });
        }
        if let Some(items) = &items {
            if items.rows() != self.catalog.len() {
                return Err(Error::LengthMismatch {
                    name: "item vectors (one row per item)".into(),
                    expected: self.catalog.len(),
                    got: items.rows(),
                });
            }
            if items.k() != customers.k() {
                return Err(Error::LengthMismatch {
                    name: "item vector dimension".into(),
                    expected: customers.k(),
                    got: items.k(),
                });
            }
        }
        self.vectors = Some(customers);
        self.item_vectors = items;
        Ok(self)
    }

    fn reindex(&mut self) {
        let log = &self.log;
        self.ids = log.identities();
        let n = self.ids.len();
        let mut rows_of = vec![Vec::new(); n];
        for (row, &raw) in log.customer_column().iter().enumerate() {
            rows_of[self.ids.customer_of(raw) as usize].push(row as u32);
        }
        let times = log.timestamp_column();
        for rows in &mut rows_of {
            rows.sort_by_key(|&r| (times[r as usize], r));
        }
        let mut raw_of = vec![Vec::new(); n];
        for (raw, &c) in self.ids.customer_of_raw().iter().enumerate() {
            raw_of[c as usize].push(raw as u32);
        }
        let kinds = log.kinds();
        let class = |names: &[String]| -> Vec<bool> {
            (0..kinds.specs().len())
                .map(|k| names.iter().any(|n| *n == kinds.specs()[k].name))
                .collect()
        };
        self.classes = KindClasses {
            purchase: class(&self.settings.purchase_kinds),
            ret: class(&self.settings.return_kinds),
            complaint: class(&self.settings.complaint_kinds),
            rating: class(&self.settings.rating_kinds),
        };
        self.now = self
            .settings
            .now
            .unwrap_or_else(|| times.iter().copied().max().unwrap_or(0));
        self.rows_of = rows_of;
        self.raw_of = raw_of;
        self.derived = Derived {
            rfm: self.compute_rfm(),
            lifecycle: self.compute_lifecycle(),
            loyalty: self.compute_loyalty(),
        };
    }

    /// The log, as this base holds it (after any `forget`).
    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Canonical customer ids, in customer order (the rows of the vectors).
    pub fn customers(&self) -> &[String] {
        self.ids.names()
    }

    /// Customer vectors, if given.
    pub fn vectors(&self) -> Option<&Factors> {
        self.vectors.as_ref()
    }

    /// The last segmentation, if any.
    pub fn segments(&self) -> Option<&Segments> {
        self.segments.as_ref()
    }

    /// The settings.
    pub fn settings(&self) -> &CustomerSettings {
        &self.settings
    }

    /// The time recency and stages are measured at.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The customer index of any of a person's ids.
    pub fn customer_index(&self, id: &str) -> Result<u32> {
        self.ids
            .lookup(self.log.raw_customers(), id.trim())
            .ok_or_else(|| Error::Unknown {
                what: "customer",
                id: id.into(),
            })
    }

    /// Every raw id of customer `c`.
    pub fn identities_of(&self, c: u32) -> Vec<String> {
        let raw = self.log.raw_customers();
        let mut out: Vec<String> = self.raw_of[c as usize]
            .iter()
            .filter_map(|&r| raw.name(r).map(str::to_owned))
            .collect();
        out.sort();
        out
    }

    /// Removes a customer (any of their ids) from everything this base
    /// holds: their events and identity links (the log is rebuilt without
    /// their raw ids, so no interner keeps a name), their vector, their row of
    /// the segmentation (the centre of their segment is recomputed from the
    /// remaining members, so no mean carries their vector). Everything new is
    /// built before anything is replaced: an unknown id changes nothing.
    pub fn forget(&mut self, id: &str) -> Result<Forgotten> {
        let c = self.customer_index(id)?;
        let gone: Vec<u32> = self.raw_of[c as usize].clone();
        let mut is_gone = vec![false; self.log.raw_customers().len()];
        for &r in &gone {
            is_gone[r as usize] = true;
        }
        let (log, events, links) = self.log.without_raw(&is_gone)?;
        let vectors = match &self.vectors {
            Some(v) => Some(v.without_row(c)?),
            None => None,
        };
        let segments = self
            .segments
            .as_ref()
            .map(|s| s.without(c, vectors.as_ref()));
        let report = Forgotten {
            customer: self.ids.name(c).unwrap_or_default().to_owned(),
            identities: self.identities_of(c),
            events,
            links,
            vector: self.vectors.is_some(),
            segment: self.segments.as_ref().map(|s| s.labels[c as usize]),
        };
        self.log = log;
        self.vectors = vectors;
        self.reindex();
        self.segments = segments.map(|mut s| {
            s.describe(self);
            s
        });
        Ok(report)
    }

    /// The base as bytes (an artifact container, see [`crate::artifact`]):
    /// the log (`CLOG`, [`EventLog::to_bytes`]), the catalogue (`CCAT`, JSON),
    /// customer vectors (`CVEC`: rows, dim, values), item vectors (`CITM`) and
    /// segment labels and centres (`CSEG`), each only when present.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = ArtifactWriter::new(Flavour::Full)
            .section(*b"CLOG", self.log.to_bytes()?)
            .section(
                *b"CCAT",
                serde_json::to_vec(&self.catalog)
                    .map_err(|e| Error::param("catalog", e.to_string()))?,
            );
        let factors = |f: &Factors| {
            let mut e = Encoder::new();
            e.put_u64(f.rows() as u64)
                .put_u64(f.k() as u64)
                .put_f32s(f.view().as_slice().unwrap_or_default());
            e.into_bytes()
        };
        if let Some(v) = &self.vectors {
            w = w.section(*b"CVEC", factors(v));
        }
        if let Some(v) = &self.item_vectors {
            w = w.section(*b"CITM", factors(v));
        }
        if let Some(s) = &self.segments {
            let mut e = Encoder::new();
            e.put_u64(s.dim as u64)
                .put_u32s(&s.labels)
                .put_f32s(&s.centroids)
                .put_u8(s.representation as u8);
            w = w.section(*b"CSEG", e.into_bytes());
        }
        w.to_bytes()
    }

    /// Reads [`CustomerBase::to_bytes`]; segment descriptions are recomputed.
    pub fn from_bytes(bytes: &[u8], settings: CustomerSettings) -> Result<Self> {
        let a = Artifact::from_bytes(bytes)?;
        let log = EventLog::from_bytes(a.section(*b"CLOG")?)?;
        let catalog: Catalog = serde_json::from_slice(a.section(*b"CCAT")?).map_err(|e| {
            Error::artifact(crate::error::ArtifactProblem::BadSection {
                tag: "CCAT".into(),
                reason: e.to_string(),
            })
        })?;
        let factors = |tag: [u8; 4]| -> Result<Option<Factors>> {
            if !a.has_section(tag) {
                return Ok(None);
            }
            let mut d = a.decoder(tag)?;
            let rows = d.get_usize()?;
            let k = d.get_usize()?;
            let data = d.get_f32s()?;
            d.finish()?;
            Factors::from_vec(rows, k, data).map(Some)
        };
        let mut base = CustomerBase::new(log, catalog, settings)?;
        if let Some(v) = factors(*b"CVEC")? {
            base = base.with_vectors(v, factors(*b"CITM")?)?;
        }
        if a.has_section(*b"CSEG") {
            let mut d = a.decoder(*b"CSEG")?;
            let dim = d.get_usize()?;
            let labels = d.get_u32s()?;
            let centroids = d.get_f32s()?;
            let representation = match d.get_u8()? {
                0 => Representation::Vectors,
                1 => Representation::CategoryShares,
                other => return Err(d.invalid(format!("representation {other}"))),
            };
            d.finish()?;
            let k = centroids.len().checked_div(dim).unwrap_or(0);
            if labels.len() != base.ids.len()
                || dim == 0
                || centroids.len() != k * dim
                || labels.iter().any(|&l| l as usize >= k)
            {
                return Err(Error::artifact(crate::error::ArtifactProblem::BadSection {
                    tag: "CSEG".into(),
                    reason: "labels or centres do not match the customers".into(),
                }));
            }
            let mut s = Segments {
                representation,
                dim,
                labels,
                centroids,
                inertia: 0.0,
                silhouettes: Vec::new(),
                segments: Vec::new(),
            };
            s.describe(&base);
            base.segments = Some(s);
        }
        Ok(base)
    }

    /// Whether item `i` is a service action (answers a return or complaint).
    fn is_service(&self, item: u32) -> bool {
        self.catalog
            .item(item)
            .is_some_and(|it| it.kind == ItemKind::Service)
    }
}
