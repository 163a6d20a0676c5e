//! maitre in one minute: generate a storefront, ingest it, see what one
//! customer's unified history looks like, and measure the baselines.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use maitre::datasets::{synthetic_storefront, Size};
use maitre::eval::{evaluate, EvalConfig};
use maitre::interactions::{InteractionConfig, Interactions};

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

    // 4. The measuring stick: baselines on next-purchase prediction.
    let report = evaluate(log, &EvalConfig::default().positive_kinds(["purchase"]))?;
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
