//! maitre in one minute: generate a storefront, ingest it, see what one
//! customer's unified history looks like, fit embeddings, recommend with
//! reasons, and measure against the baselines.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use maitre::datasets::{synthetic_storefront, Size};
use maitre::embed::Als;
use maitre::eval::{evaluate, EvalConfig, MODELS};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::recommend::{BuildOptions, Diversity, Reason, Recommendation, Recommender, Request};

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

    // 2. One view of the customer: a linked person's history across ids and channels.
    let ids = log.identities();
    if let Some((alias, customer)) = shop.truth.links.first() {
        let person = ids
            .lookup(log.raw_customers(), customer)
            .expect("a linked customer");
        println!("\nOne customer, one history: {customer} (also seen as {alias})");
        let mut shown = 0;
        for i in 0..log.len() {
            if ids.customer_of(log.customer_column()[i]) == person && shown < 8 {
                let e = log.event(i).expect("in range");
                let ctx: Vec<String> = e.context.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!(
                    "  {:>10}  {:<9} {:<22} as {:<24} {}",
                    e.timestamp,
                    e.kind,
                    e.item,
                    e.customer,
                    ctx.join(" ")
                );
                shown += 1;
            }
        }
    }

    // 3. The interaction matrix models learn from: weighted by kind, decayed by age.
    let matrix = Interactions::build(log, &InteractionConfig::default().half_life_days(60.0))?;
    println!(
        "\nInteraction matrix: {} customers × {} items, {} non-zeros",
        matrix.by_customer().n_rows(),
        matrix.by_customer().n_cols(),
        matrix.by_customer().nnz()
    );

    // 4. Embeddings: implicit ALS on the typed, decayed interactions.
    let model = Als::params().alpha(5.0).fit(&matrix)?;
    println!(
        "ALS: {} customer and {} item vectors of {} factors",
        model.users.rows(),
        model.items.rows(),
        model.items.k()
    );

    // 5. Recommendations with reasons: a known customer, then an anonymous
    // visitor on mobile who has viewed two products.
    let rec = Recommender::build(log, &shop.catalog, model, &BuildOptions::default())?;
    let customer = &ids.names()[0];
    let known = Request::new(5)
        .customer(customer.clone())
        .diversity(Diversity {
            relevance: 0.8,
            max_per_category: Some(2),
        });
    print_list(
        &rec,
        &format!("For {customer} (at most 2 per category)"),
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
        "For an anonymous visitor who viewed two fashion items",
        &rec.recommend(&visitor)?,
    );

    // 6. The measuring stick: every model on next-purchase prediction.
    let config = EvalConfig::default()
        .positive_kinds(["purchase"])
        .als(Als::params().alpha(5.0))
        .models(MODELS);
    let report = evaluate(log, &config)?;
    println!(
        "\nOffline evaluation ({} split, {} customers tested, full catalogue of {} items):",
        report.split, report.users, report.items
    );
    println!(
        "  {:<12} {:>8} {:>10} {:>8}",
        "model", "hr@10", "recall@20", "ndcg@10"
    );
    for r in &report.results {
        println!(
            "  {:<12} {:>8.4} {:>10.4} {:>8.4}",
            r.model, r.metrics["hr@10"], r.metrics["recall@20"], r.metrics["ndcg@10"]
        );
    }
    Ok(())
}

fn print_list(rec: &Recommender, title: &str, list: &[Recommendation]) {
    let category = |i: u32| {
        rec.catalog()
            .item(i)
            .and_then(|it| it.category.clone())
            .unwrap_or_default()
    };
    println!("\n{title}:");
    for r in list {
        let why = match &r.reason {
            Reason::Because { items } => {
                let named: Vec<String> = items
                    .iter()
                    .map(|id| {
                        format!(
                            "{id} ({})",
                            rec.item_index(id).map(category).unwrap_or_default()
                        )
                    })
                    .collect();
                format!("because of {}", named.join(", "))
            }
            Reason::Taste => "your taste".into(),
            Reason::Pinned => "pinned".into(),
            Reason::PopularInContext { context } => format!("popular with {context}"),
            Reason::Popular => "popular".into(),
        };
        let item = format!("{} ({})", r.item, category(r.index));
        println!("  {item:<26} {:>6.3}  {why}", r.score);
    }
}
