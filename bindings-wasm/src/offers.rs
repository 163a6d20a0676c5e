//! The next best offer on a visitor `Session`: `useOffers`, `nextBestOffer`,
//! `reward`, `expireOffers`.
//!
//! The session holds the core's `NextBestOffer` (offers, contact policy,
//! bandit state and ledger) for the page's lifetime. Offers, the contact
//! policy and the bandit settings cross as JSON in the core's serde form
//! (snake_case, as in a Rust service or Python); results come back camelCase
//! like every other result of the package. The request is the core's
//! `OfferRequest::from_session`: the session's events (returns and
//! complaints included) drive the contact policy and eligibility, the session
//! fold-in is the bandit's context.

use crate::convert::{bad_argument, js_error, json_array, options, to_js};
use crate::recommend::{count, now_seconds, Session};
use maitre::catalog::ItemKind;
use maitre::offers::{
    BanditParams, ContactPolicy, Decision, Exclusion, NextBestOffer, Offer, OfferRequest, OfferSet,
    Settled,
};
use maitre::recommend::Request;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_OFFERS: &'static str = r#"
/** A rule over the visitor's context and attributes: `key ∈ values` (or `∉` with `negate`). */
export interface AttributeRule {
  key: string;
  values: string[];
  negate?: boolean;
}

/** "An event of `kind` (in `category`) within the last `within_secs` seconds" (or none, with `present: false`). */
export interface StateRule {
  kind: string;
  category?: string | null;
  within_secs: number;
  present: boolean;
}

/**
 * An offer or a service action, in the core's serde form (snake_case field names).
 * Only `item.id`, `item.kind` and `value` are needed; the rest default to
 * "always valid, for everyone, no budget, cap or cool-down".
 */
export interface Offer {
  item: {
    id: string;
    kind: "offer" | "service";
    category?: string | null;
    brand?: string | null;
    price_band?: string | null;
    price?: number | null;
    tags?: string[];
    in_stock?: boolean;
  };
  /** What an acceptance is worth; the bandit ranks by P(accept) × value. */
  value: number;
  /** Epoch seconds, [valid_from, valid_until). */
  valid_from?: number;
  valid_until?: number;
  eligibility?: { attributes?: AttributeRule[]; state?: StateRule[] };
  /** Acceptances before the offer is withdrawn. */
  budget?: number | null;
  /** At most `max` showings to this visitor in any `window_secs`. */
  cap?: { max: number; window_secs: number } | null;
  /** Seconds after a decline or an ignored showing before it is shown again. */
  cooldown_secs?: number;
}

/** One contact rule: after an event of a kind in `after` within `within_secs`, suppress or put first some kinds. */
export interface ContactRule {
  name: string;
  after: string[];
  within_secs: number;
  action: { do: "suppress" | "first"; kinds: ItemKind[] };
}

/** Ordered contact rules (core serde form). Default: no sales offers for 14 days after a return or a complaint, service actions first for 30. */
export interface ContactPolicy {
  rules: ContactRule[];
}

/** Bandit settings (core serde form); unset fields keep the core's defaults (LinUCB, alpha 0.5, epsilon 0.02, a 1-day reward window). */
export interface BanditParams {
  policy?: { name: "lin_ucb"; alpha: number } | { name: "thompson"; scale: number } | { name: "epsilon_greedy" };
  epsilon?: number;
  ridge?: number;
  seed?: number;
  reward_window_secs?: number;
  default_reward?: number;
  propensity_draws?: number;
  max_pending?: number;
  keep_log?: boolean;
  /** Apprentice mode: follow `nextBestOffer`'s `teacher` (the page's existing rule) until the model matches or beats it. Defaults: epsilon 0.2, window 1000, agreement 0.9. */
  apprentice?: { epsilon?: number; window?: number; agreement?: number };
}

export interface OffersOptions {
  /** Default: the core's default contact policy. */
  policy?: ContactPolicy;
  bandit?: BanditParams;
  /** The id the ledger (caps, cool-downs) keeps this visitor under (default "visitor"). */
  customer?: string;
}

/** One offer put in front of the visitor. */
export interface OfferChoice {
  offer: string;
  kind: ItemKind;
  /** Slot, 0 first. */
  position: number;
  /** Pass to `session.reward`. */
  eventId: number;
  /** The probability this offer was chosen with (given the earlier slots). */
  probability: number;
  /** Estimated reward (P(accept) for 0/1 rewards). */
  estimate: number;
  value: number;
  /** Why it is here, in words (the contact rule, or estimate × value). */
  why: string;
}

/** A candidate the bandit scored. */
export interface OfferScore {
  offer: string;
  score: number;
  estimate: number;
  /** The estimate's uncertainty. */
  width: number;
  /** Probability of being chosen for the first slot. */
  probability: number;
}

export type ExclusionRule =
  | "outside_validity" | "budget_spent" | "frequency_cap" | "cool_down"
  | "filters" | "attribute" | "state" | "contact_policy";

/** An offer left out, with the rule that excluded it. */
export interface ExcludedOffer {
  offer: string;
  rule: ExclusionRule;
  /** attribute: the key; state: the rule; contact_policy: the rule's name. */
  detail?: string;
  message: string;
}

/** What `nextBestOffer` returns. No eligible offer is not an error: `chosen` is then empty. */
export interface OfferDecision {
  chosen: OfferChoice[];
  scores: OfferScore[];
  excluded: ExcludedOffer[];
  /** Contact-policy rules that fired. */
  fired: string[];
}

/** What a reward or an expiry settled. */
export interface OfferOutcome {
  eventId: number;
  offer: string;
  reward: number;
  /** The default reward, applied by `expireOffers`. */
  defaulted: boolean;
}
"#;

/// The ledger's key when the page gives none.
const VISITOR: &str = "visitor";

/// The core engine and the id the visitor is kept under.
pub(crate) struct Offers {
    engine: NextBestOffer,
    customer: String,
}

impl Offers {
    /// Everything the engine holds about this visitor.
    pub(crate) fn forget(&self) {
        self.engine.forget(&[self.customer.as_str()]);
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JsOffersOptions {
    policy: Option<ContactPolicy>,
    bandit: Option<BanditParams>,
    customer: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsChoice {
    offer: String,
    kind: ItemKind,
    position: usize,
    event_id: u64,
    probability: f64,
    estimate: f64,
    value: f64,
    why: String,
}

#[derive(Serialize)]
struct JsScore {
    offer: String,
    score: f64,
    estimate: f64,
    width: f64,
    probability: f64,
}

#[derive(Serialize)]
struct JsExcluded {
    offer: String,
    /// `rule` and, when it has one, `detail`.
    #[serde(flatten)]
    why: Exclusion,
    message: String,
}

#[derive(Serialize)]
struct JsDecision {
    chosen: Vec<JsChoice>,
    scores: Vec<JsScore>,
    excluded: Vec<JsExcluded>,
    fired: Vec<String>,
}

impl From<Decision> for JsDecision {
    fn from(d: Decision) -> Self {
        JsDecision {
            chosen: d
                .chosen
                .into_iter()
                .map(|c| JsChoice {
                    offer: c.offer,
                    kind: c.kind,
                    position: c.position,
                    event_id: c.event_id,
                    probability: c.propensity,
                    estimate: c.estimate,
                    value: c.value,
                    why: c.why,
                })
                .collect(),
            scores: d
                .scores
                .into_iter()
                .zip(d.probabilities)
                .map(|(s, p)| JsScore {
                    offer: s.id,
                    score: s.score,
                    estimate: s.estimate,
                    width: s.width,
                    probability: p,
                })
                .collect(),
            excluded: d
                .excluded
                .into_iter()
                .map(|(offer, why)| JsExcluded {
                    message: why.to_string(),
                    offer,
                    why,
                })
                .collect(),
            fired: d.fired,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsOutcome {
    event_id: u64,
    offer: String,
    reward: f64,
    defaulted: bool,
}

impl From<Settled> for JsOutcome {
    fn from(s: Settled) -> Self {
        JsOutcome {
            event_id: s.event_id,
            offer: s.offer,
            reward: s.reward,
            defaulted: s.defaulted,
        }
    }
}

/// Whole epoch seconds from a JS number (the core checks the range).
fn seconds(name: &str, n: Option<f64>) -> Result<i64, JsValue> {
    match n {
        None => Ok(now_seconds()),
        // Beyond 2^53 a JS number is no longer an exact integer.
        Some(n) if n.is_finite() && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 => {
            Ok(n as i64)
        }
        Some(n) => Err(bad_argument(
            name,
            format_args!("{n} is not a whole number of epoch seconds"),
        )),
    }
}

#[wasm_bindgen]
impl Session {
    /// Sets the offers and service actions this session chooses from (core
    /// serde form), with a contact policy (default: no sales offers after a
    /// return or a complaint, service first) and bandit settings. Starts a
    /// fresh bandit and ledger; a bad offer, policy or setting throws and
    /// leaves the session's offers as they were.
    #[wasm_bindgen(js_name = useOffers)]
    pub fn use_offers(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Offer[]")] offers: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "OffersOptions")] options: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let opts: JsOffersOptions = crate::convert::options("options", options)?;
        let list = json_array("offers", offers)?
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                serde_json::from_value::<Offer>(o)
                    .map_err(|e| bad_argument(&format!("offers[{i}]"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let set = OfferSet::new(list).map_err(js_error)?;
        let engine = NextBestOffer::new(
            set,
            opts.policy.unwrap_or_default(),
            self.shop.item_vectors().k(),
            opts.bandit.unwrap_or_default(),
        )
        .map_err(js_error)?;
        let customer = opts.customer.unwrap_or_else(|| VISITOR.to_owned());
        self.offers = Some(Offers { engine, customer });
        Ok(())
    }

    /// Chooses `slots` offers (default 1) for this visitor at `now` (epoch
    /// seconds; default the clock) in `context` (default: the latest event's
    /// context; its pairs are the visitor's attributes for eligibility). The
    /// session's events drive the contact policy: after a recorded return or
    /// complaint, service actions come first and sales offers are held back.
    /// `teacher`: in apprentice mode (`bandit.apprentice`), the offer the
    /// page's existing rule would show; followed, with some exploration,
    /// until the bandit graduates.
    #[wasm_bindgen(js_name = nextBestOffer, unchecked_return_type = "OfferDecision")]
    pub fn next_best_offer(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "Context")] context: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] now: Option<f64>,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] slots: Option<f64>,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] teacher: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let context: Option<BTreeMap<String, String>> = options("context", context)?;
        let now = seconds("now", now)?;
        let slots = count("slots", slots.unwrap_or(1.0))?;
        let offers = self.offers()?;
        let request = Request {
            session: self.core_events(),
            context: self.context_or_latest(context).into_iter().collect(),
            now: Some(now),
            ..Request::default()
        };
        let request = OfferRequest::from_session(&self.shop, &offers.customer, &request)
            .map_err(js_error)?
            .slots(slots);
        let request = match teacher {
            Some(t) => request.teacher(t),
            None => request,
        };
        let decision = offers.engine.decide(&request).map_err(js_error)?;
        to_js(&JsDecision::from(decision))
    }

    /// Records the outcome of a showing: `value` 1 for accepted (a click on
    /// the banner), 0 for declined, any finite number as given; `now` in
    /// epoch seconds (default the clock) must fall inside the reward window.
    /// An unknown or already settled event id, a non-finite value or a late
    /// reward throws and changes nothing.
    #[wasm_bindgen(unchecked_return_type = "OfferOutcome")]
    pub fn reward(
        &mut self,
        #[wasm_bindgen(js_name = eventId)] event_id: f64,
        value: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] now: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let now = seconds("now", now)?;
        if !(event_id.is_finite() && event_id >= 0.0 && event_id.fract() == 0.0) {
            return Err(bad_argument(
                "eventId",
                format_args!("{event_id} is not an event id"),
            ));
        }
        let offers = self.offers()?;
        let settled = offers
            .engine
            .reward(event_id as u64, value, now)
            .map_err(js_error)?;
        to_js(&JsOutcome::from(settled))
    }

    /// Settles every showing whose reward window has closed by `now` (epoch
    /// seconds, default the clock) with the default reward (an ignore).
    #[wasm_bindgen(js_name = expireOffers, unchecked_return_type = "OfferOutcome[]")]
    pub fn expire_offers(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] now: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let now = seconds("now", now)?;
        let settled = self.offers()?.engine.expire(now).map_err(js_error)?;
        to_js(&settled.into_iter().map(JsOutcome::from).collect::<Vec<_>>())
    }
}

impl Session {
    fn offers(&self) -> Result<&Offers, JsValue> {
        self.offers
            .as_ref()
            .ok_or_else(|| bad_argument("offers", "none set: call useOffers(offers) first"))
    }
}
