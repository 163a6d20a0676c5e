//! Tests that can fail: learning against a simulator with known acceptance
//! probabilities, off-policy estimates against the true value, and property
//! tests that the rules are never broken.

use super::*;
use crate::catalog::ItemKind;
use crate::datasets::OfferWorld;
use crate::error::Error;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

const ROUNDS: u64 = 20_000;
const OPE_ROUNDS: usize = 200_000;

fn candidates(world: &OfferWorld) -> Vec<Candidate> {
    (0..world.offers())
        .map(|k| Candidate::new(format!("o{k}"), world.value(k).unwrap()))
        .collect()
}

/// Rewards the first slot of `r` as the world's visitor `(segment,
/// channel)` of round `t` responds; returns the value earned (0 if declined).
fn settle(
    world: &OfferWorld,
    b: &Bandit,
    r: &Ranking,
    run: u64,
    t: u64,
    visitor: (usize, usize),
) -> f64 {
    let k = r.chosen[0].candidate;
    let accepted = world.accepts(run, t, visitor.0, visitor.1, k).unwrap();
    b.reward(
        r.chosen[0].event_id,
        f64::from(u8::from(accepted)),
        t as i64,
    )
    .unwrap();
    if accepted {
        world.value(k).unwrap()
    } else {
        0.0
    }
}

/// Realised reward of a bandit over `ROUNDS` visitors of `run`.
fn bandit_reward(world: &OfferWorld, params: BanditParams, run: u64) -> f64 {
    let b = Bandit::new(world.dim(), params.keep_log(false)).unwrap();
    let cands = candidates(world);
    let mut total = 0.0;
    for t in 0..ROUNDS {
        let (s, c) = world.visitor(run, t);
        let r = b
            .rank(&world.context(s, c).unwrap(), &cands, 1, t as i64)
            .unwrap();
        total += settle(world, &b, &r, run, t, (s, c));
    }
    total
}

/// (oracle's realised reward on the same visitors and coins, uniform's expected reward).
fn references(world: &OfferWorld, run: u64) -> (f64, f64) {
    let (mut oracle, mut uniform) = (0.0, 0.0);
    for t in 0..ROUNDS {
        let (s, c) = world.visitor(run, t);
        let best = world.best(s, c).unwrap();
        if world.accepts(run, t, s, c, best).unwrap() {
            oracle += world.value(best).unwrap();
        }
        uniform += world.uniform(s, c).unwrap();
    }
    (oracle, uniform)
}

/// Five runs (visitors, coins and bandit seed differ) per policy: the mean
/// share of the oracle's reward and the worst multiple of uniform's.
#[test]
fn the_bandit_learns_what_customers_accept() {
    let world = OfferWorld::new(7, 4, 2, 8).unwrap();
    let policies = [
        (
            "default (linucb α 0.5, ε 0.02)",
            BanditParams::default(),
            true,
        ),
        (
            "thompson",
            BanditParams::default()
                .policy(Policy::Thompson { scale: 0.5 })
                .epsilon(0.0),
            true,
        ),
        // The baseline: it must beat random, not reach the oracle.
        (
            "epsilon-greedy",
            BanditParams::default()
                .policy(Policy::EpsilonGreedy)
                .epsilon(0.05),
            false,
        ),
    ];
    for (name, params, near_oracle) in policies {
        let (mut shares, mut multiples) = (Vec::new(), Vec::new());
        for run in 1..=5u64 {
            let (oracle, uniform) = references(&world, run);
            assert!(oracle > 1.5 * uniform, "the world must leave room to learn");
            // One draw: propensities do not change what Thompson sampling chooses.
            let got = bandit_reward(&world, params.clone().seed(run).propensity_draws(1), run);
            shares.push(got / oracle);
            multiples.push(got / uniform);
        }
        let mean = shares.iter().sum::<f64>() / 5.0;
        let (lo, hi) = shares
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        let worst = multiples.iter().copied().fold(f64::MAX, f64::min);
        eprintln!(
            "{name}: {ROUNDS} rounds × 5 runs: {mean:.3} of the oracle (runs {lo:.3}–{hi:.3}); \
             ≥ {worst:.2}× uniform"
        );
        if near_oracle {
            assert!(mean >= 0.9, "{name}: {mean} of the oracle's reward");
        }
        assert!(worst >= 1.5, "{name}: only {worst}× uniform's reward");
    }
}

#[test]
fn doubly_robust_recovers_a_different_policys_value() {
    let world = OfferWorld::new(11, 4, 2, 8).unwrap();
    let k = world.offers();
    // 8 actions logged uniformly put weight 6.6 on the target's favourite:
    // the estimate's standard error is ≈ 0.04 × √(20,000 / n) of the value,
    // so 5 % is only a safe bar from about 200,000 rounds.
    let n = OPE_ROUNDS;
    // Logged by a uniform-random policy, with its own seed.
    let mut logger = ChaCha8Rng::seed_from_u64(99);
    let (mut contexts, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
    let mut target = Vec::with_capacity(n * k);
    let pi = |s: usize, c: usize| -> Vec<f64> {
        let best = world.best(s, c).unwrap();
        (0..k)
            .map(|a| 0.2 / k as f64 + if a == best { 0.8 } else { 0.0 })
            .collect()
    };
    for t in 0..n as u64 {
        let (s, c) = world.visitor(5, t);
        let a = logger.random_range(0..k);
        contexts.extend(world.context(s, c).unwrap());
        actions.push(a);
        rewards.push(if world.accepts(5, t, s, c, a).unwrap() {
            world.value(a).unwrap()
        } else {
            0.0
        });
        target.extend(pi(s, c));
    }
    // The target's true value: visitors are uniform over segments × channels.
    let mut truth = 0.0;
    for s in 0..4 {
        for c in 0..2 {
            truth += pi(s, c)
                .iter()
                .enumerate()
                .map(|(a, p)| p * world.expected(s, c, a).unwrap())
                .sum::<f64>()
                / 8.0;
        }
    }
    let logged = Logged {
        contexts: &contexts,
        dim: world.dim(),
        actions: &actions,
        propensities: &vec![1.0 / k as f64; n],
        rewards: &rewards,
        n_actions: k,
    };
    let r = evaluate_policy(
        &logged,
        &target,
        &OpeParams::default().bootstrap(400).seed(4),
    )
    .unwrap();
    let uniform_value: f64 = rewards.iter().sum::<f64>() / n as f64;
    eprintln!(
        "{n} rounds: truth {truth:.4} (logging policy earned {uniform_value:.4}); DM {:.4} IPS {:.4} SNIPS {:.4} DR {:.4} [{:.4}, {:.4}]",
        r.dm.value, r.ips.value, r.snips.value, r.dr.value, r.dr.low, r.dr.high
    );
    assert!(
        (r.dr.value - truth).abs() <= 0.05 * truth,
        "DR {} vs truth {truth}",
        r.dr.value
    );
    assert!(
        r.dr.low <= truth && truth <= r.dr.high,
        "{:?} misses {truth}",
        r.dr
    );
    assert!(
        r.ips.low <= truth && truth <= r.ips.high,
        "{:?} misses {truth}",
        r.ips
    );
}

#[test]
fn the_decision_log_round_trips_and_feeds_evaluation() {
    let world = OfferWorld::new(3, 2, 2, 4).unwrap();
    let b = Bandit::new(
        world.dim(),
        BanditParams::default()
            .policy(Policy::EpsilonGreedy)
            .epsilon(0.5)
            .reward_window(10),
    )
    .unwrap();
    let cands = candidates(&world);
    for t in 0..300u64 {
        let (s, c) = world.visitor(0, t);
        let r = b
            .rank(&world.context(s, c).unwrap(), &cands, 2, t as i64)
            .unwrap();
        let k = r.chosen[0].candidate;
        if t % 3 != 0 {
            let v = f64::from(u8::from(world.accepts(0, t, s, c, k).unwrap()));
            b.reward(r.chosen[0].event_id, v, t as i64).unwrap();
        }
    }
    b.expire(1_000).unwrap();
    let log = b.log();
    assert_eq!(log.len(), 300);
    let mut text = Vec::new();
    log.write_jsonl(&mut text).unwrap();
    let back = DecisionLog::read_jsonl(std::str::from_utf8(&text).unwrap()).unwrap();
    assert_eq!(back, log);
    assert!(log.records().iter().all(|r| r.chosen.len() == 2
        && r.chosen.iter().all(|c| c.reward.is_some())
        && r.chosen[1].defaulted
        && (r.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9));
    let (ctx, actions, props, rewards) = log.first_slot();
    let flat: Vec<f32> = ctx.concat();
    let uniform: Vec<f64> = vec![0.25; actions.len() * 4];
    let logged = Logged {
        contexts: &flat,
        dim: world.dim(),
        actions: &actions,
        propensities: &props,
        rewards: &rewards,
        n_actions: 4,
    };
    assert!(evaluate_policy(&logged, &uniform, &OpeParams::default().bootstrap(50)).is_ok());
    assert!(DecisionLog::read_jsonl("{\"decision\": 1}\n").is_err());
}

fn engine(policy: ContactPolicy, offers: Vec<Offer>, window: i64) -> NextBestOffer {
    NextBestOffer::new(
        OfferSet::new(offers).unwrap(),
        policy,
        2,
        BanditParams::default().reward_window(window).seed(5),
    )
    .unwrap()
}

#[test]
fn rejected_engine_calls_change_nothing() {
    let nbo = engine(
        ContactPolicy::default(),
        vec![
            Offer::new("a", ItemKind::Offer, 1.0).budget(1),
            Offer::new("b", ItemKind::Offer, 2.0),
        ],
        100,
    );
    let c = CustomerState::new("c1");
    let d = nbo
        .decide(&OfferRequest::new(c.clone(), vec![0.5, 0.5], 10).slots(2))
        .unwrap();
    let id = d.chosen[0].event_id;
    let (ledger, pending, log) = (nbo.ledger(), nbo.bandit().pending(), nbo.bandit().log());
    let bad: Vec<Error> = [
        nbo.reward(id + 1_000, 1.0, 20).err(),
        nbo.reward(id, f64::NAN, 20).err(),
        nbo.reward(id, 1.0, 110).err(),
        nbo.reward(id, 1.0, 5).err(),
        nbo.decide(&OfferRequest::new(c.clone(), vec![0.5], 10))
            .err(),
        nbo.decide(&OfferRequest::new(c.clone(), vec![f32::NAN, 0.0], 10))
            .err(),
        nbo.decide(&OfferRequest::new(c.clone(), vec![0.5, 0.5], 10).slots(0))
            .err(),
        nbo.decide(&OfferRequest::new(
            CustomerState::new(""),
            vec![0.5, 0.5],
            10,
        ))
        .err(),
    ]
    .into_iter()
    .map(|e| e.expect("must be rejected"))
    .collect();
    assert!(matches!(bad[0], Error::Unknown { .. }));
    assert!(bad[1..]
        .iter()
        .all(|e| matches!(e, Error::InvalidParam { .. } | Error::LengthMismatch { .. })));
    assert_eq!(nbo.ledger(), ledger);
    assert_eq!(nbo.bandit().pending(), pending);
    assert_eq!(nbo.bandit().log(), log);
    // Duplicate offers are refused when the set is built.
    let dup = vec![Offer::new("a", ItemKind::Offer, 1.0); 2];
    assert!(OfferSet::new(dup).is_err());
}

#[test]
fn a_returned_item_gets_service_first_with_the_rule_named() {
    let nbo = engine(
        ContactPolicy::default(),
        vec![
            Offer::new("10-off", ItemKind::Offer, 5.0),
            Offer::new("return-help", ItemKind::Service, 1.0),
        ],
        100,
    );
    let now = 2_000_000;
    let unhappy = CustomerState::new("u").event("return", Some("shoes"), now - 100);
    let d = nbo
        .decide(&OfferRequest::new(unhappy, vec![0.0, 1.0], now).slots(2))
        .unwrap();
    assert_eq!(d.chosen.len(), 1);
    assert_eq!(d.chosen[0].offer, "return-help");
    assert!(d.chosen[0]
        .why
        .contains("service-first-after-return-or-complaint"));
    assert_eq!(
        d.excluded,
        vec![(
            "10-off".to_owned(),
            Exclusion::ContactPolicy("no-sales-after-return-or-complaint".into())
        )]
    );
    // After 14 days the offer is back, but after the service action.
    let later = CustomerState::new("u").event("return", None, now - 15 * 86_400);
    let d = nbo
        .decide(&OfferRequest::new(later, vec![0.0, 1.0], now).slots(2))
        .unwrap();
    let order: Vec<&str> = d.chosen.iter().map(|c| c.offer.as_str()).collect();
    assert_eq!(order, ["return-help", "10-off"]);
}

#[test]
fn concurrent_decisions_cannot_share_the_last_unit_of_a_cap_or_budget() {
    let nbo = engine(
        ContactPolicy::default(),
        vec![
            Offer::new("capped", ItemKind::Offer, 9.0).cap(1, 1_000),
            Offer::new("budget", ItemKind::Offer, 8.0).budget(3),
            Offer::new("plain", ItemKind::Offer, 0.1),
        ],
        100,
    );
    let shown = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..4 {
            let (nbo, shown) = (&nbo, &shown);
            s.spawn(move || {
                for i in 0..25 {
                    let c = CustomerState::new(format!("c{}", i % 2));
                    let d = nbo
                        .decide(&OfferRequest::new(c, vec![0.1, t as f32], 10).slots(3))
                        .unwrap();
                    let mut shown = shown.lock().unwrap();
                    shown.extend(d.chosen.iter().map(|x| (i % 2, x.offer.clone())));
                }
            });
        }
    });
    let shown = shown.into_inner().unwrap();
    for customer in 0..2 {
        let capped = shown
            .iter()
            .filter(|(c, o)| *c == customer && o == "capped")
            .count();
        assert_eq!(
            capped, 1,
            "customer {customer} saw the capped offer {capped} times"
        );
    }
    // Showings hold budget until their outcome: at most 3 outstanding.
    assert_eq!(shown.iter().filter(|(_, o)| o == "budget").count(), 3);
}

/// What the property test does next.
#[derive(Debug, Clone)]
enum Op {
    Decide {
        customer: usize,
        slots: usize,
        dt: i64,
    },
    Reward {
        pick: usize,
        accept: bool,
        dt: i64,
    },
    Expire {
        dt: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, 1usize..4, 0i64..40).prop_map(|(customer, slots, dt)| Op::Decide { customer, slots, dt }),
        2 => (any::<usize>(), any::<bool>(), 0i64..40).prop_map(|(pick, accept, dt)| Op::Reward { pick, accept, dt }),
        1 => (0i64..200).prop_map(|dt| Op::Expire { dt }),
    ]
}

fn offer_strategy() -> impl Strategy<Value = Offer> {
    (
        any::<bool>(),
        proptest::option::of(1u64..4),
        proptest::option::of((1u32..3, 1i64..300)),
        0i64..150,
        0i64..300,
        1i64..3_000,
        any::<bool>(),
    )
        .prop_map(|(service, budget, cap, cooldown, from, len, app_only)| {
            let kind = if service {
                ItemKind::Service
            } else {
                ItemKind::Offer
            };
            let mut o = Offer::new("x", kind, 1.0)
                .valid(from, from + len)
                .cooldown(cooldown);
            o.budget = budget;
            if let Some((max, w)) = cap {
                o = o.cap(max, w);
            }
            if app_only {
                o = o.when(AttributeRule::any_of("channel", ["app"]));
            }
            o
        })
}

const SUPPRESS: i64 = 300;
const FIRST: i64 = 600;

fn short_policy() -> ContactPolicy {
    let after = vec!["return".to_owned(), "complaint".to_owned()];
    ContactPolicy::none()
        .rule(ContactRule {
            name: "suppress".into(),
            after: after.clone(),
            within_secs: SUPPRESS,
            action: RuleAction::Suppress(vec![ItemKind::Offer]),
        })
        .rule(ContactRule {
            name: "service-first".into(),
            after,
            within_secs: FIRST,
            action: RuleAction::First(vec![ItemKind::Service]),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Replays random decisions, rewards and expiries against a reference
    /// book of what happened, and checks every decision against the rules.
    #[test]
    fn rules_are_never_broken(
        mut offers in proptest::collection::vec(offer_strategy(), 1..7),
        channels in proptest::collection::vec(any::<bool>(), 3),
        returns in proptest::collection::vec(proptest::option::of(0i64..1_500), 3),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        for (i, o) in offers.iter_mut().enumerate() {
            o.item.id = format!("o{i}");
        }
        let nbo = engine(short_policy(), offers.clone(), 60);
        let customers: Vec<CustomerState> = (0..3)
            .map(|i| {
                let c = CustomerState::new(format!("c{i}"))
                    .attribute("channel", if channels[i] { "app" } else { "web" });
                match returns[i] {
                    Some(t) => c.event("return", None, t),
                    None => c,
                }
            })
            .collect();
        let mut now = 0i64;
        let mut shows: HashMap<(usize, usize), Vec<i64>> = HashMap::new();
        let mut negative: HashMap<(usize, usize), i64> = HashMap::new();
        let mut accepted = vec![0u64; offers.len()];
        let mut open: Vec<(u64, usize, usize)> = Vec::new(); // (event, customer, offer)
        for op in ops {
            match op {
                Op::Decide { customer, slots, dt } => {
                    now += dt;
                    let c = &customers[customer];
                    let d = nbo
                        .decide(&OfferRequest::new(c.clone(), vec![0.3, -0.2], now).slots(slots))
                        .unwrap();
                    if !d.chosen.is_empty() {
                        let total: f64 = d.probabilities.iter().sum();
                        prop_assert!((total - 1.0).abs() < 1e-9, "probabilities sum to {}", total);
                    }
                    let returned_at = returns[customer].filter(|&t| t <= now);
                    let fired = |w: i64| returned_at.is_some_and(|t| t >= now - w);
                    let mut seen_offer_kind = false;
                    let mut ids: Vec<&str> = Vec::new();
                    for ch in &d.chosen {
                        prop_assert!(!ids.contains(&ch.offer.as_str()), "repeat {}", ch.offer);
                        ids.push(&ch.offer);
                        let k: usize = ch.offer[1..].parse().unwrap();
                        let o = &offers[k];
                        prop_assert!(now >= o.valid_from && now < o.valid_until, "validity");
                        if !o.eligibility.attributes.is_empty() {
                            prop_assert!(channels[customer], "ineligible channel");
                        }
                        if o.item.kind == ItemKind::Offer {
                            prop_assert!(!fired(SUPPRESS), "sales offer after a return");
                            seen_offer_kind = true;
                        } else if fired(FIRST) {
                            prop_assert!(!seen_offer_kind, "service action after a sales offer");
                        }
                        if let Some(cap) = o.cap {
                            let n = shows
                                .get(&(customer, k))
                                .map_or(0, |v| v.iter().filter(|&&t| t > now - cap.window_secs).count());
                            prop_assert!(n < cap.max as usize, "cap");
                        }
                        if let Some(&t) = negative.get(&(customer, k)) {
                            prop_assert!(now >= t + o.cooldown_secs, "cool-down");
                        }
                        if let Some(b) = o.budget {
                            let outstanding = open.iter().filter(|x| x.2 == k).count() as u64;
                            prop_assert!(accepted[k] + outstanding < b, "budget");
                        }
                        prop_assert!(ch.propensity > 0.0 && ch.propensity <= 1.0);
                    }
                    for ch in &d.chosen {
                        let k: usize = ch.offer[1..].parse().unwrap();
                        shows.entry((customer, k)).or_default().push(now);
                        open.push((ch.event_id, customer, k));
                    }
                }
                Op::Reward { pick, accept, dt } => {
                    now += dt;
                    if open.is_empty() {
                        continue;
                    }
                    let at = pick % open.len();
                    let (event, customer, k) = open[at];
                    let before = nbo.ledger();
                    match nbo.reward(event, f64::from(u8::from(accept)), now) {
                        Ok(_) => {
                            open.remove(at);
                            if accept {
                                accepted[k] += 1;
                            } else {
                                negative.insert((customer, k), now);
                            }
                        }
                        Err(_) => prop_assert_eq!(nbo.ledger(), before),
                    }
                }
                Op::Expire { dt } => {
                    now += dt;
                    // Pruning must never let a rule lapse early.
                    nbo.prune(now);
                    for s in nbo.expire(now).unwrap() {
                        let at = open.iter().position(|x| x.0 == s.event_id).unwrap();
                        let (_, customer, k) = open.remove(at);
                        negative.insert((customer, k), now);
                    }
                }
            }
            for (k, o) in offers.iter().enumerate() {
                prop_assert_eq!(nbo.ledger().accepted(o.id()), accepted[k]);
                if let Some(b) = o.budget {
                    prop_assert!(accepted[k] <= b, "budget overspent");
                }
            }
        }
    }
}

/// A teacher for apprentice tests: `Some(oracle)` or the one offer with the
/// best expected value over all contexts (a plausible fixed business rule).
fn teacher_pick(world: &OfferWorld, oracle: bool, s: usize, c: usize) -> usize {
    if oracle {
        return world.best(s, c).unwrap();
    }
    (0..world.offers())
        .max_by(|&a, &b| {
            let avg = |k: usize| -> f64 {
                (0..4)
                    .flat_map(|s| (0..2).map(move |c| (s, c)))
                    .map(|(s, c)| world.expected(s, c, k).unwrap())
                    .sum()
            };
            avg(a).total_cmp(&avg(b))
        })
        .unwrap()
}

/// (reward in the first `early` rounds, total reward, graduated after, status).
fn apprentice_run(
    world: &OfferWorld,
    params: BanditParams,
    oracle: bool,
    run: u64,
    rounds: u64,
    early: u64,
) -> (f64, f64, Option<ApprenticeStatus>) {
    let b = Bandit::new(world.dim(), params.keep_log(false)).unwrap();
    let cands = candidates(world);
    let (mut first, mut total) = (0.0, 0.0);
    for t in 0..rounds {
        let (s, c) = world.visitor(run, t);
        let ctx = world.context(s, c).unwrap();
        let teacher = &cands[teacher_pick(world, oracle, s, c)].id;
        let r = b
            .rank_with_teacher(&ctx, &cands, teacher, 1, t as i64)
            .unwrap();
        let earned = settle(world, &b, &r, run, t, (s, c));
        total += earned;
        if t < early {
            first += earned;
        }
    }
    (first, total, b.apprentice())
}

const EARLY: u64 = 2_000;

/// An apprentice of the oracle (a rule that is always right): ahead of a
/// bandit starting cold while it learns, and graduating on agreement (the
/// model's own choice is the rule's in ≥ 90 % of a window), never on a
/// claim to beat a perfect rule.
#[test]
fn an_apprentice_of_a_good_rule_starts_ahead_and_graduates_on_agreement() {
    let world = OfferWorld::new(7, 4, 2, 8).unwrap();
    let apprentice = BanditParams::default().apprentice(ApprenticeParams::default());
    let (mut cold, mut taught) = (0.0, 0.0);
    for run in 0..5 {
        let (_, plain_total, none) = apprentice_run(
            &world,
            BanditParams::default().seed(run),
            true,
            run,
            ROUNDS,
            EARLY,
        );
        assert!(none.is_none(), "apprentice mode is off by default");
        let plain_early = apprentice_run(
            &world,
            BanditParams::default().seed(run),
            true,
            run,
            EARLY,
            EARLY,
        )
        .1;
        let (early, total, status) = apprentice_run(
            &world,
            apprentice.clone().seed(run),
            true,
            run,
            ROUNDS,
            EARLY,
        );
        let status = status.unwrap();
        println!("run {run}: early {early:.0} against {plain_early:.0} cold; total {total:.0} against {plain_total:.0}; {status:?}");
        assert!(status.graduated, "run {run}: {status:?}");
        assert!(
            status.agreement >= 0.9,
            "run {run} graduated on agreement: {status:?}"
        );
        cold += plain_early;
        taught += early;
    }
    assert!(
        taught >= 1.05 * cold,
        "first {EARLY} rounds: {taught:.0} taught against {cold:.0} cold"
    );
}

/// An apprentice of a weak rule (one offer for everybody: the best on
/// average) sees the model do better and graduates on value within the
/// 20,000 rounds, in every run.
#[test]
fn an_apprentice_of_a_weak_rule_graduates_on_value() {
    let world = OfferWorld::new(7, 4, 2, 8).unwrap();
    let apprentice = BanditParams::default().apprentice(ApprenticeParams::default());
    for run in 0..5 {
        let (o, _) = references(&world, run);
        let (_, total, status) = apprentice_run(
            &world,
            apprentice.clone().seed(run),
            false,
            run,
            ROUNDS,
            EARLY,
        );
        let status = status.unwrap();
        println!("run {run}: {:.3} of the oracle; {status:?}", total / o);
        assert!(status.graduated, "run {run}: {status:?}");
        assert!(
            status.agreement < 0.9,
            "run {run}: the rule is weak: {status:?}"
        );
        assert!(status.gain > 3.0 * status.gain_se, "run {run}: {status:?}");
        assert!(
            total > 0.75 * o,
            "run {run}: {:.3} of the oracle",
            total / o
        );
    }
}

/// The teacher is followed only where the rules allow it: an offer
/// suppressed by the contact policy is not shown, and the decision is no
/// lesson.
#[test]
fn a_teacher_never_overrides_the_contact_policy() {
    let offers = vec![
        Offer::new("o0", ItemKind::Offer, 5.0),
        Offer::new("help", ItemKind::Service, 1.0),
    ];
    let nbo = NextBestOffer::new(
        OfferSet::new(offers).unwrap(),
        ContactPolicy::default(),
        1,
        BanditParams::default().apprentice(ApprenticeParams::default().epsilon(0.0)),
    )
    .unwrap();
    let now = 1_000_000;
    let returned = CustomerState::new("ann").event("return", None, now - 60);
    let d = nbo
        .decide(&OfferRequest::new(returned, vec![0.2], now).teacher("o0"))
        .unwrap();
    assert_eq!(d.chosen[0].offer, "help");
    let happy = CustomerState::new("bob");
    let d2 = nbo
        .decide(&OfferRequest::new(happy, vec![0.2], now).teacher("o0"))
        .unwrap();
    assert_eq!(d2.chosen[0].offer, "o0");
    assert_eq!(d2.chosen[0].why, "the teacher's choice (apprentice mode)");
    assert_eq!(d2.chosen[0].propensity, 1.0);
    nbo.reward(d.chosen[0].event_id, 0.0, now + 1).unwrap();
    nbo.reward(d2.chosen[0].event_id, 1.0, now + 1).unwrap();
    assert_eq!(
        nbo.bandit().apprentice().unwrap().lessons,
        1,
        "only bob's decision taught"
    );
    // An unknown teacher is an error at the bandit, not in the engine (where
    // it may simply be ineligible).
    let d3 = nbo
        .decide(&OfferRequest::new(CustomerState::new("cy"), vec![0.2], now).teacher("gone"))
        .unwrap();
    assert_ne!(d3.chosen[0].why, "the teacher's choice (apprentice mode)");
}

/// Forgetting a customer everywhere they are held — the event log, the
/// customer base (segments, RFM, views), the recommender and the offers
/// engine (log, ledger, pending showings, learnt updates) — leaves neither
/// their ids nor their vector in any answer or in anything saved afterwards.
/// The same searches find both before, so the test can fail.
#[test]
fn forget_leaves_no_trace_anywhere() {
    use crate::artifact::Flavour;
    use crate::customers::{CustomerBase, CustomerSettings, KMeansParams, Representation};
    use crate::datasets::{synthetic_storefront, Size};
    use crate::embed::Als;
    use crate::events::EventLog;
    use crate::interactions::{InteractionConfig, Interactions};
    use crate::recommend::{BuildOptions, Recommender, Request};

    let shop = synthetic_storefront(6, Size::Tiny).unwrap();
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default()).unwrap();
    let model = Als::params().factors(8).fit(&matrix).unwrap();
    let mut log = shop.log.clone();
    let mut base = CustomerBase::new(
        log.clone(),
        shop.catalog.clone(),
        CustomerSettings::default(),
    )
    .unwrap()
    .with_vectors(model.users.clone(), Some(model.items.clone()))
    .unwrap();
    base.segment(
        &KMeansParams::default().k(3).seed(1),
        Representation::Vectors,
        1,
    )
    .unwrap();
    let mut rec =
        Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default()).unwrap();
    let (alias, who) = shop.truth.links[0].clone();
    let c = base.customer_index(&who).unwrap();
    let vector = base.vectors().unwrap().row(c).to_vec();
    let vector_bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let ids = base.customer_view(&alias, 5).unwrap().identities;
    assert!(ids.contains(&alias) && ids.contains(&who));

    let offers = OfferSet::new(vec![
        Offer::new("10-off", ItemKind::Offer, 5.0),
        Offer::new("free-delivery", ItemKind::Offer, 2.0),
        Offer::new("return-help", ItemKind::Service, 1.0),
    ])
    .unwrap();
    let nbo = NextBestOffer::new(
        offers,
        ContactPolicy::default(),
        8,
        BanditParams::default().seed(2),
    )
    .unwrap();
    let now = base.now();
    let other = base
        .customers()
        .iter()
        .find(|c| **c != who)
        .unwrap()
        .clone();
    let other_vector = base
        .vectors()
        .unwrap()
        .row(base.customer_index(&other).unwrap())
        .to_vec();
    for t in 0..6 {
        // Decisions under both of their ids, a settled and a pending one each;
        // someone else's decisions stay.
        for (id, ctx) in [(&who, &vector), (&alias, &vector), (&other, &other_vector)] {
            let d = nbo
                .decide(&OfferRequest::new(
                    CustomerState::new(id.clone()),
                    ctx.clone(),
                    now + t,
                ))
                .unwrap();
            if t % 2 == 0 {
                nbo.reward(
                    d.chosen[0].event_id,
                    f64::from(u8::from(t % 4 == 0)),
                    now + t,
                )
                .unwrap();
            }
        }
    }
    let view = nbo
        .customer_view(&base, &alias, 20, None, &Default::default())
        .unwrap();
    assert_eq!(
        view.offers.as_ref().unwrap().shown,
        12,
        "both ids' showings in one view"
    );
    assert!(view.next_best_action.is_some());
    let model_before = nbo.bandit().estimate(&other_vector, "10-off").unwrap();

    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let saved = |log: &EventLog, base: &CustomerBase, rec: &Recommender, nbo: &NextBestOffer| {
        let mut jsonl = Vec::new();
        nbo.bandit().log().write_jsonl(&mut jsonl).unwrap();
        let out: Vec<(&str, Vec<u8>)> = vec![
            ("log", log.to_bytes().unwrap()),
            ("base", base.to_bytes().unwrap()),
            ("recommender", rec.to_bytes(Flavour::Full).unwrap()),
            ("offers", nbo.to_bytes().unwrap()),
            ("decision log", jsonl),
        ];
        out
    };
    // The vector as bytes (artifacts) and as JSON text (the decision log).
    let vector_json = serde_json::to_vec(&vector).unwrap();
    let holds_vector = |what: &str, bytes: &[u8]| match what {
        "decision log" => contains(bytes, &vector_json),
        _ => contains(bytes, &vector_bytes),
    };
    for (what, bytes) in saved(&log, &base, &rec, &nbo) {
        assert!(
            contains(&bytes, who.as_bytes()),
            "{what} holds {who} before"
        );
        if what != "log" {
            assert!(holds_vector(what, &bytes), "{what} holds the vector before");
        }
    }

    let from_log = log.forget(&alias).unwrap();
    let from_base = base.forget(&alias).unwrap();
    let from_rec = rec.forget(&alias).unwrap();
    let id_refs: Vec<&str> = from_base.identities.iter().map(String::as_str).collect();
    let from_offers = nbo.forget(&id_refs);
    assert_eq!(from_log.identities, from_base.identities);
    assert_eq!(from_rec.identities, from_base.identities);
    assert_eq!(from_rec.customer, who);
    assert_eq!(from_offers.decisions, 12);
    assert_eq!(from_offers.pending, 6);
    assert_eq!(from_offers.unlearned, 6);
    assert!(from_offers.contacts >= 2);

    for (what, bytes) in saved(&log, &base, &rec, &nbo) {
        for id in &from_base.identities {
            assert!(!contains(&bytes, id.as_bytes()), "{id} still in the {what}");
        }
        assert!(
            !holds_vector(what, &bytes),
            "the vector still in the {what}"
        );
    }
    // Answers: unknown to the base and the recommender (served as a new
    // visitor), no offers history, and the other customer's decisions kept.
    assert!(matches!(
        base.customer_view(&who, 5),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(rec.forget(&who), Err(Error::Unknown { .. })));
    let served = rec
        .recommend(&Request::new(5).customer(who.as_str()))
        .unwrap();
    assert_eq!(served.len(), 5);
    assert_eq!(nbo.activity(&id_refs, 10).shown, 0);
    assert_eq!(nbo.activity(&[other.as_str()], 10).shown, 6);
    assert!(rec
        .customers_for_item(&shop.log.items().names()[0], 1000)
        .unwrap()
        .iter()
        .all(|(c, _)| c != &who));
    // The bandit took back exactly their updates: what it estimates now is
    // what it would estimate had only the other customer's rewards been learnt.
    let fresh = NextBestOffer::new(
        OfferSet::new(vec![
            Offer::new("10-off", ItemKind::Offer, 5.0),
            Offer::new("free-delivery", ItemKind::Offer, 2.0),
            Offer::new("return-help", ItemKind::Service, 1.0),
        ])
        .unwrap(),
        ContactPolicy::default(),
        8,
        BanditParams::default().seed(2),
    )
    .unwrap();
    for r in nbo.bandit().log().records() {
        for ch in &r.chosen {
            if let Some(v) = ch.reward {
                let b = fresh.bandit();
                let d = b
                    .rank(&r.context, &[Candidate::new(ch.offer.clone(), 1.0)], 1, 0)
                    .unwrap();
                b.reward(d.chosen[0].event_id, v, 0).unwrap();
            }
        }
    }
    for offer in ["10-off", "free-delivery", "return-help"] {
        let (a, _) = nbo.bandit().estimate(&other_vector, offer).unwrap();
        let (b, _) = fresh.bandit().estimate(&other_vector, offer).unwrap();
        assert!(
            (a - b).abs() < 1e-9,
            "{offer}: {a} after forgetting, {b} never learnt"
        );
    }
    assert_ne!(
        model_before,
        nbo.bandit().estimate(&other_vector, "10-off").unwrap()
    );
}
