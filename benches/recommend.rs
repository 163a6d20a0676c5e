//! Serving latency: one customer's top-10 with filters (in stock, products,
//! not seen, a price cap). `recommend` runs on the calling thread (no rayon),
//! so this is single-thread latency.
//!
//! - `exact/50k`: a 50,000-item catalogue on the exact index (target: median
//!   under 2 ms);
//! - `hnsw/N`: an N-item catalogue on HNSW, N from `MAITRE_BENCH_ITEMS`
//!   (default 200,000; the issue's target is 1,000,000 items under 250 µs —
//!   building that graph takes minutes on two cores, so it is opt-in).
//!
//! Vectors are clustered (100 centroids plus noise), like fitted item vectors,
//! not uniform noise.
//!
//! ```text
//! cargo bench --bench recommend
//! MAITRE_BENCH_ITEMS=1000000 cargo bench --bench recommend -- hnsw
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use maitre::catalog::{Catalog, Item};
use maitre::embed::{Als, AlsModel, Factors};
use maitre::events::{Event, EventLog};
use maitre::index::{IndexKind, IndexParams};
use maitre::recommend::{BuildOptions, Filters, Recommender, Request};
use rand::{Rng, SeedableRng};
use std::hint::black_box;

const K: usize = 64;

fn storefront(n_items: usize, kind: IndexKind) -> Recommender {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut log = EventLog::new();
    // One customer with 30 views, so the seen filter has work to do.
    for e in 0..30 {
        let item = format!("sku-{:07}", (e * 7919) % n_items);
        log.push(&Event::new("c1", item, "view", e as i64))
            .expect("valid");
    }
    let items = (0..n_items).map(|i| {
        Item::new(format!("sku-{i:07}"))
            .category(format!("cat-{}", i % 40))
            .price((i % 500) as f32)
            .in_stock(i % 10 != 0)
    });
    let catalog = Catalog::aligned(&mut log, items).expect("valid");
    let centroids: Vec<f32> = (0..100 * K).map(|_| rng.random::<f32>() - 0.5).collect();
    let data: Vec<f32> = (0..n_items)
        .flat_map(|i| {
            let c = (i * 31) % 100;
            let centre = centroids[c * K..(c + 1) * K].to_vec();
            let noise: Vec<f32> = (0..K).map(|_| 0.3 * (rng.random::<f32>() - 0.5)).collect();
            centre.into_iter().zip(noise).map(|(a, b)| a + b)
        })
        .collect();
    let items = Factors::from_vec(n_items, K, data).expect("finite");
    let users = Factors::from_vec(1, K, items.row(3).to_vec()).expect("finite");
    let model = AlsModel::from_parts(users, items, Als::params().factors(K)).expect("consistent");
    let options = BuildOptions {
        index: IndexParams::default().kind(kind),
        ..BuildOptions::default()
    };
    Recommender::build(&log, &catalog, model, &options).expect("builds")
}

fn request() -> Request {
    Request::new(10).customer("c1").filters(Filters {
        max_price: Some(400.0),
        ..Filters::default()
    })
}

fn exact(c: &mut Criterion) {
    let rec = storefront(50_000, IndexKind::Exact);
    let request = request();
    c.bench_function("recommend/exact/50k items/top-10 with filters", |b| {
        b.iter(|| rec.recommend(black_box(&request)).expect("serves"))
    });
}

fn hnsw(c: &mut Criterion) {
    let n: usize = std::env::var("MAITRE_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rec = storefront(n, IndexKind::Hnsw);
    let request = request();
    c.bench_function(
        &format!("recommend/hnsw/{n} items/top-10 with filters"),
        |b| b.iter(|| rec.recommend(black_box(&request)).expect("serves")),
    );
}

criterion_group!(benches, exact, hnsw);
criterion_main!(benches);
