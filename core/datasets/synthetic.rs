//! A synthetic storefront: deterministic behaviour data with known structure.
//!
//! Customers belong to taste clusters that favour a few product categories and a
//! price band. They shop in sessions, each with a context (channel, device,
//! daypart, locale); some categories sell far more in some contexts (fashion on
//! mobile, garden in the morning, grocery in the app, …), and a session's
//! category is drawn from the customer's taste times those context lifts. A
//! session runs the funnel view → cart → purchase; consumables are bought again;
//! some purchases are returned or end in a complaint (to the call centre);
//! buyers read post-purchase guides; e-mailed offers are viewed and clicked.
//! Many customers start as anonymous web or app visitors, or on a second
//! device, and are linked to their account when they log in.
//!
//! The ground truth (clusters, context effects, identity links) is returned
//! with the data so tests can check that models recover it. Customers are
//! generated in parallel, each from its own random stream, so the data is the
//! same for a seed whatever the thread count.

use crate::catalog::{Catalog, Item, ItemKind};
use crate::error::{Error, Result};
use crate::events::EventLog;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// How big a storefront to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 300 customers, 200 products (≈ 11 thousand events): unit tests.
    Tiny,
    /// 3,000 customers, 1,000 products (≈ 110 thousand events).
    Small,
    /// 30,000 customers, 5,000 products (≈ 1.1 million events).
    Medium,
    /// 300,000 customers, 20,000 products (≈ 11 million events): benchmarks.
    Large,
    /// Any number of customers from 1 to [`MAX_CUSTOMERS`], with the products of `Large`.
    Customers(usize),
}

/// The most customers a synthetic storefront may have: 35.8 million events
/// and a generation peak of 4.3 GB of memory (measured: 48 s on two cores).
/// The old limit, 50 million customers, needed about 200 GB and aborted; the
/// cap is what an ordinary machine holds, checked before anything is allocated.
pub const MAX_CUSTOMERS: usize = 1_000_000;

impl FromStr for Size {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tiny" => Ok(Size::Tiny),
            "small" => Ok(Size::Small),
            "medium" => Ok(Size::Medium),
            "large" => Ok(Size::Large),
            other => other
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_CUSTOMERS).contains(n))
                .map(Size::Customers)
                .ok_or_else(|| {
                    Error::param(
                        "size",
                        format!(
                            "{other:?}: expected tiny, small, medium, large or a customer count \
                             from 1 to {MAX_CUSTOMERS}"
                        ),
                    )
                }),
        }
    }
}

impl Size {
    fn customers(self) -> usize {
        match self {
            Size::Tiny => 300,
            Size::Small => 3_000,
            Size::Medium => 30_000,
            Size::Large => 300_000,
            Size::Customers(n) => n,
        }
    }

    fn products(self) -> usize {
        match self {
            Size::Tiny => 200,
            Size::Small => 1_000,
            Size::Medium => 5_000,
            Size::Large | Size::Customers(_) => 20_000,
        }
    }
}

/// A category that sells `lift` times more often in a context.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContextEffect {
    pub category: String,
    pub key: String,
    pub value: String,
    pub lift: f64,
}

/// What the generator knows and a model should recover.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// Taste cluster of each customer, by customer id.
    pub cluster_of: BTreeMap<String, usize>,
    /// Per cluster: the favourite categories and their shares of sessions.
    pub cluster_categories: Vec<Vec<(String, f64)>>,
    /// Per cluster: the preferred price band.
    pub cluster_price_band: Vec<String>,
    /// Category lifts by context.
    pub context_effects: Vec<ContextEffect>,
    /// Identity links: (alias, customer).
    pub links: Vec<(String, String)>,
    /// Lifecycle stage of each customer at [`GroundTruth::as_of`]
    /// (`new`, `active`, `at_risk`, `lapsed`): only with
    /// [`StorefrontOptions::lifecycle`], empty otherwise.
    pub lifecycle: BTreeMap<String, String>,
    /// The end of the generated period (stages hold at this time).
    pub as_of: i64,
    /// Customers generated as advocates: only with
    /// [`StorefrontOptions::advocates`], empty otherwise.
    pub advocates: BTreeSet<String>,
}

/// Variants of the storefront. The default is the plain storefront, whose
/// events every other test depends on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorefrontOptions {
    /// Give each customer a purchase rhythm and a lifecycle: a typical gap
    /// of 5 to 20 days between visits (gamma-distributed gaps, shape 4), every
    /// visit ending in a purchase, and a role drawn from a separate random
    /// stream: 15 % sign up in the last 28 days (`new`), 55 % buy until the
    /// end (`active`), 15 % stopped 2.6 to 4.2 gaps before the end
    /// (`at_risk`), 15 % stopped 7 to 10 gaps before (`lapsed`, gaps of 5 to
    /// 10 days). The ground truth's `lifecycle` holds each role.
    pub lifecycle: bool,
    /// Make 10 % of the customers (drawn from a stream of their own)
    /// advocates: after a purchase they review 6 times as often (60 %
    /// instead of 10 %), always 5 stars unless they returned it, and return
    /// a sixth as often (1 % instead of 6 %). The ground truth's `advocates`
    /// lists them.
    pub advocates: bool,
}

impl StorefrontOptions {
    /// With advocates.
    #[must_use]
    pub fn advocates(mut self, on: bool) -> Self {
        self.advocates = on;
        self
    }

    /// With lifecycle roles.
    #[must_use]
    pub fn lifecycle(mut self, on: bool) -> Self {
        self.lifecycle = on;
        self
    }
}

/// A customer's purchase rhythm in the lifecycle variant.
#[derive(Debug, Clone, Copy)]
struct Rhythm {
    stage: &'static str,
    /// Visit times: from `start`, gaps of mean `gap` days, up to `stop`; the
    /// last visit is at `stop` when the customer stopped early.
    start: i64,
    stop: i64,
    stopped: bool,
    gap: f64,
}

impl Rhythm {
    fn draw(rng: &mut ChaCha8Rng) -> Rhythm {
        let end = START + DAYS * DAY;
        let u = rng.random::<f64>();
        let day = |d: f64| (d * DAY as f64) as i64;
        if u < 0.15 {
            let gap = rng.random_range(5.0..20.0);
            Rhythm {
                stage: "new",
                start: end - day(rng.random_range(3.0..28.0)),
                stop: end,
                stopped: false,
                gap,
            }
        } else if u < 0.70 {
            let gap = rng.random_range(5.0..20.0);
            Rhythm {
                stage: "active",
                start: START + day(rng.random_range(0.0..60.0)),
                stop: end,
                stopped: false,
                gap,
            }
        } else if u < 0.85 {
            let gap = rng.random_range(5.0..20.0);
            let r = rng.random_range(2.6..4.2);
            Rhythm {
                stage: "at_risk",
                start: START + day(rng.random_range(0.0..40.0)),
                stop: end - day(r * gap),
                stopped: true,
                gap,
            }
        } else {
            let gap = rng.random_range(5.0..10.0);
            let r = rng.random_range(7.0..10.0);
            Rhythm {
                stage: "lapsed",
                start: START + day(rng.random_range(0.0..20.0)),
                stop: end - day(r * gap),
                stopped: true,
                gap,
            }
        }
    }

    /// Visit days (times of day are added by the session code).
    fn times(&self, rng: &mut ChaCha8Rng) -> Vec<i64> {
        let mut t = self.start as f64;
        let mut out = Vec::new();
        while (t as i64) < self.stop && out.len() < 200 {
            out.push(t as i64);
            // Gamma(4) with mean `gap`: a regular rhythm, not a Poisson one.
            let g: f64 = (0..4)
                .map(|_| -(1.0 - rng.random::<f64>()).ln())
                .sum::<f64>()
                / 4.0;
            t += g * self.gap * DAY as f64;
        }
        if self.stopped || out.is_empty() {
            out.push(self.stop);
        }
        // The session code adds up to a day of hours: keep visits before the end.
        out.iter_mut()
            .for_each(|t| *t = (*t).min(START + DAYS * DAY - DAY));
        out
    }
}

/// A generated storefront: its events, catalogue and ground truth.
#[derive(Debug, Clone)]
pub struct Storefront {
    pub log: EventLog,
    /// Aligned with the log: item `i` of the catalogue is item index `i`.
    pub catalog: Catalog,
    pub truth: GroundTruth,
}

impl Storefront {
    /// Whether event `event`'s context lifts its item's category (one of the
    /// built-in context effects applies): the events where a context-aware
    /// model should do better by construction.
    pub fn context_matters(&self, event: usize) -> bool {
        let log = &self.log;
        let Some(category) = log
            .item_column()
            .get(event)
            .and_then(|&i| self.catalog.item(i))
            .and_then(|item| item.category.as_deref())
        else {
            return false;
        };
        let vocab = log.context_vocab();
        log.context_of(event).iter().any(|&pair| {
            vocab.pair(pair).is_some_and(|(key, value)| {
                self.truth
                    .context_effects
                    .iter()
                    .any(|x| x.category == category && x.key == key && x.value == value)
            })
        })
    }
}

/// The storefront's product categories, in the order products cycle through them.
pub const CATEGORIES: [&str; 12] = [
    "electronics",
    "phones",
    "kitchen",
    "home",
    "fashion",
    "shoes",
    "beauty",
    "sports",
    "toys",
    "books",
    "garden",
    "grocery",
];
/// Categories bought again and again.
const CONSUMABLES: [&str; 2] = ["beauty", "grocery"];
const CLUSTERS: usize = 8;
const BANDS: [&str; 3] = ["low", "mid", "high"];
const CHANNELS: [&str; 5] = ["web", "app", "store", "email", "call_centre"];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];
const DAYPARTS: [&str; 4] = ["morning", "afternoon", "evening", "night"];
const LOCALES: [&str; 4] = ["en-GB", "fr-FR", "de-DE", "es-ES"];
/// 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200;
const DAYS: i64 = 180;
const DAY: i64 = 86_400;
/// Mixed into the seed for the lifecycle variant's role streams.
const LIFECYCLE_SEED: u64 = 0x11fe_c7c1_e5ee_d000;
/// Mixed into the seed for the advocates variant's role stream.
const ADVOCATE_SEED: u64 = 0xad70_ca7e_5eed_0000;

/// The built-in context effects: (category, key, value, lift).
const EFFECTS: [(&str, &str, &str, f64); 8] = [
    ("fashion", "device", "mobile", 5.0),
    ("fashion", "daypart", "evening", 2.0),
    ("beauty", "daypart", "evening", 2.5),
    ("garden", "daypart", "morning", 4.0),
    ("garden", "channel", "store", 2.5),
    ("grocery", "channel", "app", 4.0),
    ("electronics", "device", "desktop", 4.0),
    ("toys", "daypart", "afternoon", 2.0),
];

/// Context slot of each key in an event's fixed context array.
const CHANNEL: usize = 0;
const DEVICE: usize = 1;
const DAYPART: usize = 2;
const LOCALE: usize = 3;

/// The shared structure all customers draw from.
struct World {
    clusters: Vec<[f64; CATEGORIES.len()]>,
    cluster_band: Vec<usize>,
    /// Products of each category: (item index, price band, Zipf weight).
    products: Vec<Vec<(u32, usize, f64)>>,
    /// Cumulative view weights per category and preferred price band, for
    /// drawing a product by binary search (a linear scan per view dominated).
    shelf_cdf: Vec<[Vec<f64>; 3]>,
    /// Content items of each category.
    content: Vec<Vec<u32>>,
    /// Offers, each tied to a category.
    offers: Vec<(u32, usize)>,
    return_help: u32,
    complaint_callback: u32,
    /// lift[category][context slot][value index]
    lift: Vec<[[f64; 5]; 4]>,
    /// Context pair ids by slot and value index.
    ctx_ids: [Vec<u32>; 4],
    kinds: Kinds,
}

struct Kinds {
    view: u8,
    click: u8,
    cart: u8,
    purchase: u8,
    review: u8,
    ret: u8,
    complaint: u8,
}

/// An event before customer ids are interned: `actor` is 0 for the customer
/// account, 1 for their anonymous id, 2 for their second device.
#[derive(Clone, Copy)]
struct Draft {
    timestamp: i64,
    actor: u8,
    kind: u8,
    item: u32,
    value: f32,
    ctx: [u8; 4],
}

struct Person {
    stage: Option<&'static str>,
    advocate: bool,
    events: Vec<Draft>,
    anonymous: Option<(String, i64)>,
    second_device: Option<(String, i64)>,
    cluster: usize,
}

/// Generates a storefront. The same seed and size always give the same data.
///
/// ```
/// use maitre::datasets::{synthetic_storefront, Size};
/// let shop = synthetic_storefront(42, Size::Tiny)?;
/// let summary = shop.log.summary();
/// assert_eq!(summary.customers, 300);
/// assert!(summary.links > 0 && summary.kinds["return"] > 0);
/// assert_eq!(shop.truth.cluster_of.len(), 300);
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn synthetic_storefront(seed: u64, size: Size) -> Result<Storefront> {
    synthetic_storefront_with(seed, size, StorefrontOptions::default())
}

/// [`synthetic_storefront`] with [`StorefrontOptions`]; the default options
/// give exactly its data.
///
/// ```
/// use maitre::datasets::{synthetic_storefront_with, Size, StorefrontOptions};
/// let shop = synthetic_storefront_with(1, Size::Tiny, StorefrontOptions::default().lifecycle(true))?;
/// assert_eq!(shop.truth.lifecycle.len(), 300);
/// # Ok::<(), maitre::Error>(())
/// ```
pub fn synthetic_storefront_with(
    seed: u64,
    size: Size,
    options: StorefrontOptions,
) -> Result<Storefront> {
    let n_customers = size.customers();
    if !(1..=MAX_CUSTOMERS).contains(&n_customers) {
        return Err(Error::param(
            "size",
            format!("{n_customers} customers: expected 1 to {MAX_CUSTOMERS}"),
        ));
    }
    let mut log = EventLog::new();
    let mut rng = stream(seed, u64::MAX);
    let (world, catalog) = build_world(&mut rng, &mut log, size.products());

    let people: Vec<Person> = (0..n_customers)
        .into_par_iter()
        .map(|c| {
            // Roles come from their own streams, so the plain storefront's
            // streams draw exactly what they always did.
            let rhythm = options
                .lifecycle
                .then(|| Rhythm::draw(&mut stream(seed ^ LIFECYCLE_SEED, c as u64)));
            let advocate =
                options.advocates && stream(seed ^ ADVOCATE_SEED, c as u64).random::<f64>() < 0.1;
            simulate(&world, &mut stream(seed, c as u64), c, rhythm, advocate)
        })
        .collect();

    let mut truth = GroundTruth {
        cluster_of: BTreeMap::new(),
        cluster_categories: world
            .clusters
            .iter()
            .map(|w| {
                let mut top: Vec<(String, f64)> = CATEGORIES
                    .iter()
                    .zip(w)
                    .filter(|(_, &s)| s > 0.1)
                    .map(|(c, &s)| ((*c).to_owned(), s))
                    .collect();
                top.sort_by(|a, b| b.1.total_cmp(&a.1));
                top
            })
            .collect(),
        cluster_price_band: world
            .cluster_band
            .iter()
            .map(|&b| BANDS[b].to_owned())
            .collect(),
        context_effects: EFFECTS
            .iter()
            .map(|&(category, key, value, lift)| ContextEffect {
                category: category.into(),
                key: key.into(),
                value: value.into(),
                lift,
            })
            .collect(),
        links: Vec::new(),
        lifecycle: BTreeMap::new(),
        as_of: START + DAYS * DAY,
        advocates: BTreeSet::new(),
    };

    // Intern ids in customer order, so indices do not depend on thread timing.
    let total: usize = people.iter().map(|p| p.events.len()).sum();
    let mut rows: Vec<(i64, u32, Draft)> = Vec::new();
    // The one allocation sized by the caller's count: a refusal is an error, not an abort.
    rows.try_reserve_exact(total).map_err(|_| {
        Error::param(
            "size",
            format!("{n_customers} customers need {total} events: not enough memory"),
        )
    })?;
    let mut links = Vec::new();
    for (c, person) in people.into_iter().enumerate() {
        let name = customer_id(c);
        let mut actors = [log.intern_customer(&name), 0, 0];
        for (slot, alias) in [(1, &person.anonymous), (2, &person.second_device)] {
            if let Some((alias, linked_at)) = alias {
                actors[slot] = log.intern_customer(alias);
                links.push((alias.clone(), name.clone(), *linked_at));
            }
        }
        if let Some(stage) = person.stage {
            truth.lifecycle.insert(name.clone(), stage.to_owned());
        }
        if person.advocate {
            truth.advocates.insert(name.clone());
        }
        truth.cluster_of.insert(name, person.cluster);
        rows.extend(
            person
                .events
                .into_iter()
                .map(|d| (d.timestamp, actors[d.actor as usize], d)),
        );
    }
    // A log reads in time order; the stable sort keeps ties in customer order.
    rows.par_sort_by_key(|r| r.0);
    let mut ctx = [0u32; 4];
    for (timestamp, actor, d) in rows {
        for (slot, id) in ctx.iter_mut().enumerate() {
            *id = world.ctx_ids[slot][d.ctx[slot] as usize];
        }
        log.push_interned(actor, d.item, d.kind, timestamp, d.value, &ctx);
    }
    for (alias, customer, at) in links {
        log.link(&alias, &customer, at)?;
        truth.links.push((alias, customer));
    }
    Ok(Storefront {
        log,
        catalog,
        truth,
    })
}

/// The customer id of customer number `c`.
pub fn customer_id(c: usize) -> String {
    format!("c{c:07}")
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Draws an index with probability proportional to `weights`.
fn pick(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

fn build_world(rng: &mut ChaCha8Rng, log: &mut EventLog, n_products: usize) -> (World, Catalog) {
    let kinds = log.kinds();
    let id = |name: &str| kinds.id(name).expect("a default kind");
    let kinds = Kinds {
        view: id("view"),
        click: id("click"),
        cart: id("cart"),
        purchase: id("purchase"),
        review: id("review"),
        ret: id("return"),
        complaint: id("complaint"),
    };
    let mut catalog = Vec::new();
    let mut add = |log: &mut EventLog, item: Item| {
        let index = log.intern_item(&item.id);
        catalog.push(item);
        index
    };

    // Products: categories round-robin, brands per category, bands uniform,
    // Zipf popularity within the category.
    let mut products: Vec<Vec<(u32, usize, f64)>> = vec![Vec::new(); CATEGORIES.len()];
    for p in 0..n_products {
        let cat = p % CATEGORIES.len();
        let band = rng.random_range(0..BANDS.len());
        let rank = products[cat].len() + 1;
        let base = [15.0, 60.0, 250.0][band];
        let price = (base * (0.6 + 0.8 * rng.random::<f64>()) * 100.0).round() / 100.0;
        let brand = format!("{}-brand-{}", CATEGORIES[cat], rng.random_range(0..6));
        let index = add(
            log,
            Item {
                id: format!("sku-{p:06}"),
                kind: ItemKind::Product,
                category: Some(CATEGORIES[cat].into()),
                brand: Some(brand),
                price_band: Some(BANDS[band].into()),
                price: Some(price as f32),
                tags: Vec::new(),
                in_stock: true,
            },
        );
        products[cat].push((index, band, 1.0 / (rank as f64).powf(0.9)));
    }
    let mut content = vec![Vec::new(); CATEGORIES.len()];
    for (cat, name) in CATEGORIES.iter().enumerate() {
        for (n, format) in ["guide", "guide", "article", "article"].iter().enumerate() {
            content[cat].push(add(
                log,
                Item {
                    id: format!("{format}-{name}-{n}"),
                    kind: ItemKind::Content,
                    category: Some((*name).into()),
                    brand: None,
                    price_band: None,
                    price: None,
                    tags: vec![(*format).into(), "post-purchase".into()],
                    in_stock: true,
                },
            ));
        }
    }
    let offers = CATEGORIES
        .iter()
        .enumerate()
        .step_by(2)
        .map(|(cat, name)| {
            let index = add(
                log,
                Item {
                    id: format!("offer-{name}-10pct"),
                    kind: ItemKind::Offer,
                    category: Some((*name).into()),
                    brand: None,
                    price_band: None,
                    price: None,
                    tags: vec!["discount".into()],
                    in_stock: true,
                },
            );
            (index, cat)
        })
        .collect();
    let service =
        |log: &mut EventLog, add: &mut dyn FnMut(&mut EventLog, Item) -> u32, id: &str| {
            add(
                log,
                Item {
                    id: id.into(),
                    kind: ItemKind::Service,
                    category: Some("service".into()),
                    brand: None,
                    price_band: None,
                    price: None,
                    tags: vec!["service-recovery".into()],
                    in_stock: true,
                },
            )
        };
    let return_help = service(log, &mut add, "service-return-help");
    let complaint_callback = service(log, &mut add, "service-callback");

    // Clusters: three favourite categories take most of the sessions.
    let mut clusters = Vec::new();
    let mut cluster_band = Vec::new();
    for _ in 0..CLUSTERS {
        let mut w = [0.15 / (CATEGORIES.len() - 3) as f64; CATEGORIES.len()];
        let mut favourites = Vec::new();
        while favourites.len() < 3 {
            let c = rng.random_range(0..CATEGORIES.len());
            if !favourites.contains(&c) {
                favourites.push(c);
            }
        }
        for (c, share) in favourites.iter().zip([0.45, 0.25, 0.15]) {
            w[*c] = share;
        }
        clusters.push(w);
        cluster_band.push(rng.random_range(0..BANDS.len()));
    }

    let values: [&[&str]; 4] = [&CHANNELS, &DEVICES, &DAYPARTS, &LOCALES];
    let keys = ["channel", "device", "daypart", "locale"];
    let ctx_ids: [Vec<u32>; 4] = std::array::from_fn(|slot| {
        values[slot]
            .iter()
            .map(|v| log.intern_context(keys[slot], v))
            .collect()
    });
    let mut lift = vec![[[1.0; 5]; 4]; CATEGORIES.len()];
    for (category, key, value, l) in EFFECTS {
        let cat = CATEGORIES
            .iter()
            .position(|c| *c == category)
            .expect("a category");
        let slot = keys.iter().position(|k| *k == key).expect("a key");
        let v = values[slot]
            .iter()
            .position(|x| *x == value)
            .expect("a value");
        lift[cat][slot][v] = l;
    }
    let shelf_cdf = products
        .iter()
        .map(|shelf| {
            std::array::from_fn(|band| {
                let mut total = 0.0;
                shelf
                    .iter()
                    .map(|&(_, b, z)| {
                        total += z * if b == band { 4.0 } else { 1.0 };
                        total
                    })
                    .collect()
            })
        })
        .collect();
    (
        World {
            shelf_cdf,
            clusters,
            cluster_band,
            products,
            content,
            offers,
            return_help,
            complaint_callback,
            lift,
            ctx_ids,
            kinds,
        },
        Catalog::from_aligned(catalog),
    )
}

/// One customer's whole history.
fn simulate(
    world: &World,
    rng: &mut ChaCha8Rng,
    c: usize,
    rhythm: Option<Rhythm>,
    advocate: bool,
) -> Person {
    let k = &world.kinds;
    let cluster = c % CLUSTERS;
    let taste = &world.clusters[cluster];
    let band = world.cluster_band[cluster];
    let locale = pick(rng, [0.5, 0.2, 0.2, 0.1].into_iter()) as u8;
    let main_device = pick(rng, [0.55, 0.35, 0.10].into_iter()) as u8;
    let main_channel = if main_device == 0 && rng.random::<f64>() < 0.6 {
        1
    } else {
        0
    };
    let mut times: Vec<i64> = match &rhythm {
        Some(r) => {
            let mut own = stream(rng.random::<u64>(), 1);
            r.times(&mut own)
                .into_iter()
                .map(|t| t - (t - START).rem_euclid(DAY))
                .collect()
        }
        None => {
            // Geometric number of sessions, mean 10.
            let mut sessions = 1;
            while rng.random::<f64>() < 0.9 && sessions < 200 {
                sessions += 1;
            }
            (0..sessions)
                .map(|_| START + rng.random_range(0..DAYS) * DAY)
                .collect()
        }
    };
    times.sort_unstable();
    let sessions = times.len();
    let always_buys = rhythm.is_some();

    let anonymous_sessions = if rng.random::<f64>() < 0.3 {
        rng.random_range(1..=3).min(sessions)
    } else {
        0
    };
    let second_device = rng.random::<f64>() < 0.15;
    let mut person = Person {
        advocate,
        stage: rhythm.map(|r| r.stage),
        events: Vec::new(),
        anonymous: None,
        second_device: None,
        cluster,
    };
    let mut bought: Vec<(u32, usize)> = Vec::new();
    for (s, day) in times.into_iter().enumerate() {
        let mut actor = 0u8;
        let mut device = main_device;
        let mut channel = main_channel;
        if s < anonymous_sessions {
            actor = 1;
        } else if second_device && rng.random::<f64>() < 0.3 {
            actor = 2;
            device = if main_device == 0 { 1 } else { 0 };
        }
        if actor == 0 && rng.random::<f64>() < 0.1 {
            channel = 2; // a store visit
        } else if device == 0 && rng.random::<f64>() < 0.3 {
            channel = 1;
        }
        // Mobile visitors shop in the evening more often.
        let daypart = if device == 0 {
            pick(rng, [0.15, 0.25, 0.45, 0.15].into_iter())
        } else {
            pick(rng, [0.3, 0.35, 0.25, 0.1].into_iter())
        };
        let hour = [6, 12, 18, 23][daypart] + rng.random_range(0..[6, 6, 5, 7][daypart]);
        let mut t = day + (hour % 24) as i64 * 3600 + rng.random_range(0..3600);
        let ctx = [channel as u8, device, daypart as u8, locale];
        let lifted = |cat: usize| {
            (0..4)
                .map(|slot| world.lift[cat][slot][ctx[slot] as usize])
                .product::<f64>()
        };
        let cat = pick(
            rng,
            (0..CATEGORIES.len()).map(|cat| taste[cat] * lifted(cat)),
        );
        let push = |person: &mut Person, t: i64, kind: u8, item: u32, value: f32, ctx: [u8; 4]| {
            person.events.push(Draft {
                timestamp: t,
                actor,
                kind,
                item,
                value,
                ctx,
            })
        };

        // Consumables: some sessions go straight to buying again.
        if CONSUMABLES.contains(&CATEGORIES[cat]) && rng.random::<f64>() < 0.4 {
            if let Some(&(item, _)) = bought.iter().rev().find(|(_, c)| *c == cat) {
                push(&mut person, t, k.purchase, item, 1.0, ctx);
                continue;
            }
        }
        let shelf = &world.products[cat];
        let n_views = 1 + rng.random_range(0..5);
        let mut viewed = Vec::with_capacity(n_views);
        for _ in 0..n_views {
            let cdf = &world.shelf_cdf[cat][band];
            let x = rng.random::<f64>() * cdf[cdf.len() - 1];
            let item = shelf[cdf.partition_point(|&c| c <= x).min(shelf.len() - 1)].0;
            t += rng.random_range(20..300);
            if channel != 2 {
                push(&mut person, t, k.view, item, f32::NAN, ctx);
            }
            viewed.push(item);
        }
        if channel != 2 && rng.random::<f64>() < 0.15 {
            let guides = &world.content[cat];
            push(
                &mut person,
                t + 60,
                k.view,
                guides[rng.random_range(0..guides.len())],
                f32::NAN,
                ctx,
            );
        }
        let wants = if always_buys {
            1.0
        } else if channel == 2 {
            0.7
        } else {
            0.3
        };
        if rng.random::<f64>() < wants {
            let item = viewed[rng.random_range(0..viewed.len())];
            t += rng.random_range(30..600);
            if channel != 2 {
                push(&mut person, t, k.cart, item, 1.0, ctx);
            }
            if always_buys || rng.random::<f64>() < 0.65 {
                t += rng.random_range(30..900);
                push(&mut person, t, k.purchase, item, 1.0, ctx);
                bought.push((item, cat));
                aftercare(world, rng, &mut person, item, cat, t, actor, ctx);
            }
        }
        // E-mailed offers, read on the main device.
        if rng.random::<f64>() < 0.12 {
            let fav = pick(rng, world.offers.iter().map(|&(_, c)| taste[c] + 0.02));
            let offer = world.offers[fav].0;
            let at = t + rng.random_range(1..3) * DAY;
            let ctx = [3, main_device, daypart as u8, locale];
            push(&mut person, at, k.view, offer, f32::NAN, ctx);
            if rng.random::<f64>() < 0.3 {
                push(&mut person, at + 30, k.click, offer, f32::NAN, ctx);
            }
        }
    }
    let first_known = person
        .events
        .iter()
        .filter(|e| e.actor == 0)
        .map(|e| e.timestamp)
        .min();
    let last_anonymous = person
        .events
        .iter()
        .filter(|e| e.actor == 1)
        .map(|e| e.timestamp)
        .max();
    if let Some(last) = last_anonymous {
        // The visitor logs in after their last anonymous session.
        person.anonymous = Some((
            format!("anon-{:016x}", rng.random::<u64>()),
            first_known.unwrap_or(last + 60).max(last + 1),
        ));
    }
    if let Some(first) = person
        .events
        .iter()
        .filter(|e| e.actor == 2)
        .map(|e| e.timestamp)
        .min()
    {
        person.second_device = Some((format!("device-{:016x}", rng.random::<u64>()), first));
    }
    person
}

/// After a purchase: a review, a post-purchase guide, sometimes a return, a complaint
/// and the service actions that answer them.
#[allow(clippy::too_many_arguments)]
fn aftercare(
    world: &World,
    rng: &mut ChaCha8Rng,
    person: &mut Person,
    item: u32,
    cat: usize,
    t: i64,
    actor: u8,
    ctx: [u8; 4],
) {
    let k = &world.kinds;
    let mut push = |t: i64, kind: u8, item: u32, value: f32, ctx: [u8; 4]| {
        person.events.push(Draft {
            timestamp: t,
            actor,
            kind,
            item,
            value,
            ctx,
        })
    };
    let later = |rng: &mut ChaCha8Rng, days: std::ops::Range<i64>| {
        t + rng.random_range(days) * DAY + rng.random_range(0..DAY)
    };
    if rng.random::<f64>() < 0.3 {
        let guides = &world.content[cat];
        let email = [3, ctx[DEVICE], ctx[DAYPART], ctx[LOCALE]];
        push(
            later(rng, 1..8),
            k.view,
            guides[rng.random_range(0..guides.len())],
            f32::NAN,
            email,
        );
    }
    let returned = rng.random::<f64>() < if person.advocate { 0.01 } else { 0.06 };
    if returned {
        let at = later(rng, 2..15);
        push(
            at,
            k.ret,
            item,
            1.0,
            [0, ctx[DEVICE], ctx[DAYPART], ctx[LOCALE]],
        );
        push(
            at + 120,
            k.view,
            world.return_help,
            f32::NAN,
            [0, ctx[DEVICE], ctx[DAYPART], ctx[LOCALE]],
        );
    }
    if rng.random::<f64>() < if returned { 0.3 } else { 0.015 } {
        let at = later(rng, 3..20);
        let call = [4, ctx[DEVICE], ctx[DAYPART], ctx[LOCALE]];
        push(at, k.complaint, item, f32::NAN, call);
        push(at + 600, k.view, world.complaint_callback, f32::NAN, call);
    }
    if rng.random::<f64>() < if person.advocate { 0.6 } else { 0.1 } {
        let stars = if returned {
            rng.random_range(1..=2)
        } else if person.advocate {
            5
        } else {
            rng.random_range(3..=5)
        };
        push(
            later(rng, 3..10),
            k.review,
            item,
            stars as f32,
            [ctx[CHANNEL], ctx[DEVICE], ctx[DAYPART], ctx[LOCALE]],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = synthetic_storefront(1, Size::Tiny).unwrap();
        let b = synthetic_storefront(1, Size::Tiny).unwrap();
        let c = synthetic_storefront(2, Size::Tiny).unwrap();
        let rows = |s: &Storefront| -> Vec<String> {
            (0..s.log.len())
                .map(|i| format!("{:?}", s.log.event(i).unwrap()))
                .collect()
        };
        assert_eq!(rows(&a), rows(&b));
        assert_eq!(a.truth, b.truth);
        assert_ne!(rows(&a), rows(&c));
    }

    #[test]
    fn log_is_in_time_order_and_links_resolve() {
        let shop = synthetic_storefront(5, Size::Tiny).unwrap();
        assert!(shop.log.timestamp_column().windows(2).all(|w| w[0] <= w[1]));
        let ids = shop.log.identities();
        assert_eq!(ids.len(), 300);
        assert!(!shop.truth.links.is_empty());
        for (alias, customer) in &shop.truth.links {
            assert_eq!(
                ids.resolve_name(shop.log.raw_customers(), alias),
                Some(customer.as_str())
            );
        }
    }

    #[test]
    fn context_effects_are_real() {
        // Fashion's share of purchases is higher on mobile than on desktop, by construction.
        let shop = synthetic_storefront(11, Size::Small).unwrap();
        let log = &shop.log;
        let purchase = log.kinds().id("purchase").unwrap();
        let category: BTreeMap<&str, &str> = shop
            .catalog
            .items()
            .iter()
            .map(|c| (c.id.as_str(), c.category.as_deref().unwrap_or_default()))
            .collect();
        let share = |device: &str| {
            let d = log.context_vocab().get("device", device).unwrap();
            let (mut all, mut fashion) = (0.0, 0.0);
            for i in 0..log.len() {
                if log.kind_column()[i] == purchase && log.context_of(i).contains(&d) {
                    all += 1.0;
                    if category[log.items().name(log.item_column()[i]).unwrap()] == "fashion" {
                        fashion += 1.0;
                    }
                }
            }
            fashion / all
        };
        let (mobile, desktop) = (share("mobile"), share("desktop"));
        assert!(
            mobile > 2.0 * desktop,
            "fashion share: mobile {mobile}, desktop {desktop}"
        );
    }

    #[test]
    fn funnel_returns_complaints_content_and_offers_all_occur() {
        let shop = synthetic_storefront(3, Size::Small).unwrap();
        let s = shop.log.summary();
        for kind in [
            "view",
            "click",
            "cart",
            "purchase",
            "review",
            "return",
            "complaint",
        ] {
            assert!(
                s.kinds.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} events"
            );
        }
        assert!(s.kinds["view"] > s.kinds["cart"] && s.kinds["cart"] > s.kinds["return"]);
        for channel in CHANNELS {
            assert!(s.context["channel"][channel] > 0, "no {channel} events");
        }
        assert!(s.linked_ids > 0);
    }
}
