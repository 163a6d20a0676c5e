//! The Rust side of the peer comparison in `benches/peers/` (maitre's ALS against
//! other libraries on the same split files, scored by the same evaluation code).
//!
//! ```text
//! cargo run --release --example peer -- split --data DIR --split leave-last-out|temporal --out OUT
//! cargo run --release --example peer -- fit --train F --test F --meta M
//!     [--factors 64 --iterations 15 --regularization 0.01 --alpha 1 --threads 2 --seed 0 --cg-steps 3]
//!     [--save-users U.f32 --save-items I.f32]
//! cargo run --release --example peer -- score --train F --test F --meta M
//!     --users U.f32 --items I.f32 --factors K
//! cargo run --release --example peer -- matrix --size large --seed 42 --out OUT
//! cargo run --release --example peer -- fit-matrix --matrix OUT
//! cargo run --release --example peer -- events --size large --seed 42 --out OUT
//! cargo run --release --example peer -- storefront-split --size large --seed 42
//!     [--split temporal|leave-last-out --positive-kinds purchase] --out OUT
//!     [--factors 64 --iterations 15 --regularization 0.01 --alpha 1 --threads 2 --seed 0 --cg-steps 3]
//! ```
//!
//! `split` writes `OUT/{train,test,valid_train,valid_test}.tsv` (one
//! `user_index<TAB>item_index` per line, maitre's indices) and `OUT/meta.json`.
//! The validation pair is carved from the training positives with the same kind
//! of split. `score` reads factor tables written by another library (raw
//! little-endian f32, row-major) and scores them with [`score_split`], the code
//! that scores maitre's own models. `matrix` writes the customer × item weight
//! matrix of the large synthetic storefront as raw CSR arrays; `events` writes
//! its raw events as columns (customer ids resolved through the identity links,
//! so a reader that knows nothing of links builds the same matrix; one column
//! per context key, its values listed in meta.json);
//! `storefront-split` writes the events maitre's evaluation trains on
//! ([`training_log`]) and the held-out positives, with a validation pair carved
//! from training, in the files `split` and `score` use. The last line of
//! stdout is always one JSON object.

use maitre::datasets::{movielens, synthetic_storefront, Size};
use maitre::embed::{Als, AlsParams};
use maitre::eval::{score_split, training_log, EvalConfig, Positives, Scorer, Split, SplitData};
use maitre::interactions::{Csr, InteractionConfig, Interactions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

type Res<T> = Result<T, String>;

/// `--flag value` pairs after the subcommand.
struct Flags(HashMap<String, String>);

impl Flags {
    fn parse(args: &[String], known: &[&str]) -> Res<Self> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or(format!("unexpected argument {flag:?}"))?;
            if !known.contains(&name) {
                return Err(format!("unknown flag {flag:?}; expected one of {known:?}"));
            }
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            map.insert(name.to_string(), value.clone());
        }
        Ok(Flags(map))
    }

    fn required(&self, name: &str) -> Res<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or(format!("--{name} is required"))
    }

    fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Res<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{name} {v:?}: {e}")),
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

// ---------------------------------------------------------------- split

fn write_pairs(path: &Path, pairs: impl Iterator<Item = (u32, u32)>) -> Res<usize> {
    let file = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut n = 0;
    for (u, i) in pairs {
        writeln!(out, "{u}\t{i}").map_err(err)?;
        n += 1;
    }
    out.flush().map_err(err)?;
    Ok(n)
}

fn csr_pairs(m: &Csr) -> impl Iterator<Item = (u32, u32)> + '_ {
    (0..m.n_rows() as u32).flat_map(move |u| m.row(u).0.iter().map(move |&i| (u, i)))
}

fn test_pairs(test: &[(u32, Vec<u32>)]) -> impl Iterator<Item = (u32, u32)> + '_ {
    test.iter()
        .flat_map(|(u, items)| items.iter().map(move |&i| (*u, i)))
}

fn cmd_split(flags: &Flags) -> Res<Value> {
    let data = flags.required("data")?;
    let split: Split = flags.required("split")?.parse().map_err(err)?;
    let out = PathBuf::from(flags.required("out")?);
    let ml = movielens::load(data).map_err(err)?;
    let log = &ml.log;
    let positives = Positives::from_log(
        log,
        Some(&["rating".into()]),
        Some(movielens::MovieLens::POSITIVE_MIN_RATING),
    )
    .map_err(err)?;
    let outer = split
        .apply(&positives, log.timestamp_column())
        .map_err(err)?;
    // The training positives: (user, item) pairs are unique in `Positives`, so a
    // positive trains exactly when its pair is in the train matrix.
    let keep: Vec<usize> = (0..positives.len())
        .filter(|&r| {
            outer
                .train
                .row(positives.user[r])
                .0
                .binary_search(&positives.item[r])
                .is_ok()
        })
        .collect();
    let train_positives = Positives {
        user: keep.iter().map(|&r| positives.user[r]).collect(),
        item: keep.iter().map(|&r| positives.item[r]).collect(),
        timestamp: keep.iter().map(|&r| positives.timestamp[r]).collect(),
        n_users: positives.n_users,
        n_items: positives.n_items,
    };
    assert_eq!(train_positives.len(), outer.train.nnz());
    // The same kind of split inside the training positives: leave-last-out takes
    // each user's last training positive (users with >= 5); temporal cuts at the
    // lower 80th percentile of the training positives' own timestamps.
    let inner = match split {
        Split::Temporal { .. } => split.apply(&train_positives, &train_positives.timestamp),
        _ => split.apply(&train_positives, &[]),
    }
    .map_err(err)?;
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let n_train = write_pairs(&out.join("train.tsv"), csr_pairs(&outer.train))?;
    let n_test = write_pairs(&out.join("test.tsv"), test_pairs(&outer.test))?;
    let n_valid_train = write_pairs(&out.join("valid_train.tsv"), csr_pairs(&inner.train))?;
    let n_valid_test = write_pairs(&out.join("valid_test.tsv"), test_pairs(&inner.test))?;
    let meta = json!({
        "dataset": "ml-100k",
        "positives": "rating >= 4",
        "split": split.name(),
        "n_users": positives.n_users,
        "n_items": positives.n_items,
        "train": n_train,
        "test": n_test,
        "test_users": outer.test.len(),
        "valid_train": n_valid_train,
        "valid_test": n_valid_test,
        "valid_test_users": inner.test.len(),
    });
    fs::write(
        out.join("meta.json"),
        serde_json::to_string_pretty(&meta).map_err(err)?,
    )
    .map_err(err)?;
    Ok(meta)
}

// ---------------------------------------------------------------- fit / score

fn read_meta(path: &str) -> Res<Value> {
    let text = fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

fn meta_usize(meta: &Value, key: &str) -> Res<usize> {
    meta[key]
        .as_u64()
        .map(|v| v as usize)
        .ok_or(format!("meta.json has no integer {key:?}"))
}

fn read_pairs(path: &str) -> Res<Vec<(u32, u32)>> {
    let text = fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let mut f = line.split('\t');
            let mut next = || -> Res<u32> {
                f.next()
                    .ok_or(format!("{path}:{}: expected two fields", n + 1))?
                    .trim()
                    .parse()
                    .map_err(|e| format!("{path}:{}: {e}", n + 1))
            };
            Ok((next()?, next()?))
        })
        .collect()
}

/// The train matrix (binary) and the test lists, exactly as the split wrote them.
fn load_split(flags: &Flags) -> Res<SplitData> {
    let meta = read_meta(flags.required("meta")?)?;
    let (n_users, n_items) = (meta_usize(&meta, "n_users")?, meta_usize(&meta, "n_items")?);
    let train = read_pairs(flags.required("train")?)?;
    let triplets = train.into_iter().map(|(u, i)| (u, i, 1.0)).collect();
    let train = Csr::from_triplets(n_users, n_items, triplets).map_err(err)?;
    let mut held: Vec<Vec<u32>> = vec![Vec::new(); n_users];
    for (u, i) in read_pairs(flags.required("test")?)? {
        if u as usize >= n_users || i as usize >= n_items {
            return Err(format!(
                "test pair ({u}, {i}) is outside {n_users} × {n_items}"
            ));
        }
        held[u as usize].push(i);
    }
    let test = held
        .into_iter()
        .enumerate()
        .filter(|(_, items)| !items.is_empty())
        .map(|(u, mut items)| {
            items.sort_unstable();
            items.dedup();
            (u as u32, items)
        })
        .collect();
    Ok(SplitData { train, test })
}

fn als_params(flags: &Flags) -> Res<AlsParams> {
    let p = Als::params()
        .factors(flags.get("factors", 64)?)
        .iterations(flags.get("iterations", 15)?)
        .regularization(flags.get("regularization", 0.01)?)
        .alpha(flags.get("alpha", 1.0)?)
        .cg_steps(flags.get("cg-steps", 3)?)
        .seed(flags.get("seed", 0)?)
        .threads(flags.get("threads", 2)?);
    p.validate().map_err(err)?;
    Ok(p)
}

fn params_json(p: &AlsParams) -> Value {
    json!({
        "factors": p.factors,
        "iterations": p.iterations,
        "regularization": p.regularization,
        "alpha": p.alpha,
        "cg_steps": p.cg_steps,
        "seed": p.seed,
        "threads": p.threads,
    })
}

fn cmd_fit(flags: &Flags) -> Res<Value> {
    let split = load_split(flags)?;
    let params = als_params(flags)?;
    let started = Instant::now();
    let model = params
        .fit_matrix(&split.train, |_| ControlFlow::Continue(()))
        .map_err(err)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let metrics = score_split(&split, &model);
    // Optional: the factors, in the format `score` reads, for outside checks.
    for (flag, table) in [("save-users", &model.users), ("save-items", &model.items)] {
        if let Some(path) = flags.0.get(flag) {
            write_raw(
                Path::new(path),
                table.view().as_slice().ok_or("layout")?,
                |v| v.to_le_bytes().to_vec(),
            )?;
        }
    }
    Ok(json!({
        "library": "maitre",
        "params": params_json(&params),
        "fit_seconds": fit_seconds,
        "nnz": split.train.nnz(),
        "test_users": split.test.len(),
        "metrics": metrics,
    }))
}

/// Factor tables from elsewhere, scored by inner product (as `AlsModel` is).
struct InnerProduct {
    users: Vec<f32>,
    items: Vec<f32>,
    k: usize,
}

impl Scorer for InnerProduct {
    fn score(&self, user: u32, _history: &[u32], out: &mut [f32]) {
        let u = &self.users[user as usize * self.k..(user as usize + 1) * self.k];
        for (o, item) in out.iter_mut().zip(self.items.chunks_exact(self.k)) {
            *o = maitre::embed::dot(u, item);
        }
    }
}

fn read_f32(path: &str, rows: usize, k: usize) -> Res<Vec<f32>> {
    let bytes = fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if bytes.len() != rows * k * 4 {
        return Err(format!(
            "{path}: {} bytes, expected {rows} × {k} f32 = {}",
            bytes.len(),
            rows * k * 4
        ));
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(at) = v.iter().position(|x| !x.is_finite()) {
        return Err(format!("{path}: value {at} is not finite"));
    }
    Ok(v)
}

fn cmd_score(flags: &Flags) -> Res<Value> {
    let split = load_split(flags)?;
    let k: usize = flags.get("factors", 0)?;
    if k == 0 {
        return Err("--factors is required and must be positive".into());
    }
    let scorer = InnerProduct {
        users: read_f32(flags.required("users")?, split.train.n_rows(), k)?,
        items: read_f32(flags.required("items")?, split.n_items(), k)?,
        k,
    };
    let metrics = score_split(&split, &scorer);
    Ok(json!({
        "test_users": split.test.len(),
        "metrics": metrics,
    }))
}

// ---------------------------------------------------------------- matrix

fn write_raw<T: Copy>(path: &Path, values: &[T], to_le: impl Fn(T) -> Vec<u8>) -> Res<()> {
    let file = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for &v in values {
        out.write_all(&to_le(v)).map_err(err)?;
    }
    out.flush().map_err(err)
}

/// The synthetic storefront a subcommand works on (default: large, seed 42).
fn size_and_seed(flags: &Flags) -> Res<(Size, u64)> {
    let size: Size = flags
        .get::<String>("size", "large".into())?
        .parse()
        .map_err(err)?;
    Ok((size, flags.get("seed", 42)?))
}

fn cmd_matrix(flags: &Flags) -> Res<Value> {
    let (size, seed) = size_and_seed(flags)?;
    let half_life: f64 = flags.get("half-life-days", 60.0)?;
    let out = PathBuf::from(flags.required("out")?);
    let started = Instant::now();
    let shop = synthetic_storefront(seed, size).map_err(err)?;
    let events = shop.log.len();
    let generate_seconds = started.elapsed().as_secs_f64();
    let m = Interactions::build(
        &shop.log,
        &InteractionConfig::default().half_life_days(half_life),
    )
    .map_err(err)?;
    drop(shop);
    let c = m.by_customer();
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    write_raw(&out.join("indptr.u64"), c.indptr(), |v| {
        (v as u64).to_le_bytes().to_vec()
    })?;
    write_raw(&out.join("indices.u32"), c.indices(), |v| {
        v.to_le_bytes().to_vec()
    })?;
    write_raw(&out.join("data.f32"), c.data(), |v| {
        v.to_le_bytes().to_vec()
    })?;
    let negative = c.data().iter().filter(|&&v| v < 0.0).count();
    let meta = json!({
        "dataset": format!("synthetic_storefront(seed={seed}, {size:?})"),
        "half_life_days": half_life,
        "n_users": c.n_rows(),
        "n_items": c.n_cols(),
        "nnz": c.nnz(),
        "negative_entries": negative,
        "events": events,
        "generate_seconds": generate_seconds,
    });
    fs::write(
        out.join("meta.json"),
        serde_json::to_string_pretty(&meta).map_err(err)?,
    )
    .map_err(err)?;
    Ok(meta)
}

/// The raw event columns of `log` in `dir` (customer ids resolved through
/// `identities`, the full log's: a subset of the log keeps its interners, so
/// every file written from one storefront shares one index space).
fn write_event_columns(
    dir: &Path,
    log: &maitre::events::EventLog,
    identities: &maitre::identity::Identities,
) -> Res<()> {
    let customer: Vec<u32> = log
        .customer_column()
        .iter()
        .map(|&raw| identities.customer_of(raw))
        .collect();
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_raw(&dir.join("customer.u32"), &customer, |v| {
        v.to_le_bytes().to_vec()
    })?;
    write_raw(&dir.join("item.u32"), log.item_column(), |v| {
        v.to_le_bytes().to_vec()
    })?;
    write_raw(&dir.join("kind.u8"), log.kind_column(), |v| vec![v])?;
    write_raw(&dir.join("timestamp.i64"), log.timestamp_column(), |v| {
        v.to_le_bytes().to_vec()
    })?;
    write_raw(&dir.join("value.f32"), log.value_column(), |v| {
        v.to_le_bytes().to_vec()
    })
}

fn kinds_json(log: &maitre::events::EventLog) -> Vec<Value> {
    log.kinds()
        .specs()
        .iter()
        .map(|s| json!({"name": s.name, "weight": s.weight, "scaled": s.scale_by_value}))
        .collect()
}

fn cmd_events(flags: &Flags) -> Res<Value> {
    let (size, seed) = size_and_seed(flags)?;
    let out = PathBuf::from(flags.required("out")?);
    let started = Instant::now();
    let shop = synthetic_storefront(seed, size).map_err(err)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let log = &shop.log;
    // Peers (MLlib among them) take events under the ids they carry:
    // resolving the links here keeps every side on the same customers.
    let identities = log.identities();
    write_event_columns(&out, log, &identities)?;
    // Context: one column per key (`context-<key>.u32`, the value's index in
    // meta's list for that key, u32::MAX where the event has none).
    let vocab = log.context_vocab();
    let mut context: Vec<(String, Vec<String>, Vec<u32>)> = vocab
        .keys()
        .names()
        .iter()
        .map(|k| (k.clone(), Vec::new(), vec![u32::MAX; log.len()]))
        .collect();
    for e in 0..log.len() {
        for &p in log.context_of(e) {
            let (key, value) = vocab.pair(p).ok_or("context pair ids are dense")?;
            let column = context
                .iter_mut()
                .find(|c| c.0 == key)
                .ok_or("keys are interned")?;
            let code = match column.1.iter().position(|v| v == value) {
                Some(code) => code,
                None => {
                    column.1.push(value.to_owned());
                    column.1.len() - 1
                }
            };
            column.2[e] = code as u32;
        }
    }
    for (key, _, codes) in &context {
        write_raw(&out.join(format!("context-{key}.u32")), codes, |v| {
            v.to_le_bytes().to_vec()
        })?;
    }
    let context: serde_json::Map<String, Value> = context
        .into_iter()
        .map(|(key, values, _)| (key, json!(values)))
        .collect();
    let meta = json!({
        "dataset": format!("synthetic_storefront(seed={seed}, {size:?})"),
        "events": log.len(),
        "customers": identities.names(),
        "items": log.items().names(),
        "kinds": kinds_json(log),
        "context": context,
        "generate_seconds": generate_seconds,
    });
    fs::write(
        out.join("meta.json"),
        serde_json::to_string(&meta).map_err(err)?,
    )
    .map_err(err)?;
    Ok(json!({
        "dataset": meta["dataset"],
        "events": log.len(),
        "customers": identities.names().len(),
        "items": log.items().len(),
        "generate_seconds": generate_seconds,
    }))
}

/// The storefront held out as maitre's evaluation holds it out: the positives
/// (`--positive-kinds`, default purchase) split by `--split`, and
/// [`training_log`] — every event kind, without the held-out (customer, item)
/// pairs and without a tested customer's events from their first held-out
/// positive on — as what the models train on. The validation pair is the same
/// split applied to that training log (so it never sees the test).
///
/// Writes OUT/events-train/ and OUT/events-valid_train/ (event columns as
/// `events` writes them), OUT/{train,test,valid_train,valid_test}.tsv (the
/// positive pairs: `train` is each customer's training positives, excluded
/// from rankings by `score`; `test` the held-out ones of tested customers)
/// and OUT/meta.json (n_users, n_items, the customer and item ids of the
/// indices, the kinds).
fn cmd_storefront_split(flags: &Flags) -> Res<Value> {
    let (size, seed) = size_and_seed(flags)?;
    let split: Split = flags
        .get::<String>("split", "temporal".into())?
        .parse()
        .map_err(err)?;
    let kinds: Vec<String> = flags
        .get::<String>("positive-kinds", "purchase".into())?
        .split(',')
        .map(str::to_string)
        .collect();
    let out = PathBuf::from(flags.required("out")?);
    let started = Instant::now();
    let shop = synthetic_storefront(seed, size).map_err(err)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let log = &shop.log;
    let identities = log.identities();
    let config = EvalConfig::default()
        .split(split)
        .positive_kinds(kinds.iter().cloned());
    // The fold `training_log` hides, rebuilt from the same public pieces (the
    // positives of the log, the split over the log's timestamps).
    let fold = |log: &maitre::events::EventLog| -> Res<(maitre::events::EventLog, SplitData)> {
        let positives = Positives::from_log(log, Some(&kinds), None).map_err(err)?;
        let data = split
            .apply(&positives, log.timestamp_column())
            .map_err(err)?;
        let train = training_log(log, &config).map_err(err)?;
        Ok((train, data))
    };
    let (train, outer) = fold(log)?;
    let (valid_train, inner) = fold(&train)?;
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    write_event_columns(&out.join("events-train"), &train, &identities)?;
    write_event_columns(&out.join("events-valid_train"), &valid_train, &identities)?;
    let n_train = write_pairs(&out.join("train.tsv"), csr_pairs(&outer.train))?;
    let n_test = write_pairs(&out.join("test.tsv"), test_pairs(&outer.test))?;
    let n_valid_train = write_pairs(&out.join("valid_train.tsv"), csr_pairs(&inner.train))?;
    let n_valid_test = write_pairs(&out.join("valid_test.tsv"), test_pairs(&inner.test))?;
    let summary = json!({
        "dataset": format!("synthetic_storefront(seed={seed}, {size:?})"),
        "positives": kinds,
        "split": split.name(),
        "events": log.len(),
        "train_events": train.len(),
        "valid_train_events": valid_train.len(),
        "n_users": identities.len(),
        "n_items": log.items().len(),
        "train": n_train,
        "test": n_test,
        "test_users": outer.test.len(),
        "valid_train": n_valid_train,
        "valid_test": n_valid_test,
        "valid_test_users": inner.test.len(),
        "generate_seconds": generate_seconds,
    });
    let mut meta = summary.clone();
    meta["customers"] = json!(identities.names());
    meta["items"] = json!(log.items().names());
    meta["kinds"] = json!(kinds_json(log));
    fs::write(
        out.join("meta.json"),
        serde_json::to_string(&meta).map_err(err)?,
    )
    .map_err(err)?;
    Ok(summary)
}

fn read_raw<T>(path: &Path, width: usize, from_le: impl Fn(&[u8]) -> T) -> Res<Vec<T>> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() % width != 0 {
        return Err(format!(
            "{}: size is not a multiple of {width}",
            path.display()
        ));
    }
    Ok(bytes.chunks_exact(width).map(from_le).collect())
}

/// A `VmHWM`-style field of /proc/self/status, in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn cmd_fit_matrix(flags: &Flags) -> Res<Value> {
    let dir = PathBuf::from(flags.required("matrix")?);
    let meta = read_meta(dir.join("meta.json").to_str().ok_or("path")?)?;
    let (n_users, n_items) = (meta_usize(&meta, "n_users")?, meta_usize(&meta, "n_items")?);
    let indptr = read_raw(&dir.join("indptr.u64"), 8, |b| {
        u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize
    })?;
    let indices = read_raw(&dir.join("indices.u32"), 4, |b| {
        u32::from_le_bytes(b.try_into().expect("4 bytes"))
    })?;
    let data = read_raw(&dir.join("data.f32"), 4, |b| {
        f32::from_le_bytes(b.try_into().expect("4 bytes"))
    })?;
    if indptr.len() != n_users + 1 || indices.len() != data.len() || indptr[n_users] != data.len() {
        return Err("matrix files disagree with each other or with meta.json".into());
    }
    // `Csr` is built from triplets only; the entries are distinct and sorted, so
    // this reproduces the written matrix exactly.
    let mut triplets = Vec::with_capacity(data.len());
    for u in 0..n_users {
        for at in indptr[u]..indptr[u + 1] {
            triplets.push((u as u32, indices[at], data[at]));
        }
    }
    drop((indptr, indices, data));
    let csr = Csr::from_triplets(n_users, n_items, triplets).map_err(err)?;
    let params = als_params(flags)?;
    let loaded_rss_mib = status_mib("VmRSS:");
    let load_peak_rss_mib = status_mib("VmHWM:");
    // Reset the high-water mark to the current RSS (Linux ≥ 4.0), so the fit's own
    // peak can be told apart from the loading's.
    let reset = fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    let model = params
        .fit_matrix(&csr, |_| ControlFlow::Continue(()))
        .map_err(err)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let fit_peak_rss_mib = if reset { status_mib("VmHWM:") } else { None };
    let finite = model.users.view().iter().all(|v| v.is_finite())
        && model.items.view().iter().all(|v| v.is_finite());
    drop(model);
    // With the reset, VmHWM is the peak since the reset (the fit's); the process
    // peak is the larger of it and the loading peak (reading the files, the triplets).
    let process_peak = match (fit_peak_rss_mib, load_peak_rss_mib) {
        (Some(f), Some(l)) => Some(f.max(l)),
        _ => status_mib("VmHWM:"),
    };
    Ok(json!({
        "library": "maitre",
        "params": params_json(&params),
        "n_users": n_users,
        "n_items": n_items,
        "nnz": csr.nnz(),
        "fit_seconds": fit_seconds,
        "peak_rss_mib": fit_peak_rss_mib.or(process_peak),
        "peak_rss_is_fit_only": fit_peak_rss_mib.is_some(),
        "process_peak_rss_mib": process_peak,
        "rss_before_fit_mib": loaded_rss_mib,
        "factors_finite": finite,
    }))
}

// ---------------------------------------------------------------- main

fn run(args: &[String]) -> Res<Value> {
    let (command, rest) = args.split_first().ok_or(
        "expected a subcommand: split, fit, score, matrix, fit-matrix, events or storefront-split",
    )?;
    let model_flags = [
        "factors",
        "iterations",
        "regularization",
        "alpha",
        "threads",
        "seed",
        "cg-steps",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        extra.iter().chain(model_flags.iter()).copied().collect()
    };
    match command.as_str() {
        "split" => cmd_split(&Flags::parse(rest, &["data", "split", "out"])?),
        "fit" => cmd_fit(&Flags::parse(
            rest,
            &with(&["train", "test", "meta", "save-users", "save-items"]),
        )?),
        "score" => cmd_score(&Flags::parse(
            rest,
            &["train", "test", "meta", "users", "items", "factors"],
        )?),
        "matrix" => cmd_matrix(&Flags::parse(
            rest,
            &["size", "seed", "out", "half-life-days"],
        )?),
        "fit-matrix" => cmd_fit_matrix(&Flags::parse(rest, &with(&["matrix"]))?),
        "events" => cmd_events(&Flags::parse(rest, &["size", "seed", "out"])?),
        "storefront-split" => cmd_storefront_split(&Flags::parse(
            rest,
            &["size", "seed", "split", "positive-kinds", "out"],
        )?),
        other => Err(format!(
            "unknown subcommand {other:?}: expected split, fit, score, matrix, fit-matrix, events or storefront-split"
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("peer: {e}");
            ExitCode::from(2)
        }
    }
}
