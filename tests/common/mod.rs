//! Shared test fixtures.

use maitre::catalog::Catalog;
use maitre::embed::{Als, AlsModel};
use maitre::events::EventLog;
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::recommend::{BuildOptions, Recommender};

/// A small ALS (16 factors, 5 iterations) fitted on `log`.
pub fn model(log: &EventLog) -> AlsModel {
    let matrix = Interactions::build(log, &InteractionConfig::default()).unwrap();
    Als::params()
        .factors(16)
        .iterations(5)
        .alpha(5.0)
        .fit(&matrix)
        .unwrap()
}

/// [`model`] and a recommender with the cold-start attribute map, built on
/// `log` and its aligned `catalog`.
pub fn recommender(log: &EventLog, catalog: &Catalog) -> Recommender {
    let model = model(log);
    let options = BuildOptions {
        attributes: Some(Default::default()),
        ..BuildOptions::default()
    };
    Recommender::build(log, catalog, model, &options).unwrap()
}
