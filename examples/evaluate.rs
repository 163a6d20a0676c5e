//! Offline evaluation of every model on one data set and split.
//!
//! ```text
//! cargo run --release --example evaluate -- [--movielens | --data DIR] [--split leave-last-out|temporal|random]
//!                                            [--size tiny|small|medium|large|N] [--seed N]
//!                                            [--cold-start [--cold-lambda X] [--full-catalogue]] [--tune SECONDS] [--json]
//! ```
//!
//! `--tune SECONDS` adds `als (tuned)`, `ease (tuned)`, `blend (tuned)` and
//! `recommend (tuned)`: `maitre::eval::tune` searches on a validation split
//! carved from what the test split leaves for training (`training_log`), within
//! the budget; the parameters it chose are then evaluated on the test like the
//! defaults are. The `tune` object of the JSON holds its table of trials.
//!
//! On the synthetic storefront the models include `als+context`: ALS trained
//! on every event kind, queried at the start of the tested visit with the
//! visit's context blended in (see `maitre::eval::evaluate_context`). Its
//! context-free twin is reported as `als (all events)`, and the `context`
//! object repeats both on the visits where context matters by construction.
//!
//! Every data set also gets `recommend`: the serving path, with
//! ALS trained on every event kind and lists from `Recommender::recommend`
//! under the default rules (see `maitre::eval::evaluate_recommend`).
//!
//! `--cold-start` adds a `cold_start` object: a tenth of the items is held out
//! of training and placed from its attributes alone (see
//! `maitre::eval::evaluate_cold_start`); `--cold-lambda` sets the attribute
//! map's ridge penalty (default: `ColdStartParams`'s, 100). `--full-catalogue`
//! also ranks the held-out items among every item (the `full:` rows: raw and
//! norm-calibrated attribute vectors, attribute popularity, and the
//! new-arrival slot at place 20), the calibration strength chosen per draw on
//! validation.
//!
//! With `--movielens` it reads MovieLens 100K (RecBole atomic files) from where
//! `maitre::datasets::movielens::find_dir` finds it (`$MAITRE_ML100K`,
//! `../shared/data/ml-100k`, or `data/ml-100k` after `bash
//! scripts/fetch-movielens.sh`); `--data DIR` names the directory. Either follows the
//! MovieLens protocol: ratings of 4 or more are the positives. Without it, it
//! generates a synthetic storefront and evaluates next-purchase prediction. The
//! last line of output is one JSON object (the evaluation contract), alone with `--json`.

use maitre::catalog::Catalog;
use maitre::datasets::{movielens, synthetic_storefront, Size};
use maitre::embed::ColdStartParams;
use maitre::eval::{
    evaluate, evaluate_cold_start, evaluate_context, training_log, tune, ColdStartConfig,
    ColdStartReport, ContextReport, EvalConfig, EvalReport, Split, Trial, TuneConfig, MODELS,
};
use std::collections::BTreeMap;
use std::process::ExitCode;

struct Args {
    /// MovieLens 100K: `Some(None)` to look where the loader looks.
    data: Option<Option<String>>,
    split: Split,
    size: Size,
    seed: u64,
    cold_start: bool,
    full_catalogue: bool,
    /// The attribute map's ridge penalty, when not the default.
    cold_lambda: Option<f64>,
    /// The budget of `tune`, in seconds.
    tune: Option<f64>,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: None,
        split: Split::default(),
        size: Size::Small,
        seed: 42,
        cold_start: false,
        full_catalogue: false,
        cold_lambda: None,
        tune: None,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = Some(Some(value()?)),
            "--movielens" => args.data = Some(None),
            "--split" => args.split = value()?.parse().map_err(|e| format!("{e}"))?,
            "--size" => args.size = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seed" => args.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--cold-start" => args.cold_start = true,
            "--full-catalogue" => args.full_catalogue = true,
            "--cold-lambda" => {
                let lambda = value()?
                    .parse()
                    .map_err(|e| format!("--cold-lambda: {e}"))?;
                args.cold_lambda = Some(lambda);
            }
            "--tune" => {
                let seconds = value()?.parse().map_err(|e| format!("--tune: {e}"))?;
                args.tune = Some(seconds);
            }
            "--json" => args.json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// The report, the cold-start comparison when asked for, and the context
/// comparison (synthetic storefront only).
type Reports = (
    EvalReport,
    Option<ColdStartReport>,
    Option<ContextReport>,
    Option<Vec<Trial>>,
);

fn run(args: &Args) -> maitre::Result<Reports> {
    // `segments`: the customers' true segments, when the data set knows them.
    let both = |log,
                catalog: &Catalog,
                config: EvalConfig,
                segments: Option<&BTreeMap<String, usize>>|
     -> maitre::Result<Reports> {
        let cold = match args.cold_start {
            true => Some(evaluate_cold_start(
                log,
                catalog,
                &config,
                &ColdStartConfig {
                    segments: segments.cloned(),
                    full_catalogue: args.full_catalogue,
                    params: match args.cold_lambda {
                        Some(lambda) => ColdStartParams::default().regularization(lambda),
                        None => ColdStartParams::default(),
                    },
                    ..ColdStartConfig::default()
                },
            )?),
            false => None,
        };
        let config = config.catalog(catalog.clone());
        let mut report = evaluate(log, &config)?;
        let mut trials = None;
        if let Some(budget) = args.tune {
            // Tuned on validation carved from the training part: the test is unseen.
            let train = training_log(log, &config)?;
            let tune_config = TuneConfig::default()
                .budget_seconds(budget)
                .eval(config.clone());
            let tuned = tune(&train, &tune_config, |p| {
                eprintln!(
                    "tune: trial {} ({}) ndcg@10 {:.4} · best {:.4} · {:.0}/{:.0} s",
                    p.trials, p.last.model, p.last.ndcg, p.best_ndcg, p.seconds, p.budget_seconds
                );
                std::ops::ControlFlow::Continue(())
            })?;
            let mut tuned_config = config.clone().als(tuned.als.clone());
            if let Some(ease) = &tuned.ease {
                tuned_config = tuned_config.ease(ease.clone());
            }
            let tuned_report = evaluate(
                log,
                &tuned_config.models(["als", "ease", "blend", "recommend"]),
            )?;
            for mut r in tuned_report.results {
                r.model = format!("{} (tuned)", r.model);
                report.results.push(r);
            }
            trials = Some(tuned.trials);
        }
        Ok((report, cold, None, trials))
    };
    match &args.data {
        Some(dir) => {
            let ml = movielens::load(movielens::locate(dir.as_deref().map(AsRef::as_ref))?)?;
            let config = EvalConfig::default()
                .dataset("ml-100k")
                .split(args.split)
                .positive_kinds(["rating"])
                .min_value(movielens::MovieLens::POSITIVE_MIN_RATING)
                .models(MODELS);
            both(&ml.log, &ml.catalog, config, None)
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
            let (mut report, cold, _, trials) = both(
                &shop.log,
                &shop.catalog,
                config.clone(),
                Some(&shop.truth.cluster_of),
            )?;
            // The context comparison carves its own validation fold; should
            // a data set leave it nothing to test, the comparison is skipped
            // (and said) rather than failing the whole report.
            let context = match evaluate_context(&shop.log, &config, |e| shop.context_matters(e)) {
                Ok(context) => context,
                Err(e) => {
                    eprintln!("evaluate: context comparison skipped: {e}");
                    return Ok((report, cold, None, trials));
                }
            };
            for r in &context.results {
                let mut r = r.clone();
                if r.model == "als" {
                    r.model = "als (all events)".into();
                }
                report.results.push(r);
            }
            Ok((report, cold, Some(context), trials))
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
    let (report, cold, context, trials) = match run(&args) {
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
                "\ncold start · {} items held out in each of {} draws · {} customers in all · \
                 ranking the held-out items only · means over the draws",
                cold.cold_items,
                cold.draws.len(),
                cold.users
            );
            print_table(&cold.results);
            let recall_of = |model: &str| {
                cold.results
                    .iter()
                    .find(|r| r.model == model)
                    .map_or(f64::NAN, |r| r.metrics["recall@20"])
            };
            let (popularity, attribute_popularity) =
                (recall_of("popularity"), recall_of("attribute-popularity"));
            for r in &cold.results {
                let recall = r.metrics["recall@20"];
                println!(
                    "  {:<36} recall@20 {recall:.3} ± {:.3} (sd over draws) · \
                     {:.2}× popularity · {:.2}× attribute-popularity",
                    r.model,
                    cold.recall_sd[&r.model],
                    recall / popularity,
                    recall / attribute_popularity
                );
            }
            for r in cold.results.iter().filter(|r| r.model.starts_with("warm:")) {
                println!(
                    "  {:<44} warm ndcg@10 {:.4} ± {:.4} (sd over draws)",
                    r.model, r.metrics["ndcg@10"], cold.ndcg_sd[&r.model]
                );
            }
            for r in cold
                .results
                .iter()
                .filter(|r| r.model.starts_with("full:") || r.model.starts_with("warm:"))
            {
                println!(
                    "  {:<36} share of the top 10 / top 20 given to new items {:.4} / {:.4}",
                    r.model, r.metrics["new_share@10"], r.metrics["new_share@20"]
                );
            }
            println!(
                "  chance (a random order of the held-out items): recall@20 {:.3} in expectation",
                cold.chance
            );
            for d in &cold.draws {
                println!(
                    "  draw seed {}: popularity counts {}, λ {}, blend β {} (chosen on validation)",
                    d.seed, d.popularity_counts, d.popularity_lambda, d.beta
                );
                if let Some(strength) = d.calibration_strength {
                    println!(
                        "    calibration strength {strength} (validation (strength, recall@20, new share@10): {:?})",
                        d.calibration_validation
                    );
                }
            }
        }
        if let Some(context) = &context {
            println!(
                "\ncontext · blend weight {} (chosen on validation) · {} of {} tested visits where context matters",
                context.weight, context.context_users, context.users
            );
            print_table(&context.context_results);
        }
    }
    let mut json = serde_json::to_value(&report).expect("a report serialises");
    if let Some(cold) = &cold {
        json["cold_start"] = serde_json::to_value(cold).expect("a report serialises");
    }
    if let Some(trials) = &trials {
        json["tune"] = serde_json::to_value(trials).expect("a report serialises");
    }
    if let Some(context) = &context {
        json["context"] = serde_json::to_value(context).expect("a report serialises");
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
