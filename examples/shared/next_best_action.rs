//! The quickstart's "next best action" part, shared with its test
//! (`tests/quickstart_offers.rs`) so the test checks exactly what the
//! quickstart shows: the storefront's own offers and service actions, a
//! customer who just returned an item and one browsing happily.

use maitre::catalog::{Catalog, ItemKind};
use maitre::events::EventLog;
use maitre::offers::{CustomerState, Offer, OfferSet, StateRule};
use std::collections::BTreeSet;

const DAY: i64 = 86_400;

/// The storefront catalogue's offers and service actions as offers: a 10 %
/// discount is worth 5 and goes to customers who viewed its category in the
/// last 30 days (at most once a day, a week's rest after a decline); the
/// return helper goes to customers who returned something in the last 30 days,
/// the call-back to those who complained.
pub fn storefront_offers(catalog: &Catalog) -> maitre::Result<OfferSet> {
    let mut offers = Vec::new();
    for item in catalog.items() {
        let offer = match (item.kind, item.id.as_str()) {
            (ItemKind::Offer, _) => Offer::new(item.id.clone(), ItemKind::Offer, 5.0)
                .when_state(StateRule::did("view", item.category.as_deref(), 30 * DAY))
                .cap(1, DAY)
                .cooldown(7 * DAY),
            (ItemKind::Service, "service-return-help") => Offer::new(
                item.id.clone(),
                ItemKind::Service,
                1.0,
            )
            .when_state(StateRule::did("return", None, 30 * DAY)),
            (ItemKind::Service, "service-callback") => Offer::new(
                item.id.clone(),
                ItemKind::Service,
                1.0,
            )
            .when_state(StateRule::did("complaint", None, 30 * DAY)),
            _ => continue,
        };
        offers.push(offer.item(item.clone()));
    }
    OfferSet::new(offers)
}

/// One customer at one moment: their events up to `now`, as the contact
/// policy and eligibility read them.
pub struct Moment {
    /// The customer's raw id (as in the log).
    pub id: String,
    pub state: CustomerState,
    pub now: i64,
}

/// Each raw customer's events (indices into the log), in log order.
fn by_customer(log: &EventLog) -> Vec<Vec<usize>> {
    let column = log.customer_column();
    let mut out = vec![Vec::new(); log.raw_customers().len()];
    for (i, &c) in column.iter().enumerate() {
        out[c as usize].push(i);
    }
    out
}

fn moment(log: &EventLog, catalog: &Catalog, customer: u32, events: &[usize], now: i64) -> Moment {
    let id = log
        .raw_customers()
        .name(customer)
        .expect("a logged id")
        .to_owned();
    let (kinds, items, times) = (log.kind_column(), log.item_column(), log.timestamp_column());
    let mut state = CustomerState::new(id.clone());
    for &i in events.iter().filter(|&&i| times[i] <= now) {
        let kind = &log.kinds().spec(kinds[i]).expect("a logged kind").name;
        let category = catalog.item(items[i]).and_then(|it| it.category.as_deref());
        state = state.event(kind.clone(), category, times[i]);
    }
    Moment { id, state, now }
}

/// The first customer (in id order) who returned an item after buying
/// something, an hour after the return.
pub fn just_returned(log: &EventLog, catalog: &Catalog) -> Option<Moment> {
    let (kinds, times) = (log.kind_column(), log.timestamp_column());
    let kind = |name: &str| log.kinds().id(name);
    let (purchase, ret) = (kind("purchase")?, kind("return")?);
    by_customer(log).iter().enumerate().find_map(|(c, events)| {
        let bought = events.iter().any(|&i| kinds[i] == purchase);
        let returned = events.iter().find(|&&i| kinds[i] == ret)?;
        bought.then(|| moment(log, catalog, c as u32, events, times[*returned] + 3_600))
    })
}

/// The first customer who never returned or complained and viewed two or
/// more categories with an offer in the 30 days before their last event, an
/// hour after that event.
pub fn browsing_happily(log: &EventLog, catalog: &Catalog, offers: &OfferSet) -> Option<Moment> {
    let (kinds, items, times) = (log.kind_column(), log.item_column(), log.timestamp_column());
    let kind = |name: &str| log.kinds().id(name);
    let (view, ret, complaint) = (kind("view")?, kind("return")?, kind("complaint")?);
    let offered: BTreeSet<&str> = offers
        .offers()
        .iter()
        .filter(|o| o.item.kind == ItemKind::Offer)
        .filter_map(|o| o.item.category.as_deref())
        .collect();
    by_customer(log).iter().enumerate().find_map(|(c, events)| {
        if events
            .iter()
            .any(|&i| kinds[i] == ret || kinds[i] == complaint)
        {
            return None;
        }
        let last = events.iter().map(|&i| times[i]).max()?;
        let viewed: BTreeSet<&str> = events
            .iter()
            .filter(|&&i| kinds[i] == view && times[i] > last - 30 * DAY)
            .filter_map(|&i| catalog.item(items[i])?.category.as_deref())
            .filter(|cat| offered.contains(cat))
            .collect();
        // Two offers to choose between, so the choice is the bandit's.
        (viewed.len() >= 2).then(|| moment(log, catalog, c as u32, events, last + 3_600))
    })
}
