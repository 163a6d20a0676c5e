//! How big a next-best-offer engine's saved state is, how long saving and
//! loading take, and how long one decision takes from Rust (the reference
//! for the Python binding's `bindings-python/bench/offers_vs_rust.py`).
//!
//!     cargo run --release --example offers_state            # sizes and times
//!     cargo run --release --example offers_state -- --decide 2000   # JSON: decide latency
//!
//! The workload is fixed (and written the same way in the Python bench): 20
//! offers, 8-dimensional contexts, one slot, a reward for every decision
//! (accepted when `(t·13 + offer) mod 7 == 0`), 100 customers.

use maitre::catalog::ItemKind;
use maitre::offers::{
    BanditParams, ContactPolicy, CustomerState, NextBestOffer, Offer, OfferRequest, OfferSet,
};
use std::time::Instant;

const OFFERS: usize = 20;
const DIM: usize = 8;
const T0: i64 = 1_800_000_000;

fn engine(keep_log: bool) -> NextBestOffer {
    let offers = (0..OFFERS)
        .map(|k| Offer::new(format!("o{k}"), ItemKind::Offer, 1.0 + (k % 5) as f64))
        .collect();
    NextBestOffer::new(
        OfferSet::new(offers).expect("fixed offers are valid"),
        ContactPolicy::default(),
        DIM,
        BanditParams::default().keep_log(keep_log),
    )
    .expect("fixed parameters are valid")
}

fn context(t: usize) -> Vec<f32> {
    (0..DIM)
        .map(|j| ((t * 7 + j * 3) % 11) as f32 / 10.0)
        .collect()
}

/// Decision `t` and its reward; returns the chosen offer's index.
fn step(nbo: &NextBestOffer, t: usize) -> usize {
    let request = OfferRequest::new(
        CustomerState::new(format!("c{}", t % 100)),
        context(t),
        T0 + t as i64,
    );
    let d = nbo.decide(&request).expect("valid request");
    let c = &d.chosen[0];
    let k: usize = c.offer[1..].parse().expect("offer ids are o<k>");
    let accepted = (t * 13 + k) % 7 == 0;
    nbo.reward(c.event_id, f64::from(u8::from(accepted)), T0 + t as i64)
        .expect("in the window");
    k
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--decide") {
        let n: usize = args
            .get(at + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(2000);
        decide_latency(n);
        return;
    }
    println!(
        "| rewards | log kept | artifact bytes | bytes/reward | to_bytes ms | from_bytes ms |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: |");
    for &n in &[1_000usize, 10_000, 100_000] {
        for keep_log in [true, false] {
            let nbo = engine(keep_log);
            for t in 0..n {
                step(&nbo, t);
            }
            let mut save = Vec::new();
            let mut load = Vec::new();
            let mut size = 0;
            for _ in 0..5 {
                let t = Instant::now();
                let bytes = nbo.to_bytes().expect("save");
                save.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let back = NextBestOffer::from_bytes(&bytes).expect("load");
                load.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(back.bandit().pending(), nbo.bandit().pending());
                size = bytes.len();
            }
            println!(
                "| {n} | {keep_log} | {size} | {:.1} | {:.2} | {:.2} |",
                size as f64 / n as f64,
                median(save),
                median(load)
            );
        }
    }
}

/// `n` decisions with their rewards, timed one by one after a warm-up of
/// `n`: prints the median decide and reward times (µs) and a checksum of the
/// choices (the Python bench makes the same decisions and compares it).
fn decide_latency(n: usize) {
    let nbo = engine(true);
    for t in 0..n {
        step(&nbo, t);
    }
    let (mut decide, mut reward) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut checksum = 0usize;
    for t in n..2 * n {
        let request = OfferRequest::new(
            CustomerState::new(format!("c{}", t % 100)),
            context(t),
            T0 + t as i64,
        );
        let start = Instant::now();
        let d = nbo.decide(&request).expect("valid request");
        decide.push(start.elapsed().as_secs_f64() * 1e6);
        let c = &d.chosen[0];
        let k: usize = c.offer[1..].parse().expect("offer ids are o<k>");
        checksum = checksum.wrapping_mul(31).wrapping_add(k) % 1_000_000_007;
        let accepted = (t * 13 + k) % 7 == 0;
        let start = Instant::now();
        nbo.reward(c.event_id, f64::from(u8::from(accepted)), T0 + t as i64)
            .expect("in the window");
        reward.push(start.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "{{\"decide_us\": {:.3}, \"reward_us\": {:.3}, \"checksum\": {checksum}, \"n\": {n}}}",
        median(decide),
        median(reward)
    );
}
