//! `Storefront` and `Session`: the core's `Recommender` (storefront flavour)
//! serving one visitor in the page.
//!
//! A `Session` holds what the core leaves to the caller between requests: the
//! visitor's recent events (bounded, optionally in `localStorage`) and the
//! rotation memory. Every ranking, filter, validation and reason comes from
//! `Recommender::recommend` / `similar_items`; this module converts camelCase
//! options into the core's `Request` and `Recommendation`s into plain objects.

use crate::convert::{bad_argument, js_error, options, to_js};
use crate::storage;
use maitre::catalog::{Item, ItemKind};
use maitre::recommend::{
    Boost, Diversity, Field, Filters, Predicate, Reason, Recommendation, Recommender, Request,
    Rotation, SessionEvent,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TS_RECOMMEND: &'static str = r#"
/** What an item is. */
export type ItemKind = "product" | "content" | "offer" | "service";

/** Session event kinds of the default registry. `record` accepts any kind the model knows. */
export type SessionEventKind =
  | "view" | "click" | "cart" | "purchase" | "dislike"
  | "rating" | "review" | "share" | "return" | "complaint";

/** Context such as `{ device: "mobile", channel: "web" }`. */
export type Context = Record<string, string>;

/** One recorded event, as `session.events` lists it and `localStorage` keeps it. */
export interface RecordedEvent {
  kind: string;
  item: string;
  /** Epoch seconds when it was recorded. */
  timestamp: number;
  context?: Context;
}

export interface PersistOptions {
  /** localStorage key (default "maitre.session"). */
  key?: string;
  /** Most events kept, oldest dropped first (default 50). */
  maxEvents?: number;
}

export interface SessionOptions {
  /** Keep the events in localStorage (default false). `true` uses the default key. */
  persist?: boolean | PersistOptions;
  /** Most events kept, oldest dropped first (default 50). `persist.maxEvents` takes precedence. */
  maxEvents?: number;
  /** Rotation memory: items shown and not taken lose `penalty` per showing (default 0.05); `false` turns it off. */
  rotation?: false | { penalty?: number };
}

/** An item attribute a predicate looks at. */
export type PredicateField = "category" | "brand" | "priceBand" | "tag" | "kind";

/** `field ∈ values`, or `∉` with `negate`. */
export interface Predicate {
  field: PredicateField;
  values: string[];
  negate?: boolean;
}

/** Which items may appear. Unset fields keep the core's defaults. */
export interface Filters {
  /** Default ["product"]. */
  kinds?: ItemKind[];
  /** Default true. */
  inStockOnly?: boolean;
  /** Leave out every item this session interacted with, views included (default false). */
  excludeSeen?: boolean;
  /** Leave out items this session has had or turned down: purchased, rated,
   * reviewed, returned, complained about or disliked (default true). Viewed items stay: they are what a shopper
   * most often buys next. */
  excludeConsumed?: boolean;
  /** Leave out items purchased in the last this-many seconds. */
  excludePurchasedWithin?: number | null;
  /** Only these categories (default: any). */
  categories?: string[];
  minPrice?: number | null;
  maxPrice?: number | null;
  /** Item ids never to show. */
  excludeItems?: string[];
  /** Only these item ids may appear (default: any); unknown ids are ignored. */
  onlyItems?: string[];
  /** All must hold. */
  predicates?: Predicate[];
}

export interface Diversity {
  /** MMR trade-off, 0–1 (default 1: relevance only). */
  relevance?: number;
  /** At most this many items of one category. */
  maxPerCategory?: number | null;
}

/** Added to the score of items matching `when`. */
export interface Boost {
  when: Predicate;
  amount: number;
}

export interface RecommendOptions {
  /** How many items (default 10). */
  k?: number;
  /** Context of this request (default: the context of the latest event that had one). */
  context?: Context;
  /** Shorthand for `filters.kinds`. */
  kinds?: ItemKind[];
  filters?: Filters;
  diversity?: Diversity;
  boosts?: Boost[];
  /** Items placed first, in this order. */
  pins?: string[];
  /** Personalised items scoring below this are replaced by popular ones. */
  minScore?: number | null;
  /** Remember these items as shown, for rotation (default true). */
  rotate?: boolean;
  /** Reserve the list's last place for the best-scoring new arrival (an item the
   * artifact placed from its attributes), reason "newArrival" (default false). */
  newArrivalSlot?: boolean;
}

/** Why an item is in the list. */
export type ReasonKind = "because" | "taste" | "pinned" | "popularInContext" | "popular" | "newArrival";

export interface Recommendation {
  item: string;
  /** Inner product with the query, plus boosts, minus rotation (0 for pins and fallbacks). */
  score: number;
  reason: ReasonKind;
  /** The session items that pull this one up most, strongest first ("because you viewed …"); empty unless `reason` is "because". */
  because: string[];
  /** popularInContext only: the `key=value` pair. */
  context?: string;
}

/** A catalogue entry. */
export interface CatalogItem {
  id: string;
  kind: ItemKind;
  category: string | null;
  brand: string | null;
  priceBand: string | null;
  price: number | null;
  tags: string[];
  inStock: boolean;
}
"#;

/// Events kept by default.
const MAX_EVENTS: usize = 50;
/// Default localStorage key.
const STORAGE_KEY: &str = "maitre.session";
/// Default rotation penalty per ignored showing (scores are inner products,
/// typically between 0 and 1).
const ROTATION_PENALTY: f32 = 0.05;

/// A storefront artifact loaded for serving: item vectors, catalogue,
/// context vectors and popularity; no customers.
#[wasm_bindgen]
pub struct Storefront {
    inner: Rc<Recommender>,
}

#[wasm_bindgen]
impl Storefront {
    /// Reads an artifact written by `Recommender::to_bytes` (either flavour).
    /// A foreign, truncated or corrupt file throws an `Error` with kind
    /// "Artifact" and a `problem` code.
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<Storefront, JsValue> {
        let bytes = if bytes.is_instance_of::<js_sys::Uint8Array>()
            || bytes.is_instance_of::<js_sys::ArrayBuffer>()
        {
            js_sys::Uint8Array::new(&bytes).to_vec()
        } else {
            return Err(bad_argument(
                "bytes",
                "expected a Uint8Array or ArrayBuffer",
            ));
        };
        let inner = Recommender::from_bytes(&bytes).map_err(js_error)?;
        Ok(Storefront {
            inner: Rc::new(inner),
        })
    }

    /// Items in the catalogue.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.catalog().len()
    }

    /// The catalogue entry of `id`.
    #[wasm_bindgen(unchecked_return_type = "CatalogItem")]
    pub fn item(&self, id: &str) -> Result<JsValue, JsValue> {
        let index = self.inner.item_index(id).map_err(js_error)?;
        let item = self.inner.catalog().items()[index as usize].clone();
        to_js(&JsItem::from(item))
    }

    /// A visitor's session: records events and recommends from them. With
    /// `persist`, events are read from and written to `localStorage`.
    pub fn session(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SessionOptions")] options: Option<JsValue>,
    ) -> Result<Session, JsValue> {
        let opts: JsSessionOptions = crate::convert::options("options", options)?;
        Session::new(Rc::clone(&self.inner), opts)
    }

    /// The `k` items most like `item` (default 10), under `filters` (default:
    /// in-stock products); the item itself is left out.
    #[wasm_bindgen(js_name = similarItems, unchecked_return_type = "Recommendation[]")]
    pub fn similar_items(
        &self,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] k: Option<f64>,
        #[wasm_bindgen(unchecked_optional_param_type = "Filters")] filters: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        // The core caps k at the catalogue before it allocates anything.
        let k = count("k", k.unwrap_or(10.0))?;
        let filters: JsFilters = options("filters", filters)?;
        let list = self
            .inner
            .similar_items(item, k, &filters.into_core(None))
            .map_err(js_error)?;
        results(list)
    }
}

/// A non-negative integer from a JS number.
pub(crate) fn count(name: &str, n: f64) -> Result<usize, JsValue> {
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 {
        Ok(n as usize)
    } else {
        Err(bad_argument(name, format_args!("{n} is not a count")))
    }
}

fn results(list: Vec<Recommendation>) -> Result<JsValue, JsValue> {
    to_js(
        &list
            .into_iter()
            .map(JsRecommendation::from)
            .collect::<Vec<_>>(),
    )
}

pub(crate) fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

/// One visitor: recent events, rotation memory and, if asked, their copy in
/// `localStorage`. Nothing leaves the page.
#[wasm_bindgen]
pub struct Session {
    pub(crate) shop: Rc<Recommender>,
    events: Vec<Recorded>,
    max_events: usize,
    key: Option<String>,
    rotation: Option<Rotation>,
    /// Offers, contact policy, bandit and ledger (`useOffers`).
    pub(crate) offers: Option<crate::offers::Offers>,
}

impl Session {
    fn new(shop: Rc<Recommender>, opts: JsSessionOptions) -> Result<Session, JsValue> {
        let (key, max_events) = match opts.persist {
            None | Some(Persist::On(false)) => (None, opts.max_events),
            Some(Persist::On(true)) => (Some(STORAGE_KEY.to_owned()), opts.max_events),
            Some(Persist::With { key, max_events }) => (
                Some(key.unwrap_or_else(|| STORAGE_KEY.to_owned())),
                max_events.or(opts.max_events),
            ),
        };
        let max_events = max_events.unwrap_or(MAX_EVENTS);
        if max_events == 0 {
            return Err(bad_argument("maxEvents", "must be at least 1"));
        }
        let rotation = match opts.rotation {
            Some(JsRotation::Off(false)) => None,
            Some(JsRotation::Off(true)) | None => Some(Rotation::new(ROTATION_PENALTY)),
            Some(JsRotation::With { penalty }) => {
                Some(Rotation::new(penalty.unwrap_or(ROTATION_PENALTY)))
            }
        };
        if let Some(r) = &rotation {
            r.validate().map_err(js_error)?;
        }
        let mut session = Session {
            shop,
            events: Vec::new(),
            max_events,
            key,
            rotation,
            offers: None,
        };
        if let Some(key) = &session.key {
            storage::check()?;
            let stored = storage::get(key)?;
            // A value this build cannot read (another version, edited by hand)
            // or events for items no longer in the catalogue are dropped, not
            // fatal: a stale session must not break the page.
            let events = stored
                .and_then(|text| serde_json::from_str::<Stored>(&text).ok())
                .map(|s| s.events)
                .unwrap_or_default();
            session.events = events
                .into_iter()
                .filter(|e| session.check(e).is_ok())
                .collect();
            session.bound();
            session.save()?;
        }
        Ok(session)
    }

    /// Whether the core accepts `event` as a session event (known item and
    /// kind): an empty rerank validates the session and nothing else.
    fn check(&self, event: &Recorded) -> Result<(), JsValue> {
        let request = Request {
            session: vec![event.core()],
            ..Request::default()
        };
        self.shop
            .rerank(&request, &[])
            .map(|_| ())
            .map_err(js_error)
    }

    /// The session's events as the core reads them.
    pub(crate) fn core_events(&self) -> Vec<SessionEvent> {
        self.events.iter().map(Recorded::core).collect()
    }

    /// `context` if given, else the context of the latest event that had one.
    pub(crate) fn context_or_latest(
        &self,
        context: Option<BTreeMap<String, String>>,
    ) -> BTreeMap<String, String> {
        context.unwrap_or_else(|| {
            self.events
                .iter()
                .rev()
                .find(|e| !e.context.is_empty())
                .map(|e| e.context.clone())
                .unwrap_or_default()
        })
    }

    fn bound(&mut self) {
        let over = self.events.len().saturating_sub(self.max_events);
        self.events.drain(..over);
    }

    fn save(&self) -> Result<(), JsValue> {
        let Some(key) = &self.key else { return Ok(()) };
        let text = serde_json::to_string(&StoredRef {
            version: 1,
            events: &self.events,
        })
        .map_err(|e| bad_argument("events", e))?;
        storage::set(key, &text)
    }

    fn push(&mut self, kind: &str, item: &str, context: Option<JsValue>) -> Result<(), JsValue> {
        let context: BTreeMap<String, String> = options("context", context)?;
        let event = Recorded {
            kind: kind.to_owned(),
            item: item.to_owned(),
            timestamp: now_seconds(),
            context,
        };
        self.check(&event)?;
        if let Some(r) = &mut self.rotation {
            r.taken(item);
        }
        self.events.push(event);
        self.bound();
        self.save()
    }
}

#[wasm_bindgen]
impl Session {
    /// Records an event of any kind the model knows ("view", "cart", …) on
    /// `item`, with optional context. Unknown items or kinds throw (kind
    /// "Unknown") and record nothing.
    pub fn record(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "SessionEventKind | (string & {})")] kind: &str,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
    ) -> Result<(), JsValue> {
        self.push(kind, item, context)
    }

    /// Records a "view".
    pub fn view(
        &mut self,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
    ) -> Result<(), JsValue> {
        self.push("view", item, context)
    }

    /// Records a "click".
    pub fn click(
        &mut self,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
    ) -> Result<(), JsValue> {
        self.push("click", item, context)
    }

    /// Records an add to cart (the core's "cart" kind).
    #[wasm_bindgen(js_name = addToCart)]
    pub fn add_to_cart(
        &mut self,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
    ) -> Result<(), JsValue> {
        self.push("cart", item, context)
    }

    /// Records a "purchase".
    pub fn purchase(
        &mut self,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
    ) -> Result<(), JsValue> {
        self.push("purchase", item, context)
    }

    /// Records a "dislike" (a negative signal).
    pub fn dislike(
        &mut self,
        item: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
    ) -> Result<(), JsValue> {
        self.push("dislike", item, context)
    }

    /// The recorded events, oldest first.
    #[wasm_bindgen(getter, unchecked_return_type = "RecordedEvent[]")]
    pub fn events(&self) -> Result<JsValue, JsValue> {
        to_js(&self.events)
    }

    /// How many events are kept.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.events.len()
    }

    /// Forgets everything: events, rotation memory, the stored copy and the
    /// visitor's offers history (decisions with their contexts, pending
    /// showings, caps and cool-downs; the bandit takes back what it learnt
    /// from them).
    pub fn forget(&mut self) -> Result<(), JsValue> {
        self.events.clear();
        if let Some(offers) = &self.offers {
            offers.forget();
        }
        if let Some(r) = &mut self.rotation {
            r.clear();
        }
        match &self.key {
            Some(key) => storage::remove(key),
            None => Ok(()),
        }
    }

    /// Top-`k` items for this session under the options' rules. Items shown
    /// and not taken are pushed down on later calls (rotation).
    #[wasm_bindgen(unchecked_return_type = "Recommendation[]")]
    pub fn recommend(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "RecommendOptions")] options: Option<
            JsValue,
        >,
    ) -> Result<JsValue, JsValue> {
        let opts: JsRecommendOptions = crate::convert::options("options", options)?;
        // The core caps k at the catalogue before it allocates anything.
        let k = opts.k.unwrap_or(10);
        let context = self.context_or_latest(opts.context);
        let request = Request {
            customer: None,
            session: self.core_events(),
            context: context.into_iter().collect(),
            k,
            filters: opts.filters.unwrap_or_default().into_core(opts.kinds),
            boosts: opts
                .boosts
                .into_iter()
                .map(|b| Boost {
                    when: b.when.into(),
                    amount: b.amount,
                })
                .collect(),
            pins: opts.pins,
            diversity: opts.diversity.unwrap_or_default().into(),
            rotation: self.rotation.clone(),
            min_score: opts.min_score,
            now: Some(now_seconds()),
            new_arrival_slot: opts.new_arrival_slot.unwrap_or(false),
        };
        let list = self.shop.recommend(&request).map_err(js_error)?;
        if let (Some(r), true) = (&mut self.rotation, opts.rotate.unwrap_or(true)) {
            r.shown(list.iter().map(|x| x.item.as_str()));
        }
        results(list)
    }
}

/// An event as the session keeps it (and `localStorage` stores it).
#[derive(Serialize, Deserialize, Clone)]
struct Recorded {
    kind: String,
    item: String,
    timestamp: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    context: BTreeMap<String, String>,
}

impl Recorded {
    fn core(&self) -> SessionEvent {
        SessionEvent {
            item: self.item.clone(),
            kind: self.kind.clone(),
            timestamp: Some(self.timestamp),
        }
    }
}

#[derive(Deserialize)]
struct Stored {
    #[allow(dead_code)]
    version: u32,
    events: Vec<Recorded>,
}

#[derive(Serialize)]
struct StoredRef<'a> {
    version: u32,
    events: &'a [Recorded],
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsSessionOptions {
    persist: Option<Persist>,
    max_events: Option<usize>,
    rotation: Option<JsRotation>,
}

/// `persist`: `true`, `false` or `{ key, maxEvents }`.
enum Persist {
    On(bool),
    With {
        key: Option<String>,
        max_events: Option<usize>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PersistWith {
    key: Option<String>,
    max_events: Option<usize>,
}

impl<'de> Deserialize<'de> for Persist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(on) => Ok(Persist::On(on)),
            v @ serde_json::Value::Object(_) => {
                let p: PersistWith = serde_json::from_value(v).map_err(D::Error::custom)?;
                Ok(Persist::With {
                    key: p.key,
                    max_events: p.max_events,
                })
            }
            other => Err(D::Error::custom(format!(
                "persist is {other}: expected true, false or {{ key, maxEvents }}"
            ))),
        }
    }
}

/// `rotation`: `false` (off), `true` (default penalty) or `{ penalty }`.
enum JsRotation {
    Off(bool),
    With { penalty: Option<f32> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationWith {
    penalty: Option<f32>,
}

impl<'de> Deserialize<'de> for JsRotation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(on) => Ok(JsRotation::Off(on)),
            v @ serde_json::Value::Object(_) => {
                let r: RotationWith = serde_json::from_value(v).map_err(D::Error::custom)?;
                Ok(JsRotation::With { penalty: r.penalty })
            }
            other => Err(D::Error::custom(format!(
                "rotation is {other}: expected false or {{ penalty }}"
            ))),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsRecommendOptions {
    k: Option<usize>,
    context: Option<BTreeMap<String, String>>,
    kinds: Option<Vec<ItemKind>>,
    filters: Option<JsFilters>,
    diversity: Option<JsDiversity>,
    #[serde(default)]
    boosts: Vec<JsBoost>,
    #[serde(default)]
    pins: Vec<String>,
    min_score: Option<f32>,
    rotate: Option<bool>,
    new_arrival_slot: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsFilters {
    kinds: Option<Vec<ItemKind>>,
    in_stock_only: Option<bool>,
    exclude_seen: Option<bool>,
    exclude_consumed: Option<bool>,
    exclude_purchased_within: Option<i64>,
    categories: Option<Vec<String>>,
    min_price: Option<f32>,
    max_price: Option<f32>,
    exclude_items: Option<Vec<String>>,
    only_items: Option<Vec<String>>,
    predicates: Option<Vec<JsPredicate>>,
}

impl JsFilters {
    /// The core's filters: its defaults, overridden by what was given;
    /// `kinds` (the request's shorthand) wins over `filters.kinds`.
    fn into_core(self, kinds: Option<Vec<ItemKind>>) -> Filters {
        let d = Filters::default();
        Filters {
            kinds: kinds.or(self.kinds).unwrap_or(d.kinds),
            in_stock_only: self.in_stock_only.unwrap_or(d.in_stock_only),
            exclude_seen: self.exclude_seen.unwrap_or(d.exclude_seen),
            exclude_consumed: self.exclude_consumed.unwrap_or(d.exclude_consumed),
            exclude_purchased_within: self.exclude_purchased_within,
            categories: self.categories.unwrap_or(d.categories),
            min_price: self.min_price,
            max_price: self.max_price,
            exclude_items: self.exclude_items.unwrap_or(d.exclude_items),
            only_items: self.only_items.unwrap_or(d.only_items),
            predicates: self
                .predicates
                .unwrap_or_default()
                .into_iter()
                .map(Predicate::from)
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsPredicate {
    field: JsField,
    values: Vec<String>,
    #[serde(default)]
    negate: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum JsField {
    Category,
    Brand,
    PriceBand,
    Tag,
    Kind,
}

impl From<JsPredicate> for Predicate {
    fn from(p: JsPredicate) -> Self {
        let field = match p.field {
            JsField::Category => Field::Category,
            JsField::Brand => Field::Brand,
            JsField::PriceBand => Field::PriceBand,
            JsField::Tag => Field::Tag,
            JsField::Kind => Field::Kind,
        };
        Predicate {
            field,
            values: p.values,
            negate: p.negate,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsBoost {
    when: JsPredicate,
    amount: f32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsDiversity {
    relevance: Option<f32>,
    max_per_category: Option<usize>,
}

impl From<JsDiversity> for Diversity {
    fn from(d: JsDiversity) -> Self {
        let default = Diversity::default();
        Diversity {
            relevance: d.relevance.unwrap_or(default.relevance),
            max_per_category: d.max_per_category,
        }
    }
}

#[derive(Serialize)]
struct JsRecommendation {
    item: String,
    score: f32,
    reason: &'static str,
    because: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
}

impl From<Recommendation> for JsRecommendation {
    fn from(r: Recommendation) -> Self {
        let (reason, because, context) = match r.reason {
            Reason::Because { items } => ("because", items, None),
            Reason::Taste => ("taste", Vec::new(), None),
            Reason::Pinned => ("pinned", Vec::new(), None),
            Reason::PopularInContext { context } => ("popularInContext", Vec::new(), Some(context)),
            Reason::Popular => ("popular", Vec::new(), None),
            Reason::NewArrival => ("newArrival", Vec::new(), None),
        };
        JsRecommendation {
            item: r.item,
            score: r.score,
            reason,
            because,
            context,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsItem {
    id: String,
    kind: ItemKind,
    category: Option<String>,
    brand: Option<String>,
    price_band: Option<String>,
    /// As written (12.34), not as the f32 widens (12.340000152587891).
    price: Option<f64>,
    tags: Vec<String>,
    in_stock: bool,
}

impl From<Item> for JsItem {
    fn from(i: Item) -> Self {
        JsItem {
            id: i.id,
            kind: i.kind,
            category: i.category,
            brand: i.brand,
            price_band: i.price_band,
            price: i
                .price
                .map(|p| p.to_string().parse().unwrap_or(f64::from(p))),
            tags: i.tags,
            in_stock: i.in_stock,
        }
    }
}
