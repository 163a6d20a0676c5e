//! Offers, their eligibility rules and the per-customer contact ledger that
//! enforces budgets, frequency caps and cool-downs.

use crate::catalog::{Catalog, Item, ItemKind};
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::recommend::{listed, Filters};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

/// At most this many offers in one [`OfferSet`]: every decision scores each
/// eligible offer, and the ledger keeps counters per offer.
pub const MAX_OFFERS: usize = 100_000;

/// `key ∈ values` (or `∉` when `negate`) over the customer's context and
/// attributes (`segment`, `channel`, `tier`, …), with the same membership
/// semantics as the recommend [`crate::recommend::Predicate`] (one shared
/// test): a customer without the key fails `any of` and passes `none of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRule {
    pub key: String,
    pub values: Vec<String>,
    #[serde(default)]
    pub negate: bool,
}

impl AttributeRule {
    /// `key` is one of `values`.
    pub fn any_of<S: Into<String>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        AttributeRule {
            key: key.into(),
            values: values.into_iter().map(Into::into).collect(),
            negate: false,
        }
    }

    /// `key` is none of `values`.
    pub fn none_of<S: Into<String>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        AttributeRule {
            negate: true,
            ..AttributeRule::any_of(key, values)
        }
    }

    fn matches(&self, customer: &CustomerState) -> bool {
        listed(
            &self.values,
            self.negate,
            customer.attributes.get(&self.key).map(String::as_str),
        )
    }
}

/// A rule over what the customer did recently: "purchased in category X within
/// N days" (`present`), or "did not" (`!present`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    /// Event kind (`purchase`, `view`, `return`, …).
    pub kind: String,
    /// Only events on items of this category (`None`: any item).
    #[serde(default)]
    pub category: Option<String>,
    /// Look back this many seconds from `now`.
    pub within_secs: i64,
    /// Whether such an event must exist (`true`) or must not (`false`).
    pub present: bool,
}

impl StateRule {
    /// "An event of `kind` in `category` within the last `within_secs` seconds."
    pub fn did(kind: impl Into<String>, category: Option<&str>, within_secs: i64) -> Self {
        StateRule {
            kind: kind.into(),
            category: category.map(str::to_owned),
            within_secs,
            present: true,
        }
    }

    /// "No event of `kind` in `category` within the last `within_secs` seconds."
    pub fn did_not(kind: impl Into<String>, category: Option<&str>, within_secs: i64) -> Self {
        StateRule {
            present: false,
            ..StateRule::did(kind, category, within_secs)
        }
    }

    fn matches(&self, customer: &CustomerState, now: i64) -> bool {
        let since = now.saturating_sub(self.within_secs);
        let found = customer.recent.iter().any(|e| {
            e.kind == self.kind
                && e.timestamp >= since
                && e.timestamp <= now
                && self
                    .category
                    .as_ref()
                    .is_none_or(|c| e.category.as_ref() == Some(c))
        });
        found == self.present
    }

    fn validate(&self) -> Result<()> {
        if self.kind.trim().is_empty() {
            return Err(Error::param("state.kind", "may not be empty"));
        }
        if self.within_secs < 0 {
            return Err(Error::param(
                "state.within_secs",
                format!(
                    "{} must be a non-negative number of seconds",
                    self.within_secs
                ),
            ));
        }
        Ok(())
    }
}

/// Who may receive an offer. All rules must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Eligibility {
    /// Over the customer's context and attributes.
    pub attributes: Vec<AttributeRule>,
    /// Over the customer's recent events.
    pub state: Vec<StateRule>,
}

/// At most `max` showings of one offer to one customer in any `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max: u32,
    pub window_secs: i64,
}

/// An offer (a discount, a bundle, a loyalty invitation) or a service action
/// (a return helper, a call-back), with what it is worth and who may get it.
///
/// ```
/// use maitre::catalog::ItemKind;
/// use maitre::offers::{Offer, StateRule, AttributeRule};
/// let offer = Offer::new("10-off-shoes", ItemKind::Offer, 4.0)
///     .valid(1_700_000_000, 1_800_000_000)
///     .when(AttributeRule::any_of("channel", ["app", "web"]))
///     .when_state(StateRule::did("purchase", Some("shoes"), 30 * 86_400))
///     .budget(500)
///     .cap(2, 86_400)
///     .cooldown(7 * 86_400);
/// assert!(offer.validate().is_ok());
/// assert!(Offer::new("x", ItemKind::Product, 1.0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The catalogue entry (kind offer or service; its attributes are what
    /// request-time [`Filters`] look at).
    pub item: Item,
    /// What an acceptance is worth (margin or expected revenue); the bandit
    /// ranks by P(accept) × value.
    pub value: f64,
    /// First second the offer may be shown (default: always).
    #[serde(default = "forever_from")]
    pub valid_from: i64,
    /// First second it may no longer be shown (`[valid_from, valid_until)`;
    /// default: never).
    #[serde(default = "forever_until")]
    pub valid_until: i64,
    #[serde(default)]
    pub eligibility: Eligibility,
    /// Total acceptances before the offer is withdrawn (`None`: unlimited).
    #[serde(default)]
    pub budget: Option<u64>,
    #[serde(default)]
    pub cap: Option<FrequencyCap>,
    /// Seconds after a decline or an ignored showing before the same customer
    /// sees the offer again (0: none).
    #[serde(default)]
    pub cooldown_secs: i64,
}

fn forever_from() -> i64 {
    i64::MIN
}

fn forever_until() -> i64 {
    i64::MAX
}

impl Offer {
    /// An offer valid forever, for everyone, without budget, cap or cool-down.
    pub fn new(id: impl Into<String>, kind: ItemKind, value: f64) -> Self {
        Offer {
            item: Item::new(id).kind(kind),
            value,
            valid_from: forever_from(),
            valid_until: forever_until(),
            eligibility: Eligibility::default(),
            budget: None,
            cap: None,
            cooldown_secs: 0,
        }
    }

    /// The offer's id (its catalogue item's id).
    pub fn id(&self) -> &str {
        &self.item.id
    }

    #[must_use]
    pub fn item(mut self, item: Item) -> Self {
        self.item = item;
        self
    }

    #[must_use]
    pub fn valid(mut self, from: i64, until: i64) -> Self {
        self.valid_from = from;
        self.valid_until = until;
        self
    }

    #[must_use]
    pub fn when(mut self, rule: AttributeRule) -> Self {
        self.eligibility.attributes.push(rule);
        self
    }

    #[must_use]
    pub fn when_state(mut self, rule: StateRule) -> Self {
        self.eligibility.state.push(rule);
        self
    }

    #[must_use]
    pub fn budget(mut self, accepts: u64) -> Self {
        self.budget = Some(accepts);
        self
    }

    #[must_use]
    pub fn cap(mut self, max: u32, window_secs: i64) -> Self {
        self.cap = Some(FrequencyCap { max, window_secs });
        self
    }

    #[must_use]
    pub fn cooldown(mut self, secs: i64) -> Self {
        self.cooldown_secs = secs;
        self
    }

    /// Checks everything a caller could get wrong.
    pub fn validate(&self) -> Result<()> {
        let id = self.id();
        if id.trim().is_empty() {
            return Err(Error::param("offer.id", "may not be empty"));
        }
        let name = |f: &str| format!("offer {id:?}: {f}");
        if !matches!(self.item.kind, ItemKind::Offer | ItemKind::Service) {
            return Err(Error::param(
                name("kind"),
                format!(
                    "{} is not an offer or a service action",
                    self.item.kind.name()
                ),
            ));
        }
        if !(self.value.is_finite() && self.value >= 0.0) {
            return Err(Error::param(
                name("value"),
                format!("{} must be finite and non-negative", self.value),
            ));
        }
        if self.valid_from >= self.valid_until {
            return Err(Error::param(
                name("valid_from"),
                format!(
                    "the window [{}, {}) is empty",
                    self.valid_from, self.valid_until
                ),
            ));
        }
        if let Some(cap) = self.cap {
            if cap.max == 0 || cap.window_secs <= 0 {
                return Err(Error::param(
                    name("cap"),
                    "needs max ≥ 1 and window_secs ≥ 1 (withdraw the offer instead of a zero cap)",
                ));
            }
        }
        if self.cooldown_secs < 0 {
            return Err(Error::param(name("cooldown_secs"), "must be non-negative"));
        }
        for rule in &self.eligibility.state {
            rule.validate()
                .map_err(|e| Error::param(name("eligibility"), e.to_string()))?;
        }
        Ok(())
    }
}

/// One recent event of a customer, as eligibility and the contact policy see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentEvent {
    pub kind: String,
    #[serde(default)]
    pub category: Option<String>,
    pub timestamp: i64,
}

/// What the caller knows about the customer at decision time: an id (the
/// ledger's key), attributes and context (`segment`, `channel`, …) and recent
/// events (from the [`crate::events::EventLog`] or the session).
///
/// ```
/// use maitre::offers::CustomerState;
/// let c = CustomerState::new("c42").attribute("channel", "app").event("return", Some("shoes"), 100);
/// assert_eq!(c.recent.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerState {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
    pub recent: Vec<RecentEvent>,
}

impl CustomerState {
    pub fn new(id: impl Into<String>) -> Self {
        CustomerState {
            id: id.into(),
            ..CustomerState::default()
        }
    }

    #[must_use]
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    #[must_use]
    pub fn event(
        mut self,
        kind: impl Into<String>,
        category: Option<&str>,
        timestamp: i64,
    ) -> Self {
        self.recent.push(RecentEvent {
            kind: kind.into(),
            category: category.map(str::to_owned),
            timestamp,
        });
        self
    }

    /// The state of raw id `id` from an event log: its events in
    /// `[since, now]` (kind names, item categories from `catalog` when
    /// given). An id the log has never seen has no events, which is not an
    /// error. Scans the log's columns once (O(events)): a service deciding
    /// often should keep a customer's recent events itself.
    ///
    /// ```
    /// use maitre::events::{Event, EventLog};
    /// use maitre::offers::CustomerState;
    /// let mut log = EventLog::new();
    /// log.push(&Event::new("c1", "sku-1", "purchase", 100))?;
    /// log.push(&Event::new("c1", "sku-1", "return", 200))?;
    /// log.push(&Event::new("c2", "sku-1", "view", 150))?;
    /// let c1 = CustomerState::from_log("c1", &log, None, 150, 300)?;
    /// assert_eq!(c1.recent.len(), 1);
    /// assert_eq!(c1.recent[0].kind, "return");
    /// assert!(CustomerState::from_log("new", &log, None, 0, 300)?.recent.is_empty());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn from_log(
        id: &str,
        log: &EventLog,
        catalog: Option<&Catalog>,
        since: i64,
        now: i64,
    ) -> Result<Self> {
        let mut state = CustomerState::new(id);
        state.validate()?;
        if since > now {
            return Err(Error::param(
                "since",
                format!("{since} is after now ({now})"),
            ));
        }
        let Some(who) = log.raw_customers().get(id) else {
            return Ok(state);
        };
        let (customers, times) = (log.customer_column(), log.timestamp_column());
        let (kinds, items) = (log.kind_column(), log.item_column());
        for i in 0..log.len() {
            if customers[i] != who || times[i] < since || times[i] > now {
                continue;
            }
            let Some(kind) = log.kinds().spec(kinds[i]) else {
                continue;
            };
            let category = catalog
                .and_then(|c| c.item(items[i]))
                .and_then(|item| item.category.clone());
            state.recent.push(RecentEvent {
                kind: kind.name.clone(),
                category,
                timestamp: times[i],
            });
        }
        Ok(state)
    }

    /// The id must not be empty (it keys the ledger).
    pub fn validate(&self) -> Result<()> {
        if self.id.trim().is_empty() {
            return Err(Error::param("customer.id", "may not be empty"));
        }
        Ok(())
    }
}

/// Why an offer was left out of a decision. Each names the rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "detail")]
pub enum Exclusion {
    /// Outside `[valid_from, valid_until)`.
    OutsideValidity,
    /// Its budget of acceptances is used up.
    BudgetSpent,
    /// Shown `max` times to this customer within the cap's window.
    FrequencyCap,
    /// Declined or ignored by this customer less than `cooldown_secs` ago.
    CoolDown,
    /// The request's [`Filters`] reject its catalogue item.
    Filters,
    /// A customer attribute rule failed (the key).
    Attribute(String),
    /// A customer-state rule failed (kind and category).
    State(String),
    /// The contact policy suppressed it (the rule's name).
    ContactPolicy(String),
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::OutsideValidity => write!(f, "outside its validity window"),
            Exclusion::BudgetSpent => write!(f, "budget spent"),
            Exclusion::FrequencyCap => write!(f, "frequency cap reached"),
            Exclusion::CoolDown => write!(f, "in cool-down after a decline or ignore"),
            Exclusion::Filters => write!(f, "rejected by the request's filters"),
            Exclusion::Attribute(k) => write!(f, "attribute rule on {k:?}"),
            Exclusion::State(s) => write!(f, "customer-state rule {s}"),
            Exclusion::ContactPolicy(r) => write!(f, "contact policy rule {r:?}"),
        }
    }
}

/// A validated set of offers: unique ids, each [`Offer::validate`]d. Built
/// only through [`OfferSet::new`] (deserialise a `Vec<Offer>` and pass it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferSet {
    offers: Vec<Offer>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl OfferSet {
    /// Validates every offer and rejects duplicate ids.
    ///
    /// ```
    /// use maitre::catalog::ItemKind;
    /// use maitre::offers::{Offer, OfferSet};
    /// let a = Offer::new("a", ItemKind::Offer, 1.0);
    /// assert!(OfferSet::new(vec![a.clone(), a]).is_err());
    /// ```
    pub fn new(offers: Vec<Offer>) -> Result<Self> {
        if offers.len() > MAX_OFFERS {
            return Err(Error::param(
                "offers",
                format!("{} offers; at most {MAX_OFFERS}", offers.len()),
            ));
        }
        let mut index = HashMap::with_capacity(offers.len());
        for (i, o) in offers.iter().enumerate() {
            o.validate()?;
            if index.insert(o.id().to_owned(), i).is_some() {
                return Err(Error::param(
                    "offers",
                    format!("offer id {:?} appears twice", o.id()),
                ));
            }
        }
        Ok(OfferSet { offers, index })
    }

    pub fn len(&self) -> usize {
        self.offers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
    }

    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    pub fn get(&self, i: usize) -> Option<&Offer> {
        self.offers.get(i)
    }

    /// The position of an offer id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }
}

/// Per customer and offer: when it was shown (within the cap window) and
/// when it was last declined or ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Contact {
    pub(super) shown: VecDeque<i64>,
    pub(super) last_negative: Option<i64>,
}

/// What has happened so far: acceptances per offer (budgets) and per
/// customer × offer showings and declines (caps, cool-downs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    pub(super) accepted: HashMap<String, u64>,
    /// Showings awaiting their outcome: each holds one unit of the budget, so
    /// concurrent acceptances can never overspend it.
    pub(super) reserved: HashMap<String, u64>,
    pub(super) contacts: HashMap<(String, String), Contact>,
}

impl Ledger {
    /// Acceptances recorded for an offer.
    pub fn accepted(&self, offer: &str) -> u64 {
        self.accepted.get(offer).copied().unwrap_or(0)
    }

    /// Showings of offer `offer` to `customer` in `[now - window, now]`.
    pub fn shown_within(&self, customer: &str, offer: &str, window: i64, now: i64) -> usize {
        let since = now.saturating_sub(window);
        self.contacts
            .get(&(customer.to_owned(), offer.to_owned()))
            .map_or(0, |c| {
                c.shown.iter().filter(|&&t| t > since && t <= now).count()
            })
    }

    /// Records a showing of offer `offer` to `customer` at `now`; showings
    /// older than `keep` seconds (the cap's window) are forgotten.
    pub fn record_shown(&mut self, customer: &str, offer: &str, now: i64, keep: i64) {
        let c = self
            .contacts
            .entry((customer.to_owned(), offer.to_owned()))
            .or_default();
        c.shown.push_back(now);
        // Only showings inside the cap window can ever matter again.
        let since = now.saturating_sub(keep);
        while c.shown.front().is_some_and(|&t| t <= since) {
            c.shown.pop_front();
        }
    }

    /// Showings of an offer still awaiting their outcome.
    pub fn reserved(&self, offer: &str) -> u64 {
        self.reserved.get(offer).copied().unwrap_or(0)
    }

    /// Records an acceptance of offer `offer` (spends a unit of its budget).
    pub fn record_accept(&mut self, offer: &str) {
        let n = self.accepted.entry(offer.to_owned()).or_default();
        *n = n.saturating_add(1); // counts may come from an artifact at any value
    }

    /// Holds a unit of offer `offer`'s budget for a showing awaiting its outcome.
    pub fn reserve(&mut self, offer: &str) {
        let n = self.reserved.entry(offer.to_owned()).or_default();
        *n = n.saturating_add(1);
    }

    /// Returns a held unit (the showing's outcome is known).
    pub fn release(&mut self, offer: &str) {
        if let Some(r) = self.reserved.get_mut(offer) {
            *r = r.saturating_sub(1);
        }
    }

    /// Records a decline or an ignore at `at`: the offer's cool-down for this
    /// customer starts then.
    pub fn record_negative(&mut self, customer: &str, offer: &str, at: i64) {
        let c = self
            .contacts
            .entry((customer.to_owned(), offer.to_owned()))
            .or_default();
        c.last_negative = Some(c.last_negative.map_or(at, |t| t.max(at)));
    }

    /// Whether `offer` may go to `customer` at `now` under the
    /// request's `filters`, or the first rule that excludes it. Rules are
    /// checked cheapest first; the order only decides which one is named.
    pub fn check(
        &self,
        offer: &Offer,
        customer: &CustomerState,
        filters: &Filters,
        now: i64,
    ) -> std::result::Result<(), Exclusion> {
        let i = offer.id();
        if now < offer.valid_from || now >= offer.valid_until {
            return Err(Exclusion::OutsideValidity);
        }
        if offer
            .budget
            .is_some_and(|b| self.accepted(i) + self.reserved(i) >= b)
        {
            return Err(Exclusion::BudgetSpent);
        }
        let contact = self.contacts.get(&(customer.id.clone(), i.to_owned()));
        if let Some(cap) = offer.cap {
            if self.shown_within(&customer.id, i, cap.window_secs, now) >= cap.max as usize {
                return Err(Exclusion::FrequencyCap);
            }
        }
        if offer.cooldown_secs > 0 {
            if let Some(t) = contact.and_then(|c| c.last_negative) {
                if now < t.saturating_add(offer.cooldown_secs) {
                    return Err(Exclusion::CoolDown);
                }
            }
        }
        if !filters.admits(&offer.item) {
            return Err(Exclusion::Filters);
        }
        if let Some(r) = offer
            .eligibility
            .attributes
            .iter()
            .find(|r| !r.matches(customer))
        {
            return Err(Exclusion::Attribute(r.key.clone()));
        }
        if let Some(r) = offer
            .eligibility
            .state
            .iter()
            .find(|r| !r.matches(customer, now))
        {
            return Err(Exclusion::State(format!(
                "{} {} in {} within {}s",
                if r.present { "did" } else { "did not" },
                r.kind,
                r.category.as_deref().unwrap_or("any category"),
                r.within_secs
            )));
        }
        Ok(())
    }

    /// Forgets what can no longer exclude anything at `now` or later:
    /// showings outside their offer's cap window and declines whose
    /// cool-down has passed (contacts for offers no longer in `offers` go
    /// too). Returns how many customer × offer entries were dropped. The
    /// ledger otherwise keeps one entry per customer and offer ever shown,
    /// so a long-running service should call this now and then. Budgets
    /// are never pruned.
    pub fn prune(&mut self, offers: &OfferSet, now: i64) -> usize {
        let before = self.contacts.len();
        self.contacts.retain(|(_, id), c| {
            let Some(offer) = offers.position(id).and_then(|i| offers.get(i)) else {
                return false;
            };
            let since = now.saturating_sub(Ledger::keep_for(offer));
            c.shown.retain(|&t| t > since);
            let cooling = c
                .last_negative
                .is_some_and(|t| now < t.saturating_add(offer.cooldown_secs));
            !c.shown.is_empty() || cooling
        });
        before - self.contacts.len()
    }

    /// How long showings of `offer` must be kept (its cap's window).
    pub fn keep_for(offer: &Offer) -> i64 {
        offer.cap.map_or(0, |c| c.window_secs)
    }
}

/// Request-time filters for offers: the recommend [`Filters`] with kinds
/// offer and service and nothing excluded (offers carry their own stock
/// as a budget; "seen" is the frequency cap's business).
pub fn offer_filters() -> Filters {
    Filters {
        kinds: vec![ItemKind::Offer, ItemKind::Service],
        in_stock_only: true,
        exclude_seen: false,
        exclude_consumed: false,
        ..Filters::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> OfferSet {
        OfferSet::new(vec![
            Offer::new("shoes10", ItemKind::Offer, 5.0)
                .valid(100, 1_000)
                .when(AttributeRule::any_of("channel", ["app"]))
                .when_state(StateRule::did("purchase", Some("shoes"), 50))
                .budget(1)
                .cap(2, 100)
                .cooldown(30),
            Offer::new("help", ItemKind::Service, 1.0),
        ])
        .unwrap()
    }

    #[test]
    fn every_rule_is_named_when_it_excludes() {
        let s = set();
        let mut l = Ledger::default();
        let f = offer_filters();
        let ok = CustomerState::new("c").attribute("channel", "app").event(
            "purchase",
            Some("shoes"),
            190,
        );
        assert_eq!(l.check(&s.offers[0], &ok, &f, 200), Ok(()));
        assert_eq!(
            l.check(&s.offers[0], &ok, &f, 99),
            Err(Exclusion::OutsideValidity)
        );
        assert_eq!(
            l.check(&s.offers[0], &ok, &f, 1_000),
            Err(Exclusion::OutsideValidity)
        );
        let web = ok.clone().attribute("channel", "web");
        assert_eq!(
            l.check(&s.offers[0], &web, &f, 200),
            Err(Exclusion::Attribute("channel".into()))
        );
        assert!(matches!(
            l.check(&s.offers[0], &ok, &f, 300),
            Err(Exclusion::State(_))
        ));
        l.record_shown("c", "shoes10", 200, 100);
        l.record_shown("c", "shoes10", 210, 100);
        assert_eq!(
            l.check(&s.offers[0], &ok, &f, 220),
            Err(Exclusion::FrequencyCap)
        );
        // The window slides: the showing at 200 is out of (201, 301].
        let late = ok.clone().event("purchase", Some("shoes"), 300);
        assert_eq!(l.check(&s.offers[0], &late, &f, 301), Ok(()));
        l.record_negative("c", "shoes10", 301);
        assert_eq!(
            l.check(&s.offers[0], &late, &f, 330),
            Err(Exclusion::CoolDown)
        );
        assert_eq!(l.check(&s.offers[0], &late, &f, 331), Ok(()));
        l.record_accept("shoes10");
        assert_eq!(
            l.check(&s.offers[0], &late, &f, 331),
            Err(Exclusion::BudgetSpent)
        );
        let mut only_service = offer_filters();
        only_service.kinds = vec![ItemKind::Service];
        assert_eq!(
            l.check(&s.offers[0], &late, &only_service, 331),
            Err(Exclusion::BudgetSpent)
        );
        assert_eq!(l.check(&s.offers[1], &late, &only_service, 331), Ok(()));
        let mut only_offers = offer_filters();
        only_offers.kinds = vec![ItemKind::Offer];
        assert_eq!(
            l.check(&s.offers[1], &late, &only_offers, 331),
            Err(Exclusion::Filters)
        );
    }

    #[test]
    fn customer_state_from_the_log_drives_state_rules() {
        use crate::events::Event;
        let mut log = EventLog::new();
        log.push(&Event::new("c1", "boot", "purchase", 1_000))
            .unwrap();
        log.push(&Event::new("c1", "hat", "purchase", 1_500))
            .unwrap();
        log.push(&Event::new("c2", "hat", "purchase", 1_600))
            .unwrap();
        let catalog = Catalog::aligned(
            &mut log,
            [
                Item::new("boot").category("shoes"),
                Item::new("hat").category("hats"),
            ],
        )
        .unwrap();
        let offer = Offer::new("socks", ItemKind::Offer, 1.0).when_state(StateRule::did(
            "purchase",
            Some("shoes"),
            30 * 86_400,
        ));
        let l = Ledger::default();
        let f = offer_filters();
        let now = 2_000;
        let c1 = CustomerState::from_log("c1", &log, Some(&catalog), 0, now).unwrap();
        let c2 = CustomerState::from_log("c2", &log, Some(&catalog), 0, now).unwrap();
        assert_eq!(c1.recent.len(), 2);
        assert_eq!(l.check(&offer, &c1, &f, now), Ok(()));
        assert!(matches!(
            l.check(&offer, &c2, &f, now),
            Err(Exclusion::State(_))
        ));
        assert!(CustomerState::from_log("c1", &log, None, 10, 5).is_err());
        assert!(CustomerState::from_log("", &log, None, 0, 5).is_err());
    }

    #[test]
    fn pruning_forgets_only_what_can_no_longer_exclude() {
        let s = OfferSet::new(vec![
            Offer::new("capped", ItemKind::Offer, 1.0).cap(1, 100),
            Offer::new("cool", ItemKind::Offer, 1.0).cooldown(50),
        ])
        .unwrap();
        let mut l = Ledger::default();
        l.record_shown("c", "capped", 10, 100);
        l.record_negative("c", "cool", 10);
        l.record_negative("c", "gone", 10);
        let before = l.clone();
        assert_eq!(l.prune(&s, 59), 1); // only the offer no longer in the set
        let c = CustomerState::new("c");
        let f = offer_filters();
        for (offer, why) in [
            (&s.offers[0], Exclusion::FrequencyCap),
            (&s.offers[1], Exclusion::CoolDown),
        ] {
            assert_eq!(l.check(offer, &c, &f, 59), Err(why.clone()));
            assert_eq!(before.check(offer, &c, &f, 59), Err(why));
        }
        assert_eq!(l.prune(&s, 60), 1); // the cool-down has passed
        assert_eq!(l.prune(&s, 110), 1); // the showing left the cap window
        assert_eq!(l.check(&s.offers[0], &c, &f, 110), Ok(()));
    }

    #[test]
    fn bad_offers_are_rejected() {
        let base = || Offer::new("a", ItemKind::Offer, 1.0);
        for bad in [
            base().valid(5, 5),
            Offer::new("a", ItemKind::Offer, f64::NAN),
            Offer::new("a", ItemKind::Offer, -1.0),
            Offer::new(" ", ItemKind::Offer, 1.0),
            base().cap(0, 10),
            base().cooldown(-1),
            base().when_state(StateRule::did("purchase", None, -5)),
        ] {
            assert!(matches!(
                OfferSet::new(vec![bad]),
                Err(Error::InvalidParam { .. })
            ));
        }
    }
}
