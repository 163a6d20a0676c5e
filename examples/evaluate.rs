//! Offline evaluation of every model on one data set and split.
//!
//! ```text
//! cargo run --release --example evaluate -- [--data DIR] [--split leave-last-out|temporal|random]
//!                                            [--size tiny|small|medium|large|N] [--seed N] [--json]
//! ```
//!
//! With `--data DIR` it reads MovieLens 100K (RecBole atomic files) and follows the
//! MovieLens protocol: ratings of 4 or more are the positives. Without it, it
//! generates a synthetic storefront and evaluates next-purchase prediction. The
//! last line of output is one JSON object (the evaluation contract), alone with `--json`.

use maitre::datasets::{movielens, synthetic_storefront, Size};
use maitre::eval::{evaluate, EvalConfig, Split, MODELS};
use std::process::ExitCode;

struct Args {
    data: Option<String>,
    split: Split,
    size: Size,
    seed: u64,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: None,
        split: Split::default(),
        size: Size::Small,
        seed: 42,
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
            "--json" => args.json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn run(args: &Args) -> maitre::Result<maitre::eval::EvalReport> {
    match &args.data {
        Some(dir) => {
            let ml = movielens::load(dir)?;
            let config = EvalConfig::default()
                .dataset("ml-100k")
                .split(args.split)
                .positive_kinds(["rating"])
                .min_value(movielens::MovieLens::POSITIVE_MIN_RATING)
                .models(MODELS);
            evaluate(&ml.log, &config)
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
            evaluate(&shop.log, &config)
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
    let report = match run(&args) {
        Ok(report) => report,
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
        println!(
            "{:<12} {:>8} {:>10} {:>10} {:>8} {:>8} {:>12} {:>9}",
            "model",
            "hr@10",
            "recall@10",
            "recall@20",
            "ndcg@10",
            "mrr@10",
            "coverage@10",
            "fit (s)"
        );
        for r in &report.results {
            let m = |k: &str| r.metrics[k];
            println!(
                "{:<12} {:>8.4} {:>10.4} {:>10.4} {:>8.4} {:>8.4} {:>12.4} {:>9.3}",
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
    println!(
        "{}",
        serde_json::to_string(&report).expect("a report serialises")
    );
    ExitCode::SUCCESS
}
