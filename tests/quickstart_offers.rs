//! The quickstart's next-best-action part, checked: after a return the
//! customer gets a service action and the contact rule that held back sales
//! is named; a customer browsing happily gets a sales offer they are
//! eligible for, chosen by the bandit with a logged probability.

#[path = "../examples/shared/next_best_action.rs"]
mod nba;

use maitre::catalog::ItemKind;
use maitre::datasets::{synthetic_storefront, Size};
use maitre::embed::Als;
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::offers::{BanditParams, ContactPolicy, Exclusion, NextBestOffer, OfferRequest};
use maitre::recommend::{BuildOptions, Recommender, Request};

#[test]
fn a_returner_gets_service_and_a_happy_browser_an_offer() -> maitre::Result<()> {
    let shop = synthetic_storefront(42, Size::Tiny)?;
    let matrix = Interactions::build(&shop.log, &InteractionConfig::default())?;
    let model = Als::params().factors(8).iterations(4).fit(&matrix)?;
    let rec = Recommender::build(&shop.log, &shop.catalog, model, &BuildOptions::default())?;
    let offers = nba::storefront_offers(&shop.catalog)?;
    let sales = offers
        .offers()
        .iter()
        .filter(|o| o.item.kind == ItemKind::Offer)
        .count();
    assert!(sales >= 2, "the storefront has {sales} sales offers");
    let engine = NextBestOffer::new(
        offers.clone(),
        ContactPolicy::default(),
        rec.item_vectors().k(),
        BanditParams::default(),
    )?;
    let request = |m: &nba::Moment, slots: usize| -> maitre::Result<OfferRequest> {
        let context = rec
            .query_vector(&Request::new(1).customer(m.id.clone()))?
            .expect("a known customer has a vector");
        Ok(OfferRequest::new(m.state.clone(), context, m.now).slots(slots))
    };

    let returner = nba::just_returned(&shop.log, &shop.catalog).expect("a returner");
    // Three slots: even with room to spare, no sales offer gets in.
    let d = engine.decide(&request(&returner, 3)?)?;
    assert_eq!(d.chosen[0].offer, "service-return-help");
    assert!(d.chosen.iter().all(|c| c.kind == ItemKind::Service));
    let rule = "no-sales-after-return-or-complaint";
    assert!(d.fired.iter().any(|r| r == rule), "fired: {:?}", d.fired);
    assert!(d.chosen[0]
        .why
        .contains("service-first-after-return-or-complaint"));
    let held = d
        .excluded
        .iter()
        .filter(|(_, why)| *why == Exclusion::ContactPolicy(rule.into()))
        .count();
    assert_eq!(held, sales, "every sales offer is held back by {rule}");

    let happy = nba::browsing_happily(&shop.log, &shop.catalog, &offers).expect("a happy browser");
    let d = engine.decide(&request(&happy, 1)?)?;
    assert!(d.fired.is_empty(), "fired: {:?}", d.fired);
    let chosen = &d.chosen[0];
    assert_eq!(chosen.kind, ItemKind::Offer);
    let category = offers
        .get(offers.position(&chosen.offer).expect("a known offer"))
        .and_then(|o| o.item.category.clone())
        .expect("storefront offers have a category");
    assert!(
        happy.state.recent.iter().any(|e| e.kind == "view"
            && e.category.as_deref() == Some(&category)
            && e.timestamp > happy.now - 30 * 86_400),
        "{} offered without a recent view of {category}",
        chosen.offer
    );
    assert!(
        d.scores.len() >= 2,
        "a choice between offers: {:?}",
        d.scores
    );
    assert!(chosen.propensity > 0.0 && chosen.propensity <= 1.0);
    assert!((d.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(!d
        .excluded
        .iter()
        .any(|(_, why)| matches!(why, Exclusion::ContactPolicy(_))));
    Ok(())
}
