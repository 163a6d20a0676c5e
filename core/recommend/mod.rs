//! Serving: "what should this customer or visitor see now?"
//!
//! A [`Recommender`] bundles what answering needs: item vectors in an
//! [`Index`], the fold-in model (to turn a session's events into a vector),
//! the catalogue (for rules), context vectors, popularity (for fallbacks) and,
//! in the full flavour, known customers with their vectors and histories.
//! [`Recommender::recommend`] composes the query (taste ⊕ session ⊕ context),
//! searches with the filters applied inside the index, then applies boosts,
//! rotation, the relevance floor and diversity, fills any gap from popular
//! items in the context, optionally gives the last place to a new arrival
//! (`Request::new_arrival_slot`), and says why each item is there.
//!
//! Depends on: `catalog`, `embed`, `index`, `events` (to build from a log),
//! `error`. May not depend on `eval` or `datasets`.

mod rules;
mod store;

pub(crate) use rules::listed;
pub use rules::{Boost, Diversity, Field, Filters, Predicate, Rotation, CONSUMED_KINDS};

use crate::catalog::{Catalog, Item, ItemKind};
use crate::embed::{AlsModel, AttributeVectors, ContextVectors, Factors, NormCalibration};
use crate::error::{Error, Result};
use crate::events::{EventKinds, EventLog};
use crate::index::{Index, IndexParams};
use crate::Interner;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The most results (requests × items) one batch table may hold: 2^24 cells
/// (e.g. a million customers × 16 items), about 1 GB while the batch runs.
pub const MAX_BATCH_CELLS: usize = 1 << 24;

/// Serving settings with validated defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeSettings {
    /// Weight of the context vectors in the query. Default 0.1: the weight
    /// `eval::evaluate_context` chose on validation for the synthetic
    /// storefront; re-tune it for your data the same way.
    pub context_weight: f32,
    /// Without a stored history, a known customer's query is
    /// `(1 − w)·taste + w·session`; this is `w`. Default 0.5.
    pub session_weight: f32,
    /// Items kept per context pair for popular-in-context fallbacks.
    pub popular_per_context: usize,
    /// Seconds. `None` (default): a known customer without session events is
    /// served from the taste vector ALS learnt. `Some(h)`: their history is
    /// folded in afresh at each request, each item's weight halved for every
    /// `h` seconds between the customer's last event on it and their latest
    /// event (session events without a time count as latest), so what they
    /// did last counts most and reasons name it. It suits catalogues where
    /// the next choice follows the last ones (MovieLens leave-last-out: with
    /// 5 minutes and `tune`'s ALS settings, NDCG@10 0.0735 → 0.0978, see
    /// BENCHMARKS.md) and hurts where it does not (a temporal cut weeks
    /// later): `eval::tune` chooses it on validation.
    pub history_half_life: Option<f32>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            context_weight: 0.1,
            session_weight: 0.5,
            popular_per_context: 200,
            history_half_life: None,
        }
    }
}

impl ServeSettings {
    pub fn validate(&self) -> Result<()> {
        if !self.context_weight.is_finite() {
            return Err(Error::param("context_weight", "must be finite"));
        }
        if !(0.0..=1.0).contains(&self.session_weight) {
            return Err(Error::param(
                "session_weight",
                format!("{} must be between 0 and 1", self.session_weight),
            ));
        }
        match self.history_half_life {
            Some(h) if !(h.is_finite() && h > 0.0) => Err(Error::param(
                "history_half_life",
                format!("{h} must be a positive, finite number of seconds"),
            )),
            _ => Ok(()),
        }
    }

    /// With [`ServeSettings::history_half_life`]: scales each entry's weight
    /// by its age against the latest entry's time. Untimed entries (a
    /// session's) count as latest; nothing changes when no entry has a time.
    fn weigh_by_recency(&self, entries: &mut [Seen]) {
        let Some(half_life) = self.history_half_life else {
            return;
        };
        let Some(latest) = entries.iter().map(|e| e.last).filter(|&t| t != NOW).max() else {
            return;
        };
        for e in entries.iter_mut().filter(|e| e.last != NOW) {
            // Both times are accepted timestamps (1970–2100), so no overflow.
            // `f32::powf`, which fold-in links already: an `f64::exp` here
            // cost the browser package a kilobyte gzipped.
            let age = latest.saturating_sub(e.last).max(0) as f32;
            e.weight *= 0.5f32.powf(age / half_life);
        }
    }
}

/// One event of the current session (or an anonymous visitor's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionEvent {
    pub item: String,
    /// An event kind known to the model (`view`, `cart`, `purchase`, …).
    pub kind: String,
    /// Epoch seconds (1970 to 2100, as events); needed only for
    /// `Filters::exclude_purchased_within`.
    #[serde(default)]
    pub timestamp: Option<i64>,
}

impl SessionEvent {
    pub fn new(item: impl Into<String>, kind: impl Into<String>) -> Self {
        SessionEvent {
            item: item.into(),
            kind: kind.into(),
            timestamp: None,
        }
    }
}

/// A recommendation request. Everything is optional but `k`.
///
/// A service can read requests as JSON; a misspelt key (here a filter) is an
/// error, never a rule silently left out:
///
/// ```
/// use maitre::recommend::Request;
/// let json = r#"{"k": 5, "customer": "c-17", "filters": {"max_price": 50.0}}"#;
/// let request: Request = serde_json::from_str(json).unwrap();
/// assert_eq!((request.k, request.filters.max_price), (5, Some(50.0)));
/// let typo = r#"{"k": 5, "filters": {"max_prize": 50.0}}"#;
/// let error = serde_json::from_str::<Request>(typo).unwrap_err();
/// assert!(error.to_string().contains("unknown field `max_prize`"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Request {
    /// A known customer id (any of their linked ids). An unknown id is a new
    /// customer: served from session, context and popularity.
    pub customer: Option<String>,
    pub session: Vec<SessionEvent>,
    /// `(key, value)` pairs such as `("device", "mobile")`.
    pub context: Vec<(String, String)>,
    pub k: usize,
    pub filters: Filters,
    pub boosts: Vec<Boost>,
    /// Items placed first, in this order (if they exist and pass the filters).
    pub pins: Vec<String>,
    pub diversity: Diversity,
    pub rotation: Option<Rotation>,
    /// Personalised items scoring below this are replaced by fallbacks.
    pub min_score: Option<f32>,
    /// "Now" in epoch seconds, for time windows; 1970 to 2100, as events
    /// (a `now` in milliseconds is an `InvalidParam`, not a window that
    /// excludes nothing).
    pub now: Option<i64>,
    /// Exploration slot: when the list holds no new arrival (an item placed
    /// without events: from its attributes at build, or by
    /// [`Recommender::add_item`]), its last place goes to the eligible new
    /// arrival that scores highest for the request (the newest without a
    /// query), with [`Reason::NewArrival`]. A pinned last place is kept.
    /// Default off: on MovieLens 100K it lifts full-catalogue recall@20 of
    /// new items at place 20 from 0 to 0.056 (0.069 with the calibration; see
    /// BENCHMARKS.md) at the price of one organic place whenever it fires:
    /// in the last place of a 10-item list that costs warm NDCG@10 2.3–4.5 %
    /// (MovieLens, synthetic storefronts), so it is a product decision, not
    /// a measured win.
    pub new_arrival_slot: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            customer: None,
            session: Vec::new(),
            context: Vec::new(),
            k: 10,
            filters: Filters::default(),
            boosts: Vec::new(),
            pins: Vec::new(),
            diversity: Diversity::default(),
            rotation: None,
            min_score: None,
            now: None,
            new_arrival_slot: false,
        }
    }
}

impl Request {
    /// A request for `k` items.
    pub fn new(k: usize) -> Self {
        Request {
            k,
            ..Request::default()
        }
    }

    #[must_use]
    pub fn customer(mut self, id: impl Into<String>) -> Self {
        self.customer = Some(id.into());
        self
    }

    #[must_use]
    pub fn event(mut self, item: impl Into<String>, kind: impl Into<String>) -> Self {
        self.session.push(SessionEvent::new(item, kind));
        self
    }

    #[must_use]
    pub fn context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.push((key.into(), value.into()));
        self
    }

    #[must_use]
    pub fn filters(mut self, filters: Filters) -> Self {
        self.filters = filters;
        self
    }

    #[must_use]
    pub fn diversity(mut self, diversity: Diversity) -> Self {
        self.diversity = diversity;
        self
    }

    #[must_use]
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = Some(rotation);
        self
    }

    #[must_use]
    pub fn pin(mut self, item: impl Into<String>) -> Self {
        self.pins.push(item.into());
        self
    }

    #[must_use]
    pub fn boost(mut self, when: Predicate, amount: f32) -> Self {
        self.boosts.push(Boost { when, amount });
        self
    }

    /// Reserves the last place for a new arrival (see
    /// [`Request::new_arrival_slot`]).
    ///
    /// ```
    /// use maitre::recommend::Request;
    /// let json = r#"{"k": 10, "new_arrival_slot": true}"#;
    /// let request: Request = serde_json::from_str(json).unwrap();
    /// assert_eq!(request, Request::new(10).new_arrival_slot(true));
    /// assert!(!Request::new(10).new_arrival_slot); // off by default
    /// ```
    #[must_use]
    pub fn new_arrival_slot(mut self, on: bool) -> Self {
        self.new_arrival_slot = on;
        self
    }
}

/// Why an item is in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    /// Close to these items from the customer's history or session ("because
    /// you viewed …"), strongest first.
    Because { items: Vec<String> },
    /// The customer's long-term taste, with no single item standing out.
    Taste,
    /// Placed by the request's pins.
    Pinned,
    /// Filled in: popular in this context (`key=value`).
    PopularInContext { context: String },
    /// Filled in: popular overall.
    Popular,
    /// A new arrival (no events yet) given the exploration slot
    /// ([`Request::new_arrival_slot`]).
    NewArrival,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub item: String,
    /// The item's index (row of the item vectors).
    pub index: u32,
    /// The ranking score: the inner product with the query, plus boosts,
    /// minus rotation penalties (0 for pins and fallbacks' own order).
    pub score: f32,
    #[serde(flatten)]
    pub reason: Reason,
}

/// Known customers: vectors, ids and what they did (full flavour only).
#[derive(Debug, Clone, PartialEq)]
pub struct Customers {
    /// Canonical id of each customer (row of the vectors).
    pub ids: Interner,
    /// Every raw id (linked devices, accounts) → customer row.
    pub aliases: HashMap<String, u32>,
    /// History: per customer, what they did with each item, sorted by item.
    pub history: Vec<Vec<Seen>>,
}

/// What [`Recommender::forget`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForgottenCustomer {
    /// Their canonical id.
    pub customer: String,
    /// Every id that led to them, sorted.
    pub identities: Vec<String>,
    /// Items in their history.
    pub history: usize,
}

/// One item a customer or session interacted with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub item: u32,
    /// The sum of the events' weights (their kinds' contributions).
    pub weight: f32,
    /// The last purchase time, or one of two markers below any real time:
    /// "had, with no timed purchase" (rated it, reviewed it, bought it in a
    /// session event without a time) or "not had". One `i64` keeps the saved
    /// format unchanged.
    pub had: i64,
    /// The time of the last event on the item; a "now" marker (`i64::MAX`)
    /// for a session event without a time, and an "unknown" one
    /// (`i64::MIN`) in histories saved before times were kept (such a
    /// customer is served from their taste vector).
    pub last: i64,
}
const NOT_HAD: i64 = i64::MIN;
const HAD_UNTIMED: i64 = i64::MIN + 1;
const NOW: i64 = i64::MAX;
const UNKNOWN_TIME: i64 = i64::MIN;

/// The `had` mark one event of `kind` leaves (`max` merges marks).
fn had_mark(kind: &str, timestamp: Option<i64>) -> i64 {
    match (kind, timestamp) {
        ("purchase", Some(t)) => t,
        _ if rules::CONSUMED_KINDS.contains(&kind) => HAD_UNTIMED,
        _ => NOT_HAD,
    }
}

/// Items kept in the overall popularity ranking.
const POPULAR_OVERALL: usize = 1000;

/// Everything needed to answer requests. See the module doc.
pub struct Recommender {
    model: AlsModel,
    catalog: Catalog,
    ids: Interner,
    index: Box<dyn Index>,
    kinds: EventKinds,
    context_pairs: Interner,
    context: Option<ContextVectors>,
    attributes: Option<AttributeVectors>,
    /// Rescales attribute-placed vectors (`BuildOptions::calibrate_new_items`).
    calibration: Option<NormCalibration>,
    /// Items placed without events (from attributes at build, or by
    /// `add_item`), ascending: the exploration slot's candidates.
    new_arrivals: Vec<u32>,
    /// The most popular items overall (by positive event weight), best
    /// first: the last fallback before plain catalogue order.
    popular: Vec<u32>,
    /// Per context pair, the most popular items there, best first.
    popular_in: Vec<Vec<u32>>,
    customers: Option<Customers>,
    settings: ServeSettings,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("items", &self.catalog.len())
            .field("factors", &self.model.items.k())
            .field(
                "customers",
                &self.customers.as_ref().map_or(0, |c| c.ids.len()),
            )
            .field("context_pairs", &self.context_pairs.len())
            .finish()
    }
}

/// What [`Recommender::build`] needs besides the log and model.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub index: IndexParams,
    pub settings: ServeSettings,
    /// Learn the cold-start attribute map (needs item attributes).
    pub attributes: Option<crate::embed::ColdStartParams>,
    /// With `attributes`: rescale each attribute-placed vector's norm to
    /// that of warm items with similar predicted norms times this strength
    /// ([`NormCalibration`]; 1 is parity), so a new item with a strong
    /// attribute match can enter a full-catalogue list. Default `None` (off):
    /// the strength that gives new items at most 2 % of validation top-10
    /// places differs by catalogue (0.95 on MovieLens 100K, 1.1 on the small
    /// storefront, 3 on the medium one; `evaluate --cold-start
    /// --full-catalogue`), so choose it on your own validation split.
    pub calibrate_new_items: Option<f32>,
    /// Leave customers out (the storefront flavour: no customer ids or
    /// vectors, sessions only).
    pub without_customers: bool,
}

impl Recommender {
    /// Builds a recommender from the log a model was fitted on.
    ///
    /// `catalog` must be aligned with `log` and `model` fitted on
    /// `Interactions::build(log, …)` (same customers and items).
    ///
    /// ```
    /// use maitre::datasets::{synthetic_storefront, Size};
    /// use maitre::embed::Als;
    /// use maitre::interactions::{InteractionConfig, Interactions};
    /// use maitre::recommend::{BuildOptions, Recommender, Request};
    /// let shop = synthetic_storefront(1, Size::Tiny)?;
    /// let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    /// let model = Als::params().factors(8).iterations(4).fit(&matrix)?;
    /// let rec = Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default())?;
    /// let visitor = Request::new(5).event("sku-000003", "purchase").context("device", "mobile");
    /// let list = rec.recommend(&visitor)?;
    /// assert_eq!(list.len(), 5);
    /// assert!(list.iter().all(|r| r.item != "sku-000003")); // what was bought is left out
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn build(
        log: &EventLog,
        catalog: &Catalog,
        model: AlsModel,
        options: &BuildOptions,
    ) -> Result<Self> {
        options.settings.validate()?;
        if let Some(strength) = options.calibrate_new_items {
            if !(strength.is_finite() && strength > 0.0) {
                return Err(Error::param(
                    "calibrate_new_items",
                    format!("{strength} must be positive and finite"),
                ));
            }
        }
        if options.calibrate_new_items.is_some() && options.attributes.is_none() {
            return Err(Error::param(
                "calibrate_new_items",
                "needs BuildOptions::attributes (the calibration rescales attribute vectors)",
            ));
        }
        let n_items = log.items().len();
        if catalog.len() != n_items {
            return Err(Error::LengthMismatch {
                name: "catalog (must be aligned with the log: Catalog::aligned)".into(),
                expected: n_items,
                got: catalog.len(),
            });
        }
        let mut model = model;
        let fitted = model.items.rows();
        // Items past the model's rows are new arrivals that `Catalog::aligned`
        // added to the log: they are placed by the attribute map below, all at
        // once (one `add_item` each would copy the item matrix every time).
        // Events on such an item mean the log is not the one the model was
        // fitted on, and no attribute map means there is no way to place them.
        let arrivals = fitted..n_items.max(fitted);
        if !arrivals.is_empty() {
            let with_events = log
                .item_column()
                .iter()
                .any(|&i| arrivals.contains(&(i as usize)));
            let why = if with_events {
                Some("some of them have events: build with the log the model was fitted on")
            } else if options.attributes.is_none() {
                Some(
                    "they have no events, and without BuildOptions::attributes there is \
                     no attribute map to place them: build with attributes, or add them \
                     with Recommender::add_item and a vector",
                )
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Error::param(
                    "catalog",
                    format!(
                        "{} of its {n_items} items are not in the model (fitted on {fitted}); {why}",
                        n_items - fitted
                    ),
                ));
            }
        }
        if fitted != n_items && arrivals.is_empty() {
            return Err(Error::LengthMismatch {
                name: "model items (must match the log's items)".into(),
                expected: n_items,
                got: fitted,
            });
        }
        let identities = log.identities();
        if model.users.rows() != identities.len() {
            return Err(Error::LengthMismatch {
                name: "model customers (must match the log's customers)".into(),
                expected: identities.len(),
                got: model.users.rows(),
            });
        }
        let kinds = log.kinds();
        // Each kind's "had" mark once, not a name lookup per event; a purchase
        // marks its own time instead.
        let untimed: Vec<i64> = kinds
            .specs()
            .iter()
            .map(|s| had_mark(&s.name, None))
            .collect();
        let purchase = kinds.id("purchase");
        let vocab = log.context_vocab();
        let mut context_pairs = Interner::new();
        for p in 0..vocab.len() as u32 {
            let (key, value) = vocab.pair(p).expect("pair ids are dense");
            context_pairs.intern(&format!("{key}={value}"));
        }
        let mut popularity = vec![0f32; n_items];
        let mut in_pair: Vec<HashMap<u32, f32>> = vec![HashMap::new(); vocab.len()];
        let mut observations = Vec::new();
        let mut history: Vec<HashMap<u32, Seen>> = vec![HashMap::new(); identities.len()];
        for e in 0..log.len() {
            let item = log.item_column()[e];
            let kind = log.kind_column()[e];
            let weight = kinds.contribution(kind, log.value_column()[e]);
            let user = identities.customer_of(log.customer_column()[e]);
            let time = log.timestamp_column()[e];
            let entry = history[user as usize].entry(item).or_insert(Seen {
                item,
                weight: 0.0,
                had: NOT_HAD,
                last: time,
            });
            entry.weight += weight;
            entry.had = entry.had.max(if Some(kind) == purchase {
                time
            } else {
                untimed[kind as usize]
            });
            entry.last = entry.last.max(time);
            if weight > 0.0 {
                popularity[item as usize] += weight;
                for &p in log.context_of(e) {
                    *in_pair[p as usize].entry(item).or_default() += weight;
                    observations.push((p, item, weight));
                }
            }
        }
        let ranked = |counts: Vec<(u32, f32)>, keep: usize| -> Vec<u32> {
            let mut items: Vec<(u32, f32)> = counts.into_iter().filter(|c| c.1 > 0.0).collect();
            items.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            items.truncate(keep);
            items.into_iter().map(|(i, _)| i).collect()
        };
        let keep = options.settings.popular_per_context;
        let popular_in = in_pair
            .into_iter()
            .map(|counts| ranked(counts.into_iter().collect(), keep))
            .collect();
        let context = match vocab.len() {
            0 => None,
            n => Some(ContextVectors::fit(&model.items, n, &observations, 20)?),
        };
        let mut calibration = None;
        let attributes = match &options.attributes {
            Some(params) => {
                let warm: Vec<u32> = (0..n_items as u32)
                    .filter(|&i| popularity[i as usize] > 0.0)
                    .collect();
                let (fitted_items, new_items) = catalog.items().split_at(fitted);
                let map = AttributeVectors::fit(fitted_items, &model.items, &warm, params)?;
                if let Some(strength) = options.calibrate_new_items {
                    calibration = Some(
                        NormCalibration::fit(fitted_items, &model.items, &warm, params)?
                            .with_strength(strength)?,
                    );
                }
                for item in new_items {
                    let mut v = map.vector(item);
                    if let Some(c) = &calibration {
                        c.apply(&mut v);
                    }
                    model.items.push(&v)?;
                }
                Some(map)
            }
            None => None,
        };
        let new_arrivals: Vec<u32> = (fitted as u32..n_items as u32).collect();
        let customers = if options.without_customers {
            None
        } else {
            let mut ids = Interner::new();
            for c in 0..identities.len() as u32 {
                ids.intern(identities.name(c).unwrap_or_default());
            }
            let aliases = log
                .raw_customers()
                .names()
                .iter()
                .enumerate()
                .map(|(raw, name)| (name.clone(), identities.customer_of(raw as u32)))
                .collect();
            let history = history
                .into_iter()
                .map(|h| {
                    let mut h: Vec<Seen> = h.into_values().collect();
                    h.sort_unstable_by_key(|e| e.item);
                    h
                })
                .collect();
            Some(Customers {
                ids,
                aliases,
                history,
            })
        };
        let model = if options.without_customers {
            model.without_users()
        } else {
            model
        };
        let index = options.index.build(
            model.items.k(),
            model.items.view().as_slice().unwrap_or(&[]),
        )?;
        let mut ids = Interner::new();
        for item in catalog.items() {
            ids.intern(&item.id);
        }
        Ok(Recommender {
            model,
            catalog: catalog.clone(),
            ids,
            index,
            kinds: kinds.clone(),
            context_pairs,
            context,
            attributes,
            calibration,
            new_arrivals,
            popular: ranked(
                popularity
                    .iter()
                    .copied()
                    .enumerate()
                    .map(|(i, w)| (i as u32, w))
                    .collect(),
                POPULAR_OVERALL,
            ),
            popular_in,
            customers,
            settings: options.settings.clone(),
        })
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The item vectors.
    pub fn item_vectors(&self) -> &Factors {
        &self.model.items
    }

    /// Known customers (none in the storefront flavour).
    pub fn customers(&self) -> Option<&Customers> {
        self.customers.as_ref()
    }

    /// Serving settings.
    pub fn settings(&self) -> &ServeSettings {
        &self.settings
    }

    /// Changes the serving settings.
    pub fn set_settings(&mut self, settings: ServeSettings) -> Result<()> {
        settings.validate()?;
        self.settings = settings;
        Ok(())
    }

    /// The index of item `id`.
    pub fn item_index(&self, id: &str) -> Result<u32> {
        self.ids.get(id).ok_or_else(|| Error::Unknown {
            what: "item",
            id: id.into(),
        })
    }

    fn customer_row(&self, id: &str) -> Option<u32> {
        self.customers.as_ref()?.aliases.get(id).copied()
    }

    /// Removes a known customer (any of their ids): their vector, every id
    /// that led to them and their history, so no later answer or saved
    /// artifact holds them. What was learnt from everyone together (item
    /// vectors, popularity, context vectors) stays: it carries no one's id
    /// or vector. An unknown id (or the storefront flavour, which holds no
    /// customers) is [`Error::Unknown`] and changes nothing.
    pub fn forget(&mut self, id: &str) -> Result<ForgottenCustomer> {
        let row = self.customer_row(id).ok_or_else(|| Error::Unknown {
            what: "customer",
            id: id.into(),
        })?;
        let customers = self.customers.as_ref().expect("a row was found");
        let mut identities: Vec<String> = customers
            .aliases
            .iter()
            .filter(|&(_, &r)| r == row)
            .map(|(name, _)| name.clone())
            .collect();
        identities.sort();
        let mut ids = Interner::new();
        for (r, name) in customers.ids.names().iter().enumerate() {
            if r != row as usize {
                ids.intern(name);
            }
        }
        let aliases = customers
            .aliases
            .iter()
            .filter(|&(_, &r)| r != row)
            .map(|(name, &r)| (name.clone(), if r > row { r - 1 } else { r }))
            .collect();
        let mut history = customers.history.clone();
        let seen = history.remove(row as usize).len();
        let users = self.model.users.without_row(row)?;
        let report = ForgottenCustomer {
            customer: customers.ids.name(row).unwrap_or_default().to_owned(),
            identities,
            history: seen,
        };
        self.model.users = users;
        self.customers = Some(Customers {
            ids,
            aliases,
            history,
        });
        Ok(report)
    }

    /// A brand-new item: added to the catalogue and the index, its vector
    /// from `vector` or, when `None`, from its attributes (cold start; needs
    /// the recommender built with `BuildOptions::attributes`). Returns its index.
    pub fn add_item(&mut self, item: Item, vector: Option<Vec<f32>>) -> Result<u32> {
        if self.ids.get(item.id.trim()).is_some() {
            return Err(Error::param(
                "item",
                format!("{:?} is already in the catalogue", item.id),
            ));
        }
        let vector =
            match (vector, &self.attributes) {
                (Some(v), _) => v,
                (None, Some(map)) => {
                    let mut v = map.vector(&item);
                    if let Some(c) = &self.calibration {
                        c.apply(&mut v);
                    }
                    v
                }
                (None, None) => return Err(Error::param(
                    "vector",
                    "no vector given and no attribute map (build with BuildOptions::attributes)",
                )),
            };
        let mut items = self.model.items.clone();
        let row = items.push(&vector)?;
        let mut catalog = self.catalog.clone();
        let at = catalog.push(item)?;
        debug_assert_eq!(at, row);
        let placed = self.index.insert(&vector)?;
        debug_assert_eq!(placed, row);
        self.ids.intern(&catalog.items()[row as usize].id);
        self.model.items = items;
        self.catalog = catalog;
        self.new_arrivals.push(row);
        Ok(row)
    }

    /// The session's items and weights, validated.
    fn session_entries(&self, session: &[SessionEvent]) -> Result<Vec<Seen>> {
        session
            .iter()
            .enumerate()
            .map(|(at, e)| {
                let item = self.item_index(&e.item)?;
                let kind = self.kinds.id(&e.kind).ok_or_else(|| Error::Unknown {
                    what: "event kind",
                    id: format!("{} (session event {at})", e.kind),
                })?;
                if let Some(t) = e.timestamp {
                    crate::events::check_timestamp(t).map_err(|p| {
                        Error::param(format!("session[{at}].timestamp"), p.to_string())
                    })?;
                }
                Ok(Seen {
                    item,
                    weight: self.kinds.contribution(kind, f32::NAN),
                    had: had_mark(&e.kind, e.timestamp),
                    last: e.timestamp.unwrap_or(NOW),
                })
            })
            .collect()
    }

    /// The query vector and the history it came from (for reasons and the
    /// seen filter), or `None` when nothing personal is known.
    fn query(&self, request: &Request) -> Result<(Option<Vec<f32>>, Vec<Seen>)> {
        let session = self.session_entries(&request.session)?;
        let customer = request
            .customer
            .as_deref()
            .and_then(|c| self.customer_row(c));
        let stored: &[Seen] = match (customer, &self.customers) {
            (Some(row), Some(c)) => &c.history[row as usize],
            _ => &[],
        };
        let mut seen: Vec<Seen> = stored.iter().chain(&session).copied().collect();
        seen.sort_by_key(|e| e.item);
        // The history half-life needs every stored item's time.
        let by_recency = self.settings.history_half_life.is_some()
            && !seen.iter().any(|e| e.last == UNKNOWN_TIME);
        if by_recency {
            self.settings.weigh_by_recency(&mut seen);
        }
        // A known customer's history is folded in afresh when a session adds
        // to it or when recency reweighs it; otherwise their taste vector is
        // what ALS learnt from it.
        let from_history = !stored.is_empty() && (by_recency || !session.is_empty());
        let taste = match customer {
            Some(_) if from_history => Some(self.fold(&seen)?),
            Some(row) if session.is_empty() => Some(self.model.users.row(row).to_vec()),
            Some(row) => {
                let s = self.fold(&seen)?; // the session's own entries
                let w = self.settings.session_weight;
                let u = self.model.users.row(row);
                Some(
                    u.iter()
                        .zip(&s)
                        .map(|(u, s)| (1.0 - w) * u + w * s)
                        .collect(),
                )
            }
            None if !session.is_empty() => Some(self.fold(&seen)?),
            None => None,
        };
        let pairs = self.context_ids(&request.context);
        let query = taste.map(|t| match &self.context {
            Some(ctx) => ctx.blend(&t, &pairs, self.settings.context_weight),
            None => t,
        });
        Ok((query, seen))
    }

    /// The vector a request is scored with (taste ⊕ session ⊕ context), as
    /// [`Recommender::recommend`] composes it, or `None` when the request
    /// names no known customer and has no session events. The offers module
    /// uses it as a visitor's bandit context
    /// ([`crate::offers::OfferRequest::from_session`]).
    ///
    /// ```
    /// use maitre::datasets::{synthetic_storefront, Size};
    /// use maitre::embed::Als;
    /// use maitre::interactions::{InteractionConfig, Interactions};
    /// use maitre::recommend::{BuildOptions, Recommender, Request};
    /// let shop = synthetic_storefront(7, Size::Tiny)?;
    /// let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    /// let model = Als::params().factors(8).fit(&matrix)?;
    /// let rec = Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default())?;
    /// let item = &shop.catalog.items()[0].id;
    /// let v = rec.query_vector(&Request::new(1).event(item.as_str(), "view"))?;
    /// assert_eq!(v.map(|v| v.len()), Some(8));
    /// assert_eq!(rec.query_vector(&Request::new(1))?, None);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn query_vector(&self, request: &Request) -> Result<Option<Vec<f32>>> {
        Ok(self.query(request)?.0)
    }

    fn fold(&self, entries: &[Seen]) -> Result<Vec<f32>> {
        let (items, weights): (Vec<u32>, Vec<f32>) =
            entries.iter().map(|e| (e.item, e.weight)).unzip();
        self.model.fold_in(&items, &weights)
    }

    /// Known context pairs of a request; unknown ones carry no signal and are
    /// skipped (a new channel must not break serving).
    fn context_ids(&self, context: &[(String, String)]) -> Vec<u32> {
        context
            .iter()
            .filter_map(|(k, v)| self.context_pairs.get(&format!("{k}={v}")))
            .collect()
    }

    /// Top-`k` items for a customer and/or session, under the request's rules.
    /// Always returns `k` items when `k` items pass the filters.
    pub fn recommend(&self, request: &Request) -> Result<Vec<Recommendation>> {
        request.filters.validate()?;
        request.diversity.validate()?;
        if let Some(r) = &request.rotation {
            r.validate()?;
        }
        // Times in a request obey the events' range (see `events`): a `now`
        // in milliseconds would otherwise exclude no purchase at all.
        if let Some(now) = request.now {
            crate::events::check_timestamp(now).map_err(|p| Error::param("now", p.to_string()))?;
        }
        if request.filters.exclude_purchased_within.is_some() && request.now.is_none() {
            return Err(Error::param(
                "now",
                "exclude_purchased_within needs the request's current time",
            ));
        }
        if let Some(b) = request.boosts.iter().find(|b| !b.amount.is_finite()) {
            return Err(Error::param(
                "boosts",
                format!("amount {} is not finite", b.amount),
            ));
        }
        // No list can be longer than the catalogue; capping first keeps a huge `k`
        // from sizing buffers (or overflowing the candidate pool).
        let k = request.k.min(self.catalog.len());
        let (query, seen) = self.query(request)?;
        // The filter runs once per scanned item inside the index: cheap
        // attribute checks first, then binary searches (`seen` is sorted by item).
        let mut excluded: Vec<u32> = request
            .filters
            .exclude_items
            .iter()
            .filter_map(|id| self.ids.get(id))
            .collect();
        excluded.sort_unstable();
        let mut only: Vec<u32> = request
            .filters
            .only_items
            .iter()
            .filter_map(|id| self.ids.get(id))
            .collect();
        only.sort_unstable();
        let restricted = !request.filters.only_items.is_empty();
        // The history rules (seen, had, bought within a window) share one
        // binary search per scanned item.
        let f = &request.filters;
        let window = f.exclude_purchased_within.zip(request.now);
        let history_rules = f.exclude_seen || f.exclude_consumed || window.is_some();
        let held_back = |item: u32| {
            history_rules && {
                let from = seen.partition_point(|e| e.item < item);
                seen[from..].iter().take_while(|e| e.item == item).any(|e| {
                    f.exclude_seen
                        || (f.exclude_consumed && e.had != NOT_HAD)
                        || window.is_some_and(|(w, now)| {
                            e.had > HAD_UNTIMED && now.saturating_sub(e.had) <= w
                        })
                })
            }
        };
        let eligible = |item: u32| {
            self.catalog
                .item(item)
                .is_some_and(|it| request.filters.admits(it))
                && excluded.binary_search(&item).is_err()
                && (!restricted || only.binary_search(&item).is_ok())
                && !held_back(item)
        };
        let mut out: Vec<Recommendation> = Vec::with_capacity(k);
        let mut taken: HashSet<u32> = HashSet::new();
        for pin in &request.pins {
            let item = self.item_index(pin)?;
            if out.len() < k && eligible(item) && taken.insert(item) {
                out.push(self.entry(item, 0.0, Reason::Pinned));
            }
        }
        if let Some(q) = &query {
            let wanted = k - out.len();
            let rules = request.diversity.relevance < 1.0
                || request.diversity.max_per_category.is_some()
                || request.rotation.is_some()
                || !request.boosts.is_empty();
            let pool = if rules { wanted * 4 + 20 } else { wanted };
            let filter = |i: u32| !taken.contains(&i) && eligible(i);
            let hits = self.index.search(q, pool, Some(&filter))?;
            let mut scored: Vec<(u32, f32)> = hits
                .into_iter()
                .map(|h| (h.item, self.adjust(h.item, h.score, request)))
                .filter(|&(_, s)| request.min_score.is_none_or(|floor| s >= floor))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for (item, score) in self.diversify(scored, wanted, &request.diversity, &out) {
                taken.insert(item);
                let reason = self.explain(item, &seen);
                out.push(self.entry(item, score, reason));
            }
        }
        if out.len() < k {
            // The fallbacks obey the category cap too: a short diversified
            // list must not be topped up with five more of one category.
            let cap = request.diversity.max_per_category.unwrap_or(usize::MAX);
            let mut per_category: HashMap<Option<&str>, usize> = HashMap::new();
            for r in &out {
                *per_category.entry(self.category_of(r.index)).or_default() += 1;
            }
            let per_category = std::cell::RefCell::new(per_category);
            let admit = |item: u32| {
                if !eligible(item) {
                    return false;
                }
                let mut counts = per_category.borrow_mut();
                let n = counts.entry(self.category_of(item)).or_default();
                // Counted as taken when admitted: `fill` pushes every item it admits.
                (*n < cap).then(|| *n += 1).is_some()
            };
            self.fill(&mut out, &mut taken, k, &request.context, &admit);
        }
        if request.new_arrival_slot {
            self.new_arrival_slot(&mut out, k, query.as_deref(), &request.diversity, &eligible);
        }
        Ok(out)
    }

    /// Whether `item` was placed without events.
    pub fn is_new_arrival(&self, item: u32) -> bool {
        self.new_arrivals.binary_search(&item).is_ok()
    }

    /// The exploration slot (see [`Request::new_arrival_slot`]): the last
    /// place goes to the best eligible new arrival unless the list already
    /// holds one or its last place is pinned. The category cap holds.
    fn new_arrival_slot(
        &self,
        out: &mut Vec<Recommendation>,
        k: usize,
        query: Option<&[f32]>,
        diversity: &Diversity,
        eligible: &dyn Fn(u32) -> bool,
    ) {
        if k == 0
            || out.iter().any(|r| self.is_new_arrival(r.index))
            || (out.len() == k && out.last().is_some_and(|r| r.reason == Reason::Pinned))
        {
            return;
        }
        let kept = &out[..out.len().min(k - 1)];
        let cap = diversity.max_per_category.unwrap_or(usize::MAX);
        let admitted = |item: u32| {
            let category = self.category_of(item);
            eligible(item)
                && !kept.iter().any(|r| r.index == item)
                && kept
                    .iter()
                    .filter(|r| self.category_of(r.index) == category)
                    .count()
                    < cap
        };
        let score = |item: u32| query.map(|q| crate::embed::dot(q, self.model.items.row(item)));
        // Best score first; without a query, the newest (the highest index).
        let best = self
            .new_arrivals
            .iter()
            .copied()
            .filter(|&i| admitted(i))
            .map(|i| (i, score(i).unwrap_or(0.0)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        if let Some((item, score)) = best {
            out.truncate(k - 1);
            out.push(self.entry(item, score, Reason::NewArrival));
        }
    }

    fn category_of(&self, item: u32) -> Option<&str> {
        self.catalog
            .item(item)
            .and_then(|it| it.category.as_deref())
    }

    /// Score after boosts and rotation.
    fn adjust(&self, item: u32, score: f32, request: &Request) -> f32 {
        let it = &self.catalog.items()[item as usize];
        let boost: f32 = request
            .boosts
            .iter()
            .filter(|b| b.when.matches(it))
            .map(|b| b.amount)
            .sum();
        let rotation = request
            .rotation
            .as_ref()
            .map_or(0.0, |r| r.penalty * r.ignored(&it.id) as f32);
        score + boost - rotation
    }

    /// Greedy MMR with a per-category cap, over candidates sorted by score.
    fn diversify(
        &self,
        candidates: Vec<(u32, f32)>,
        wanted: usize,
        diversity: &Diversity,
        already: &[Recommendation],
    ) -> Vec<(u32, f32)> {
        let category = |i: u32| self.catalog.items()[i as usize].category.as_deref();
        let mut per_category: HashMap<Option<&str>, usize> = HashMap::new();
        for r in already {
            *per_category.entry(category(r.index)).or_default() += 1;
        }
        let cap = diversity.max_per_category.unwrap_or(usize::MAX);
        let lambda = diversity.relevance;
        let unit = |i: u32| {
            let v = self.model.items.row(i);
            let n = crate::embed::dot(v, v).sqrt().max(f32::MIN_POSITIVE);
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let mut picked: Vec<(u32, f32)> = Vec::with_capacity(wanted);
        let mut picked_units: Vec<Vec<f32>> = Vec::new();
        let mut rest: Vec<(u32, f32, Vec<f32>)> = candidates
            .into_iter()
            .map(|(i, s)| (i, s, if lambda < 1.0 { unit(i) } else { Vec::new() }))
            .collect();
        while picked.len() < wanted && !rest.is_empty() {
            let mut best: Option<(usize, f32)> = None;
            for (at, (item, score, u)) in rest.iter().enumerate() {
                if per_category.get(&category(*item)).copied().unwrap_or(0) >= cap {
                    continue;
                }
                let value = if lambda < 1.0 {
                    let redundancy = picked_units
                        .iter()
                        .map(|p| crate::embed::dot(p, u))
                        .fold(0f32, f32::max);
                    lambda * score - (1.0 - lambda) * redundancy
                } else {
                    *score
                };
                if best.is_none_or(|(_, b)| value > b) {
                    best = Some((at, value));
                }
                if lambda >= 1.0 {
                    break; // sorted: the first admissible one is the best
                }
            }
            let Some((at, _)) = best else { break };
            let (item, score, u) = rest.remove(at);
            *per_category.entry(category(item)).or_default() += 1;
            picked.push((item, score));
            picked_units.push(u);
        }
        picked
    }

    /// The history items that pull `item` up most (positive weight × inner
    /// product), strongest first. Only products and content are evidence of
    /// taste: "because of a 10 % voucher" or "because of a call-back" explains
    /// nothing to a customer, even when the vectors agree.
    fn explain(&self, item: u32, seen: &[Seen]) -> Reason {
        let v = self.model.items.row(item);
        let is_taste = |i: u32| {
            self.catalog
                .item(i)
                .is_some_and(|it| matches!(it.kind, ItemKind::Product | ItemKind::Content))
        };
        let mut pulls: Vec<(f32, u32)> = seen
            .iter()
            .filter(|e| e.weight > 0.0 && e.item != item && is_taste(e.item))
            .map(|e| {
                (
                    e.weight * crate::embed::dot(self.model.items.row(e.item), v),
                    e.item,
                )
            })
            .filter(|p| p.0 > 0.0)
            .collect();
        pulls.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        pulls.dedup_by_key(|p| p.1);
        match pulls.len() {
            0 => Reason::Taste,
            _ => Reason::Because {
                items: pulls
                    .iter()
                    .take(2)
                    .map(|p| self.catalog.items()[p.1 as usize].id.clone())
                    .collect(),
            },
        }
    }

    fn entry(&self, item: u32, score: f32, reason: Reason) -> Recommendation {
        Recommendation {
            item: self.catalog.items()[item as usize].id.clone(),
            index: item,
            score,
            reason,
        }
    }

    /// Fills the list: popular in each of the request's contexts, then popular
    /// overall, then any eligible item (so the list is never short while
    /// eligible items remain).
    fn fill(
        &self,
        out: &mut Vec<Recommendation>,
        taken: &mut HashSet<u32>,
        k: usize,
        context: &[(String, String)],
        eligible: &dyn Fn(u32) -> bool,
    ) {
        let mut push = |item: u32, reason: &Reason, out: &mut Vec<Recommendation>| {
            // `eligible` last: it may count the item as admitted.
            if out.len() < k && !taken.contains(&item) && eligible(item) {
                taken.insert(item);
                out.push(self.entry(item, 0.0, reason.clone()));
            }
        };
        for pair in self.context_ids(context) {
            let reason = Reason::PopularInContext {
                context: self.context_pairs.name(pair).unwrap_or_default().to_owned(),
            };
            for &item in &self.popular_in[pair as usize] {
                push(item, &reason, out);
            }
        }
        for &item in &self.popular {
            push(item, &Reason::Popular, out);
        }
        for item in 0..self.catalog.len() as u32 {
            push(item, &Reason::Popular, out);
        }
    }

    /// The width of a table of `rows` lists of `k` items each (a batch laid out
    /// rows × width, padded where a list is short): `k` capped at the catalogue
    /// size, since no list is longer. Checked before a binding allocates the
    /// table: more than [`MAX_BATCH_CELLS`] cells is [`Error::InvalidParam`]
    /// (split the batch), never an allocation failure.
    pub fn batch_width(&self, k: usize, rows: usize) -> Result<usize> {
        let width = k.min(self.catalog.len());
        match rows.checked_mul(width) {
            Some(cells) if cells <= MAX_BATCH_CELLS => Ok(width),
            _ => Err(Error::param(
                "k",
                format!(
                    "{rows} requests × {width} items is more than {MAX_BATCH_CELLS} results \
                     in one batch: split the batch or lower k"
                ),
            )),
        }
    }

    /// [`Recommender::recommend`] for many requests, in parallel. One bad
    /// request fails only its own slot.
    pub fn recommend_batch(&self, requests: &[Request]) -> Vec<Result<Vec<Recommendation>>> {
        requests.par_iter().map(|r| self.recommend(r)).collect()
    }

    /// [`Recommender::rerank`] for many requests, in parallel: each request
    /// with its own candidates (from a search, another model, a campaign
    /// list). One bad request (an unknown candidate, say) fails only its own
    /// slot.
    ///
    /// ```
    /// use maitre::datasets::{synthetic_storefront, Size};
    /// use maitre::embed::Als;
    /// use maitre::interactions::{InteractionConfig, Interactions};
    /// use maitre::recommend::{BuildOptions, Recommender, Request};
    /// let shop = synthetic_storefront(1, Size::Tiny)?;
    /// let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    /// let model = Als::params().factors(8).iterations(3).fit(&matrix)?;
    /// let rec = Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default())?;
    /// let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    /// let batch = [
    ///     (Request::new(2).customer("c0000001"), ids(&["sku-000001", "sku-000002"])),
    ///     (Request::new(1).customer("c0000002"), ids(&["sku-000003", "no-such-sku"])),
    /// ];
    /// let lists = rec.rerank_batch(&batch);
    /// assert_eq!(lists[0].as_ref().unwrap().len(), 2);
    /// assert!(lists[1].is_err()); // its unknown candidate fails only its own slot
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn rerank_batch(
        &self,
        batch: &[(Request, Vec<String>)],
    ) -> Vec<Result<Vec<Recommendation>>> {
        batch
            .par_iter()
            .map(|(request, candidates)| self.rerank(request, candidates))
            .collect()
    }

    /// Items most like `item` (inner product with its vector), under `filters`
    /// (the item itself is always left out).
    pub fn similar_items(
        &self,
        item: &str,
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<Recommendation>> {
        filters.validate()?;
        let index = self.item_index(item)?;
        let query = self.model.items.row(index).to_vec();
        let filter =
            |i: u32| i != index && self.catalog.item(i).is_some_and(|it| filters.admits(it));
        let hits = self.index.search(&query, k, Some(&filter))?;
        Ok(hits
            .into_iter()
            .map(|h| {
                self.entry(
                    h.item,
                    h.score,
                    Reason::Because {
                        items: vec![item.to_owned()],
                    },
                )
            })
            .collect())
    }

    /// The `k` known customers most likely to want `item`: the seed of a
    /// targeted campaign. Needs the full flavour.
    pub fn customers_for_item(&self, item: &str, k: usize) -> Result<Vec<(String, f32)>> {
        let index = self.item_index(item)?;
        let customers = self.customers.as_ref().ok_or_else(|| {
            Error::param(
                "customers",
                "this recommender has no customers (storefront flavour)",
            )
        })?;
        let v = self.model.items.row(index);
        let users = &self.model.users;
        let mut scores: Vec<(u32, f32)> = (0..users.rows() as u32)
            .into_par_iter()
            .map(|u| (u, crate::embed::dot(users.row(u), v)))
            .collect();
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k < scores.len() {
            scores.select_nth_unstable_by(k, order);
            scores.truncate(k);
        }
        scores.sort_by(order);
        Ok(scores
            .into_iter()
            .map(|(u, s)| (customers.ids.name(u).unwrap_or_default().to_owned(), s))
            .collect())
    }

    /// Orders `candidates` (item ids) for the request's customer, session and
    /// context: scores are the inner products with the query. Filters are not
    /// applied (the caller chose the list); unknown ids are an error.
    pub fn rerank(&self, request: &Request, candidates: &[String]) -> Result<Vec<Recommendation>> {
        let (query, seen) = self.query(request)?;
        let mut out: Vec<Recommendation> = candidates
            .iter()
            .map(|id| {
                let item = self.item_index(id)?;
                let score = match &query {
                    Some(q) => crate::embed::dot(q, self.model.items.row(item)),
                    // Without a query, rank by popularity: 1 for the most
                    // popular item down to 0 for items outside the list.
                    None => self
                        .popular
                        .iter()
                        .position(|&p| p == item)
                        .map_or(0.0, |r| 1.0 - r as f32 / self.popular.len() as f32),
                };
                let reason = match query {
                    Some(_) => self.explain(item, &seen),
                    None => Reason::Popular,
                };
                Ok(self.entry(item, score, reason))
            })
            .collect::<Result<_>>()?;
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        Ok(out)
    }
}
