//! Index benches: exact top-10 on 50,000 items × 64 dims, and HNSW top-10 with
//! and without a filter on a larger table (clustered synthetic vectors, fixed
//! seed). Every search runs on the calling thread.
//!
//! ```text
//! cargo bench --bench index
//! MAITRE_BENCH_ANN_ITEMS=1000000 cargo bench --bench index -- hnsw
//! ```
//!
//! `MAITRE_BENCH_ANN_ITEMS` sets the HNSW table size (default 200,000: its
//! build, on the whole rayon pool, runs before measuring and takes a while).

use criterion::{criterion_group, criterion_main, Criterion};
use maitre::datasets::clustered_vectors;
use maitre::index::{ExactIndex, Index};
use std::hint::black_box;

const DIM: usize = 64;
const QUERIES: usize = 64;

/// One "in stock" item in ten is filtered out; a "category" keeps one in twenty.
fn in_stock(i: u32) -> bool {
    i % 10 != 3
}
#[cfg(feature = "hnsw")]
fn category(i: u32) -> bool {
    i % 20 == 7
}

fn exact(c: &mut Criterion) {
    let items = 50_000;
    let all = clustered_vectors(42, items + QUERIES, DIM, 100, 0.3).expect("generates");
    let (data, qs) = all.split_at(items * DIM);
    let index = ExactIndex::build(DIM, data).expect("builds");
    let mut queries = qs.chunks_exact(DIM).cycle();
    c.bench_function("exact/top10/50000x64", |b| {
        b.iter(|| {
            index
                .search(black_box(queries.next().unwrap()), 10, None)
                .unwrap()
        })
    });
    c.bench_function("exact/top10/50000x64/filter in-stock", |b| {
        b.iter(|| {
            index
                .search(black_box(queries.next().unwrap()), 10, Some(&in_stock))
                .unwrap()
        })
    });
}

#[cfg(feature = "hnsw")]
fn hnsw(c: &mut Criterion) {
    use maitre::index::HnswParams;
    let items: usize = std::env::var("MAITRE_BENCH_ANN_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let all = clustered_vectors(42, items + QUERIES, DIM, 100, 0.3).expect("generates");
    let (data, qs) = all.split_at(items * DIM);
    let started = std::time::Instant::now();
    let index = HnswParams::default().build(DIM, data).expect("builds");
    eprintln!(
        "hnsw: built {items} x {DIM} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut queries = qs.chunks_exact(DIM).cycle();
    let mut group = c.benchmark_group(format!("hnsw/top10/{items}x{DIM}"));
    group.bench_function("no filter", |b| {
        b.iter(|| {
            index
                .search(black_box(queries.next().unwrap()), 10, None)
                .unwrap()
        })
    });
    group.bench_function("filter in-stock (9 in 10)", |b| {
        b.iter(|| {
            index
                .search(black_box(queries.next().unwrap()), 10, Some(&in_stock))
                .unwrap()
        })
    });
    group.bench_function("filter category (1 in 20)", |b| {
        b.iter(|| {
            index
                .search(black_box(queries.next().unwrap()), 10, Some(&category))
                .unwrap()
        })
    });
    group.finish();
}

#[cfg(not(feature = "hnsw"))]
fn hnsw(_: &mut Criterion) {}

criterion_group!(benches, exact, hnsw);
criterion_main!(benches);
