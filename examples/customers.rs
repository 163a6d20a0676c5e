//! Customer intelligence on the synthetic storefront: segments described in
//! words, lifecycle stages, advocates, one customer's view across channels
//! and devices, a targeted list, and a customer forgotten.
//!
//! ```text
//! cargo run --release --example customers
//! ```

use maitre::customers::{
    CustomerBase, CustomerFilter, CustomerSettings, KMeansParams, Representation, Stage, Targeting,
};
use maitre::datasets::{synthetic_storefront, Size};
use maitre::embed::Als;
use maitre::interactions::{InteractionConfig, Interactions};

fn main() -> maitre::Result<()> {
    let shop = synthetic_storefront(21, Size::Small)?;
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    let model = Als::params().fit(&matrix)?;
    let mut base = CustomerBase::new(shop.log, shop.catalog, CustomerSettings::default())?
        .with_vectors(model.users, Some(model.items))?;

    let segments = base.segment(
        &KMeansParams::default().k(8).seed(1),
        Representation::CategoryShares,
        15,
    )?;
    println!("Segments:");
    for s in &segments.segments {
        println!("  {}: {}", s.id, s.description);
    }

    let mut stages = std::collections::BTreeMap::new();
    for l in base.lifecycle() {
        *stages.entry(l.stage.name()).or_insert(0) += 1;
    }
    println!("\nLifecycle stages: {stages:?}");

    println!("\nAdvocates:");
    for a in base.advocates(3)? {
        println!("  {} ({:.2}): {}", a.customer, a.score, a.why);
    }

    // A customer seen on three channels and two devices, under linked ids.
    let id = base
        .customers()
        .iter()
        .find(|id| {
            base.customer_view(id, 1).is_ok_and(|v| {
                v.channels.len() >= 3 && v.devices.len() >= 2 && v.identities.len() >= 2
            })
        })
        .cloned()
        .expect("such a customer exists in the storefront");
    let view = base.customer_view(&id, 8)?;
    println!(
        "\nCustomer {} ({} ids: {:?}), {} events, stage {}, RFM group {}:",
        view.customer,
        view.identities.len(),
        view.identities,
        view.events,
        view.lifecycle.stage.name(),
        view.rfm.group
    );
    for e in &view.timeline {
        println!(
            "  {} {:<9} {:<22} via {:<26} {:?}/{:?}",
            e.timestamp, e.kind, e.item, e.identity, e.channel, e.device
        );
    }

    let at_risk = CustomerFilter {
        stages: vec![Stage::AtRisk, Stage::Lapsed],
        ..CustomerFilter::default()
    };
    println!("\nAt-risk or lapsed customers most likely to want garden products:");
    for t in base.target(&Targeting::Category("garden".into()), 5, &at_risk)? {
        println!("  {} {:.3} {:?}", t.customer, t.score, t.reason);
    }

    let gone = base.forget(&id)?;
    println!(
        "\nForgot {}: {} ids, {} events, {} links, vector {}, segment {:?}",
        gone.customer,
        gone.identities.len(),
        gone.events,
        gone.links,
        gone.vector,
        gone.segment
    );
    Ok(())
}
