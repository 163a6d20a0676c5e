//! Foundation benches: generating a synthetic storefront and building its
//! interaction matrix, at named sizes with a fixed seed.
//!
//! ```text
//! cargo bench --bench foundation              # all sizes
//! cargo bench --bench foundation -- large     # the 10-million-event target
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use maitre::datasets::{synthetic_storefront, Size};
use maitre::interactions::{InteractionConfig, Interactions};
use std::hint::black_box;
use std::time::Duration;

fn storefront(c: &mut Criterion) {
    let config = InteractionConfig::default().half_life_days(60.0);
    for (name, size, seconds) in [("medium", Size::Medium, 20), ("large", Size::Large, 120)] {
        let mut group = c.benchmark_group(format!("storefront/{name}"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(seconds));
        let shop = synthetic_storefront(42, size).expect("generates");
        eprintln!("storefront/{name}: {} events", shop.log.len());
        group.bench_function("generate", |b| {
            b.iter(|| synthetic_storefront(black_box(42), size).expect("generates"))
        });
        group.bench_function("interactions", |b| {
            b.iter(|| Interactions::build(black_box(&shop.log), &config).expect("builds"))
        });
        group.bench_function("generate+interactions", |b| {
            b.iter(|| {
                let shop = synthetic_storefront(black_box(42), size).expect("generates");
                Interactions::build(&shop.log, &config).expect("builds")
            })
        });
        group.finish();
    }
}

criterion_group!(benches, storefront);
criterion_main!(benches);
