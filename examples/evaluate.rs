//! Offline evaluation of every model on one data set and split.
//!
//! ```text
//! cargo run --release --example evaluate -- [--data DIR] [--split leave-last-out|temporal|random]
//!                                            [--size tiny|small|medium|large|N] [--seed N]
//!                                            [--cold-start] [--json]
//! ```
//!
//! `--cold-start` adds a `cold_start` object: a tenth of the items is held out
//! of training and placed from its attributes alone (see
//! `maitre::eval::evaluate_cold_start`).
//!
//! With `--data DIR` it reads MovieLens 100K (RecBole atomic files) and follows the
//! MovieLens protocol: ratings of 4 or more are the positives. Without it, it
//! generates a synthetic storefront and evaluates next-purchase prediction. The
//! last line of output is one JSON object (the evaluation contract), alone with `--json`.

use maitre::catalog::Catalog;
use maitre::datasets::{movielens, synthetic_storefront, Size};
use maitre::eval::{
    evaluate, evaluate_cold_start, ColdStartConfig, ColdStartReport, EvalConfig, EvalReport, Split,
    MODELS,
};
use std::process::ExitCode;

struct Args {
    data: Option<String>,
    split: Split,
    size: Size,
    seed: u64,
    cold_start: bool,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: None,
        split: Split::default(),
        size: Size::Small,
        seed: 42,
        cold_start: false,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = Some(value()?),
            "--split" => args.split = value()?.parse().map_err(|e| format!("{e}"))?,
            "--size" => args.size = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--cold-start" => args.cold_start = true,
            "--json" => args.json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The report, and the cold-start comparison when asked for.
type Reports = (EvalReport, Option<ColdStartReport>);

fn run(args: &Args) -> maitre::Result<Reports> {
    let both = |log, catalog: &Catalog, config: EvalConfig| -> maitre::Result<Reports> {
        let cold = match args.cold_start {
            true => Some(evaluate_cold_start(
                log,
                catalog,
                &config,
                &ColdStartConfig::default(),
            )?),
            false => None,
        };
        Ok((evaluate(log, &config)?, cold))
    };
    match &args.data {
        Some(dir) => {
            let ml = movielens::load(dir)?;
            let config = EvalConfig::default()
                .dataset("ml-100k")
                .split(args.split)
                .positive_kinds(["rating"])
                .min_value(movielens::MovieLens::POSITIVE_MIN_RATING)
                .models(MODELS);
            both(&ml.log, &ml.catalog, config)
        }
        None => {
            let shop = synthetic_storefront(args.seed, args.size)?;
            let config = EvalConfig::default()
                .dataset(format!(
                    "synthetic-storefront(seed={}, {:?})",
                    args.seed, args.size
                ))
                .split(args.split)
                .positive_kinds(["purchase"])
                .models(MODELS);
            both(&shop.log, &shop.catalog, config)
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("evaluate: {e}");
            return ExitCode::from(2);
        }
    };
    let (report, cold) = match run(&args) {
        Ok(reports) => reports,
        Err(e) => {
            eprintln!("evaluate: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !args.json {
        println!(
            "{} · {} split · {} tested customers · {} items",
            report.dataset, report.split, report.users, report.items
        );
        print_table(&report.results);
        if let Some(cold) = &cold {
            println!(
                "\ncold start · {} items held out · {} customers · ranking the held-out items only",
                cold.cold_items, cold.users
            );
            print_table(&cold.results);
        }
    }
    let mut json = serde_json::to_value(&report).expect("a report serialises");
    if let Some(cold) = &cold {
        json["cold_start"] = serde_json::to_value(cold).expect("a report serialises");
    }
    println!("{json}");
    ExitCode::SUCCESS
}

fn print_table(results: &[maitre::eval::ModelResult]) {
    println!(
        "{:<22} {:>8} {:>10} {:>10} {:>8} {:>8} {:>12} {:>9}",
        "model", "hr@10", "recall@10", "recall@20", "ndcg@10", "mrr@10", "coverage@10", "fit (s)"
    );
    for r in results {
        let m = |k: &str| r.metrics[k];
        println!(
            "{:<22} {:>8.4} {:>10.4} {:>10.4} {:>8.4} {:>8.4} {:>12.4} {:>9.3}",
            r.model,
            m("hr@10"),
            m("recall@10"),
            m("recall@20"),
            m("ndcg@10"),
            m("mrr@10"),
            m("coverage@10"),
            r.fit_seconds
        );
    }
}
