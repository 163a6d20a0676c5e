//! Hostile input, class by class (issue 12): every size, count, `k` and
//! thread number from a caller is checked against what it can mean before
//! anything is allocated or spawned, and every model object survives a copy
//! through bytes. Each test is a class, not the one case that was reported.

use crate::artifact::Flavour;
use crate::catalog::Catalog;
use crate::datasets::{synthetic_storefront, Size, MAX_CUSTOMERS};
use crate::embed::{Als, AlsModel, MAX_THREADS};
use crate::eval::{evaluate_cold_start, ColdStartConfig, EvalConfig, MAX_DRAWS};
use crate::events::{EventLog, MAX_TIMESTAMP, MIN_TIMESTAMP};
use crate::interactions::{InteractionConfig, Interactions};
use crate::recommend::{BuildOptions, Filters, Recommender, Request, MAX_BATCH_CELLS};
use crate::Error;

fn invalid(err: Error, name: &str) {
    match err {
        Error::InvalidParam { name: got, .. } => assert_eq!(got, name),
        other => panic!("expected InvalidParam({name}), got {other:?}"),
    }
}

fn tiny() -> (crate::datasets::Storefront, AlsModel) {
    let shop = synthetic_storefront(3, Size::Tiny).unwrap();
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default()).unwrap();
    let model = Als::params().factors(8).iterations(2).fit(&matrix).unwrap();
    (shop, model)
}

#[test]
fn thread_counts_are_capped_before_any_thread_is_spawned() {
    for n in [0, MAX_THREADS + 1, usize::MAX] {
        invalid(Als::params().threads(n).validate().unwrap_err(), "threads");
    }
    assert!(Als::params().threads(MAX_THREADS).validate().is_ok());
}

#[test]
fn sizes_and_counts_are_checked_before_allocating() {
    for text in ["0", "-1", "1000001", "18446744073709551615", "1e9", "x"] {
        invalid(text.parse::<Size>().unwrap_err(), "size");
    }
    assert_eq!(
        MAX_CUSTOMERS.to_string().parse::<Size>().unwrap(),
        Size::Customers(MAX_CUSTOMERS)
    );
    for n in [0, MAX_CUSTOMERS + 1, usize::MAX] {
        invalid(
            synthetic_storefront(1, Size::Customers(n)).unwrap_err(),
            "size",
        );
    }
    let (shop, _) = tiny();
    let (mut log, items) = (shop.log.clone(), shop.catalog.items().to_vec());
    let catalog = Catalog::aligned(&mut log, items).unwrap();
    let config = EvalConfig::default();
    for draws in [0, MAX_DRAWS + 1, 1_000_000_000, usize::MAX] {
        let cold = ColdStartConfig {
            draws,
            ..ColdStartConfig::default()
        };
        let err = evaluate_cold_start(&log, &catalog, &config, &cold).unwrap_err();
        invalid(err, "draws");
    }
    // A threshold above every value leaves nothing to hold out: an error, not
    // a slice out of range.
    for min_value in [1e12, f64::MAX] {
        let config = EvalConfig::default().min_value(min_value);
        let cold = ColdStartConfig {
            draws: 1,
            ..ColdStartConfig::default()
        };
        let err = evaluate_cold_start(&log, &catalog, &config, &cold).unwrap_err();
        assert!(matches!(err, Error::NotEnoughData(_)), "{err:?}");
    }
}

#[test]
fn a_huge_k_is_capped_at_the_catalogue_everywhere() {
    let (shop, model) = tiny();
    let rec =
        Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default()).unwrap();
    let items = rec.catalog().len();
    let customer = shop.log.raw_customers().name(0).unwrap().to_owned();
    let item = shop.log.items().name(0).unwrap().to_owned();
    for k in [items + 1, 1 << 40, usize::MAX] {
        let mut request = Request::new(k).customer(customer.clone());
        request.filters.exclude_seen = false;
        assert!(rec.recommend(&request).unwrap().len() <= items);
        let batch = rec.recommend_batch(&[request.clone(), request]);
        assert!(batch.into_iter().all(|r| r.unwrap().len() <= items));
        assert!(
            rec.similar_items(&item, k, &Filters::default())
                .unwrap()
                .len()
                < items
        );
        assert!(rec.customers_for_item(&item, k).unwrap().len() <= shop.log.raw_customers().len());
        assert_eq!(rec.batch_width(k, 3).unwrap(), items);
    }
    // The table a binding lays out: width is capped, and a table too big for
    // memory is a typed error before anything is allocated.
    assert_eq!(rec.batch_width(0, 5).unwrap(), 0);
    invalid(rec.batch_width(items, MAX_BATCH_CELLS).unwrap_err(), "k");
    invalid(rec.batch_width(usize::MAX, usize::MAX).unwrap_err(), "k");
    // Extreme times: outside the accepted range `now` is a typed error;
    // inside it, no overflow in the purchase window.
    for (now, ok) in [
        (i64::MIN, false),
        (i64::MAX, false),
        (MIN_TIMESTAMP, true),
        (MAX_TIMESTAMP, true),
    ] {
        let mut request = Request::new(5).customer(customer.clone());
        request.now = Some(now);
        request.filters.exclude_purchased_within = Some(i64::MAX);
        match ok {
            true => assert!(rec.recommend(&request).is_ok(), "{now}"),
            false => invalid(rec.recommend(&request).unwrap_err(), "now"),
        }
    }
}

#[test]
fn every_model_object_copies_through_bytes() {
    let (mut shop, model) = tiny();
    shop.log.link("anon-1", "c0000001", 1_714_564_800).unwrap();
    let log = EventLog::from_bytes(&shop.log.to_bytes().unwrap()).unwrap();
    assert_eq!(log.len(), shop.log.len());
    assert_eq!(log.summary(), shop.log.summary());
    assert_eq!(log.links(), shop.log.links());
    assert!((0..log.len()).all(|i| log.event(i) == shop.log.event(i)));
    assert_eq!(
        EventLog::from_bytes(&EventLog::new().to_bytes().unwrap())
            .unwrap()
            .len(),
        0
    );

    let copy = AlsModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(copy, model);

    // A recommender loaded from a storefront artifact (no customers) copies
    // through the full flavour, exactly.
    let rec =
        Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default()).unwrap();
    let storefront = Recommender::from_bytes(&rec.to_bytes(Flavour::Storefront).unwrap()).unwrap();
    assert!(!storefront.has_customers());
    let copy = Recommender::from_bytes(&storefront.to_bytes(Flavour::Full).unwrap()).unwrap();
    assert!(!copy.has_customers());
    let item = shop.log.items().name(3).unwrap().to_owned();
    let request = Request::new(10).event(item.clone(), "view");
    assert_eq!(
        storefront.recommend(&request).unwrap(),
        copy.recommend(&request).unwrap()
    );

    // Damaged or foreign bytes are typed errors, never a panic.
    let bytes = shop.log.to_bytes().unwrap();
    for cut in [0, 8, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(
            EventLog::from_bytes(&bytes[..cut]),
            Err(Error::Artifact { .. })
        ));
    }
    let rec_bytes = rec.to_bytes(Flavour::Full).unwrap();
    assert!(matches!(
        EventLog::from_bytes(&rec_bytes),
        Err(Error::Artifact { .. })
    ));
    assert!(matches!(
        AlsModel::from_bytes(&rec_bytes),
        Err(Error::Artifact { .. })
    ));
    assert!(matches!(
        AlsModel::from_bytes(b"junk"),
        Err(Error::Artifact { .. })
    ));
}
