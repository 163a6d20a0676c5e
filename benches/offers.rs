//! Next-best-offer latency: one `rank` over 50 candidate offers for one slot
//! (issue target: median under 50 µs) and one `reward` (under 10 µs), at a
//! context of 64 dimensions (an ALS customer vector's size), on a bandit with
//! default parameters (LinUCB, ε 0.02, decision log kept) that has already
//! learned from 5,000 decisions, so every offer has its own model.
//!
//! Each timed call is measured alone (`iter_custom`): the `rank` bench
//! settles every decision untimed afterwards and empties the decision log
//! every 4,096 decisions (so the pending set and the log stay at a service's
//! steady size); the `reward` bench makes its decision untimed first.
//!
//! ```text
//! cargo bench --bench offers
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use maitre::offers::{Bandit, BanditParams, Candidate};
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::{Duration, Instant};

const DIM: usize = 64;
const OFFERS: usize = 50;

struct Setup {
    bandit: Bandit,
    offers: Vec<Candidate>,
    contexts: Vec<Vec<f32>>,
}

fn setup() -> Setup {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let offers: Vec<Candidate> = (0..OFFERS)
        .map(|i| Candidate::new(format!("offer-{i:03}"), 1.0 + rng.random::<f64>() * 4.0))
        .collect();
    let contexts: Vec<Vec<f32>> = (0..1024)
        .map(|_| (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect())
        .collect();
    let bandit = Bandit::new(DIM, BanditParams::default().seed(1)).expect("valid");
    for t in 0..5_000 {
        let r = bandit
            .rank(&contexts[t % contexts.len()], &offers, 1, t as i64)
            .expect("ranks");
        let accepted = rng.random::<f64>() < 0.1;
        bandit
            .reward(
                r.chosen[0].event_id,
                f64::from(u8::from(accepted)),
                t as i64,
            )
            .expect("settles");
    }
    bandit.take_log();
    Setup {
        bandit,
        offers,
        contexts,
    }
}

fn offers(c: &mut Criterion) {
    let s = setup();
    let mut g = c.benchmark_group("offers");
    let mut round = 0usize;
    g.bench_function("rank/50-offers/dim-64", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let ctx = &s.contexts[round % s.contexts.len()];
                let start = Instant::now();
                let r =
                    black_box(s.bandit.rank(black_box(ctx), &s.offers, 1, 10_000)).expect("ranks");
                spent += start.elapsed();
                s.bandit
                    .reward(r.chosen[0].event_id, 0.0, 10_000)
                    .expect("settles");
                if round % 4_096 == 0 {
                    s.bandit.take_log();
                }
            }
            spent
        })
    });
    g.bench_function("reward/dim-64", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let ctx = &s.contexts[round % s.contexts.len()];
                let r = s.bandit.rank(ctx, &s.offers, 1, 10_000).expect("ranks");
                let start = Instant::now();
                black_box(s.bandit.reward(
                    black_box(r.chosen[0].event_id),
                    f64::from(u8::from(round % 10 == 0)),
                    10_000,
                ))
                .expect("settles");
                spent += start.elapsed();
                if round % 4_096 == 0 {
                    s.bandit.take_log();
                }
            }
            spent
        })
    });
    g.finish();
}

criterion_group!(benches, offers);
criterion_main!(benches);
