//! How ALS's default hyper-parameters were chosen: one grid, every built-in
//! data set, validation only.
//!
//! ```text
//! cargo run --release --example tune_defaults [-- --quick]
//! cargo run --release --example tune_defaults -- --ease
//! ```
//!
//! `--ease` chooses EASE's λ the same way (validation NDCG@10 of the `ease`
//! model on positives, mean relative to each data set's best) among 10, 30,
//! 100, 300 and 1000.
//!
//! For each data set and split (MovieLens 100K leave-last-out and temporal,
//! the small and medium synthetic storefronts' next purchase), the test split
//! is set aside first ([`training_log`]): every score of the grid is measured
//! on a validation split carved from what is left, by the same protocol. Two
//! uses are scored per data set: the served path (ALS on every event kind,
//! lists from `Recommender::recommend` with the default rules) and the
//! protocol's `als` row (ALS on the positives alone). A setting's score is the
//! mean, over those eight columns, of its validation NDCG@10 divided by the
//! column's best; the best setting becomes [`AlsParams::default`].
//!
//! Then, and only then, the test: the previous defaults, the chosen ones and
//! the baselines, on each data set's test split. The last line of output is
//! one JSON object with every number.

use maitre::catalog::Catalog;
use maitre::datasets::{movielens, synthetic_storefront, Size};
use maitre::embed::{AlsParams, EaseParams};
use maitre::eval::{evaluate, evaluate_recommend, training_log, EvalConfig, Split};
use maitre::events::EventLog;
use serde_json::json;
use std::process::ExitCode;

struct DataSet {
    name: String,
    log: EventLog,
    catalog: Catalog,
    config: EvalConfig,
}

fn data_sets() -> maitre::Result<Vec<DataSet>> {
    let mut out = Vec::new();
    let ml = movielens::load(movielens::locate(None)?)?;
    for split in [
        Split::LeaveLastOut { min_positives: 5 },
        Split::Temporal { quantile: 0.8 },
    ] {
        out.push(DataSet {
            name: format!("ml-100k {}", split.name()),
            log: ml.log.clone(),
            catalog: ml.catalog.clone(),
            config: EvalConfig::default()
                .split(split)
                .positive_kinds(["rating"])
                .min_value(movielens::MovieLens::POSITIVE_MIN_RATING),
        });
    }
    for size in [Size::Small, Size::Medium] {
        let shop = synthetic_storefront(42, size)?;
        out.push(DataSet {
            name: format!("synthetic {size:?}").to_lowercase(),
            log: shop.log,
            catalog: shop.catalog,
            config: EvalConfig::default().positive_kinds(["purchase"]),
        });
    }
    Ok(out)
}

/// NDCG@10 of the served path and of the protocol's `als` row.
fn scores(data: &DataSet, log: &EventLog, params: &AlsParams) -> maitre::Result<[f64; 2]> {
    let config = data.config.clone().als(params.clone());
    let served = evaluate_recommend(log, &data.catalog, &config)?.metrics["ndcg@10"];
    let protocol = evaluate(log, &config.models(["als"]))?.results[0].metrics["ndcg@10"];
    Ok([served, protocol])
}

fn grid(quick: bool) -> Vec<AlsParams> {
    let factors: &[usize] = if quick { &[32, 64] } else { &[16, 32, 64, 128] };
    let regularization: &[f32] = if quick {
        &[0.1, 1.0]
    } else {
        &[0.1, 1.0, 10.0, 30.0]
    };
    let alpha: &[f32] = if quick {
        &[1.0, 5.0]
    } else {
        &[0.5, 1.0, 2.0, 5.0]
    };
    let mut out = Vec::new();
    for &f in factors {
        for &r in regularization {
            for &a in alpha {
                out.push(AlsParams::default().factors(f).regularization(r).alpha(a));
            }
        }
    }
    out
}

/// EASE's λ, chosen like ALS's parameters (the protocol column only: EASE
/// is not what `recommend` serves).
fn run_ease() -> maitre::Result<serde_json::Value> {
    let sets = data_sets()?;
    let lambdas = [10.0, 30.0, 100.0, 300.0, 1000.0];
    let ndcg = |d: &DataSet, log: &EventLog, lambda: f64| -> maitre::Result<f64> {
        let config = d
            .config
            .clone()
            .ease(EaseParams::default().regularization(lambda))
            .models(["ease"]);
        Ok(evaluate(log, &config)?.results[0].metrics["ndcg@10"])
    };
    let mut validation = vec![Vec::new(); lambdas.len()];
    for d in &sets {
        let train = training_log(&d.log, &d.config)?;
        for (row, &lambda) in validation.iter_mut().zip(&lambdas) {
            row.push(ndcg(d, &train, lambda)?);
        }
        eprintln!(
            "{}: {:?}",
            d.name,
            validation
                .iter()
                .map(|r| r[r.len() - 1])
                .collect::<Vec<_>>()
        );
    }
    let best: Vec<f64> = (0..sets.len())
        .map(|j| validation.iter().map(|r| r[j]).fold(f64::MIN, f64::max))
        .collect();
    let relative: Vec<f64> = validation
        .iter()
        .map(|r| r.iter().zip(&best).map(|(v, b)| v / b).sum::<f64>() / sets.len() as f64)
        .collect();
    let chosen = (0..lambdas.len())
        .max_by(|&a, &b| relative[a].total_cmp(&relative[b]))
        .expect("a non-empty grid");
    let test = sets
        .iter()
        .map(|d| Ok(json!({"data": d.name, "ndcg@10": ndcg(d, &d.log, lambdas[chosen])?})))
        .collect::<maitre::Result<Vec<_>>>()?;
    Ok(json!({
        "data": sets.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
        "lambdas": lambdas,
        "validation_ndcg@10": validation,
        "relative": relative,
        "chosen": lambdas[chosen],
        "test_ndcg@10": test,
    }))
}

fn describe(p: &AlsParams) -> serde_json::Value {
    json!({"factors": p.factors, "iterations": p.iterations, "regularization": p.regularization, "alpha": p.alpha})
}

fn run(quick: bool) -> maitre::Result<serde_json::Value> {
    let sets = data_sets()?;
    let trains = sets
        .iter()
        .map(|d| training_log(&d.log, &d.config))
        .collect::<maitre::Result<Vec<_>>>()?;
    let candidates = grid(quick);
    // validation[c][d] = [served, protocol] for candidate c on data set d.
    let mut validation = Vec::new();
    for (c, params) in candidates.iter().enumerate() {
        let row = sets
            .iter()
            .zip(&trains)
            .map(|(d, train)| scores(d, train, params))
            .collect::<maitre::Result<Vec<_>>>()?;
        eprintln!(
            "[{}/{}] {} {:?}",
            c + 1,
            candidates.len(),
            describe(params),
            row
        );
        validation.push(row);
    }
    let columns = sets.len() * 2;
    let column = |row: &Vec<[f64; 2]>, j: usize| row[j / 2][j % 2];
    let best: Vec<f64> = (0..columns)
        .map(|j| {
            validation
                .iter()
                .map(|r| column(r, j))
                .fold(f64::MIN, f64::max)
        })
        .collect();
    let relative: Vec<f64> = validation
        .iter()
        .map(|r| (0..columns).map(|j| column(r, j) / best[j]).sum::<f64>() / columns as f64)
        .collect();
    let chosen = (0..candidates.len())
        .max_by(|&a, &b| relative[a].total_cmp(&relative[b]))
        .expect("a non-empty grid");

    let previous = AlsParams::default()
        .factors(64)
        .regularization(0.01)
        .alpha(1.0);
    let mut test = Vec::new();
    for d in &sets {
        let baselines = evaluate(&d.log, &d.config.clone().models(["popularity", "item-knn"]))?;
        let mut row = json!({"data": d.name});
        for r in &baselines.results {
            row[r.model.as_str()] = json!(r.metrics["ndcg@10"]);
        }
        for (label, params) in [("previous", &previous), ("chosen", &candidates[chosen])] {
            let [served, protocol] = scores(d, &d.log, params)?;
            row[format!("{label} served")] = json!(served);
            row[format!("{label} als")] = json!(protocol);
        }
        eprintln!("test {row}");
        test.push(row);
    }
    Ok(json!({
        "selection": "mean over data sets and uses of validation NDCG@10 / the column's best",
        "data": sets.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
        "grid": candidates.iter().zip(&validation).zip(&relative).map(|((p, v), r)| json!({
            "params": describe(p), "validation_ndcg@10": v, "relative": r,
        })).collect::<Vec<_>>(),
        "chosen": describe(&candidates[chosen]),
        "chosen_relative": relative[chosen],
        "test_ndcg@10": test,
    }))
}

fn main() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let result = match std::env::args().any(|a| a == "--ease") {
        true => run_ease(),
        false => run(quick),
    };
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tune_defaults: {e}");
            ExitCode::FAILURE
        }
    }
}
