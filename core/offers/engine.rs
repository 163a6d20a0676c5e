//! The next-best-offer engine: eligibility, the contact policy and the bandit
//! in one call, with the ledger kept consistent with every outcome.

use super::bandit::{Bandit, BanditParams, Candidate, Meta, Scored, Settled};
use super::offer::{offer_filters, CustomerState, Exclusion, Ledger, Offer, OfferSet};
use super::policy::{Applied, ContactPolicy};
use crate::catalog::ItemKind;
use crate::error::{Error, Result};
use crate::recommend::Filters;
use serde::{Deserialize, Serialize};
use std::sync::RwLock;

/// One decision request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    pub customer: CustomerState,
    /// The context vector (the customer's ALS vector, a session fold-in, …),
    /// of the engine's dimension.
    pub context: Vec<f32>,
    /// Request-time filters over the offers' catalogue items (default:
    /// [`offer_filters`]: kinds offer and service).
    #[serde(default = "offer_filters")]
    pub filters: Filters,
    #[serde(default = "one")]
    pub slots: usize,
    /// Unix seconds.
    pub now: i64,
    /// Apprentice mode: the offer an existing rule would show here. Followed
    /// (see [`super::ApprenticeParams`]) when it is eligible and in the tier
    /// the contact policy puts first; otherwise the bandit chooses and the
    /// decision is no lesson. Ignored when apprentice mode is off or over.
    #[serde(default)]
    pub teacher: Option<String>,
}

fn one() -> usize {
    1
}

impl OfferRequest {
    pub fn new(customer: CustomerState, context: Vec<f32>, now: i64) -> Self {
        OfferRequest {
            customer,
            context,
            filters: offer_filters(),
            slots: 1,
            now,
            teacher: None,
        }
    }

    /// The existing rule's choice, for apprentice mode.
    #[must_use]
    pub fn teacher(mut self, offer: impl Into<String>) -> Self {
        self.teacher = Some(offer.into());
        self
    }

    #[must_use]
    pub fn slots(mut self, slots: usize) -> Self {
        self.slots = slots;
        self
    }

    #[must_use]
    pub fn filters(mut self, filters: Filters) -> Self {
        self.filters = filters;
        self
    }
}

/// One offer put in front of the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferChoice {
    pub offer: String,
    pub kind: ItemKind,
    pub position: usize,
    /// Pass to [`NextBestOffer::reward`].
    pub event_id: u64,
    pub propensity: f64,
    /// Estimated reward (P(accept) for 0/1 rewards) and the offer's value.
    pub estimate: f64,
    pub value: f64,
    /// Why it is here, in words (tier rule, estimate × value).
    pub why: String,
}

/// What [`NextBestOffer::decide`] returns. No eligible offer is not an
/// error: `chosen` is then empty and `excluded` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub chosen: Vec<OfferChoice>,
    /// Every candidate that reached the bandit, with its score.
    pub scores: Vec<Scored>,
    /// The first slot's distribution over the scored candidates.
    pub probabilities: Vec<f64>,
    /// Offers left out, each with the rule that excluded it.
    pub excluded: Vec<(String, Exclusion)>,
    /// Contact-policy rules that fired.
    pub fired: Vec<String>,
}

/// Offers, a contact policy and a bandit behind one `&self` API, safe to
/// share between threads (`Send + Sync`). The ledger (budgets, caps,
/// cool-downs) is behind an `RwLock` held for writing across a decision, so
/// two concurrent decisions cannot both take the last unit of a cap or budget.
///
/// Outcomes: a reward > 0 is an acceptance (spends a unit of budget); a
/// reward ≤ 0 is a decline and [`NextBestOffer::expire`] records an ignore;
/// both start the offer's cool-down for that customer at the time they are
/// recorded. A showing holds a unit of budget until its outcome.
///
/// ```
/// use maitre::catalog::ItemKind;
/// use maitre::offers::*;
/// let offers = OfferSet::new(vec![
///     Offer::new("10-off", ItemKind::Offer, 5.0),
///     Offer::new("return-help", ItemKind::Service, 1.0)
///         .when_state(StateRule::did("return", None, 30 * 86_400)),
/// ])?;
/// let nbo = NextBestOffer::new(offers, ContactPolicy::default(), 2, BanditParams::default())?;
/// let now = 1_800_000_000;
/// let returned = CustomerState::new("ann").event("return", Some("shoes"), now - 3_600);
/// let d = nbo.decide(&OfferRequest::new(returned, vec![0.1, 0.2], now))?;
/// assert_eq!(d.chosen[0].offer, "return-help");
/// assert_eq!(d.fired[0], "no-sales-after-return-or-complaint");
/// let happy = CustomerState::new("bob").event("purchase", Some("shoes"), now - 3_600);
/// let d = nbo.decide(&OfferRequest::new(happy, vec![0.3, 0.0], now))?;
/// assert_eq!(d.chosen[0].offer, "10-off");
/// nbo.reward(d.chosen[0].event_id, 1.0, now + 60)?;
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug)]
pub struct NextBestOffer {
    pub(super) offers: OfferSet,
    pub(super) policy: ContactPolicy,
    pub(super) bandit: Bandit,
    pub(super) ledger: RwLock<Ledger>,
}

impl NextBestOffer {
    pub fn new(
        offers: OfferSet,
        policy: ContactPolicy,
        dim: usize,
        params: BanditParams,
    ) -> Result<Self> {
        policy.validate()?;
        Ok(NextBestOffer {
            offers,
            policy,
            bandit: Bandit::new(dim, params)?,
            ledger: RwLock::new(Ledger::default()),
        })
    }

    pub fn offers(&self) -> &OfferSet {
        &self.offers
    }

    pub fn policy(&self) -> &ContactPolicy {
        &self.policy
    }

    pub fn bandit(&self) -> &Bandit {
        &self.bandit
    }

    /// A copy of the ledger (for audits and tests).
    pub fn ledger(&self) -> Ledger {
        self.ledger
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Chooses `request.slots` offers for the customer: drops offers the
    /// rules exclude, orders the rest in the contact policy's tiers, lets the
    /// bandit fill the slots and records the showings.
    pub fn decide(&self, request: &OfferRequest) -> Result<Decision> {
        let mut ledger = self.ledger.write().unwrap_or_else(|e| e.into_inner());
        let Prepared {
            applied,
            eligible,
            excluded,
            candidates,
            tiers,
        } = self.prepare(request, &ledger)?;
        if eligible.is_empty() {
            return Ok(Decision {
                chosen: Vec::new(),
                scores: Vec::new(),
                probabilities: Vec::new(),
                excluded,
                fired: applied.fired,
            });
        }
        let ranking = self.bandit.rank_tiers(
            &request.context,
            &candidates,
            &tiers,
            request.slots,
            request.now,
            Meta {
                customer: Some(request.customer.id.clone()),
                rules: applied.fired.clone(),
                teacher: request.teacher.as_deref().and_then(|t| {
                    eligible
                        .iter()
                        .position(|&i| self.offers.offers()[i].id() == t)
                }),
            },
        )?;
        let chosen = ranking
            .chosen
            .iter()
            .map(|c| {
                let i = eligible[c.candidate];
                let offer = &self.offers.offers()[i];
                ledger.record_shown(
                    &request.customer.id,
                    offer.id(),
                    request.now,
                    Ledger::keep_for(offer),
                );
                ledger.reserve(offer.id());
                let s = &ranking.scores[c.candidate];
                let taught = (ranking.taught && c.position == 0)
                    .then(|| request.teacher.as_deref() == Some(offer.id()));
                let why = self.why(&applied, offer, s.estimate, s.width, taught);
                OfferChoice {
                    offer: c.id.clone(),
                    kind: offer.item.kind,
                    position: c.position,
                    event_id: c.event_id,
                    propensity: c.propensity,
                    estimate: s.estimate,
                    value: offer.value,
                    why,
                }
            })
            .collect();
        Ok(Decision {
            chosen,
            scores: ranking.scores,
            probabilities: ranking.probabilities,
            excluded,
            fired: applied.fired,
        })
    }

    /// The offer `decide` would most likely put first for `request`, with
    /// why, computed and not recorded: the bandit's best estimate × value in
    /// the contact policy's first tier, no exploration; no showing, no event
    /// id, no budget held. `None` when no offer is eligible. For views (an
    /// agent's screen), not for serving: what is shown must go through
    /// `decide` so the bandit learns from it.
    pub fn preview(&self, request: &OfferRequest) -> Result<Option<OfferChoice>> {
        let ledger = self.ledger.read().unwrap_or_else(|e| e.into_inner());
        let p = self.prepare(request, &ledger)?;
        drop(ledger);
        let Some(tier) = p.tiers.first() else {
            return Ok(None);
        };
        let mut best: Option<(usize, f64, f64, f64)> = None;
        for &c in tier {
            let (estimate, width) = self
                .bandit
                .estimate(&request.context, &p.candidates[c].id)?;
            let score = estimate * p.candidates[c].value;
            if best.is_none_or(|b| score > b.1) {
                best = Some((c, score, estimate, width));
            }
        }
        let (c, _, estimate, width) = best.expect("the first tier is not empty");
        let offer = &self.offers.offers()[p.eligible[c]];
        let why = self.why(&p.applied, offer, estimate, width, None);
        Ok(Some(OfferChoice {
            offer: offer.id().to_owned(),
            kind: offer.item.kind,
            position: 0,
            event_id: 0,
            propensity: 1.0,
            estimate,
            value: offer.value,
            why,
        }))
    }

    /// Validates a request and sorts the offers: eligible ones (as bandit
    /// candidates, in the contact policy's tiers) and excluded ones with why.
    fn prepare(&self, request: &OfferRequest, ledger: &Ledger) -> Result<Prepared> {
        request.customer.validate()?;
        request.filters.validate()?;
        if request.slots == 0 || request.slots > super::bandit::MAX_CANDIDATES {
            return Err(Error::param(
                "slots",
                format!(
                    "{} must be in 1..={}",
                    request.slots,
                    super::bandit::MAX_CANDIDATES
                ),
            ));
        }
        // The context is checked whatever the eligibility, so a bad request
        // is an error even when nothing is eligible.
        self.bandit.features(&request.context)?;
        let applied = self.policy.apply(&request.customer, request.now)?;
        let mut excluded = Vec::new();
        let mut eligible = Vec::new();
        for (i, offer) in self.offers.offers().iter().enumerate() {
            let verdict = match applied.suppressed_by(offer.item.kind) {
                Some(rule) => Err(Exclusion::ContactPolicy(rule.to_owned())),
                None => ledger.check(offer, &request.customer, &request.filters, request.now),
            };
            match verdict {
                Ok(()) => eligible.push(i),
                Err(why) => excluded.push((offer.id().to_owned(), why)),
            }
        }
        let candidates: Vec<Candidate> = eligible
            .iter()
            .map(|&i| {
                let o = &self.offers.offers()[i];
                Candidate::new(o.id(), o.value)
            })
            .collect();
        let mut tiers: Vec<Vec<usize>> = vec![Vec::new(); applied.tiers.len() + 1];
        for (c, &i) in eligible.iter().enumerate() {
            tiers[applied.tier_of(self.offers.offers()[i].item.kind)].push(c);
        }
        tiers.retain(|t| !t.is_empty());
        Ok(Prepared {
            applied,
            eligible,
            excluded,
            candidates,
            tiers,
        })
    }

    /// Why `offer` is where it is, in words: the fired rule that put its
    /// kind first, else (in apprentice mode, `taught` = whether it is the
    /// teacher's own choice) the teacher, else its estimate × value.
    fn why(
        &self,
        applied: &Applied,
        offer: &Offer,
        estimate: f64,
        width: f64,
        taught: Option<bool>,
    ) -> String {
        let kind = offer.item.kind;
        let rule = self.policy.rules.iter().find(|r| {
            applied.fired.contains(&r.name)
                && matches!(&r.action, super::policy::RuleAction::First(k) if k.contains(&kind))
        });
        match (rule, taught) {
            (Some(rule), _) => format!("{} first by rule {:?}", kind.name(), rule.name),
            (None, Some(true)) => "the teacher's choice (apprentice mode)".to_owned(),
            (None, Some(false)) => "exploring beside the teacher (apprentice mode)".to_owned(),
            (None, None) => format!(
                "estimated reward {estimate:.3} × value {} (±{width:.3})",
                offer.value
            ),
        }
    }

    /// Records the outcome of a showing (see [`Bandit::reward`] for errors;
    /// a rejected call changes nothing).
    pub fn reward(&self, event_id: u64, value: f64, now: i64) -> Result<Settled> {
        // The ledger is held across the bandit's update (the order `decide`
        // takes them in), so a snapshot ([`NextBestOffer::to_bytes`]) never
        // sees a settled decision whose budget unit is still reserved.
        let mut ledger = self.write_ledger();
        let settled = self.bandit.reward(event_id, value, now)?;
        settle(&mut ledger, &settled, now);
        Ok(settled)
    }

    /// Settles every showing whose reward window has closed as ignored.
    pub fn expire(&self, now: i64) -> Result<Vec<Settled>> {
        let mut ledger = self.write_ledger();
        let settled = self.bandit.expire(now)?;
        for s in &settled {
            settle(&mut ledger, s, now);
        }
        Ok(settled)
    }

    pub(super) fn write_ledger(&self) -> std::sync::RwLockWriteGuard<'_, Ledger> {
        self.ledger.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops ledger entries that can no longer exclude an offer (see
    /// [`Ledger::prune`]); returns how many.
    pub fn prune(&self, now: i64) -> usize {
        self.ledger
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .prune(&self.offers, now)
    }
}

/// A request's offers, sorted by [`NextBestOffer::prepare`].
struct Prepared {
    applied: Applied,
    /// Offer indices (into the set) of the candidates, in candidate order.
    eligible: Vec<usize>,
    excluded: Vec<(String, Exclusion)>,
    candidates: Vec<Candidate>,
    /// Candidate indices by tier, empty tiers dropped.
    tiers: Vec<Vec<usize>>,
}

fn settle(ledger: &mut Ledger, s: &Settled, now: i64) {
    let i = s.offer.as_str();
    ledger.release(i);
    if s.reward > 0.0 && !s.defaulted {
        ledger.record_accept(i);
    } else if let Some(customer) = &s.customer {
        ledger.record_negative(customer, i, now);
    }
}
