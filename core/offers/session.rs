//! Offer requests for a visitor served by a [`Recommender`]: what the
//! recommender already knows about a request (its session events, context and
//! customer) becomes the customer state the contact policy and eligibility
//! read, and the bandit's context vector.
//!
//! Here so that every binding serving sessions (the browser's, a Rust
//! service's) builds the request the same way. Depends on `recommend` (the
//! request and the query vector) and `catalog` (item categories).

use super::engine::OfferRequest;
use super::offer::{CustomerState, RecentEvent};
use crate::error::{Error, Result};
use crate::recommend::{Recommender, Request};

impl OfferRequest {
    /// A decision request for `customer` (the ledger's key: the visitor or
    /// customer id) from a recommend request:
    ///
    /// - recent events: the request's session, each with its item's catalogue
    ///   category; an event without a timestamp counts as happening at `now`
    ///   (it is in the current session);
    /// - attributes: the request's context pairs (`channel`, `device`, …),
    ///   a later pair overriding an earlier one with the same key;
    /// - context vector: [`Recommender::query_vector`] (a known customer's
    ///   taste, the session fold-in and the context blended as recommend
    ///   does), zeros when nothing personal is known;
    /// - `now`: the request's, required (1970 to 2100 in seconds, as
    ///   everywhere in requests).
    ///
    /// The bandit must have the recommender's dimension
    /// (`shop.item_vectors().k()`). Unknown items or event kinds are the
    /// recommender's errors.
    ///
    /// ```
    /// use maitre::catalog::ItemKind;
    /// use maitre::datasets::{synthetic_storefront, Size};
    /// use maitre::embed::Als;
    /// use maitre::interactions::{InteractionConfig, Interactions};
    /// use maitre::offers::*;
    /// use maitre::recommend::{BuildOptions, Recommender, Request, SessionEvent};
    /// let shop = synthetic_storefront(7, Size::Tiny)?;
    /// let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    /// let model = Als::params().factors(8).fit(&matrix)?;
    /// let rec = Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default())?;
    /// let offers = OfferSet::new(vec![
    ///     Offer::new("10-off", ItemKind::Offer, 5.0),
    ///     Offer::new("service-return-help", ItemKind::Service, 1.0),
    /// ])?;
    /// let nbo = NextBestOffer::new(offers, ContactPolicy::default(), 8, BanditParams::default())?;
    /// let now = 1_800_000_000;
    /// let item = shop.catalog.items()[0].id.clone();
    /// let mut session = Request::new(1).context("channel", "web");
    /// session.session.push(SessionEvent { timestamp: Some(now - 60), ..SessionEvent::new(item, "return") });
    /// session.now = Some(now);
    /// let request = OfferRequest::from_session(&rec, "visitor", &session)?;
    /// assert_eq!(request.customer.attributes["channel"], "web");
    /// let d = nbo.decide(&request)?;
    /// assert_eq!(d.chosen[0].offer, "service-return-help");
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn from_session(shop: &Recommender, customer: &str, request: &Request) -> Result<Self> {
        let now = request.now.ok_or_else(|| {
            Error::param("now", "an offer decision needs the request's current time")
        })?;
        crate::events::check_timestamp(now).map_err(|p| Error::param("now", p.to_string()))?;
        let mut state = CustomerState::new(customer);
        state.validate()?;
        for (key, value) in &request.context {
            state.attributes.insert(key.clone(), value.clone());
        }
        state.recent.reserve(request.session.len());
        for e in &request.session {
            let at = shop.item_index(&e.item)?;
            let category = shop.catalog().item(at).and_then(|i| i.category.clone());
            state.recent.push(RecentEvent {
                kind: e.kind.clone(),
                category,
                timestamp: e.timestamp.unwrap_or(now),
            });
        }
        // Also validates the session's kinds and timestamps.
        let context = shop
            .query_vector(request)?
            .unwrap_or_else(|| vec![0.0; shop.item_vectors().k()]);
        Ok(OfferRequest::new(state, context, now))
    }
}
