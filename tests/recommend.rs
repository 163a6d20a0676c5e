//! The serving rules hold for any request: no returned item breaks a filter,
//! personalised results are sorted, a list is never short while eligible items
//! remain, and rotation pushes ignored items down.

mod common;

use maitre::catalog::{Catalog, Item, ItemKind};
use maitre::datasets::{synthetic_storefront, Size};
use maitre::events::EventLog;
use maitre::recommend::{
    Diversity, Field, Filters, Predicate, Reason, Recommender, Request, Rotation, ServeSettings,
    CONSUMED_KINDS,
};
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::LazyLock;

const CATEGORIES: [&str; 4] = ["fashion", "electronics", "garden", "books"];

/// A tiny storefront with every fifth product out of stock.
static SHOP: LazyLock<(Recommender, Vec<Item>, EventLog)> = LazyLock::new(build);

/// The same recommender, serving known customers by their history with a
/// one-hour half-life.
static SHOP_RECENT: LazyLock<Recommender> = LazyLock::new(|| {
    let (_, items, log) = build();
    let mut log = log;
    let catalog = Catalog::aligned(&mut log, items).unwrap();
    let mut rec = common::recommender(&log, &catalog);
    rec.set_settings(ServeSettings {
        history_half_life: Some(3600.0),
        ..ServeSettings::default()
    })
    .unwrap();
    rec
});

fn build() -> (Recommender, Vec<Item>, EventLog) {
    let shop = synthetic_storefront(21, Size::Tiny).unwrap();
    let mut log = shop.log.clone();
    let items: Vec<Item> = shop
        .catalog
        .items()
        .iter()
        .enumerate()
        .map(|(i, it)| it.clone().in_stock(i % 5 != 0))
        .collect();
    let catalog = Catalog::aligned(&mut log, items.clone()).unwrap();
    (common::recommender(&log, &catalog), items, log)
}

fn customer_ids() -> Vec<String> {
    let rec = &SHOP.0;
    rec.customers().unwrap().ids.names()[..40].to_vec()
}

prop_compose! {
    fn requests()(
        customer in proptest::option::of(0usize..40),
        session in proptest::collection::vec((0usize..150, prop::sample::select(vec!["view", "cart", "purchase", "return"])), 0..5),
        k in 1usize..40,
        kinds in prop::sample::subsequence(vec![ItemKind::Product, ItemKind::Content, ItemKind::Offer], 1..=3),
        categories in prop::sample::subsequence(CATEGORIES.to_vec(), 0..=2),
        price in proptest::option::of((0f32..100.0, 0f32..300.0)),
        in_stock_only in any::<bool>(),
        exclude_seen in any::<bool>(),
        exclude_consumed in any::<bool>(),
        relevance in prop::sample::select(vec![1.0f32, 0.7, 0.3]),
        cap in proptest::option::of(1usize..4),
        device in prop::sample::select(vec!["mobile", "desktop", "tablet"]),
        band in proptest::option::of(prop::sample::select(vec!["low", "mid", "high"])),
    ) -> Request {
        let items = &SHOP.1;
        let mut r = Request::new(k).context("device", device);
        r.customer = customer.map(|c| customer_ids()[c].clone());
        for (i, kind) in session {
            let item = &items[i % items.len()];
            r = r.event(item.id.clone(), kind);
        }
        r.filters = Filters {
            kinds,
            in_stock_only,
            exclude_seen,
            exclude_consumed,
            categories: categories.into_iter().map(String::from).collect(),
            min_price: price.map(|p| p.0.min(p.1)),
            max_price: price.map(|p| p.0.max(p.1)),
            predicates: band.map(|b| Predicate::none_of(Field::PriceBand, [b])).into_iter().collect(),
            ..Filters::default()
        };
        r.diversity = Diversity { relevance, max_per_category: cap };
        r
    }
}

/// The items a request allows, computed independently of the recommender.
fn eligible(request: &Request) -> Vec<String> {
    let rec = &SHOP.0;
    // From the log itself, not the recommender's history: what the customer
    // interacted with, and what they had (an event of a consumed kind).
    let had_kind = |k: &str| CONSUMED_KINDS.contains(&k);
    let mut seen: HashSet<String> = request.session.iter().map(|e| e.item.clone()).collect();
    let mut had: HashSet<String> = request
        .session
        .iter()
        .filter(|e| had_kind(&e.kind))
        .map(|e| e.item.clone())
        .collect();
    if let Some(c) = &request.customer {
        let log = &SHOP.2;
        let row = rec.customers().unwrap().aliases[c];
        let kinds = log.kinds();
        for e in 0..log.len() {
            if log.identities().customer_of(log.customer_column()[e]) == row {
                let item = log.items().name(log.item_column()[e]).unwrap().to_owned();
                if had_kind(&kinds.specs()[log.kind_column()[e] as usize].name) {
                    had.insert(item.clone());
                }
                seen.insert(item);
            }
        }
    }
    rec.catalog()
        .items()
        .iter()
        .filter(|it| admits(&request.filters, it))
        .filter(|it| !(request.filters.exclude_seen && seen.contains(&it.id)))
        .filter(|it| !(request.filters.exclude_consumed && had.contains(&it.id)))
        .map(|it| it.id.clone())
        .collect()
}

/// The filters spelled out again, independently of `Filters::admits`.
fn admits(f: &Filters, it: &Item) -> bool {
    let band_ok = f.predicates.iter().all(|p| {
        assert_eq!(p.field, Field::PriceBand);
        it.price_band.as_ref().is_none_or(|b| !p.values.contains(b))
    });
    let price_ok = match (f.min_price, f.max_price) {
        (Some(lo), Some(hi)) => it.price.is_some_and(|p| lo <= p && p <= hi),
        _ => true,
    };
    f.kinds.contains(&it.kind)
        && (it.in_stock || !f.in_stock_only)
        && (f.categories.is_empty() || f.categories.iter().any(|c| it.category.as_ref() == Some(c)))
        && price_ok
        && band_ok
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rules_hold_for_any_request(request in requests(), by_recency in any::<bool>()) {
        let rec = if by_recency { &*SHOP_RECENT } else { &SHOP.0 };
        let list = rec.recommend(&request).unwrap();
        let allowed = eligible(&request);
        // Never a filtered item, never a duplicate.
        let ids: Vec<&str> = list.iter().map(|r| r.item.as_str()).collect();
        prop_assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        for id in &ids {
            prop_assert!(allowed.iter().any(|a| a == id), "{} is not allowed", id);
        }
        // Exactly k whenever k eligible items exist; a category cap binds the
        // whole list (fallbacks included), so it can only shorten it to what
        // the cap leaves.
        let category = |id: &str| rec.catalog().items()[rec.item_index(id).unwrap() as usize].category.clone();
        let capacity = match request.diversity.max_per_category {
            None => allowed.len(),
            Some(cap) => {
                let mut per = std::collections::HashMap::new();
                for id in &allowed {
                    *per.entry(category(id)).or_insert(0usize) += 1;
                }
                per.values().map(|&n| n.min(cap)).sum()
            }
        };
        prop_assert_eq!(list.len(), request.k.min(capacity));
        // Personalised items come first and, without diversity, in score order.
        let personal: Vec<_> = list
            .iter()
            .take_while(|r| matches!(r.reason, Reason::Because { .. } | Reason::Taste))
            .collect();
        let filled = |r: &&maitre::recommend::Recommendation| {
            matches!(r.reason, Reason::PopularInContext { .. } | Reason::Popular)
        };
        prop_assert!(list[personal.len()..].iter().all(|r| filled(&r)), "{:?}", list);
        if request.diversity.relevance == 1.0 && request.diversity.max_per_category.is_none() {
            prop_assert!(personal.windows(2).all(|w| w[0].score >= w[1].score));
        }
        if let Some(cap) = request.diversity.max_per_category {
            let mut counts = std::collections::HashMap::new();
            for r in &list {
                let c = rec.catalog().items()[r.index as usize].category.clone();
                *counts.entry(c).or_insert(0usize) += 1;
            }
            prop_assert!(counts.values().all(|&n| n <= cap), "{:?}", counts);
        }
    }
}

#[test]
fn rotation_pushes_ignored_items_down() {
    let rec = &SHOP.0;
    let customer = customer_ids()[3].clone();
    let plain = rec
        .recommend(&Request::new(10).customer(&customer))
        .unwrap();
    let mut memory = Rotation::new(0.5);
    memory.shown(plain.iter().take(3).map(|r| r.item.clone()));
    let rotated = rec
        .recommend(&Request::new(10).customer(&customer).rotation(memory))
        .unwrap();
    let position = |list: &[maitre::recommend::Recommendation], id: &str| {
        list.iter().position(|r| r.item == id).unwrap_or(usize::MAX)
    };
    for r in plain.iter().take(3) {
        assert!(
            position(&rotated, &r.item) > position(&plain, &r.item),
            "{}",
            r.item
        );
    }
}

#[test]
fn pins_come_first_and_explanations_name_session_items() {
    let rec = &SHOP.0;
    let items = &SHOP.1;
    let product = |n: usize| {
        items
            .iter()
            .filter(|i| i.kind == ItemKind::Product && i.in_stock)
            .nth(n)
            .unwrap()
            .id
            .clone()
    };
    let request = Request::new(5)
        .event(product(0), "view")
        .event(product(1), "cart")
        .pin(product(7));
    let list = rec.recommend(&request).unwrap();
    assert_eq!(list[0].item, product(7));
    assert_eq!(list[0].reason, Reason::Pinned);
    let named: HashSet<String> = [product(0), product(1)].into();
    for r in &list[1..] {
        if let Reason::Because { items } = &r.reason {
            assert!(items.iter().all(|i| named.contains(i)), "{items:?}");
        }
    }
}

#[test]
fn a_visitor_with_nothing_known_gets_popular_items_in_context() {
    let rec = &SHOP.0;
    let list = rec
        .recommend(&Request::new(10).context("device", "mobile"))
        .unwrap();
    assert_eq!(list.len(), 10);
    assert!(list.iter().all(|r| r.reason
        == Reason::PopularInContext {
            context: "device=mobile".into()
        }));
}

#[test]
fn bad_requests_are_typed_errors() {
    let rec = &SHOP.0;
    let id = SHOP.1[1].id.clone();
    for bad in [
        Request::new(5).event("no-such-item", "view"),
        Request::new(5).event(id.clone(), "teleport"),
        Request::new(5).filters(Filters {
            min_price: Some(10.0),
            max_price: Some(1.0),
            ..Filters::default()
        }),
        Request::new(5).filters(Filters {
            exclude_purchased_within: Some(3600),
            ..Filters::default()
        }),
        Request::new(5).diversity(Diversity {
            relevance: 1.5,
            max_per_category: None,
        }),
        Request::new(5).rotation(Rotation::new(f32::NAN)),
    ] {
        assert!(rec.recommend(&bad).is_err(), "{bad:?}");
    }
    assert!(rec.similar_items("nope", 5, &Filters::default()).is_err());
}

#[test]
fn similar_customers_rerank_and_new_items() {
    let (mut rec, items, _) = build();
    let anchor = items
        .iter()
        .find(|i| i.kind == ItemKind::Product)
        .unwrap()
        .id
        .clone();
    let similar = rec.similar_items(&anchor, 5, &Filters::default()).unwrap();
    assert_eq!(similar.len(), 5);
    assert!(similar.iter().all(|r| r.item != anchor));
    let who = rec.customers_for_item(&anchor, 7).unwrap();
    assert_eq!(who.len(), 7);
    assert!(who.windows(2).all(|w| w[0].1 >= w[1].1));

    let candidates: Vec<String> = items.iter().take(12).map(|i| i.id.clone()).collect();
    let reranked = rec
        .rerank(
            &Request::new(0).customer(customer_ids()[0].clone()),
            &candidates,
        )
        .unwrap();
    assert_eq!(reranked.len(), 12);
    assert!(reranked.windows(2).all(|w| w[0].score >= w[1].score));

    // A new item placed from its attributes alone can be recommended at once.
    let new = Item::new("brand-new")
        .category("fashion")
        .price_band("mid")
        .price(40.0);
    let row = rec.add_item(new, None).unwrap();
    assert_eq!(rec.item_vectors().rows(), row as usize + 1);
    let only_new = Request::new(3).event(anchor, "view").filters(Filters {
        predicates: vec![Predicate::any_of(Field::Category, ["fashion"])],
        ..Filters::default()
    });
    let list = rec.recommend(&only_new).unwrap();
    assert_eq!(list.len(), 3);
    assert!(rec.add_item(Item::new("brand-new"), None).is_err());
}

#[test]
fn a_huge_k_returns_the_whole_eligible_catalogue() {
    let rec = &SHOP.0;
    let mut request = Request::new(usize::MAX).event(SHOP.1[0].id.clone(), "view");
    request.filters.kinds = vec![ItemKind::Offer];
    let list = rec.recommend(&request).unwrap();
    let offers = SHOP
        .1
        .iter()
        .filter(|i| i.kind == ItemKind::Offer && i.in_stock)
        .count();
    assert_eq!(list.len(), offers);
}

#[test]
fn reasons_cite_only_products_and_content() {
    // Customers of the synthetic storefront view and click e-mailed offers; an
    // offer is never the "because" of a recommendation.
    let (rec, items, _) = &*SHOP;
    let taste: HashSet<&str> = items
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Product | ItemKind::Content))
        .map(|i| i.id.as_str())
        .collect();
    let mut cited = 0;
    for customer in customer_ids().iter().take(200) {
        for r in rec
            .recommend(&Request::new(10).customer(customer.clone()))
            .unwrap()
        {
            if let Reason::Because { items } = &r.reason {
                cited += items.len();
                assert!(
                    items.iter().all(|i| taste.contains(i.as_str())),
                    "{items:?}"
                );
            }
        }
    }
    assert!(cited > 100, "only {cited} items cited");
}

/// New arrivals in the catalogue (items without events, past the model's
/// rows) are placed by the attribute map at build time: the same vectors as
/// one `add_item` each, recommendable at once. Without an attribute map, or
/// when such an item has events, the build is refused and says why.
#[test]
fn build_places_catalogue_items_that_have_no_events() {
    use maitre::embed::Als;
    use maitre::interactions::{InteractionConfig, Interactions};
    use maitre::recommend::BuildOptions;
    let shop = synthetic_storefront(21, Size::Tiny).unwrap();
    let mut log = shop.log.clone();
    let matrix = Interactions::build(&log, &InteractionConfig::default()).unwrap();
    let model = Als::params().factors(8).iterations(3).fit(&matrix).unwrap();
    let fitted = model.items.rows();
    let arrivals: Vec<Item> = (0..3)
        .map(|i| {
            Item::new(format!("arrival-{i}"))
                .category("new-in")
                .brand(CATEGORIES[i])
                .price(20.0 + i as f32)
        })
        .collect();
    let mut items = shop.catalog.items().to_vec();
    items.extend(arrivals.iter().cloned());
    let with_attributes = BuildOptions {
        attributes: Some(Default::default()),
        ..BuildOptions::default()
    };

    let mut bare = log.clone();
    let catalog = Catalog::aligned(&mut bare, items.clone()).unwrap();
    let err = Recommender::build(&bare, &catalog, model.clone(), &BuildOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("3 of its") && err.contains("attributes"),
        "{err}"
    );

    let catalog = Catalog::aligned(&mut log, items).unwrap();
    let rec = Recommender::build(&log, &catalog, model.clone(), &with_attributes).unwrap();
    assert_eq!(rec.item_vectors().rows(), fitted + 3);

    let base = Catalog::aligned(&mut shop.log.clone(), shop.catalog.items().to_vec()).unwrap();
    let mut one_by_one =
        Recommender::build(&shop.log, &base, model.clone(), &with_attributes).unwrap();
    for (i, item) in arrivals.iter().enumerate() {
        let row = one_by_one.add_item(item.clone(), None).unwrap() as usize;
        assert_eq!(row, fitted + i);
        assert_eq!(
            one_by_one.item_vectors().row(row as u32),
            rec.item_vectors().row(row as u32)
        );
    }
    let only_arrivals = Request::new(5).filters(Filters {
        predicates: vec![Predicate::any_of(Field::Category, ["new-in"])],
        ..Filters::default()
    });
    let listed: HashSet<String> = rec
        .recommend(&only_arrivals)
        .unwrap()
        .into_iter()
        .map(|r| r.item)
        .collect();
    let expected: HashSet<String> = arrivals.iter().map(|a| a.id.clone()).collect();
    assert_eq!(listed, expected);

    // An event on an arrival: this log is not the one the model was fitted on.
    log.push(&maitre::events::Event::new(
        "c-late",
        "arrival-0",
        "view",
        1_714_564_800,
    ))
    .unwrap();
    let err = Recommender::build(&log, &catalog, model, &with_attributes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("have events"), "{err}");
}

/// A candidate set (`only_items`) is ranked by the request: nothing else
/// appears, not even in the fallbacks that fill a short list, and ids the
/// catalogue does not know are ignored.
#[test]
fn only_items_ranks_a_candidate_set() {
    let rec = &SHOP.0;
    let customer = customer_ids()[3].clone();
    let everything = rec
        .recommend(&Request::new(40).customer(customer.clone()))
        .unwrap();
    let mut candidates: Vec<String> = everything
        .iter()
        .rev()
        .take(6)
        .map(|r| r.item.clone())
        .collect();
    candidates.push("no-such-item".into());
    let request = Request::new(10).customer(customer).filters(Filters {
        only_items: candidates.clone(),
        ..Filters::default()
    });
    let listed = rec.recommend(&request).unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed.iter().all(|r| candidates.contains(&r.item)));
    // In the order the full list ranked them.
    let order: Vec<&str> = everything
        .iter()
        .map(|r| r.item.as_str())
        .filter(|i| candidates.iter().any(|c| c == i))
        .collect();
    let got: Vec<&str> = listed.iter().map(|r| r.item.as_str()).collect();
    assert_eq!(got, order);
}

/// The exploration slot: with it, a list that holds no new arrival gives its
/// last place to the best eligible one, saying so; without it, nothing
/// changes; a filter that rules the arrivals out keeps them out. The norm
/// calibration lengthens the arrivals' vectors, and both survive an artifact
/// round trip.
#[test]
fn new_arrival_slot_and_calibration() {
    use maitre::artifact::Flavour;
    use maitre::embed::Als;
    use maitre::interactions::{InteractionConfig, Interactions};
    use maitre::recommend::BuildOptions;
    let shop = synthetic_storefront(21, Size::Tiny).unwrap();
    let mut log = shop.log.clone();
    let matrix = Interactions::build(&log, &InteractionConfig::default()).unwrap();
    let model = Als::params().factors(8).iterations(3).fit(&matrix).unwrap();
    let fitted = model.items.rows() as u32;
    let base = &shop.catalog.items()[0];
    // Arrivals that look like an existing product (its category, band, brand).
    let arrivals: Vec<Item> = (0..3)
        .map(|i| {
            let mut item = base.clone();
            item.id = format!("arrival-{i}");
            item
        })
        .collect();
    let mut items = shop.catalog.items().to_vec();
    items.extend(arrivals.iter().cloned());
    let catalog = Catalog::aligned(&mut log, items).unwrap();
    let options = |calibrate| BuildOptions {
        attributes: Some(Default::default()),
        calibrate_new_items: calibrate,
        ..BuildOptions::default()
    };
    let rec = Recommender::build(&log, &catalog, model.clone(), &options(None)).unwrap();
    let calibrated =
        Recommender::build(&log, &catalog, model.clone(), &options(Some(1.0))).unwrap();
    assert!((fitted..fitted + 3).all(|i| rec.is_new_arrival(i) && !rec.is_new_arrival(i - 3)));
    let norm = |r: &Recommender, i: u32| {
        let v = r.item_vectors().row(i);
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    };
    for i in fitted..fitted + 3 {
        assert!(norm(&calibrated, i) > norm(&rec, i), "row {i}");
    }
    let customer = shop.log.raw_customers().names()[0].clone();
    let plain = Request::new(10).customer(customer.as_str());
    let organic = rec.recommend(&plain).unwrap();
    let slotted = rec
        .recommend(&plain.clone().new_arrival_slot(true))
        .unwrap();
    assert_eq!(slotted.len(), 10);
    let last = slotted.last().unwrap();
    assert_eq!(last.reason, Reason::NewArrival);
    assert!(rec.is_new_arrival(last.index));
    if organic.iter().all(|r| !rec.is_new_arrival(r.index)) {
        assert_eq!(organic[..9], slotted[..9]);
    }
    assert!(organic.iter().all(|r| r.reason != Reason::NewArrival));
    // Ineligible arrivals never show, slot or not.
    let keep_out = plain.clone().new_arrival_slot(true).filters(Filters {
        exclude_items: arrivals.iter().map(|a| a.id.clone()).collect(),
        ..Filters::default()
    });
    let list = rec.recommend(&keep_out).unwrap();
    assert_eq!(list.len(), 10);
    assert!(list.iter().all(|r| !rec.is_new_arrival(r.index)));
    // An arrival added later is a candidate too.
    let mut added = Recommender::build(&log, &catalog, model.clone(), &options(Some(1.0))).unwrap();
    let mut late = base.clone();
    late.id = "arrival-late".into();
    let row = added.add_item(late, None).unwrap();
    assert!(added.is_new_arrival(row));
    // Saved and loaded: the same lists, slot included.
    let loaded = Recommender::from_bytes(&added.to_bytes(Flavour::Full).unwrap()).unwrap();
    let request = plain.new_arrival_slot(true);
    assert_eq!(
        loaded.recommend(&request).unwrap(),
        added.recommend(&request).unwrap()
    );
    assert!(loaded.is_new_arrival(row));
    // Calibration without an attribute map is refused.
    let err = Recommender::build(
        &log,
        &catalog,
        model,
        &BuildOptions {
            calibrate_new_items: Some(1.0),
            ..BuildOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("calibrate_new_items"), "{err}");
}

/// The default list leaves out what a customer had (here: bought) and keeps
/// what they only viewed; a repeat-purchase item comes back once its cycle
/// has passed; the rule survives the saved artifact.
#[test]
fn viewed_items_stay_and_bought_items_go_until_their_cycle() {
    let (rec, items, log) = &*SHOP;
    let kinds = log.kinds();
    let kind_of = |e: usize| kinds.specs()[log.kind_column()[e] as usize].name.as_str();
    let eligible =
        |i: u32| items[i as usize].in_stock && items[i as usize].kind == ItemKind::Product;
    // A customer with an in-stock product they only viewed and one they bought.
    let found = rec
        .customers()
        .unwrap()
        .ids
        .names()
        .iter()
        .enumerate()
        .find_map(|(row, name)| {
            let events: Vec<usize> = (0..log.len())
                .filter(|&e| log.identities().customer_of(log.customer_column()[e]) as usize == row)
                .collect();
            let of = |item: u32| {
                events
                    .iter()
                    .copied()
                    .filter(move |&e| log.item_column()[e] == item)
            };
            let viewed = events
                .iter()
                .map(|&e| log.item_column()[e])
                .find(|&i| eligible(i) && of(i).all(|e| kind_of(e) == "view"))?;
            let (bought, at) = events
                .iter()
                .filter(|&&e| kind_of(e) == "purchase" && eligible(log.item_column()[e]))
                .map(|&e| (log.item_column()[e], log.timestamp_column()[e]))
                .next()?;
            let last = of(bought)
                .filter(|&e| kind_of(e) == "purchase")
                .map(|e| log.timestamp_column()[e])
                .max()?;
            let only_purchases =
                of(bought).all(|e| matches!(kind_of(e), "purchase" | "view" | "click" | "cart"));
            only_purchases.then(|| {
                (
                    name.clone(),
                    items[viewed as usize].id.clone(),
                    items[bought as usize].id.clone(),
                    at.max(last),
                )
            })
        });
    let (customer, viewed, bought, at) = found.expect("the tiny shop has such a customer");
    let ids = |rec: &Recommender, filters: Filters, now: Option<i64>| -> Vec<String> {
        let mut r = Request::new(10_000).customer(customer.as_str());
        r.filters = filters;
        r.now = now;
        rec.recommend(&r)
            .unwrap()
            .into_iter()
            .map(|x| x.item)
            .collect()
    };
    let default = ids(rec, Filters::default(), None);
    assert!(default.contains(&viewed), "a viewed item stays eligible");
    assert!(!default.contains(&bought), "a bought item is left out");
    let strict = ids(
        rec,
        Filters {
            exclude_seen: true,
            ..Filters::default()
        },
        None,
    );
    assert!(!strict.contains(&viewed) && !strict.contains(&bought));
    let cycle = |now| {
        let f = Filters {
            exclude_consumed: false,
            exclude_purchased_within: Some(3600),
            ..Filters::default()
        };
        ids(rec, f, Some(now)).contains(&bought)
    };
    assert!(!cycle(at + 60), "within its cycle a bought item stays out");
    assert!(cycle(at + 7200), "after its cycle it comes back");
    let reloaded =
        Recommender::from_bytes(&rec.to_bytes(maitre::artifact::Flavour::Full).unwrap()).unwrap();
    assert_eq!(ids(&reloaded, Filters::default(), None), default);
}

#[test]
fn the_history_half_life_weighs_what_came_last() {
    let (plain, _, log) = &*SHOP;
    let recent = &*SHOP_RECENT;
    // The model `common::recommender` serves (ALS is deterministic).
    let model = common::model(log);
    let kinds = log.kinds();
    let half_life = 3600.0f64;
    let (mut checked, mut cited_items) = (0, 0);
    for (row, name) in plain
        .customers()
        .unwrap()
        .ids
        .names()
        .iter()
        .enumerate()
        .take(30)
    {
        // Each item's summed weight and last time, from the log itself.
        let mut items: std::collections::BTreeMap<u32, (f32, i64)> = Default::default();
        for e in 0..log.len() {
            if log.identities().customer_of(log.customer_column()[e]) as usize == row {
                let entry = items.entry(log.item_column()[e]).or_insert((0.0, i64::MIN));
                let spec = &kinds.specs()[log.kind_column()[e] as usize];
                let value = log.value_column()[e];
                entry.0 += match spec.scale_by_value && !value.is_nan() {
                    true => spec.weight * value,
                    false => spec.weight,
                };
                entry.1 = entry.1.max(log.timestamp_column()[e]);
            }
        }
        let latest = items.values().map(|v| v.1).max().unwrap();
        let (ids, weights): (Vec<u32>, Vec<f32>) = items
            .iter()
            .map(|(&i, &(w, t))| {
                let age = (latest - t) as f64;
                (
                    i,
                    w * (-std::f64::consts::LN_2 / half_life * age).exp() as f32,
                )
            })
            .unzip();
        let expected = model.fold_in(&ids, &weights).unwrap();
        let request = Request::new(5).customer(name.as_str());
        let got = recent.query_vector(&request).unwrap().unwrap();
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                (g - e).abs() <= 1e-5 * (1.0 + e.abs()),
                "{name}: {got:?} vs {expected:?}"
            );
        }
        // Without a half-life, the taste vector ALS learnt.
        assert_eq!(
            plain.query_vector(&request).unwrap().unwrap(),
            model.users.row(row as u32)
        );
        // Reasons name what came last: anything 150 half-lives older than the
        // latest event weighs 0 in f32 and cannot pull.
        for r in recent.recommend(&request).unwrap() {
            if let Reason::Because { items: cited } = r.reason {
                for id in cited {
                    cited_items += 1;
                    let t = items[&recent.item_index(&id).unwrap()].1;
                    assert!(
                        latest - t <= 150 * 3600,
                        "{name}: {id} is {} s old",
                        latest - t
                    );
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 30);
    assert!(cited_items > 0, "some reasons cite history items");
}

#[test]
fn the_history_half_life_is_checked_saved_and_optional_in_old_artifacts() {
    use maitre::artifact::{Artifact, ArtifactWriter, Flavour};
    let mut rec = Recommender::from_bytes(&SHOP_RECENT.to_bytes(Flavour::Full).unwrap()).unwrap();
    assert_eq!(rec.settings().history_half_life, Some(3600.0));
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let settings = ServeSettings {
            history_half_life: Some(bad),
            ..ServeSettings::default()
        };
        assert!(matches!(
            rec.set_settings(settings),
            Err(maitre::Error::InvalidParam { .. })
        ));
        assert_eq!(
            rec.settings().history_half_life,
            Some(3600.0),
            "nothing changed"
        );
    }
    let customer = rec.customers().unwrap().ids.names()[3].clone();
    let request = Request::new(10).customer(customer.as_str());
    let listed = |r: &Recommender| {
        r.recommend(&request)
            .unwrap()
            .into_iter()
            .map(|x| x.item)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(&rec), listed(&SHOP_RECENT));
    // The storefront flavour keeps the setting too (sessions may carry times).
    let storefront =
        Recommender::from_bytes(&SHOP_RECENT.to_bytes(Flavour::Storefront).unwrap()).unwrap();
    assert_eq!(storefront.settings().history_half_life, Some(3600.0));
    // An artifact from before history times were kept (no LAST section):
    // known customers are served from their taste vectors, as without a half-life.
    let full = Artifact::from_bytes(&SHOP_RECENT.to_bytes(Flavour::Full).unwrap()).unwrap();
    let mut old = ArtifactWriter::new(Flavour::Full);
    for tag in full.tags().filter(|t| t != b"LAST") {
        old = old.section(tag, full.section(tag).unwrap().to_vec());
    }
    let old = Recommender::from_bytes(&old.to_bytes().unwrap()).unwrap();
    assert_eq!(old.settings().history_half_life, Some(3600.0));
    assert_eq!(
        old.query_vector(&request).unwrap(),
        SHOP.0.query_vector(&request).unwrap()
    );
}
