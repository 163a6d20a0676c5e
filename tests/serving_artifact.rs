//! A recommender saved and loaded: the full flavour answers bit-identically,
//! the storefront flavour carries no customer data, stays small, and agrees
//! with the full model within int8 error; damaged files are typed errors.

mod common;

use maitre::artifact::Flavour;
use maitre::catalog::{Catalog, Item};
use maitre::datasets::{synthetic_storefront, Size, CATEGORIES};
use maitre::embed::{Als, AlsModel, Factors};
use maitre::events::{Event, EventLog};
use maitre::index::{IndexKind, IndexParams};
use maitre::recommend::{BuildOptions, Filters, Recommender, Request};
use rand::{Rng, SeedableRng};

fn shop() -> (Recommender, maitre::datasets::Storefront) {
    let shop = synthetic_storefront(8, Size::Tiny).unwrap();
    (common::recommender(&shop.log, &shop.catalog), shop)
}

fn requests(shop: &maitre::datasets::Storefront, rec: &Recommender) -> Vec<Request> {
    let customers = rec.customers().unwrap().ids.names();
    let products: Vec<String> = shop
        .catalog
        .items()
        .iter()
        .filter(|i| i.id.starts_with("sku"))
        .map(|i| i.id.clone())
        .collect();
    (0..12)
        .map(|n| {
            let mut r = Request::new(10).context("device", ["mobile", "desktop"][n % 2]);
            if n % 3 != 0 {
                r = r.customer(customers[n * 7].clone());
            }
            for j in 0..n % 4 {
                r = r.event(products[(n * 13 + j * 5) % products.len()].clone(), "view");
            }
            r
        })
        .collect()
}

#[test]
fn full_flavour_round_trips_bit_identically() {
    let (rec, shop) = shop();
    let dir = std::env::temp_dir().join(format!("maitre-serving-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("full.maitre");
    rec.save(&path, Flavour::Full).unwrap();
    let loaded = Recommender::load(&path).unwrap();
    for r in requests(&shop, &rec) {
        let (a, b) = (rec.recommend(&r).unwrap(), loaded.recommend(&r).unwrap());
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.item, y.item);
            assert_eq!(x.score.to_bits(), y.score.to_bits());
            assert_eq!(x.reason, y.reason);
        }
    }
    let item = &shop.catalog.items()[3].id;
    assert_eq!(
        rec.customers_for_item(item, 5).unwrap(),
        loaded.customers_for_item(item, 5).unwrap()
    );
    assert_eq!(
        rec.similar_items(item, 5, &Filters::default()).unwrap(),
        loaded.similar_items(item, 5, &Filters::default()).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn storefront_flavour_has_no_customer_ids_and_agrees_within_quantisation() {
    let (rec, shop) = shop();
    let bytes = rec.to_bytes(Flavour::Storefront).unwrap();
    // Every raw customer id the log ever saw: accounts, anonymous ids, devices.
    for id in shop.log.raw_customers().names() {
        let found = bytes.windows(id.len()).any(|w| w == id.as_bytes());
        assert!(!found, "customer id {id} is in the storefront artifact");
    }
    let front = Recommender::from_bytes(&bytes).unwrap();
    assert!(front.customers().is_none());
    // Its full artifact (how it is copied: pickling) has no customers either.
    let full = front.to_bytes(Flavour::Full).unwrap();
    assert!(Recommender::from_bytes(&full)
        .unwrap()
        .customers()
        .is_none());
    for id in shop.log.raw_customers().names() {
        assert!(!full.windows(id.len()).any(|w| w == id.as_bytes()), "{id}");
    }
    let mut compared = 0;
    for r in requests(&shop, &rec) {
        if r.customer.is_some() || r.session.is_empty() {
            continue; // the storefront serves sessions
        }
        let (a, b) = (rec.recommend(&r).unwrap(), front.recommend(&r).unwrap());
        let ids = |l: &[maitre::recommend::Recommendation]| {
            l.iter()
                .map(|x| x.item.clone())
                .collect::<std::collections::HashSet<_>>()
        };
        let overlap = ids(&a).intersection(&ids(&b)).count();
        assert!(overlap >= 8, "{overlap} of 10 shared");
        for x in &a {
            if let Some(y) = b.iter().find(|y| y.item == x.item) {
                assert!(
                    (x.score - y.score).abs() <= 0.02 * x.score.abs().max(0.1),
                    "{x:?} vs {y:?}"
                );
            }
        }
        compared += 1;
    }
    assert!(compared >= 3);
}

#[test]
fn every_damaged_file_is_a_typed_error() {
    let (rec, _) = shop();
    let bytes = rec.to_bytes(Flavour::Full).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for trial in 0..300 {
        let mut damaged = bytes.clone();
        let flips = 1 + trial % 4;
        for _ in 0..flips {
            let at = rng.random_range(0..damaged.len());
            damaged[at] ^= 1 << rng.random_range(0..8);
        }
        assert!(Recommender::from_bytes(&damaged).is_err(), "trial {trial}");
    }
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(Recommender::from_bytes(&bytes[..cut]).is_err());
    }
}

/// The size budget: 20,000 items at 64 dimensions, with attributes.
#[test]
fn a_20000_item_storefront_artifact_is_under_1_6_mb() {
    let mut log = EventLog::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let items: Vec<Item> = (0..20_000)
        .map(|i| {
            let cat = CATEGORIES[i % CATEGORIES.len()];
            Item::new(format!("sku-{i:06}"))
                .category(cat)
                .brand(format!("{cat}-brand-{}", i % 6))
                .price_band(["low", "mid", "high"][i % 3])
                .price((rng.random::<f32>() * 300.0 * 100.0).round() / 100.0)
        })
        .collect();
    for c in 0..50 {
        let event = Event::new(
            format!("c{c}"),
            format!("sku-{:06}", c * 17),
            "view",
            c as i64,
        )
        .context("device", "mobile");
        log.push(&event).unwrap();
    }
    let catalog = Catalog::aligned(&mut log, items).unwrap();
    let k = 64;
    let random = |rows: usize, rng: &mut rand_chacha::ChaCha8Rng| {
        Factors::from_vec(
            rows,
            k,
            (0..rows * k).map(|_| rng.random::<f32>() - 0.5).collect(),
        )
        .unwrap()
    };
    let users = random(log.identities().len(), &mut rng);
    let vectors = random(20_000, &mut rng);
    let model = AlsModel::from_parts(users, vectors, Als::params().factors(k)).unwrap();
    // The index is rebuilt on load, not stored: exact keeps this test quick.
    let options = BuildOptions {
        index: IndexParams::default().kind(IndexKind::Exact),
        ..BuildOptions::default()
    };
    let rec = Recommender::build(&log, &catalog, model, &options).unwrap();
    let bytes = rec.to_bytes(Flavour::Storefront).unwrap();
    println!("20,000-item storefront artifact: {} bytes", bytes.len());
    assert!(bytes.len() < 1_600_000, "{} bytes", bytes.len());
}
