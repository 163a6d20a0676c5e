//! What the fuzz targets share: one small fixed model (built the same way on
//! every run, so a crash reproduces) and the bodies of the targets, callable
//! from a plain test as well as from AFL.

use maitre::artifact::Flavour;
use maitre::catalog::{Catalog, Item, ItemKind};
use maitre::embed::Als;
use maitre::events::{Event, EventLog, IngestOptions, Schema};
use maitre::index::{IndexKind, IndexParams};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::offers::{
    AttributeRule, BanditParams, ContactPolicy, CustomerState, NextBestOffer, Offer, OfferRequest,
    OfferSet, StateRule,
};
use maitre::recommend::{BuildOptions, Recommender, Request};

/// A storefront of 12 items and 8 customers (with a linked alias, context and
/// every event kind), small enough that its artifacts are a few KB.
pub fn model(index: IndexKind) -> Recommender {
    let mut log = EventLog::new();
    let kinds = ["view", "cart", "purchase", "return", "rating"];
    let t0 = 1_714_564_800;
    for c in 0..8u32 {
        for j in 0..6u32 {
            let item = (c * 5 + j * 7) % 12;
            let kind = kinds[((c + j) % 5) as usize];
            let mut e = Event::new(
                format!("c{c}"),
                format!("sku-{item}"),
                kind,
                t0 + i64::from(c * 100 + j),
            )
            .context("device", if j % 2 == 0 { "mobile" } else { "desktop" });
            if kind == "rating" {
                e = e.value(f64::from(1 + (c + j) % 5));
            }
            log.push(&e).expect("fixed events are valid");
        }
    }
    log.link("anon-1", "c1", t0).expect("fixed link is valid");
    let items = (0..12).map(|i| {
        Item::new(format!("sku-{i}"))
            .kind(if i == 11 {
                ItemKind::Offer
            } else {
                ItemKind::Product
            })
            .category(["shoes", "bags", "hats"][i % 3])
            .brand(["acme", "zenith"][i % 2])
            .price_band(["low", "mid", "high"][i % 3])
            .price(9.5 + i as f32)
            .tag("new")
            .in_stock(i % 4 != 0)
    });
    let catalog = Catalog::aligned(&mut log, items).expect("fixed catalogue is valid");
    let matrix = Interactions::build(&log, &InteractionConfig::default()).expect("matrix");
    let als = Als::params()
        .factors(4)
        .iterations(3)
        .threads(1)
        .fit(&matrix)
        .expect("fit");
    let options = BuildOptions {
        index: IndexParams::default().kind(index),
        attributes: Some(Default::default()),
        ..BuildOptions::default()
    };
    Recommender::build(&log, &catalog, als, &options).expect("build")
}

/// The artifacts of [`model`]: full and storefront, exact and HNSW.
pub fn artifacts() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (kind, name) in [(IndexKind::Exact, "exact"), (IndexKind::Hnsw, "hnsw")] {
        let rec = model(kind);
        for (flavour, f) in [(Flavour::Full, "full"), (Flavour::Storefront, "storefront")] {
            out.push((
                format!("{name}-{f}.bin"),
                rec.to_bytes(flavour).expect("save"),
            ));
        }
    }
    out.push(("offers-full.bin".into(), offers().to_bytes().expect("save")));
    out
}

/// A next-best-offer engine with every offer field in use, a pending
/// decision, a reward and a log: the seed of its artifact.
pub fn offers() -> NextBestOffer {
    let offers = OfferSet::new(vec![
        Offer::new("10-off", ItemKind::Offer, 5.0)
            .when(AttributeRule::any_of("channel", ["app"]))
            .budget(100)
            .cap(2, 86_400)
            .cooldown(3_600)
            .valid(0, 2_000_000_000),
        Offer::new("help", ItemKind::Service, 1.0).when_state(StateRule::did(
            "return",
            None,
            30 * 86_400,
        )),
    ])
    .expect("fixed offers are valid");
    let nbo = NextBestOffer::new(offers, ContactPolicy::default(), 2, BanditParams::default())
        .expect("fixed parameters are valid");
    let now = 1_714_564_800;
    for (i, who) in ["a", "b", "c"].iter().enumerate() {
        let customer = CustomerState::new(*who).attribute("channel", "app").event(
            "return",
            None,
            now - 60 * i as i64,
        );
        let d = nbo
            .decide(&OfferRequest::new(customer, vec![0.1, 0.2], now).slots(2))
            .expect("fixed request is valid");
        if i > 0 {
            let _ = nbo.reward(d.chosen[0].event_id, 1.0, now + 5);
        }
    }
    nbo
}

/// Loads bytes as a recommender and, when that succeeds, serves from it:
/// a load that accepts bad bytes must not make serving panic either.
///
/// The first byte picks whether the header's length and the CRC are fixed up
/// first, so that mutations reach the section decoders behind the checksum.
pub fn artifact(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut bytes = data.to_vec();
    if mode & 1 == 1 && bytes.len() >= 28 {
        let len = bytes.len() as u64;
        bytes[16..24].copy_from_slice(&len.to_le_bytes());
        let end = bytes.len() - 4;
        let crc = crc32(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_le_bytes());
    }
    if let Ok(rec) = Recommender::from_bytes(&bytes) {
        let mut request = Request::new(5);
        if let Some(c) = rec.customers().and_then(|c| c.ids.names().first().cloned()) {
            request.customer = Some(c);
        }
        let _ = rec.recommend(&request);
        if let Some(item) = rec.catalog().items().first() {
            let _ = rec.recommend(&Request::new(3).event(item.id.clone(), "view"));
            let _ = rec.similar_items(&item.id, 3, &Default::default());
        }
    }
    if let Ok(nbo) = NextBestOffer::from_bytes(&bytes) {
        let context = vec![0.5; nbo.bandit().dim()];
        let customer = CustomerState::new("z").event("return", None, 1_714_564_000);
        let _ = nbo.decide(&OfferRequest::new(customer, context, 1_714_564_900).slots(3));
        let _ = nbo.reward(1, 1.0, 1_714_564_901);
        let _ = nbo.expire(i64::MAX);
        let _ = nbo.to_bytes();
    }
}

/// CRC-32 (IEEE), bit by bit: the fuzz crate needs no extra dependency.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Ingests text as CSV, rejecting and then skipping bad rows, and builds the
/// decayed matrix of what was accepted (time arithmetic on any accepted stamp).
pub fn csv(data: &[u8]) {
    for options in [
        IngestOptions::default(),
        IngestOptions::default().skip_bad_rows(),
    ] {
        let mut log = EventLog::new();
        if log.read_csv(data, &Schema::default(), &options).is_ok() {
            built(&log);
        }
    }
}

/// As [`csv`], for JSON Lines.
pub fn jsonl(data: &[u8]) {
    for options in [
        IngestOptions::default(),
        IngestOptions::default().skip_bad_rows(),
    ] {
        let mut log = EventLog::new();
        if log.read_jsonl(data, &Schema::default(), &options).is_ok() {
            built(&log);
        }
    }
}

fn built(log: &EventLog) {
    let _ = log.summary();
    let _ = log.identities();
    let config = InteractionConfig::default().half_life_days(7.0);
    let _ = Interactions::build(log, &config);
}

/// Parses a request as JSON and serves it from `rec`, single and batched.
pub fn request(rec: &Recommender, data: &[u8]) {
    if let Ok(request) = serde_json::from_slice::<Request>(data) {
        let _ = rec.recommend(&request);
        let _ = rec.rerank(&request, &["sku-1".to_owned(), "sku-2".to_owned()]);
    }
}
