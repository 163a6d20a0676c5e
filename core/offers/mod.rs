//! Next best offer and action: which one offer or service action to put in
//! front of a customer now, and learning from what they accept.
//!
//! - [`Offer`]: offers and service actions with a value, a validity
//!   window, eligibility (customer attributes, "purchased in category X within
//!   N days" state rules, and the recommend [`crate::recommend::Filters`] over
//!   the offer's catalogue item at request time), a budget of acceptances, a
//!   per-customer frequency cap and a cool-down after a decline or an ignore.
//!   The [`Ledger`] enforces the counters.
//! - [`ContactPolicy`]: ordered rules over the customer's recent events
//!   (default: no sales offers for 14 days after a return or a complaint,
//!   service actions first for 30); every decision names the rules that fired.
//! - [`Bandit`]: LinUCB, linear Thompson sampling and ε-greedy over the
//!   context ⊗ offer one-hot features (one ridge model per offer), ranking by
//!   estimated reward × value; `rank`/`reward`/`expire` all take `&self`;
//!   `probabilities` gives the current policy's action probabilities (the
//!   target for off-policy evaluation) without recording a decision.
//! - [`NextBestOffer`]: the three together behind one `&self` API: `decide`,
//!   `reward`, `expire`, keeping the [`Ledger`] consistent with outcomes.
//! - [`OfferRequest::from_session`]: a visitor's request from what a
//!   [`crate::recommend::Recommender`] serves (session events with their
//!   categories, context pairs as attributes, the query vector as context).
//! - [`DecisionLog`]: every decision's context, candidates, choices,
//!   positions, propensities and rewards, as JSON Lines.
//! - Persistence: [`NextBestOffer::to_bytes`] / [`NextBestOffer::save`] write
//!   the whole engine (offers, contact policy, bandit models, pending
//!   decisions, log, ledger) into a full artifact; loading it back is
//!   bit-exact (sections documented in `offers/store.rs`).
//! - One customer: [`NextBestOffer::activity`] (what they were shown and
//!   what came of it), [`NextBestOffer::customer_view`] (the
//!   [`crate::customers::CustomerView`] with their offers and next best
//!   action, from [`NextBestOffer::preview`], which records nothing) and
//!   [`NextBestOffer::forget`] (their decisions, pending showings, ledger
//!   entries and learnt updates, taken back).
//! - Apprentice mode ([`ApprenticeParams`]): follow an existing rule's choice
//!   until the model matches or beats it.
//! - [`evaluate_policy`]: off-policy evaluation (DM, IPS, SNIPS, DR with
//!   seeded percentile-bootstrap intervals; DM/DR on a cross-fitted ridge
//!   reward model per action) of a target policy given as action
//!   probabilities per logged round.
//!
//! Depends on: `error`, `catalog` (an offer is a catalogue [`crate::catalog::Item`]
//! of kind offer or service) and `recommend`'s rules (`Filters`, the
//! predicate membership test: one definition, not a fork) and `events`
//! ([`CustomerState::from_log`] reads a customer's recent events from an
//! [`crate::events::EventLog`]) and, for sessions, the `Recommender`'s
//! query vector, and `customers` (the single customer view it completes;
//! `customers` may not use `offers`). It may also use `embed` (today context
//! vectors arrive as plain `f32` slices). May not depend on `eval`:
//! off-policy evaluation lives here, on plain arrays.

mod apprentice;
mod bandit;
mod customer;
mod engine;
mod log;
mod offer;
mod ope;
mod policy;
mod session;
mod store;
#[cfg(test)]
mod tests;

pub use apprentice::{ApprenticeParams, ApprenticeStatus, MAX_WINDOW};
pub use bandit::{
    Bandit, BanditParams, Candidate, Chosen, Policy, Ranking, Scored, Settled, MAX_ARM_CELLS,
    MAX_CANDIDATES, MAX_DIM, MAX_RANK_WORK,
};
pub use customer::ForgottenOffers;
pub use engine::{Decision, NextBestOffer, OfferChoice, OfferRequest};
pub use log::{DecisionLog, LoggedChoice, Record};
pub use offer::{
    offer_filters, AttributeRule, CustomerState, Eligibility, Exclusion, FrequencyCap, Ledger,
    Offer, OfferSet, RecentEvent, StateRule, MAX_OFFERS,
};
pub use ope::{
    evaluate_policy, reward_model, Estimate, Logged, OpeParams, OpeReport, MAX_MODEL_CELLS,
};
pub use policy::{Applied, ContactPolicy, ContactRule, RuleAction};
