//! Fold-in quality on MovieLens 100K: customers left out of the fit and folded
//! in from their training events rank their held-out item nearly as well as
//! when they were part of the fit. Fails (never skips) without the data.

use maitre::datasets::movielens;
use maitre::embed::{dot, Als, AlsModel, Factors};
use maitre::eval::{score_split, Positives, Scorer, Split, SplitData};
use maitre::interactions::Csr;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Scores with per-customer vectors against fixed item factors.
struct Vectors<'a> {
    users: HashMap<u32, Vec<f32>>,
    items: &'a Factors,
}

impl Scorer for Vectors<'_> {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        self.items.scores(&self.users[&user], out);
    }
}

fn fit(train: &Csr) -> AlsModel {
    Als::params()
        .factors(64)
        .iterations(15)
        .regularization(0.05)
        .seed(1)
        .fit_matrix(train, |_| ControlFlow::Continue(()))
        .unwrap()
}

#[test]
fn folded_in_customers_keep_97_percent_of_ndcg() {
    let dir = movielens::locate(None).unwrap_or_else(|e| panic!("{e}"));
    let ml = movielens::load(dir).unwrap();
    let positives = Positives::from_log(&ml.log, Some(&["rating".into()]), Some(4.0)).unwrap();
    let split = Split::LeaveLastOut { min_positives: 5 }
        .apply(&positives, &[])
        .unwrap();

    // Every fifth tested customer is held out of the second fit.
    let held: Vec<(u32, Vec<u32>)> = split.test.iter().step_by(5).cloned().collect();
    let held_set: std::collections::HashSet<u32> = held.iter().map(|(u, _)| *u).collect();
    let subset = SplitData {
        train: split.train.clone(),
        test: held.clone(),
    };

    let full = fit(&split.train);
    let trained = Vectors {
        users: held
            .iter()
            .map(|(u, _)| (*u, full.users.row(*u).to_vec()))
            .collect(),
        items: &full.items,
    };
    let ndcg_trained = score_split(&subset, &trained)["ndcg@10"];

    let mut triplets = Vec::new();
    for u in 0..split.train.n_rows() as u32 {
        if !held_set.contains(&u) {
            let (items, weights) = split.train.row(u);
            triplets.extend(items.iter().zip(weights).map(|(&i, &w)| (u, i, w)));
        }
    }
    let without = Csr::from_triplets(split.train.n_rows(), split.train.n_cols(), triplets).unwrap();
    let partial = fit(&without);
    let folded = Vectors {
        users: held
            .iter()
            .map(|(u, _)| {
                let (items, weights) = split.train.row(*u);
                (*u, partial.fold_in(items, weights).unwrap())
            })
            .collect(),
        items: &partial.items,
    };
    let ndcg_folded = score_split(&subset, &folded)["ndcg@10"];
    let ratio = ndcg_folded / ndcg_trained;
    println!("held-out customers: {}, NDCG@10 trained {ndcg_trained:.4}, folded in {ndcg_folded:.4}, ratio {ratio:.3}", held.len());
    assert!(
        ratio >= 0.97,
        "fold-in keeps only {ratio:.3} of the trained NDCG@10"
    );

    // And folding a trained customer back in lands close to their trained vector.
    let (u, _) = held[0];
    let (items, weights) = split.train.row(u);
    let again = full.fold_in(items, weights).unwrap();
    let cos = dot(&again, full.users.row(u))
        / (dot(&again, &again).sqrt() * dot(full.users.row(u), full.users.row(u)).sqrt());
    assert!(cos > 0.99, "cosine {cos}");
}
