//! A [`NextBestOffer`] in an artifact, and back, bit-exact: a reloaded engine
//! ranks with the same scores and probabilities, issues the same event ids
//! and learns from later rewards exactly as the saved one would have.
//!
//! Sections of a [`Flavour::Full`] artifact (all through
//! `artifact::{Encoder, Decoder}`; `opt` is a `u8` 0/1 then the value when 1;
//! `i64` is two's complement; lists are a `u64` count then the elements):
//!
//! | tag | content |
//! | --- | --- |
//! | `NBOB` | section layout version `u32` (= 1); context dimension; next event id; bandit parameters: policy `u8` (0 LinUCB, 1 Thompson, 2 ε-greedy) and its `f64` (alpha, scale, 0), ε, ridge, seed, reward window `i64`, default reward, propensity draws, max pending, keep log `u8` |
//! | `OFRS` | offers in set order: id, kind `u8` (0 product … 3 service), category/brand/price band `opt str`, price `opt f32`, tags, in stock `u8`; value `f64`; valid from/until `i64`; attribute rules (key, values, negate `u8`); state rules (kind, category `opt str`, within `i64`, present `u8`); budget `opt u64`; cap `opt` (max `u32`, window `i64`); cool-down `i64` |
//! | `CPOL` | contact rules in order: name, after (strings), within `i64`, action `u8` (0 suppress, 1 first), kinds (`u8` each) |
//! | `ARMS` | per-offer ridge models, by offer id: id, pulls `u64`, A⁻¹ (`f64`, (dim+1)²), b and θ (`f64`, dim+1 each) |
//! | `PEND` | decisions awaiting a reward, by event id: event id, offer, features `f64` (dim+1), decided at `i64`, customer `opt str` |
//! | `DLOG` | the decision log, in order: decision `u64`, timestamp `i64`, customer `opt str`, context `f32`, candidates, values `f64`, probabilities `f64`, rules, chosen (offer, candidate, position, event id, propensity `f64`, reward `opt f64`, rewarded at `opt i64`, defaulted `u8`) |
//! | `LEDG` | acceptances and reservations per offer (ids sorted, `u64`s), then contacts by (customer, offer): customer, offer, showings `i64`s, last decline `opt i64` |
//! | `APPR` | layout 2 only (apprentice mode on): ε, window `u64`, agreement; graduated after `opt u64`, lessons `u64`; the window's graded lessons in order (agreed `u8`, model value, teacher value); lessons pending, by event id: event id, agreed `u8`, q model, q teacher, q served, value, propensity, served model `u8`, served teacher `u8` |
//!
//! An engine without apprentice mode is written as layout 1 (readable by
//! builds from before apprentice mode); with it, as layout 2.
//!
//! θ is stored, not recomputed from A⁻¹ and b: recomputing could differ in
//! the last bit. Hash maps are written in key order, so the same state
//! always gives the same bytes. Reading validates every value a decision
//! relies on (finite numbers, lengths matching the dimension, event ids
//! below the next one, offers through [`OfferSet::new`]) and reports any
//! failure as an [`Error::Artifact`] naming the section.

use super::apprentice::{ApprenticeParams, Graded, Lesson, Tutor};
use super::bandit::{
    lock, Arm, Bandit, BanditParams, Outstanding, Pending, Policy, MAX_ARM_CELLS, MAX_DIM,
};
use super::engine::NextBestOffer;
use super::log::{DecisionLog, LoggedChoice, Record};
use super::offer::{
    AttributeRule, Contact, Eligibility, FrequencyCap, Ledger, Offer, OfferSet, StateRule,
};
use super::policy::{ContactPolicy, ContactRule, RuleAction};
use crate::artifact::{Artifact, ArtifactProblem, ArtifactWriter, Decoder, Encoder, Flavour};
use crate::catalog::{Item, ItemKind};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::RwLock;

/// The layout version of these sections (inside artifact format 1): 1
/// without apprentice mode, 2 with it (the `APPR` section).
const LAYOUT: u32 = 1;
const LAYOUT_APPRENTICE: u32 = 2;

impl NextBestOffer {
    /// The engine as artifact bytes ([`Flavour::Full`]: the ledger and the
    /// log hold customer ids). A consistent snapshot: it waits for decisions
    /// and rewards in flight.
    ///
    /// ```
    /// use maitre::catalog::ItemKind;
    /// use maitre::offers::*;
    /// let offers = OfferSet::new(vec![
    ///     Offer::new("a", ItemKind::Offer, 1.0),
    ///     Offer::new("b", ItemKind::Offer, 2.0),
    /// ])?;
    /// let nbo = NextBestOffer::new(offers, ContactPolicy::default(), 1, BanditParams::default())?;
    /// let d = nbo.decide(&OfferRequest::new(CustomerState::new("c"), vec![0.5], 100))?;
    /// nbo.reward(d.chosen[0].event_id, 1.0, 110)?;
    /// let copy = NextBestOffer::from_bytes(&nbo.to_bytes()?)?;
    /// assert_eq!(copy.to_bytes()?, nbo.to_bytes()?);
    /// let request = OfferRequest::new(CustomerState::new("d"), vec![0.2], 200);
    /// assert_eq!(copy.decide(&request)?, nbo.decide(&request)?);
    /// assert!(NextBestOffer::from_bytes(b"not an artifact").is_err());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.writer()?.to_bytes()
    }

    /// Saves atomically (a temporary file, then a rename; a new file is 0600).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.writer()?.save(path)
    }

    /// Reads bytes written by [`NextBestOffer::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_artifact(&Artifact::from_bytes(bytes)?)
    }

    /// Loads a file written by [`NextBestOffer::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_artifact(&Artifact::load(path)?)
    }

    /// Rebuilds an engine from an artifact. Every failure is an
    /// [`Error::Artifact`] naming the section at fault.
    pub fn from_artifact(artifact: &Artifact) -> Result<Self> {
        if artifact.flavour() != Flavour::Full {
            return Err(Error::artifact(ArtifactProblem::Malformed {
                reason: "a next-best-offer engine is stored in a full artifact".into(),
            }));
        }
        decode(artifact)
    }

    fn writer(&self) -> Result<ArtifactWriter> {
        // Lock order as in `decide` and `reward`: ledger, decisions, models.
        let ledger = self.ledger.read().unwrap_or_else(|e| e.into_inner());
        let out = lock(&self.bandit.outstanding);
        let arms = self.bandit.arms.read().unwrap_or_else(|e| e.into_inner());
        let next_event = self.bandit.next_event.load(Ordering::SeqCst);

        let apprentice = self.bandit.params().apprentice.as_ref();
        let mut head = Encoder::new();
        head.put_u32(if apprentice.is_some() {
            LAYOUT_APPRENTICE
        } else {
            LAYOUT
        })
        .put_u64(self.bandit.dim() as u64)
        .put_u64(next_event);
        encode_params(&mut head, self.bandit.params());

        let mut offers = Encoder::new();
        offers.put_count(self.offers.len());
        for o in self.offers.offers() {
            encode_offer(&mut offers, o);
        }

        let mut policy = Encoder::new();
        policy.put_count(self.policy.rules.len());
        for r in &self.policy.rules {
            let (code, kinds) = match &r.action {
                RuleAction::Suppress(k) => (0, k),
                RuleAction::First(k) => (1, k),
            };
            policy
                .put_str(&r.name)
                .put_strs(&r.after)
                .put_i64(r.within_secs)
                .put_u8(code);
            put_kinds(&mut policy, kinds);
        }

        let mut models = Encoder::new();
        let mut ids: Vec<&String> = arms.keys().collect();
        ids.sort_unstable();
        models.put_count(ids.len());
        for id in ids {
            let arm = &arms[id];
            models
                .put_str(id)
                .put_u64(arm.pulls)
                .put_f64s(&arm.a_inv)
                .put_f64s(&arm.b)
                .put_f64s(&arm.theta);
        }

        let mut pending = Encoder::new();
        pending.put_count(out.pending.len());
        for (id, p) in &out.pending {
            pending
                .put_u64(*id)
                .put_str(&p.offer)
                .put_f64s(&p.x)
                .put_i64(p.decided_at);
            put_opt_str(&mut pending, p.customer.as_deref());
        }

        let mut log = Encoder::new();
        log.put_count(out.log.len());
        for r in out.log.records() {
            encode_record(&mut log, r);
        }

        let mut led = Encoder::new();
        for counts in [&ledger.accepted, &ledger.reserved] {
            let sorted: BTreeMap<&String, &u64> = counts.iter().collect();
            led.put_count(sorted.len());
            for (id, n) in sorted {
                led.put_str(id).put_u64(*n);
            }
        }
        let contacts: BTreeMap<&(String, String), &Contact> = ledger.contacts.iter().collect();
        led.put_count(contacts.len());
        for ((customer, offer), c) in contacts {
            led.put_str(customer)
                .put_str(offer)
                .put_count(c.shown.len());
            for &t in &c.shown {
                led.put_i64(t);
            }
            put_opt_i64(&mut led, c.last_negative);
        }

        let writer = ArtifactWriter::new(Flavour::Full)
            .section(*b"NBOB", head.into_bytes())
            .section(*b"OFRS", offers.into_bytes())
            .section(*b"CPOL", policy.into_bytes())
            .section(*b"ARMS", models.into_bytes())
            .section(*b"PEND", pending.into_bytes())
            .section(*b"DLOG", log.into_bytes())
            .section(*b"LEDG", led.into_bytes());
        Ok(match apprentice {
            Some(params) => writer.section(*b"APPR", encode_apprentice(params, &out)),
            None => writer,
        })
    }
}

fn encode_apprentice(params: &ApprenticeParams, out: &Outstanding) -> Vec<u8> {
    let mut e = Encoder::new();
    e.put_f64(params.epsilon)
        .put_u64(params.window as u64)
        .put_f64(params.agreement);
    match out.tutor.graduated {
        Some(n) => e.put_u8(1).put_u64(n),
        None => e.put_u8(0),
    };
    e.put_u64(out.tutor.lessons)
        .put_count(out.tutor.recent.len());
    for g in &out.tutor.recent {
        e.put_u8(u8::from(g.agreed))
            .put_f64(g.model)
            .put_f64(g.teacher);
    }
    let lessons: Vec<(u64, &Lesson)> = out
        .pending
        .iter()
        .filter_map(|(&id, p)| Some((id, p.lesson.as_ref()?)))
        .collect();
    e.put_count(lessons.len());
    for (id, l) in lessons {
        e.put_u64(id)
            .put_u8(u8::from(l.agreed))
            .put_f64(l.q_model)
            .put_f64(l.q_teacher)
            .put_f64(l.q_served)
            .put_f64(l.value)
            .put_f64(l.propensity)
            .put_u8(u8::from(l.served_model))
            .put_u8(u8::from(l.served_teacher));
    }
    e.into_bytes()
}

/// The `APPR` section: the settings, the tutor and the pending lessons by
/// event id.
fn decode_apprentice(
    artifact: &Artifact,
) -> Result<(ApprenticeParams, Tutor, BTreeMap<u64, Lesson>)> {
    let mut d = artifact.decoder(*b"APPR")?;
    let params = ApprenticeParams {
        epsilon: d.get_f64()?,
        window: d.get_usize()?,
        agreement: d.get_f64()?,
    };
    within(b"APPR", params.validate())?;
    let graduated = if get_bool(&mut d)? {
        Some(d.get_u64()?)
    } else {
        None
    };
    let lessons = d.get_u64()?;
    let count = d.get_count(17, "graded lessons")?;
    if count > params.window || graduated.is_some_and(|g| g > lessons) {
        return Err(d.invalid(format!(
            "{count} lessons in a window of {}, or graduated after more lessons than settled",
            params.window
        )));
    }
    let finite = |v: f64, d: &Decoder<'_>| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(d.invalid(format!("{v} is not a finite lesson value")))
        }
    };
    let mut recent = std::collections::VecDeque::with_capacity(count);
    for _ in 0..count {
        let agreed = get_bool(&mut d)?;
        let model = d.get_f64()?;
        let teacher = d.get_f64()?;
        recent.push_back(Graded {
            agreed,
            model: finite(model, &d)?,
            teacher: finite(teacher, &d)?,
        });
    }
    let count = d.get_count(51, "pending lessons")?;
    let mut pending = BTreeMap::new();
    for _ in 0..count {
        let id = d.get_u64()?;
        let agreed = get_bool(&mut d)?;
        let mut q = [0.0; 5];
        for v in &mut q {
            *v = finite(d.get_f64()?, &d)?;
        }
        let [q_model, q_teacher, q_served, value, propensity] = q;
        if !(propensity > 0.0 && propensity <= 1.0) {
            return Err(d.invalid(format!("lesson {id} has propensity {propensity}")));
        }
        let lesson = Lesson {
            agreed,
            q_model,
            q_teacher,
            q_served,
            value,
            propensity,
            served_model: get_bool(&mut d)?,
            served_teacher: get_bool(&mut d)?,
        };
        if pending.insert(id, lesson).is_some() {
            return Err(d.invalid(format!("lesson {id} appears twice")));
        }
    }
    d.finish()?;
    let tutor = Tutor {
        recent,
        lessons,
        graduated,
    };
    Ok((params, tutor, pending))
}

fn decode(artifact: &Artifact) -> Result<NextBestOffer> {
    let mut d = artifact.decoder(*b"NBOB")?;
    let layout = d.get_u32()?;
    if layout != LAYOUT && layout != LAYOUT_APPRENTICE {
        return Err(d.invalid(format!(
            "section layout {layout}; this build reads {LAYOUT} and {LAYOUT_APPRENTICE}"
        )));
    }
    let dim = d.get_usize()?;
    let next_event = d.get_u64()?;
    let mut params = decode_params(&mut d)?;
    d.finish()?;
    let (tutor, mut lessons) = if layout == LAYOUT_APPRENTICE {
        let (apprentice, tutor, lessons) = decode_apprentice(artifact)?;
        params.apprentice = Some(apprentice);
        (tutor, lessons)
    } else {
        (Tutor::default(), BTreeMap::new())
    };
    if dim > MAX_DIM {
        return Err(bad(b"NBOB", format!("dimension {dim}; at most {MAX_DIM}")));
    }
    if next_event == 0 {
        return Err(bad(b"NBOB", "event ids start at 1".into()));
    }
    let bandit = within(b"NBOB", Bandit::new(dim, params.clone()))?;
    let n = dim + 1;

    let mut d = artifact.decoder(*b"OFRS")?;
    // Each list element's smallest encoding (its fixed-width fields and
    // counts) bounds the count before anything is allocated.
    let count = d.get_count(72, "offers")?;
    let mut offers = Vec::with_capacity(count);
    for _ in 0..count {
        offers.push(decode_offer(&mut d)?);
    }
    d.finish()?;
    let offers = within(b"OFRS", OfferSet::new(offers))?;

    let mut d = artifact.decoder(*b"CPOL")?;
    let count = d.get_count(33, "contact rules")?;
    let mut rules = Vec::with_capacity(count);
    for _ in 0..count {
        let name = d.get_str()?;
        let after = d.get_strs()?;
        let within_secs = d.get_i64()?;
        let code = d.get_u8()?;
        let kinds = get_kinds(&mut d)?;
        let action = match code {
            0 => RuleAction::Suppress(kinds),
            1 => RuleAction::First(kinds),
            other => return Err(d.invalid(format!("unknown rule action {other}"))),
        };
        rules.push(ContactRule {
            name,
            after,
            within_secs,
            action,
        });
    }
    d.finish()?;
    let policy = ContactPolicy { rules };
    within(b"CPOL", policy.validate())?;

    let mut d = artifact.decoder(*b"ARMS")?;
    let count = d.get_count(40, "offer models")?;
    if count.saturating_mul(n * n) > MAX_ARM_CELLS {
        return Err(d.invalid(format!("{count} models of {n}² numbers")));
    }
    let mut arms = HashMap::with_capacity(count);
    let mut previous: Option<String> = None;
    for _ in 0..count {
        let id = d.get_str()?;
        let arm = Arm {
            pulls: d.get_u64()?,
            a_inv: d.get_f64s()?,
            b: d.get_f64s()?,
            theta: d.get_f64s()?,
        };
        if arm.a_inv.len() != n * n || arm.b.len() != n || arm.theta.len() != n {
            return Err(d.invalid(format!("model of {id:?} is not of dimension {n}")));
        }
        if ![&arm.a_inv, &arm.b, &arm.theta]
            .iter()
            .all(|v| v.iter().all(|x| x.is_finite()))
        {
            return Err(d.invalid(format!("model of {id:?} holds a non-finite number")));
        }
        if previous.as_ref().is_some_and(|p| *p >= id) {
            return Err(d.invalid("models are not in strictly increasing id order"));
        }
        previous = Some(id.clone());
        arms.insert(id, arm);
    }
    d.finish()?;

    let mut d = artifact.decoder(*b"PEND")?;
    let count = d.get_count(33, "pending decisions")?;
    if count > params.max_pending {
        return Err(d.invalid(format!(
            "{count} pending decisions; max_pending is {}",
            params.max_pending
        )));
    }
    let mut pending = BTreeMap::new();
    for _ in 0..count {
        let id = d.get_u64()?;
        let offer = d.get_str()?;
        let x = d.get_f64s()?;
        let decided_at = d.get_i64()?;
        let customer = get_opt_str(&mut d)?;
        if x.len() != n || x[dim] != 1.0 || !x.iter().all(|v| v.is_finite()) {
            return Err(d.invalid(format!("features of event {id} are not a context of {dim}")));
        }
        if id == 0 || id >= next_event || pending.contains_key(&id) {
            return Err(d.invalid(format!(
                "event id {id} is 0, repeated or not below the next id {next_event}"
            )));
        }
        pending.insert(
            id,
            Pending {
                offer,
                x,
                decided_at,
                customer,
                lesson: lessons.remove(&id),
            },
        );
    }
    d.finish()?;
    if let Some(id) = lessons.keys().next() {
        return Err(bad(b"APPR", format!("lesson {id} has no pending decision")));
    }

    let mut d = artifact.decoder(*b"DLOG")?;
    let count = d.get_count(65, "decision records")?;
    let mut log = DecisionLog::default();
    for _ in 0..count {
        let r = decode_record(&mut d)?;
        let consistent = r.context.len() == dim
            && r.values.len() == r.candidates.len()
            && r.probabilities.len() == r.candidates.len()
            && r.chosen
                .iter()
                .all(|c| c.candidate < r.candidates.len() && c.event_id < next_event);
        if !consistent {
            return Err(d.invalid(format!(
                "record of decision {} disagrees with itself or the dimension",
                r.decision
            )));
        }
        log.push(r);
    }
    d.finish()?;

    let mut d = artifact.decoder(*b"LEDG")?;
    let mut counts = [HashMap::new(), HashMap::new()];
    for c in &mut counts {
        let count = d.get_count(16, "ledger counts")?;
        for _ in 0..count {
            let id = d.get_str()?;
            c.insert(id, d.get_u64()?);
        }
    }
    let count = d.get_count(25, "ledger contacts")?;
    let mut contacts = HashMap::with_capacity(count);
    for _ in 0..count {
        let customer = d.get_str()?;
        let offer = d.get_str()?;
        let shown_n = d.get_count(8, "showings")?;
        let mut shown = std::collections::VecDeque::with_capacity(shown_n);
        for _ in 0..shown_n {
            shown.push_back(d.get_i64()?);
        }
        let last_negative = get_opt_i64(&mut d)?;
        contacts.insert(
            (customer, offer),
            Contact {
                shown,
                last_negative,
            },
        );
    }
    d.finish()?;
    let [accepted, reserved] = counts;
    let ledger = Ledger {
        accepted,
        reserved,
        contacts,
    };

    *bandit.arms.write().unwrap_or_else(|e| e.into_inner()) = arms;
    *lock(&bandit.outstanding) = Outstanding {
        pending,
        log,
        tutor,
    };
    bandit.next_event.store(next_event, Ordering::SeqCst);
    Ok(NextBestOffer {
        offers,
        policy,
        bandit,
        ledger: RwLock::new(ledger),
    })
}

fn encode_params(e: &mut Encoder, p: &BanditParams) {
    let (code, v) = match p.policy {
        Policy::LinUcb { alpha } => (0, alpha),
        Policy::Thompson { scale } => (1, scale),
        Policy::EpsilonGreedy => (2, 0.0),
    };
    e.put_u8(code)
        .put_f64(v)
        .put_f64(p.epsilon)
        .put_f64(p.ridge)
        .put_u64(p.seed)
        .put_i64(p.reward_window_secs)
        .put_f64(p.default_reward)
        .put_u64(p.propensity_draws as u64)
        .put_u64(p.max_pending as u64)
        .put_u8(u8::from(p.keep_log));
}

fn decode_params(d: &mut Decoder<'_>) -> Result<BanditParams> {
    let code = d.get_u8()?;
    let v = d.get_f64()?;
    let policy = match code {
        0 => Policy::LinUcb { alpha: v },
        1 => Policy::Thompson { scale: v },
        2 => Policy::EpsilonGreedy,
        other => return Err(d.invalid(format!("unknown bandit policy {other}"))),
    };
    Ok(BanditParams {
        policy,
        epsilon: d.get_f64()?,
        ridge: d.get_f64()?,
        seed: d.get_u64()?,
        reward_window_secs: d.get_i64()?,
        default_reward: d.get_f64()?,
        propensity_draws: d.get_usize()?,
        max_pending: d.get_usize()?,
        keep_log: get_bool(d)?,
        apprentice: None,
    })
}

fn encode_offer(e: &mut Encoder, o: &Offer) {
    let it = &o.item;
    e.put_str(&it.id);
    put_kinds_one(e, it.kind);
    put_opt_str(e, it.category.as_deref());
    put_opt_str(e, it.brand.as_deref());
    put_opt_str(e, it.price_band.as_deref());
    match it.price {
        Some(p) => e.put_u8(1).put_f32(p),
        None => e.put_u8(0),
    };
    e.put_strs(&it.tags)
        .put_u8(u8::from(it.in_stock))
        .put_f64(o.value)
        .put_i64(o.valid_from)
        .put_i64(o.valid_until)
        .put_count(o.eligibility.attributes.len());
    for r in &o.eligibility.attributes {
        e.put_str(&r.key)
            .put_strs(&r.values)
            .put_u8(u8::from(r.negate));
    }
    e.put_count(o.eligibility.state.len());
    for r in &o.eligibility.state {
        e.put_str(&r.kind);
        put_opt_str(e, r.category.as_deref());
        e.put_i64(r.within_secs).put_u8(u8::from(r.present));
    }
    match o.budget {
        Some(b) => e.put_u8(1).put_u64(b),
        None => e.put_u8(0),
    };
    match o.cap {
        Some(c) => e.put_u8(1).put_u32(c.max).put_i64(c.window_secs),
        None => e.put_u8(0),
    };
    e.put_i64(o.cooldown_secs);
}

fn decode_offer(d: &mut Decoder<'_>) -> Result<Offer> {
    let id = d.get_str()?;
    let kind = get_kind(d)?;
    let category = get_opt_str(d)?;
    let brand = get_opt_str(d)?;
    let price_band = get_opt_str(d)?;
    let price = if get_bool(d)? {
        Some(d.get_f32()?)
    } else {
        None
    };
    let item = Item {
        id,
        kind,
        category,
        brand,
        price_band,
        price,
        tags: d.get_strs()?,
        in_stock: get_bool(d)?,
    };
    let value = d.get_f64()?;
    let valid_from = d.get_i64()?;
    let valid_until = d.get_i64()?;
    let n = d.get_count(17, "attribute rules")?;
    let mut attributes = Vec::with_capacity(n);
    for _ in 0..n {
        attributes.push(AttributeRule {
            key: d.get_str()?,
            values: d.get_strs()?,
            negate: get_bool(d)?,
        });
    }
    let n = d.get_count(18, "state rules")?;
    let mut state = Vec::with_capacity(n);
    for _ in 0..n {
        state.push(StateRule {
            kind: d.get_str()?,
            category: get_opt_str(d)?,
            within_secs: d.get_i64()?,
            present: get_bool(d)?,
        });
    }
    let budget = if get_bool(d)? {
        Some(d.get_u64()?)
    } else {
        None
    };
    let cap = if get_bool(d)? {
        Some(FrequencyCap {
            max: d.get_u32()?,
            window_secs: d.get_i64()?,
        })
    } else {
        None
    };
    Ok(Offer {
        item,
        value,
        valid_from,
        valid_until,
        eligibility: Eligibility { attributes, state },
        budget,
        cap,
        cooldown_secs: d.get_i64()?,
    })
}

fn encode_record(e: &mut Encoder, r: &Record) {
    e.put_u64(r.decision).put_i64(r.timestamp);
    put_opt_str(e, r.customer.as_deref());
    e.put_f32s(&r.context)
        .put_strs(&r.candidates)
        .put_f64s(&r.values)
        .put_f64s(&r.probabilities)
        .put_strs(&r.rules)
        .put_count(r.chosen.len());
    for c in &r.chosen {
        e.put_str(&c.offer)
            .put_u64(c.candidate as u64)
            .put_u64(c.position as u64)
            .put_u64(c.event_id)
            .put_f64(c.propensity);
        match c.reward {
            Some(v) => e.put_u8(1).put_f64(v),
            None => e.put_u8(0),
        };
        put_opt_i64(e, c.rewarded_at);
        e.put_u8(u8::from(c.defaulted));
    }
}

fn decode_record(d: &mut Decoder<'_>) -> Result<Record> {
    let decision = d.get_u64()?;
    let timestamp = d.get_i64()?;
    let customer = get_opt_str(d)?;
    let context = d.get_f32s()?;
    let candidates = d.get_strs()?;
    let values = d.get_f64s()?;
    let probabilities = d.get_f64s()?;
    let rules = d.get_strs()?;
    let n = d.get_count(43, "chosen offers")?;
    let mut chosen = Vec::with_capacity(n);
    for _ in 0..n {
        chosen.push(LoggedChoice {
            offer: d.get_str()?,
            candidate: d.get_usize()?,
            position: d.get_usize()?,
            event_id: d.get_u64()?,
            propensity: d.get_f64()?,
            reward: if get_bool(d)? {
                Some(d.get_f64()?)
            } else {
                None
            },
            rewarded_at: get_opt_i64(d)?,
            defaulted: get_bool(d)?,
        });
    }
    Ok(Record {
        decision,
        timestamp,
        customer,
        context,
        candidates,
        values,
        probabilities,
        chosen,
        rules,
    })
}

fn put_kinds_one(e: &mut Encoder, kind: ItemKind) {
    let code = ItemKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
    e.put_u8(code as u8);
}

fn put_kinds(e: &mut Encoder, kinds: &[ItemKind]) {
    e.put_count(kinds.len());
    for &k in kinds {
        put_kinds_one(e, k);
    }
}

fn get_kind(d: &mut Decoder<'_>) -> Result<ItemKind> {
    let code = d.get_u8()?;
    ItemKind::ALL
        .get(usize::from(code))
        .copied()
        .ok_or_else(|| d.invalid(format!("unknown item kind {code}")))
}

fn get_kinds(d: &mut Decoder<'_>) -> Result<Vec<ItemKind>> {
    let n = d.get_count(1, "kinds")?;
    (0..n).map(|_| get_kind(d)).collect()
}

fn get_bool(d: &mut Decoder<'_>) -> Result<bool> {
    match d.get_u8()? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(d.invalid(format!("flag byte {other} is not 0 or 1"))),
    }
}

fn put_opt_str(e: &mut Encoder, s: Option<&str>) {
    match s {
        Some(s) => e.put_u8(1).put_str(s),
        None => e.put_u8(0),
    };
}

fn get_opt_str(d: &mut Decoder<'_>) -> Result<Option<String>> {
    Ok(if get_bool(d)? {
        Some(d.get_str()?)
    } else {
        None
    })
}

fn put_opt_i64(e: &mut Encoder, v: Option<i64>) {
    match v {
        Some(v) => e.put_u8(1).put_i64(v),
        None => e.put_u8(0),
    };
}

fn get_opt_i64(d: &mut Decoder<'_>) -> Result<Option<i64>> {
    Ok(if get_bool(d)? {
        Some(d.get_i64()?)
    } else {
        None
    })
}

/// A section's content that decodes but is not valid (bad parameters,
/// duplicate offers, …) as an artifact error naming the section.
fn within<T>(tag: &[u8; 4], result: Result<T>) -> Result<T> {
    result.map_err(|e| match e {
        e @ Error::Artifact { .. } => e,
        other => bad(tag, other.to_string()),
    })
}

fn bad(tag: &[u8; 4], reason: String) -> Error {
    Error::artifact(ArtifactProblem::BadSection {
        tag: String::from_utf8_lossy(tag).into_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::OfferWorld;
    use crate::offers::{CustomerState, OfferRequest};

    /// An engine over `world`'s offers with every offer field and a
    /// non-default policy in use, after `rounds` decisions (two slots each;
    /// the first slot rewarded, every fifth left pending, the rest expired).
    fn engine(world: &OfferWorld, params: BanditParams, rounds: i64) -> NextBestOffer {
        let mut offers: Vec<Offer> = (0..world.offers())
            .map(|k| {
                Offer::new(format!("o{k}"), ItemKind::Offer, world.value(k).unwrap())
                    .item(
                        Item::new(format!("o{k}"))
                            .kind(ItemKind::Offer)
                            .category("promo")
                            .tag("t")
                            .price(9.99),
                    )
                    .cap(50, 1_000)
                    .cooldown(3)
                    .budget(10_000)
                    .valid(-5, 1_000_000)
            })
            .collect();
        offers.push(
            Offer::new("help", ItemKind::Service, 0.5)
                .when(AttributeRule::none_of("segment", ["s9"]))
                .when_state(StateRule::did("return", None, 30 * 86_400)),
        );
        let policy = ContactPolicy::default().rule(ContactRule {
            name: "quiet-after-view".into(),
            after: vec!["view".into()],
            within_secs: 0,
            action: RuleAction::First(vec![ItemKind::Content, ItemKind::Service]),
        });
        let nbo = NextBestOffer::new(
            OfferSet::new(offers).unwrap(),
            policy,
            world.dim(),
            params.reward_window(40),
        )
        .unwrap();
        for t in 0..rounds {
            step(world, &nbo, t);
        }
        nbo
    }

    /// One visitor at time `t`: a decision, its first slot rewarded unless
    /// `t % 5 == 0`, expiry of old showings. Returns what was decided.
    fn step(world: &OfferWorld, nbo: &NextBestOffer, t: i64) -> crate::offers::Decision {
        let (s, c) = world.visitor(3, t as u64);
        let mut customer =
            CustomerState::new(format!("c{}", t % 7)).attribute("segment", format!("s{s}"));
        if t % 11 == 0 {
            customer = customer.event("return", Some("shoes"), t - 1);
        }
        // The teacher (the best offer) counts only in apprentice mode.
        let request = OfferRequest::new(customer, world.context(s, c).unwrap(), t)
            .slots(2)
            .teacher(format!("o{}", world.best(s, c).unwrap()));
        let d = nbo.decide(&request).unwrap();
        if t % 5 != 0 {
            if let Some(first) = d.chosen.first() {
                let k: usize = first.offer[1..].parse().unwrap_or(0);
                let ok = world
                    .accepts(3, t as u64, s, c, k.min(world.offers() - 1))
                    .unwrap();
                nbo.reward(first.event_id, f64::from(u8::from(ok)), t)
                    .unwrap();
            }
        }
        nbo.expire(t).unwrap();
        d
    }

    fn policies() -> [BanditParams; 4] {
        [
            BanditParams::default()
                .seed(13)
                .apprentice(ApprenticeParams::default().window(400)),
            BanditParams::default().seed(11),
            BanditParams::default()
                .policy(Policy::Thompson { scale: 0.5 })
                .propensity_draws(16)
                .seed(12),
            BanditParams::default()
                .policy(Policy::EpsilonGreedy)
                .epsilon(0.1)
                .keep_log(false),
        ]
    }

    #[test]
    fn a_reloaded_engine_decides_and_learns_bit_for_bit_as_the_original() {
        let world = OfferWorld::new(5, 3, 2, 6).unwrap();
        for params in policies() {
            let a = engine(&world, params, 300);
            let bytes = a.to_bytes().unwrap();
            let b = NextBestOffer::from_bytes(&bytes).unwrap();
            assert_eq!(
                b.to_bytes().unwrap(),
                bytes,
                "the same state writes the same bytes"
            );
            assert!(
                a.bandit().pending() > 0,
                "the test must carry pending decisions"
            );
            assert_eq!(a.bandit().pending(), b.bandit().pending());
            assert_eq!(a.ledger(), b.ledger());
            assert_eq!(a.bandit().log(), b.bandit().log());
            assert_eq!(a.bandit().apprentice(), b.bandit().apprentice());
            if let Some(status) = a.bandit().apprentice() {
                assert!(status.lessons > 0, "the apprentice engine must have learnt");
                let lessons = lock(&a.bandit.outstanding)
                    .pending
                    .values()
                    .filter(|p| p.lesson.is_some())
                    .count();
                assert!(lessons > 0, "and must carry pending lessons");
            }
            // Keep going on both: identical decisions (scores, probabilities,
            // event ids), identical learning, identical state at the end.
            for t in 300..600 {
                assert_eq!(step(&world, &a, t), step(&world, &b, t), "round {t}");
            }
            assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
            // Rewarding a decision that was pending at the save works on the copy.
            let pending_then: Vec<u64> = lock(
                &NextBestOffer::from_bytes(&bytes)
                    .unwrap()
                    .bandit
                    .outstanding,
            )
            .pending
            .keys()
            .copied()
            .collect();
            let c = NextBestOffer::from_bytes(&bytes).unwrap();
            let last = *pending_then.last().unwrap();
            let decided = lock(&c.bandit.outstanding).pending[&last].decided_at;
            c.reward(last, 1.0, decided + 1).unwrap();
            assert!(c.reward(last, 1.0, decided + 1).is_err());
        }
    }

    #[test]
    fn a_fresh_engine_round_trips() {
        let world = OfferWorld::new(5, 3, 2, 6).unwrap();
        let a = engine(&world, BanditParams::default(), 0);
        let b = NextBestOffer::from_bytes(&a.to_bytes().unwrap()).unwrap();
        assert_eq!(b.offers(), a.offers());
        assert_eq!(step(&world, &a, 0), step(&world, &b, 0));
    }

    fn assert_artifact_error(r: Result<NextBestOffer>, what: &str) {
        match r {
            Err(Error::Artifact { .. }) => {}
            Err(other) => panic!("{what}: {other:?} is not an artifact error"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }

    #[test]
    fn truncated_or_corrupt_bytes_are_typed_errors() {
        let world = OfferWorld::new(5, 3, 2, 4).unwrap();
        // Apprentice mode on, so its section is damaged too.
        let params = BanditParams::default().apprentice(ApprenticeParams::default().window(3));
        let bytes = engine(&world, params, 12).to_bytes().unwrap();
        for len in (0..bytes.len()).step_by(7) {
            assert_artifact_error(NextBestOffer::from_bytes(&bytes[..len]), "truncated");
        }
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        assert_artifact_error(NextBestOffer::from_bytes(&flipped), "flipped");
        // Damage behind a valid checksum (a writer's bug, or bytes altered and
        // resealed): every byte of every payload, set to a few values, is
        // refused or read, never a panic; what is read still decides.
        let reseal = |b: &mut Vec<u8>| {
            let end = b.len() - 4;
            let crc = crc32fast::hash(&b[..end]);
            b[end..].copy_from_slice(&crc.to_le_bytes());
        };
        let payload_start = 24 + 24 * 8;
        let mut accepted = 0;
        for at in payload_start..bytes.len() - 4 {
            for v in [0x00, 0x7f, 0xff] {
                if bytes[at] == v {
                    continue;
                }
                let mut b = bytes.clone();
                b[at] = v;
                reseal(&mut b);
                if let Ok(nbo) = NextBestOffer::from_bytes(&b) {
                    accepted += 1;
                    // Whatever loads is a working engine.
                    let (s, c) = world.visitor(9, at as u64);
                    let _ = nbo.decide(&OfferRequest::new(
                        CustomerState::new("z"),
                        world.context(s, c).unwrap(),
                        1_000,
                    ));
                }
            }
        }
        assert!(
            accepted > 0,
            "some bytes (a probability, a timestamp) carry no invariant"
        );
    }

    #[test]
    fn foreign_artifacts_are_refused() {
        let other = ArtifactWriter::new(Flavour::Full)
            .section(*b"META", vec![1, 2, 3])
            .to_bytes()
            .unwrap();
        assert!(matches!(
            NextBestOffer::from_bytes(&other),
            Err(Error::Artifact {
                problem: ArtifactProblem::MissingSection { .. },
                ..
            })
        ));
        let world = OfferWorld::new(5, 3, 2, 4).unwrap();
        let bytes = engine(&world, BanditParams::default(), 5)
            .to_bytes()
            .unwrap();
        let a = Artifact::from_bytes(&bytes).unwrap();
        let mut w = ArtifactWriter::new(Flavour::Storefront);
        for tag in a.tags() {
            w = w.section(tag, a.section(tag).unwrap().to_vec());
        }
        assert_artifact_error(
            NextBestOffer::from_bytes(&w.to_bytes().unwrap()),
            "storefront",
        );
    }

    #[test]
    fn saves_and_loads_a_file() {
        let world = OfferWorld::new(5, 3, 2, 4).unwrap();
        let a = engine(&world, BanditParams::default(), 20);
        let dir = std::env::temp_dir().join(format!("maitre-nbo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("engine.maitre");
        a.save(&path).unwrap();
        let b = NextBestOffer::load(&path).unwrap();
        assert_eq!(b.to_bytes().unwrap(), a.to_bytes().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
