//! Embedding benches: fold-in of one customer (50 events, 64 factors) against
//! item factors fitted on a synthetic storefront, fixed seed.
//!
//! ```text
//! cargo bench --bench embed
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use maitre::datasets::{synthetic_storefront, Size};
use maitre::embed::Als;
use maitre::interactions::{InteractionConfig, Interactions};
use std::hint::black_box;

fn fold_in(c: &mut Criterion) {
    let shop = synthetic_storefront(42, Size::Small).expect("generates");
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default()).expect("builds");
    let model = Als::params()
        .factors(64)
        .iterations(5)
        .fit(&matrix)
        .expect("fits");
    // A real customer's 50 most recent distinct items and weights, or the first such customer.
    let by_customer = matrix.by_customer();
    let row = (0..by_customer.n_rows() as u32)
        .map(|u| by_customer.row(u))
        .find(|(items, _)| items.len() >= 50)
        .expect("a customer with 50 items");
    let (items, weights) = (&row.0[..50], &row.1[..50]);
    c.bench_function("fold_in/50 events/64 factors", |b| {
        b.iter(|| {
            model
                .fold_in(black_box(items), black_box(weights))
                .expect("solves")
        })
    });
}

criterion_group!(benches, fold_in);
criterion_main!(benches);
