//! Exports the data of the browser storefront demo (`examples/storefront/`):
//! a synthetic storefront, iALS fitted on it, and a `Recommender` saved in the
//! storefront flavour (int8 item vectors, no customers).
//!
//! ```text
//! cargo run --release --example export_storefront [-- small|medium|catalog20k]
//! ```
//!
//! Writes to `examples/storefront/data/`:
//! - `storefront.maitre`: the artifact the page loads;
//! - `catalog.json`: id, label, category, kind, price of every item;
//! - `expected.json`: the top-10 of the full (f32) model for three fixed
//!   sessions, which the browser test compares with what the page computes.
//!
//! `catalog20k` instead writes only `storefront-20k.maitre`: the issue's
//! serving budget size, 20,000 items × 64 dimensions, from clustered vectors
//! (no ALS fit, so it takes about a second), which the browser test loads to
//! time `Storefront.load` and a filtered top-10 at that catalogue size.

use maitre::artifact::{Artifact, Flavour};
use maitre::catalog::{Catalog, Item, ItemKind};
use maitre::datasets::{clustered_vectors, synthetic_storefront, Size, CATEGORIES};
use maitre::embed::{Als, AlsModel, Factors};
use maitre::events::{Event, EventLog};
use maitre::index::{IndexKind, IndexParams};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::recommend::{
    BuildOptions, Diversity, Filters, Reason, Recommendation, Recommender, Request, Rotation,
};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

const SEED: u64 = 42;
/// The binding's default rotation penalty; a fresh session has shown nothing,
/// so it only changes how many candidates the core considers, not the list.
const ROTATION_PENALTY: f32 = 0.05;

const NEW_ARRIVAL_CATEGORIES: [&str; 3] = ["kitchen", "fashion", "electronics"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let size_name = std::env::args().nth(1).unwrap_or_else(|| "medium".into());
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/storefront/data");
    std::fs::create_dir_all(&out)?;
    if size_name == "catalog20k" {
        return catalog_20k(&out);
    }
    let size: Size = size_name.parse()?;

    let started = Instant::now();
    let shop = synthetic_storefront(SEED, size)?;
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    let model = Als::params().alpha(5.0).seed(SEED).fit(&matrix)?;
    let options = BuildOptions {
        attributes: Some(Default::default()),
        ..BuildOptions::default()
    };
    let mut full = Recommender::build(&shop.log, &shop.catalog, model, &options)?;
    // Three new arrivals: in the catalogue with no events yet, placed from their
    // attributes (copies of the first product of three categories under new
    // ids), so the page and its tests have something for `newArrivalSlot`.
    for (n, category) in NEW_ARRIVAL_CATEGORIES.iter().enumerate() {
        let model_item = shop
            .catalog
            .items()
            .iter()
            .find(|it| it.kind == ItemKind::Product && it.category.as_deref() == Some(category))
            .ok_or("the storefront has every category")?;
        let item = Item {
            id: format!("sku-{:06}", 900_000 + n),
            ..model_item.clone()
        };
        full.add_item(item, None)?;
    }
    let bytes = full.to_bytes(Flavour::Storefront)?;
    std::fs::write(out.join("storefront.maitre"), &bytes)?;
    println!(
        "storefront.maitre: {} items, {} bytes ({:.1} s from seed {SEED}, size {size_name})",
        full.catalog().len(),
        bytes.len(),
        started.elapsed().as_secs_f64()
    );

    let catalog: Vec<Value> = full.catalog().items().iter().map(describe).collect();
    std::fs::write(out.join("catalog.json"), serde_json::to_string(&catalog)?)?;

    // The same artifact read back, as the page reads it: its lists must be
    // the full model's, or the browser test cannot pass.
    let front = Recommender::from_bytes(&bytes)?;
    let mut sessions = Vec::new();
    for (name, request, options) in fixed_sessions(&shop.catalog) {
        let want = full.recommend(&request)?;
        let got = front.recommend(&request)?;
        let ids = |l: &[Recommendation]| l.iter().map(|r| r.item.clone()).collect::<Vec<_>>();
        if ids(&want) != ids(&got) {
            return Err(format!(
                "session {name}: the int8 artifact ranks differently from the full model\n  full  {:?}\n  int8  {:?}",
                ids(&want),
                ids(&got)
            )
            .into());
        }
        let events: Vec<Value> = request
            .session
            .iter()
            .map(|e| json!({ "kind": e.kind, "item": e.item }))
            .collect();
        let expected: Vec<Value> = want.iter().map(result).collect();
        println!("{name}: {:?}", ids(&want));
        sessions.push(json!({
            "name": name,
            "events": events,
            "options": options,
            "expected": expected,
        }));
    }
    let expected = json!({
        "seed": SEED,
        "size": size_name,
        "items": full.catalog().len(),
        "sessions": sessions,
    });
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Writes `storefront-20k.maitre`: 20,000 items × 64 dimensions, the size the
/// issue's serving budget names. Item vectors are clustered per category
/// (four sub-clusters each, log-normal norms), so a category filter selects
/// a region of the space as it would with fitted factors; every 50th item is
/// a content item, so the `kinds` filter has something to leave out. A few
/// thousand session events with a device context give popularity, context
/// vectors and the cold-start attribute map real inputs. No ALS fit: the
/// vectors stand in for one, which keeps this to about a second.
fn catalog_20k(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    const ITEMS: usize = 20_000;
    const DIM: usize = 64;
    let started = Instant::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let items: Vec<Item> = (0..ITEMS)
        .map(|i| {
            let category = CATEGORIES[i % CATEGORIES.len()];
            let band = ["low", "mid", "high"][rng.random_range(0..3)];
            let (low, high) = match band {
                "low" => (2.0, 40.0),
                "mid" => (40.0, 150.0),
                _ => (150.0, 600.0),
            };
            let price: f32 = rng.random_range(low..high);
            let item = Item::new(format!("sku-{i:06}"))
                .category(category)
                .brand(format!("{category}-brand-{}", rng.random_range(0..6)))
                .price_band(band)
                .price((price * 100.0).round() / 100.0);
            if i % 50 == 49 {
                item.kind(ItemKind::Content)
            } else {
                item
            }
        })
        .collect();

    // Item rows: category c holds items c, c + 12, …, drawn around its own
    // centres (a seed per category).
    let per_category: Vec<Vec<f32>> = (0..CATEGORIES.len())
        .map(|c| {
            let rows = ITEMS.div_ceil(CATEGORIES.len());
            clustered_vectors(SEED + 1 + c as u64, rows, DIM, 4, 0.3)
        })
        .collect::<Result<_, _>>()?;
    let mut vectors = Vec::with_capacity(ITEMS * DIM);
    for i in 0..ITEMS {
        let (c, row) = (i % CATEGORIES.len(), i / CATEGORIES.len());
        vectors.extend_from_slice(&per_category[c][row * DIM..(row + 1) * DIM]);
    }

    // 2,000 visitors, five views each within one category, half on mobile.
    let mut log = EventLog::new();
    for v in 0..2_000usize {
        let c = rng.random_range(0..CATEGORIES.len());
        let device = if v % 2 == 0 { "mobile" } else { "desktop" };
        for t in 0..5 {
            let row = rng.random_range(0..ITEMS / CATEGORIES.len());
            let event = Event::new(
                format!("visitor-{v}"),
                format!("sku-{:06}", row * CATEGORIES.len() + c),
                "view",
                (v * 5 + t) as i64,
            )
            .context("device", device);
            log.push(&event)?;
        }
    }
    let catalog = Catalog::aligned(&mut log, items)?;
    let users = Factors::from_vec(
        log.identities().len(),
        DIM,
        clustered_vectors(SEED, log.identities().len(), DIM, 12, 0.3)?,
    )?;
    let model = AlsModel::from_parts(
        users,
        Factors::from_vec(ITEMS, DIM, vectors)?,
        Als::params().factors(DIM),
    )?;
    // The index is rebuilt on load, not stored: exact keeps the build quick.
    let options = BuildOptions {
        index: IndexParams::default().kind(IndexKind::Exact),
        attributes: Some(Default::default()),
        ..BuildOptions::default()
    };
    let rec = Recommender::build(&log, &catalog, model, &options)?;
    let bytes = rec.to_bytes(Flavour::Storefront)?;
    // Reads back with the exact index, as the wasm build (no HNSW) will; the
    // native default would build an HNSW graph, which takes far longer.
    Recommender::from_artifact(&Artifact::from_bytes(&bytes)?, &options.index)?;
    let path = out.join("storefront-20k.maitre");
    std::fs::write(&path, &bytes)?;
    println!(
        "storefront-20k.maitre: {ITEMS} items × {DIM} dimensions, {} bytes ({:.1} KB), {:.1} s",
        bytes.len(),
        bytes.len() as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Three visitors, each as a core `Request` and as the options the JS
/// `session.recommend` receives for it (kept side by side so they agree).
fn fixed_sessions(catalog: &maitre::catalog::Catalog) -> Vec<(&'static str, Request, Value)> {
    let in_category = |category: &str, n: usize| -> Vec<String> {
        catalog
            .items()
            .iter()
            .filter(|i| i.kind == ItemKind::Product && i.category.as_deref() == Some(category))
            .take(n)
            .map(|i| i.id.clone())
            .collect()
    };
    let rotation = Some(Rotation::new(ROTATION_PENALTY));

    // 1. Three electronics views on a desktop.
    let mut a = Request::new(10).context("device", "desktop");
    for id in in_category("electronics", 3) {
        a = a.event(id, "view");
    }
    a.rotation = rotation.clone();
    let a_opts = json!({ "k": 10, "context": { "device": "desktop" } });

    // 2. Kitchen: two views and an add to cart, on a phone, under 100.
    let kitchen = in_category("kitchen", 3);
    let mut b = Request::new(10)
        .context("device", "mobile")
        .event(kitchen[0].clone(), "view")
        .event(kitchen[1].clone(), "view")
        .event(kitchen[2].clone(), "cart");
    b.filters = Filters {
        max_price: Some(100.0),
        ..Filters::default()
    };
    b.rotation = rotation.clone();
    let b_opts =
        json!({ "k": 10, "context": { "device": "mobile" }, "filters": { "maxPrice": 100 } });

    // 3. Fashion and shoes with a dislike, at most three per category.
    let fashion = in_category("fashion", 2);
    let shoes = in_category("shoes", 2);
    let mut c = Request::new(10)
        .event(fashion[0].clone(), "view")
        .event(shoes[0].clone(), "view")
        .event(fashion[1].clone(), "click")
        .event(shoes[1].clone(), "dislike")
        .diversity(Diversity {
            max_per_category: Some(3),
            ..Diversity::default()
        });
    c.rotation = rotation;
    let c_opts = json!({ "k": 10, "context": {}, "diversity": { "maxPerCategory": 3 } });

    vec![
        ("electronics-desktop", a, a_opts),
        ("kitchen-mobile-under-100", b, b_opts),
        ("fashion-shoes-diverse", c, c_opts),
    ]
}

fn result(r: &Recommendation) -> Value {
    let (reason, because) = match &r.reason {
        Reason::Because { items } => ("because", items.clone()),
        Reason::Taste => ("taste", Vec::new()),
        Reason::Pinned => ("pinned", Vec::new()),
        Reason::PopularInContext { .. } => ("popularInContext", Vec::new()),
        Reason::Popular => ("popular", Vec::new()),
        Reason::NewArrival => ("newArrival", Vec::new()),
    };
    json!({ "item": r.item, "score": r.score, "reason": reason, "because": because })
}

/// A catalogue entry for the page, with a readable label.
fn describe(item: &Item) -> Value {
    let category = item.category.clone().unwrap_or_default();
    let label = match item.kind {
        ItemKind::Product => {
            let n: usize = item
                .id
                .trim_start_matches("sku-")
                .parse()
                .unwrap_or_default();
            let nouns = nouns(&category);
            let brand = item
                .brand
                .as_deref()
                .and_then(|b| b.rsplit('-').next())
                .unwrap_or("0");
            format!(
                "{} {} no. {}",
                BRANDS[brand.parse::<usize>().unwrap_or(0) % BRANDS.len()],
                nouns[(n / 12) % nouns.len()],
                n / 12 + 1
            )
        }
        ItemKind::Content => {
            let mut parts = item.id.splitn(3, '-');
            let format = parts.next().unwrap_or("guide");
            let what = if format == "guide" {
                "Guide"
            } else {
                "Article"
            };
            let n = parts.nth(1).unwrap_or("0").parse::<usize>().unwrap_or(0);
            let topic = [
                "choosing well",
                "care and repair",
                "what's new",
                "how we test",
            ][n % 4];
            format!("{what}: {category}, {topic}")
        }
        ItemKind::Offer => format!("10% off {category}"),
        ItemKind::Service => item.id.replace('-', " "),
    };
    json!({
        "id": item.id,
        "label": label,
        "category": item.category,
        "kind": item.kind,
        // As written (12.34), not as the f32 widens (12.340000152587891).
        "price": item.price.map(|p| p.to_string().parse::<f64>().unwrap_or(f64::from(p))),
    })
}

const BRANDS: [&str; 6] = ["Aster", "Birch", "Cobalt", "Dune", "Ember", "Fjord"];

fn nouns(category: &str) -> &'static [&'static str] {
    match category {
        "electronics" => &["speaker", "headphones", "monitor", "keyboard"],
        "phones" => &["phone", "case", "charger"],
        "kitchen" => &["pan", "kettle", "knife set", "blender"],
        "home" => &["lamp", "rug", "cushion", "vase"],
        "fashion" => &["jacket", "dress", "shirt", "scarf"],
        "shoes" => &["trainers", "boots", "sandals"],
        "beauty" => &["serum", "cream", "shampoo"],
        "sports" => &["yoga mat", "racket", "bottle"],
        "toys" => &["puzzle", "robot", "board game"],
        "books" => &["novel", "cookbook", "atlas"],
        "garden" => &["trowel", "planter", "hose"],
        "grocery" => &["coffee", "olive oil", "tea"],
        _ => &["item"],
    }
}
