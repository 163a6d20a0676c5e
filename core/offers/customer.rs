//! The offers engine seen from one customer: what they were shown and what
//! came of it, their next best action inside the single customer view, and
//! forgetting them.
//!
//! Here rather than in `customers` because the arrow points this way:
//! `offers` may use `customers` (its view and base), `customers` may not use
//! `offers`.

use super::bandit::lock;
use super::engine::NextBestOffer;
use super::offer::CustomerState;
use super::OfferRequest;
use crate::customers::{CustomerBase, CustomerView, NextAction, OfferActivity, OfferShown};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What [`NextBestOffer::forget`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForgottenOffers {
    /// Logged decisions removed (with their contexts).
    pub decisions: usize,
    /// Settled showings whose update was taken back out of the bandit's
    /// models (those still in the log: see [`NextBestOffer::forget`]).
    pub unlearned: usize,
    /// Showings still awaiting a reward, dropped (their budget unit freed).
    pub pending: usize,
    /// Ledger entries (showings, cool-downs) removed, one per offer.
    pub contacts: usize,
}

/// How far back the view reads a customer's events for the contact policy
/// and state rules (the default policy looks back 30 days).
const VIEW_LOOKBACK_SECS: i64 = 90 * 86_400;

impl NextBestOffer {
    /// Removes every trace of the customers `ids` (pass all of one person's
    /// ids: the ledger and the log key decisions by the id given to
    /// `decide`): their logged decisions and the contexts in them, their
    /// pending showings (freeing the budget they held), their ledger
    /// entries, and — for each settled showing still in the decision log —
    /// its update to the bandit's model, taken back exactly (Sherman–Morrison
    /// downdate). Showings settled after the log was taken
    /// ([`super::Bandit::take_log`]) or with the log off cannot be
    /// identified and stay learnt, as aggregates that hold no id or vector.
    /// Unknown ids are not an error (nothing of theirs is held).
    ///
    /// ```
    /// use maitre::catalog::ItemKind;
    /// use maitre::offers::*;
    /// let offers = OfferSet::new(vec![Offer::new("a", ItemKind::Offer, 1.0)])?;
    /// let nbo = NextBestOffer::new(offers, ContactPolicy::default(), 1, BanditParams::default())?;
    /// let d = nbo.decide(&OfferRequest::new(CustomerState::new("ann"), vec![0.5], 100))?;
    /// nbo.reward(d.chosen[0].event_id, 1.0, 110)?;
    /// nbo.decide(&OfferRequest::new(CustomerState::new("ann"), vec![0.5], 200))?;
    /// let gone = nbo.forget(&["ann"]);
    /// assert_eq!((gone.decisions, gone.unlearned, gone.pending), (2, 1, 1));
    /// assert!(nbo.bandit().log().is_empty());
    /// assert_eq!(nbo.bandit().estimate(&[0.5], "a")?.0, 0.0); // as if never shown
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn forget(&self, ids: &[&str]) -> ForgottenOffers {
        let ids: HashSet<&str> = ids.iter().copied().collect();
        let theirs = |c: &Option<String>| c.as_deref().is_some_and(|c| ids.contains(c));
        // Lock order as in `decide` and `reward`: ledger, decisions, models.
        let mut ledger = self.write_ledger();
        let mut out = lock(&self.bandit.outstanding);
        let mut arms = self.bandit.arms.write().unwrap_or_else(|e| e.into_inner());
        let mut report = ForgottenOffers::default();
        let pending: Vec<u64> = out
            .pending
            .iter()
            .filter(|(_, p)| theirs(&p.customer))
            .map(|(&id, _)| id)
            .collect();
        for id in pending {
            let p = out.pending.remove(&id).expect("listed above");
            ledger.release(&p.offer);
            report.pending += 1;
        }
        let records = out.log.take_where(|r| theirs(&r.customer));
        report.decisions = records.len();
        for r in &records {
            let Ok(x) = self.bandit.features(&r.context) else {
                continue;
            };
            for c in &r.chosen {
                if let (Some(reward), Some(arm)) = (c.reward, arms.get_mut(&c.offer)) {
                    report.unlearned += usize::from(arm.downdate(&x, reward));
                }
            }
        }
        let before = ledger.contacts.len();
        ledger
            .contacts
            .retain(|(customer, _), _| !ids.contains(customer.as_str()));
        report.contacts = before - ledger.contacts.len();
        report
    }

    /// The offers shown to any of `ids` (from the decision log) and what came
    /// of them, with the `recent` latest showings, newest first.
    pub fn activity(&self, ids: &[&str], recent: usize) -> OfferActivity {
        let ids: HashSet<&str> = ids.iter().copied().collect();
        let out = lock(&self.bandit.outstanding);
        let mut activity = OfferActivity::default();
        let mut shown = Vec::new();
        for r in out.log.records() {
            if !r.customer.as_deref().is_some_and(|c| ids.contains(c)) {
                continue;
            }
            for c in &r.chosen {
                let outcome = match c.reward {
                    None => "pending",
                    Some(_) if c.defaulted => "ignored",
                    Some(v) if v > 0.0 => "accepted",
                    Some(_) => "declined",
                };
                match outcome {
                    "pending" => activity.pending += 1,
                    "ignored" => activity.ignored += 1,
                    "accepted" => activity.accepted += 1,
                    _ => activity.declined += 1,
                }
                shown.push(OfferShown {
                    offer: c.offer.clone(),
                    timestamp: r.timestamp,
                    outcome,
                    reward: c.reward,
                });
            }
        }
        activity.shown = shown.len();
        shown.reverse();
        shown.truncate(recent);
        activity.recent = shown;
        activity
    }

    /// The single customer view of `id` from `base`, with their offers
    /// ([`NextBestOffer::activity`]) and their next best action now (the
    /// base's time) from [`NextBestOffer::preview`]: the contact policy and
    /// state rules see their last 90 days of events on every id,
    /// eligibility sees `attributes`. `context` defaults to their customer
    /// vector in `base` when it has the engine's dimension (a context-free
    /// engine needs none).
    ///
    /// ```
    /// use maitre::catalog::{Catalog, Item, ItemKind};
    /// use maitre::customers::{CustomerBase, CustomerSettings};
    /// use maitre::events::{Event, EventLog};
    /// use maitre::offers::*;
    /// let mut log = EventLog::new();
    /// log.push(&Event::new("ann", "sku-1", "purchase", 1_700_000_000).context("channel", "web"))?;
    /// log.push(&Event::new("ann", "sku-1", "return", 1_700_086_400).context("channel", "store"))?;
    /// let catalog = Catalog::aligned(&mut log, vec![Item::new("sku-1").category("shoes")])?;
    /// let base = CustomerBase::new(log, catalog, CustomerSettings::default())?;
    /// let offers = OfferSet::new(vec![
    ///     Offer::new("10-off", ItemKind::Offer, 5.0),
    ///     Offer::new("return-help", ItemKind::Service, 1.0),
    /// ])?;
    /// let nbo = NextBestOffer::new(offers, ContactPolicy::default(), 0, BanditParams::default())?;
    /// let view = nbo.customer_view(&base, "ann", 10, None, &Default::default())?;
    /// let next = view.next_best_action.unwrap();
    /// assert_eq!((next.offer.as_str(), next.kind.as_str()), ("return-help", "service"));
    /// assert_eq!(view.offers.unwrap().shown, 0);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn customer_view(
        &self,
        base: &CustomerBase,
        id: &str,
        recent: usize,
        context: Option<&[f32]>,
        attributes: &BTreeMap<String, String>,
    ) -> Result<CustomerView> {
        let mut view = base.customer_view(id, recent)?;
        let ids: Vec<&str> = view.identities.iter().map(String::as_str).collect();
        let now = base.now();
        let context = match context {
            Some(c) => c.to_vec(),
            None => self.default_context(base, &view.customer)?,
        };
        let mut state = CustomerState::new(view.customer.clone());
        state.attributes = attributes.clone();
        for raw in &ids {
            let since = now.saturating_sub(VIEW_LOOKBACK_SECS);
            let theirs =
                CustomerState::from_log(raw, base.log(), Some(base.catalog()), since, now)?;
            state.recent.extend(theirs.recent);
        }
        let request = OfferRequest::new(state.clone(), context, now);
        let fired = self.policy.apply(&state, now)?.fired;
        view.next_best_action = self.preview(&request)?.map(|c| NextAction {
            offer: c.offer,
            kind: c.kind.name().to_owned(),
            why: c.why,
            estimate: c.estimate,
            value: c.value,
            fired,
        });
        view.offers = Some(self.activity(&ids, recent));
        Ok(view)
    }

    fn default_context(&self, base: &CustomerBase, customer: &str) -> Result<Vec<f32>> {
        let dim = self.bandit.dim();
        if dim == 0 {
            return Ok(Vec::new());
        }
        match base.vectors() {
            Some(v) if v.k() == dim => Ok(v.row(base.customer_index(customer)?).to_vec()),
            _ => Err(Error::param(
                "context",
                format!(
                    "the engine needs a context of {dim} numbers and the base has no customer \
                     vectors of that size: pass one"
                ),
            )),
        }
    }
}
