//! Times `Recommender::recommend_batch` for every MovieLens 100K user (top 10),
//! the Rust side of `bindings-python/bench/batch_vs_rust.py`.
//!
//! ```text
//! cargo run --release --example batch_recommend -- [--data DIR] [--repeats N] [--paired]
//! ```
//!
//! The model and recommender are built exactly as the Python bench builds
//! them (`maitre.ALS(seed=0)` defaults: 16 factors, 15 iterations; no item
//! table; the cold-start map learned; the default index), for users "1" to
//! "943" in that order. Prints one JSON object: the timings in milliseconds
//! (every repeat, median, min) and the first user's list, so the bench can
//! check both sides answered the same.
//!
//! With `--paired` it times one batch per line read on stdin and answers each
//! with `{"ms": …}`, so the Python bench can alternate the two sides and
//! compare them under the same machine load (the machine is shared).

use maitre::catalog::Catalog;
use maitre::datasets::movielens;
use maitre::embed::{Als, ColdStartParams};
use maitre::interactions::{InteractionConfig, Interactions};
use maitre::recommend::{BuildOptions, Recommender, Request};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("batch_recommend: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut data = None;
    let mut repeats = 20usize;
    let mut paired = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next(),
            "--repeats" => repeats = args.next().ok_or("--repeats needs a number")?.parse()?,
            "--paired" => paired = true,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let dir = movielens::locate(data.as_deref().map(std::path::Path::new))?;
    let mut log = movielens::load(&dir)?.log;
    let matrix = Interactions::build(&log, &InteractionConfig::default())?;
    let model = Als::params().seed(0).fit(&matrix)?;
    let catalog = Catalog::aligned(&mut log, Vec::new())?;
    let options = BuildOptions {
        attributes: Some(ColdStartParams::default()),
        ..BuildOptions::default()
    };
    let rec = Recommender::build(&log, &catalog, model, &options)?;
    let users: Vec<String> = (1..=943).map(|u| u.to_string()).collect();
    let k = 10;
    let mut ms = Vec::with_capacity(repeats);
    let mut first = Vec::new();
    let mut lines = std::io::stdin().lines();
    if paired {
        println!("{}", serde_json::json!({"ready": true}));
    }
    for _ in 0..repeats.max(1) {
        if paired && lines.next().transpose()?.is_none() {
            break;
        }
        let started = std::time::Instant::now();
        // What the binding does per call: one request per customer from a template.
        let template = Request::new(k);
        let requests: Vec<Request> = users
            .iter()
            .map(|u| Request {
                customer: Some(u.clone()),
                ..template.clone()
            })
            .collect();
        let lists = rec.recommend_batch(&requests);
        let mut rows = vec![-1i64; users.len() * k];
        for (u, list) in lists.into_iter().enumerate() {
            for (j, r) in list?.into_iter().take(k).enumerate() {
                rows[u * k + j] = i64::from(r.index);
            }
        }
        ms.push(started.elapsed().as_secs_f64() * 1e3);
        if paired {
            println!("{}", serde_json::json!({ "ms": ms[ms.len() - 1] }));
        }
        first = rows[..k]
            .iter()
            .map(|&i| catalog.items()[i as usize].id.clone())
            .collect();
    }
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    let out = serde_json::json!({
        "customers": users.len(),
        "k": k,
        "repeats": ms.len(),
        "ms": ms,
        "median_ms": sorted[sorted.len() / 2],
        "min_ms": sorted[0],
        "first_user_top": first,
    });
    println!("{out}");
    Ok(())
}
