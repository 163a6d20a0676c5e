//! maitre in one minute: generate a storefront, ingest it, see what one
//! customer's unified history looks like, fit embeddings with the default
//! settings, recommend with reasons, choose the next best action (a service
//! action after a return, an offer otherwise), and measure the recommender as it serves
//! against the baselines.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use maitre::catalog::Catalog;
use maitre::customers::{CustomerBase, CustomerSettings};
use maitre::datasets::{synthetic_storefront, Size};
use maitre::embed::Als;
use maitre::eval::{evaluate, EvalConfig};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::offers::{
    BanditParams, ContactPolicy, Decision, Exclusion, NextBestOffer, OfferRequest, OfferSet,
};
use maitre::recommend::{BuildOptions, Diversity, Reason, Recommendation, Recommender, Request};

#[path = "shared/next_best_action.rs"]
mod nba;

fn main() -> maitre::Result<()> {
    // 1. Behaviour data: a deterministic synthetic storefront (seed 42).
    let shop = synthetic_storefront(42, Size::Small)?;
    let log = &shop.log;
    let s = log.summary();
    println!("Ingested {} events", s.events);
    println!(
        "  {} customers ({} raw ids; {} anonymous or device ids linked by {} logins)",
        s.customers, s.raw_ids, s.linked_ids, s.links
    );
    println!("  {} items, {} event kinds", s.items, s.kinds.len());
    for (key, values) in &s.context {
        let parts: Vec<String> = values.iter().map(|(v, n)| format!("{v} {n}")).collect();
        println!("  {key:<8} {}", parts.join(" · "));
    }
    let kinds: Vec<String> = s.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  kinds    {}", kinds.join(" · "));

    // 2. One view of the customer: a person seen under two ids (a device,
    // then a login), with one history across ids, channels and devices.
    let ids = log.identities();
    let customer_column = log.customer_column();
    let history = |person: u32| -> Vec<usize> {
        (0..log.len())
            .filter(|&i| ids.customer_of(customer_column[i]) == person)
            .collect()
    };
    // The first linked customer whose whole history fits on a screen and who
    // bought something: every "because" below cites an item printed here.
    let (alias, customer, person, events) = shop
        .truth
        .links
        .iter()
        .find_map(|(alias, customer)| {
            let person = ids.lookup(log.raw_customers(), customer)?;
            let events = history(person);
            let bought = events
                .iter()
                .any(|&i| log.event(i).is_some_and(|e| e.kind == "purchase"));
            (bought && (6..=14).contains(&events.len()))
                .then_some((alias, customer, person, events))
        })
        .expect("the small storefront has such a customer");
    println!("\nOne customer, one history: {customer} (also seen as {alias})");
    for &i in &events {
        let e = log.event(i).expect("in range");
        let ctx: Vec<String> = e.context.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "  {}  {:<9} {:<18} {:<18} as {:<24} {}",
            date_time(e.timestamp),
            e.kind,
            e.item,
            category_of(&shop.catalog, e.item),
            e.customer,
            ctx.join(" ")
        );
    }

    // The same person as the customer module sees them: one view from any
    // of their ids, with where they stand.
    let base = CustomerBase::new(
        log.clone(),
        shop.catalog.clone(),
        CustomerSettings::default(),
    )?;
    let view = base.customer_view(alias, 1)?;
    let top: Vec<String> = view
        .categories
        .iter()
        .take(2)
        .map(|c| format!("{} {:.0} %", c.name, 100.0 * c.share))
        .collect();
    println!(
        "  customer_view({alias}) → {}: ids {:?}, channels {:?}, devices {:?}, \
         lifecycle {}, RFM group {}, top categories {}, open moments of truth {}",
        view.customer,
        view.identities,
        view.channels.keys().collect::<Vec<_>>(),
        view.devices.keys().collect::<Vec<_>>(),
        view.lifecycle.stage.name(),
        view.rfm.group,
        top.join(", "),
        view.open_moments_of_truth.len()
    );

    // 3. The interaction matrix models learn from: every event, weighted by
    // its kind (a purchase counts more than a view, a return against). Decay
    // by age is one setting away (`.half_life_days(60.0)`); the default, no
    // decay, is what the evaluation below measures.
    let matrix = Interactions::build(log, &InteractionConfig::default())?;
    println!(
        "\nInteraction matrix: {} customers × {} items, {} non-zeros",
        matrix.by_customer().n_rows(),
        matrix.by_customer().n_cols(),
        matrix.by_customer().nnz()
    );

    // 4. Embeddings: implicit ALS on the typed, decayed interactions, with
    // the library's defaults (chosen on validation across the built-in data
    // sets: `cargo run --release --example tune_defaults`).
    let model = Als::params().fit(&matrix)?;
    println!(
        "ALS (defaults): {} customer and {} item vectors of {} factors",
        model.users.rows(),
        model.items.rows(),
        model.items.k()
    );

    // 5. Recommendations with reasons: the customer above, then an anonymous
    // visitor on mobile who has viewed two products.
    let rec = Recommender::build(log, &shop.catalog, model, &BuildOptions::default())?;
    let name = ids.name(person).expect("a known customer").to_owned();
    let known = Request::new(5).customer(name.clone()).diversity(Diversity {
        relevance: 1.0, // no trade of score for novelty: the list stays in score order
        max_per_category: Some(2),
    });
    print_list(
        &rec,
        &format!("For {name}: products not yet bought, in stock, at most 2 per category"),
        &rec.recommend(&known)?,
    );
    let products: Vec<&str> = shop
        .catalog
        .items()
        .iter()
        .filter(|i| i.category.as_deref() == Some("fashion") && i.price.is_some())
        .map(|i| i.id.as_str())
        .take(2)
        .collect();
    let visitor = Request::new(5)
        .event(products[0], "view")
        .event(products[1], "view")
        .context("device", "mobile");
    print_list(
        &rec,
        &format!(
            "For an anonymous visitor on mobile who viewed {} and {}",
            products[0], products[1]
        ),
        &rec.recommend(&visitor)?,
    );

    // 6. Next best action: the storefront's offers and service actions are
    // catalogue items too. The default contact policy puts service before
    // sales after a return or a complaint; the bandit (LinUCB, untrained
    // here, so its estimates are the prior's) ranks what remains by
    // estimated acceptance × value, with the customer's vector as context.
    let offers = nba::storefront_offers(&shop.catalog)?;
    let engine = NextBestOffer::new(
        offers.clone(),
        ContactPolicy::default(),
        rec.item_vectors().k(),
        BanditParams::default(),
    )?;
    println!(
        "\nNext best action ({} offers and service actions, default contact policy):",
        offers.len()
    );
    let returner = nba::just_returned(log, &shop.catalog).expect("someone returned an item");
    let happy = nba::browsing_happily(log, &shop.catalog, &offers).expect("a happy browser");
    for (title, m) in [
        ("returned an item an hour ago", &returner),
        ("browsing happily, no returns or complaints", &happy),
    ] {
        let context = rec
            .query_vector(&Request::new(1).customer(m.id.clone()))?
            .unwrap_or_else(|| vec![0.0; rec.item_vectors().k()]);
        let d = engine.decide(&OfferRequest::new(m.state.clone(), context, m.now))?;
        print_decision(&format!("{} {title}", m.id), &offers, &d);
    }

    // 7. The measuring stick: next-purchase prediction on a held-out split,
    // the served recommender (the path above, defaults throughout) against
    // the baselines.
    let config = EvalConfig::default()
        .positive_kinds(["purchase"])
        .models(["popularity", "item-knn", "recommend"])
        .catalog(shop.catalog.clone());
    let report = evaluate(log, &config)?;
    println!(
        "\nOffline evaluation: each tested customer's last purchase held out ({} customers, \
         {} items ranked; the recommender learns from everything before it):",
        report.users, report.items
    );
    println!(
        "  {:<28} {:>8} {:>10} {:>8}",
        "model", "hr@10", "recall@20", "ndcg@10"
    );
    for r in &report.results {
        let name = match r.model.as_str() {
            "recommend" => "maitre (as served)",
            other => other,
        };
        println!(
            "  {:<28} {:>8.4} {:>10.4} {:>8.4}",
            name, r.metrics["hr@10"], r.metrics["recall@20"], r.metrics["ndcg@10"]
        );
    }
    Ok(())
}

/// `YYYY-MM-DD hh:mm` (UTC) from Unix seconds.
fn date_time(t: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn category_of(catalog: &Catalog, id: &str) -> String {
    let item = catalog.items().iter().find(|i| i.id == id);
    match item {
        Some(i) => format!("({})", i.category.as_deref().unwrap_or(i.kind.name())),
        None => String::new(),
    }
}

fn print_list(rec: &Recommender, title: &str, list: &[Recommendation]) {
    let catalog = rec.catalog();
    println!("\n{title}:");
    println!("  {:<29} {:>6}  why", "item", "score");
    for r in list {
        let why = match &r.reason {
            Reason::Because { items } => {
                let named: Vec<String> = items
                    .iter()
                    .map(|id| format!("{id} {}", category_of(catalog, id)))
                    .collect();
                format!("because of {}", named.join(", "))
            }
            Reason::Taste => "your taste".into(),
            Reason::Pinned => "pinned".into(),
            Reason::PopularInContext { context } => format!("popular with {context}"),
            Reason::Popular => "popular".into(),
            Reason::NewArrival => "new arrival".into(),
        };
        let item = format!("{} {}", r.item, category_of(catalog, &r.item));
        println!("  {item:<29} {:>6.3}  {why}", r.score);
    }
}

/// The chosen action with the rule or estimate behind it, then what was held
/// back and why (one line per reason).
fn print_decision(who: &str, offers: &OfferSet, d: &Decision) {
    println!("  {who}:");
    if !d.fired.is_empty() {
        println!("    contact rules fired: {}", d.fired.join(", "));
    }
    for c in &d.chosen {
        let rules = offers
            .position(&c.offer)
            .and_then(|i| offers.get(i))
            .map(|o| {
                let state: Vec<String> = o
                    .eligibility
                    .state
                    .iter()
                    .map(|r| {
                        let days = r.within_secs / 86_400;
                        match &r.category {
                            Some(cat) => format!("{} in {cat} within {days} days", r.kind),
                            None => format!("{} within {days} days", r.kind),
                        }
                    })
                    .collect();
                state.join(", ")
            })
            .unwrap_or_default();
        println!(
            "    → {} ({}), chosen with probability {:.2}: {}; eligible by {}",
            c.offer,
            c.kind.name(),
            c.propensity,
            c.why,
            if rules.is_empty() {
                "default".into()
            } else {
                rules
            }
        );
    }
    if d.scores.len() > 1 {
        let scored: Vec<String> = d
            .scores
            .iter()
            .zip(&d.probabilities)
            .map(|(s, p)| format!("{} {:.2} (p {:.2})", s.id, s.score, p))
            .collect();
        println!(
            "    scores (estimate, optimism and value): {}",
            scored.join(", ")
        );
    }
    let mut suppressed: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut ineligible = Vec::new();
    for (id, why) in &d.excluded {
        match why {
            Exclusion::ContactPolicy(rule) => *suppressed.entry(rule).or_default() += 1,
            _ => ineligible.push(id.as_str()),
        }
    }
    for (rule, n) in suppressed {
        println!("    held back by rule {rule:?}: {n} sales offers");
    }
    if !ineligible.is_empty() {
        println!("    not eligible now: {}", ineligible.join(", "));
    }
}
