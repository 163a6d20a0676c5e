//! Shared test fixtures.

use maitre::catalog::Catalog;
use maitre::embed::Als;
use maitre::events::EventLog;
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::recommend::{BuildOptions, Recommender};

/// A small ALS (16 factors, 5 iterations) and a recommender with the
/// cold-start attribute map, built on `log` and its aligned `catalog`.
pub fn recommender(log: &EventLog, catalog: &Catalog) -> Recommender {
    let matrix = Interactions::build(log, &InteractionConfig::default()).unwrap();
    let model = Als::params()
        .factors(16)
        .iterations(5)
        .alpha(5.0)
        .fit(&matrix)
        .unwrap();
    let options = BuildOptions {
        attributes: Some(Default::default()),
        ..BuildOptions::default()
    };
    Recommender::build(log, catalog, model, &options).unwrap()
}
