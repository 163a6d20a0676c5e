//! The "must show" list, on the synthetic storefront.

use super::*;
use crate::catalog::{Catalog, Item, ItemKind};
use crate::datasets::{synthetic_storefront, synthetic_storefront_with, Size, StorefrontOptions};
use crate::embed::Als;
use crate::eval::metrics::adjusted_rand_index;
use crate::events::Event;
use crate::interactions::{InteractionConfig, Interactions};
use crate::recommend::Reason;

fn base_of(shop: &crate::datasets::Storefront, settings: CustomerSettings) -> CustomerBase {
    CustomerBase::new(shop.log.clone(), shop.catalog.clone(), settings).unwrap()
}

fn with_als(shop: &crate::datasets::Storefront) -> CustomerBase {
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default()).unwrap();
    let model = Als::params().fit(&matrix).unwrap();
    base_of(shop, CustomerSettings::default())
        .with_vectors(model.users.clone(), Some(model.items.clone()))
        .unwrap()
}

/// ARI of the segments against the generator's clusters, over customers
/// active on at least `min_days` days.
fn ari(base: &CustomerBase, truth: &crate::datasets::GroundTruth, min_days: usize) -> f64 {
    let labels = &base.segments().unwrap().labels;
    let days = base.active_days();
    let (t, l): (Vec<usize>, Vec<usize>) = base
        .customers()
        .iter()
        .zip(labels)
        .zip(&days)
        .filter(|(_, &d)| d >= min_days)
        .map(|((c, &l), _)| (truth.cluster_of[c], l as usize))
        .unzip();
    adjusted_rand_index(&t, &l).unwrap()
}

/// Segments recover the generator's 8 taste clusters. The generator's
/// clusters overlap (four of eight share their favourite category) and a
/// customer has a geometric number of visits (mean 10), so on *all*
/// customers even the generator's own cluster weights, used as a
/// maximum-likelihood classifier, reach only ARI ≈ 0.59: 0.8 over everyone is
/// out of any method's reach. The bar is met on the customers with a history
/// to judge by (active on ≥ 15 days), and on everyone the segments get most
/// of what the oracle gets. Numbers in NOTES-customers.md.
#[test]
fn segments_recover_taste_clusters() {
    let shop = synthetic_storefront(21, Size::Small).unwrap();
    let mut base = with_als(&shop);
    let k = shop.truth.cluster_categories.len();
    let params = KMeansParams::default().k(k).seed(1);
    base.segment(&params, Representation::Vectors, 1).unwrap();
    let on_vectors = ari(&base, &shop.truth, 1);
    base.segment(&params, Representation::CategoryShares, 1)
        .unwrap();
    let on_shares = ari(&base, &shop.truth, 1);
    base.segment(&params, Representation::CategoryShares, 15)
        .unwrap();
    let (fit15_all, fit15_15) = (ari(&base, &shop.truth, 1), ari(&base, &shop.truth, 15));
    eprintln!(
        "ARI on all customers: ALS vectors {on_vectors:.3}, category profile {on_shares:.3}, \
         profile fitted on ≥ 15 active days {fit15_all:.3}; on those ≥ 15-day customers {fit15_15:.3}"
    );
    assert!(fit15_15 >= 0.8, "ARI on well-observed customers {fit15_15}");
    assert!(fit15_all >= 0.5, "ARI on all customers {fit15_all}");
    // Every segment is described in words, with its size and value.
    let segs = base.segments().unwrap();
    assert_eq!(segs.segments.len(), k);
    assert_eq!(segs.segments.iter().map(|s| s.size).sum::<usize>(), 3000);
    for s in &segs.segments {
        assert!(
            s.description.contains(&s.categories[0].name),
            "{}",
            s.description
        );
        assert!(s.value > 0.0 && !s.channels.is_empty());
    }
}

#[test]
fn lifecycle_stages_agree_with_the_generator() {
    let shop =
        synthetic_storefront_with(4, Size::Small, StorefrontOptions::default().lifecycle(true))
            .unwrap();
    let base = base_of(&shop, CustomerSettings::default().now(shop.truth.as_of));
    let stages = base.lifecycle();
    let mut agree = 0;
    let mut confusion = std::collections::BTreeMap::new();
    for l in stages {
        let truth = &shop.truth.lifecycle[&l.customer];
        *confusion
            .entry((truth.clone(), l.stage.name()))
            .or_insert(0) += 1;
        if truth == l.stage.name() {
            agree += 1;
        }
    }
    let rate = agree as f64 / stages.len() as f64;
    eprintln!("lifecycle agreement {rate:.3}; (truth, found) → count: {confusion:?}");
    assert!(rate >= 0.9, "agreement {rate}: {confusion:?}");
    // Every stage occurs.
    for stage in ["new", "active", "at_risk", "lapsed"] {
        assert!(stages.iter().any(|l| l.stage.name() == stage), "no {stage}");
    }
    // RFM: every buyer scored 1-5, groups named.
    let rfm = base.rfm();
    assert!(rfm
        .iter()
        .all(|r| (1..=5).contains(&r.r) && r.group != "prospect"));
    assert!(rfm.iter().any(|r| r.group == "champions"));
    assert!(rfm.iter().any(|r| r.group == "hibernating"));
}

#[test]
fn the_plain_storefront_is_unchanged_by_the_lifecycle_option() {
    let plain = synthetic_storefront(9, Size::Tiny).unwrap();
    let same = synthetic_storefront_with(9, Size::Tiny, StorefrontOptions::default()).unwrap();
    assert_eq!(plain.log.to_bytes().unwrap(), same.log.to_bytes().unwrap());
    assert!(plain.truth.lifecycle.is_empty());
}

#[test]
fn identity_stitching_resolves_every_link_and_no_other() {
    let shop = synthetic_storefront(8, Size::Small).unwrap();
    let base = base_of(&shop, CustomerSettings::default());
    for (alias, customer) in &shop.truth.links {
        assert_eq!(
            base.customer_index(alias).unwrap(),
            base.customer_index(customer).unwrap()
        );
    }
    // No two generator customers merged, and nothing left unmerged: one
    // customer per generated person, named by their account id.
    let names: std::collections::BTreeSet<&String> = base.customers().iter().collect();
    let truth: std::collections::BTreeSet<&String> = shop.truth.cluster_of.keys().collect();
    assert_eq!(names, truth);
    let linked: usize = shop.truth.links.len();
    let raw = base.log().raw_customers().len();
    assert_eq!(raw, truth.len() + linked);
}

/// One hand-made customer across three channels and two devices, under
/// three ids: one timeline, newest first, naming the id of each event.
#[test]
fn one_timeline_across_channels_devices_and_ids() {
    let mut log = crate::events::EventLog::new();
    let t = 1_710_000_000;
    let e = |who: &str, item: &str, kind: &str, dt: i64, ch: &str, dev: &str| {
        Event::new(who, item, kind, t + dt)
            .context("channel", ch)
            .context("device", dev)
    };
    for ev in [
        e("ann", "offer-1", "view", 0, "email", "desktop"),
        e("anon-1", "jacket", "view", 100, "web", "mobile"),
        e("ann", "jacket", "purchase", 200, "web", "desktop"),
        e("ann", "jacket", "return", 86_400, "store", "desktop"),
        e("dev-2", "scarf", "view", 90_000, "app", "mobile"),
        e("bob", "scarf", "purchase", 300, "web", "desktop"),
    ] {
        log.push(&ev).unwrap();
    }
    log.link("anon-1", "ann", t + 150).unwrap();
    log.link("dev-2", "ann", t + 90_000).unwrap();
    let items = vec![
        Item::new("jacket").category("fashion").price(80.0),
        Item::new("scarf").category("fashion").price(20.0),
        Item::new("offer-1").kind(ItemKind::Offer),
        Item::new("help").kind(ItemKind::Service),
    ];
    let catalog = Catalog::aligned(&mut log, items).unwrap();
    let base = CustomerBase::new(log, catalog, CustomerSettings::default()).unwrap();
    let view = base.customer_view("dev-2", 50).unwrap();
    assert_eq!(view.customer, "ann");
    assert_eq!(view.identities, ["ann", "anon-1", "dev-2"]);
    assert_eq!(view.events, 5);
    assert_eq!(
        view.channels.keys().collect::<Vec<_>>(),
        ["app", "email", "store", "web"]
    );
    assert_eq!(
        view.devices.keys().collect::<Vec<_>>(),
        ["desktop", "mobile"]
    );
    let ids: Vec<&str> = view.timeline.iter().map(|e| e.identity.as_str()).collect();
    assert_eq!(ids, ["dev-2", "ann", "ann", "anon-1", "ann"]);
    assert!(view
        .timeline
        .windows(2)
        .all(|w| w[0].timestamp >= w[1].timestamp));
    // The return is open: no service action followed it.
    assert_eq!(view.open_moments_of_truth.len(), 1);
    assert_eq!(view.open_moments_of_truth[0].kind, "return");
    assert_eq!(view.rfm.frequency, 1);
    assert_eq!(view.rfm.monetary, 80.0);
    let json = serde_json::to_string(&view).unwrap();
    assert!(json.contains("\"timeline\"") && json.contains("\"open_moments_of_truth\""));
    // The same view from any of the ids.
    assert_eq!(base.customer_view("anon-1", 50).unwrap(), view);
}

#[test]
fn service_actions_close_moments_of_truth() {
    let shop = synthetic_storefront(3, Size::Small).unwrap();
    let base = base_of(&shop, CustomerSettings::default());
    let (mut open, mut complained) = (0, 0);
    for id in base.customers().to_vec() {
        let v = base.customer_view(&id, 5).unwrap();
        complained += base.rows_of[base.customer_index(&id).unwrap() as usize]
            .iter()
            .filter(|&&r| {
                let k = base.log().kind_column()[r as usize] as usize;
                base.classes.ret[k] || base.classes.complaint[k]
            })
            .count();
        open += v.open_moments_of_truth.len();
    }
    // The generator answers every return and complaint with a service
    // action (return help, a call-back) minutes later: nothing stays open.
    assert!(complained > 0);
    assert_eq!(open, 0);
}

#[test]
fn synthetic_customer_views_join_channels_and_devices() {
    let shop = synthetic_storefront(5, Size::Small).unwrap();
    let base = base_of(&shop, CustomerSettings::default());
    let found = base.customers().iter().find_map(|id| {
        let v = base.customer_view(id, 200).unwrap();
        (v.channels.len() >= 3 && v.devices.len() >= 2 && v.identities.len() >= 2).then_some(v)
    });
    let v = found.expect("a customer with 3 channels, 2 devices and a linked id");
    let ids: std::collections::BTreeSet<&str> =
        v.timeline.iter().map(|e| e.identity.as_str()).collect();
    assert!(
        ids.len() >= 2,
        "one timeline holds every id's events: {ids:?}"
    );
}

#[test]
fn targeting_finds_the_category_lovers_and_honours_the_filter() {
    let shop = synthetic_storefront(21, Size::Small).unwrap();
    let mut base = with_als(&shop);
    let fans = |cat: &str, c: &str| {
        shop.truth.cluster_categories[shop.truth.cluster_of[c]]
            .iter()
            .any(|(name, _)| name == cat)
    };
    let list = base
        .target(
            &Targeting::Category("garden".into()),
            100,
            &CustomerFilter::default(),
        )
        .unwrap();
    assert_eq!(list.len(), 100);
    assert!(list.windows(2).all(|w| w[0].score >= w[1].score));
    let precision = list.iter().filter(|t| fans("garden", &t.customer)).count() as f64 / 100.0;
    let base_rate = base
        .customers()
        .iter()
        .filter(|c| fans("garden", c))
        .count() as f64
        / base.customers().len() as f64;
    eprintln!("targeting garden: precision {precision:.2}, base rate {base_rate:.2}");
    assert!(precision > base_rate + 0.3, "{precision} vs {base_rate}");
    assert!(list
        .iter()
        .any(|t| matches!(t.reason, Reason::Because { .. })));
    // Filters: a segment and an exclusion.
    base.segment(
        &KMeansParams::default().k(8).seed(1),
        Representation::CategoryShares,
        1,
    )
    .unwrap();
    let first = list[0].customer.clone();
    let seg = base.segments().unwrap().labels[base.customer_index(&first).unwrap() as usize];
    let filter = CustomerFilter {
        segments: vec![seg],
        exclude: vec![first.clone()],
        exclude_buyers: true,
        ..CustomerFilter::default()
    };
    let item = shop
        .catalog
        .items()
        .iter()
        .find(|i| i.category.as_deref() == Some("garden"))
        .unwrap();
    let list = base
        .target(&Targeting::Item(item.id.clone()), 50, &filter)
        .unwrap();
    let labels = &base.segments().unwrap().labels;
    assert!(!list.is_empty());
    for t in &list {
        assert_ne!(t.customer, first);
        assert_eq!(
            labels[base.customer_index(&t.customer).unwrap() as usize],
            seg
        );
    }
    // The same segmentation given as labels gives the same list; leaving the
    // best of them out of the labels leaves them out of the list; an
    // unknown id in the labels is an error.
    let mut given: Vec<(String, u32)> = (base.customers().iter().cloned())
        .zip(labels.iter().copied())
        .collect();
    let as_labels = CustomerFilter {
        labels: given.clone(),
        ..filter.clone()
    };
    let again = base
        .target(&Targeting::Item(item.id.clone()), 50, &as_labels)
        .unwrap();
    assert_eq!(again, list);
    given.retain(|(id, _)| *id != list[0].customer);
    let unlisted = CustomerFilter {
        labels: given,
        ..filter.clone()
    };
    let fewer = base
        .target(&Targeting::Item(item.id.clone()), 50, &unlisted)
        .unwrap();
    assert_eq!(fewer[..list.len() - 1], list[1..]);
    let unknown = CustomerFilter {
        labels: vec![("nobody".into(), seg)],
        ..filter.clone()
    };
    assert!(matches!(
        base.target(&Targeting::Item(item.id.clone()), 5, &unknown),
        Err(Error::Unknown { .. })
    ));
    // k beyond the customers is capped; an unknown item or category is typed.
    assert!(matches!(
        base.target(
            &Targeting::Category("nope".into()),
            5,
            &CustomerFilter::default()
        ),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(
        base.target(
            &Targeting::Item("nope".into()),
            5,
            &CustomerFilter::default()
        ),
        Err(Error::Unknown { .. })
    ));
}

#[test]
fn advocates_are_loyal_and_say_why() {
    let shop = synthetic_storefront(2, Size::Small).unwrap();
    let base = base_of(&shop, CustomerSettings::default());
    let top = base.advocates(10).unwrap();
    assert_eq!(top.len(), 10);
    assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
    let all = base.loyalty();
    let mean = all.iter().map(|l| l.score).sum::<f64>() / all.len() as f64;
    for a in &top {
        assert!(a.positive_ratings > 0 && a.score > mean, "{a:?}");
        assert!(a.why.contains("ratings positive"));
    }
    assert!(base.advocates(0).is_err());
}

/// After `forget`, nothing the base answers or saves holds the customer's
/// ids or vector.
#[test]
fn forget_leaves_no_trace_in_answers_or_saved_bytes() {
    let shop = synthetic_storefront(6, Size::Tiny).unwrap();
    let mut base = with_als(&shop);
    base.segment(
        &KMeansParams::default().k(4).seed(3),
        Representation::Vectors,
        1,
    )
    .unwrap();
    // A customer with a linked id.
    let (alias, who) = shop.truth.links[0].clone();
    let c = base.customer_index(&who).unwrap();
    let vector: Vec<u8> = base
        .vectors()
        .unwrap()
        .row(c)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let customers_before = base.customers().len();
    let events_before = base.log().len();
    let report = base.forget(&alias).unwrap();
    assert_eq!(report.customer, who);
    assert!(report.identities.contains(&alias) && report.identities.contains(&who));
    assert!(report.events > 0 && report.links >= 1 && report.vector);
    assert_eq!(base.customers().len(), customers_before - 1);
    assert_eq!(base.log().len(), events_before - report.events);
    assert_eq!(base.segments().unwrap().labels.len(), customers_before - 1);

    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let bytes = base.to_bytes().unwrap();
    for id in &report.identities {
        assert!(!contains(&bytes, id.as_bytes()), "{id} in the saved base");
    }
    assert!(!contains(&bytes, &vector), "the vector in the saved base");
    let segments = serde_json::to_vec(base.segments().unwrap()).unwrap();
    assert!(!contains(&segments, who.as_bytes()));
    let rfm = serde_json::to_vec(&base.rfm()).unwrap();
    assert!(!contains(&rfm, who.as_bytes()));
    assert!(matches!(
        base.customer_view(&who, 10),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(
        base.customer_view(&alias, 10),
        Err(Error::Unknown { .. })
    ));
    let targets = base
        .target(
            &Targeting::Category("garden".into()),
            1000,
            &CustomerFilter::default(),
        )
        .unwrap();
    assert!(targets.iter().all(|t| t.customer != who));
    // The saved base reads back, without them, with its segments.
    let back = CustomerBase::from_bytes(&bytes, CustomerSettings::default()).unwrap();
    assert_eq!(back.customers(), base.customers());
    assert_eq!(
        back.segments().unwrap().labels,
        base.segments().unwrap().labels
    );
    // Forgetting them again is an unknown customer, and changes nothing.
    let before = base.to_bytes().unwrap();
    assert!(matches!(base.forget(&who), Err(Error::Unknown { .. })));
    assert_eq!(base.to_bytes().unwrap(), before);
}

#[test]
fn bad_input_is_typed_and_changes_nothing() {
    let shop = synthetic_storefront(1, Size::Tiny).unwrap();
    assert!(matches!(
        CustomerBase::new(
            crate::events::EventLog::new(),
            Catalog::default(),
            CustomerSettings::default()
        ),
        Err(Error::NotEnoughData(_))
    ));
    assert!(CustomerBase::new(
        shop.log.clone(),
        shop.catalog.clone(),
        CustomerSettings::default().at_risk_gaps(6.0)
    )
    .is_err());
    let mut base = base_of(&shop, CustomerSettings::default());
    base.segment(
        &KMeansParams::default().k(3),
        Representation::CategoryShares,
        1,
    )
    .unwrap();
    let before = base.segments().cloned();
    for k in [0, 301, usize::MAX] {
        assert!(matches!(
            base.segment(
                &KMeansParams::default().k(k),
                Representation::CategoryShares,
                1
            ),
            Err(Error::InvalidParam { .. })
        ));
    }
    // No vectors: a typed error, not a panic.
    assert!(base
        .segment(&KMeansParams::default().k(3), Representation::Vectors, 1)
        .is_err());
    assert_eq!(base.segments().cloned(), before);
    assert!(matches!(
        base.customer_view("nobody", 10),
        Err(Error::Unknown { .. })
    ));
    assert!(base.customer_view("c0000001", 0).is_err());
    assert!(base.customer_view("c0000001", usize::MAX).is_err());
    assert!(matches!(base.forget("nobody"), Err(Error::Unknown { .. })));
    assert!(base
        .target(
            &Targeting::Category("garden".into()),
            5,
            &CustomerFilter::default()
        )
        .is_err());
    assert!(CustomerBase::from_bytes(b"not an artifact", CustomerSettings::default()).is_err());
    let bad_vectors = crate::embed::Factors::from_vec(2, 1, vec![0.0, 1.0]).unwrap();
    assert!(matches!(
        base.clone().with_vectors(bad_vectors, None),
        Err(Error::LengthMismatch { .. })
    ));
}

/// The storefront's generated advocates (10 % of customers: more reviews,
/// five stars, fewer returns) are who `advocates` lists first.
#[test]
fn advocates_are_the_generated_advocates() {
    let shop =
        synthetic_storefront_with(4, Size::Small, StorefrontOptions::default().advocates(true))
            .unwrap();
    let truth = &shop.truth.advocates;
    let share = truth.len() as f64 / 3000.0;
    assert!((0.07..0.13).contains(&share), "{share}");
    let base = base_of(&shop, CustomerSettings::default());
    // Measured: 0.967, 0.890 and 0.590 (of about 330 advocates, some bought
    // once or twice and cannot stand out).
    for (n, bar) in [(30, 0.8), (100, 0.8), (300, 0.5)] {
        let top = base.advocates(n).unwrap();
        let hits = top.iter().filter(|l| truth.contains(&l.customer)).count();
        let precision = hits as f64 / top.len() as f64;
        println!("precision@{n}: {precision:.3} (base rate {share:.3})");
        assert!(precision >= bar, "precision@{n} {precision}");
    }
    // The plain storefront has none, and is unchanged by the option existing.
    assert!(synthetic_storefront(4, Size::Tiny)
        .unwrap()
        .truth
        .advocates
        .is_empty());
}
