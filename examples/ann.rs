//! Approximate nearest-neighbour numbers for maitre's HNSW index on synthetic
//! clustered vectors, and the vectors themselves for the peer comparison in
//! `benches/peers/ann_vs_hnswlib.sh`.
//!
//! ```text
//! cargo run --release --example ann -- [--items 200000 --dim 64 --queries 1000
//!     --m 16 --ef-construction 200 --ef-search 100 --threads 2 --seed 42
//!     --filter-every 0 --ef-sweep 20,40,80 --write DIR --serve 0]
//! ```
//!
//! Measures the build time (on `--threads` threads), single-thread queries per
//! second for HNSW and the exact scan, and recall@10 of HNSW against the exact
//! index. `--filter-every N` also measures a filtered search keeping one item in
//! N. `--ef-sweep` also measures each listed ef on the same graph. `--write DIR`
//! writes `items.f32` and `queries.f32` (raw little-endian, row-major) and
//! `truth.u32` (exact top-10 ids per query). The last line of stdout is one
//! JSON object; with `--serve 1` the program then reads one ef per stdin line
//! and answers each with a JSON line of speed and recall at that ef.
//!
//! Built with `--features hnsw-rs`, it also builds the hnsw_rs crate's graph
//! (`HnswRsIndex`, same parameters, same pool) and measures it the same way:
//! the JSON gains an `hnsw_rs` object, and `--serve 1` answers lines
//! `hnsw_rs <ef>` from it. The peer script builds it so, to keep the reason
//! maitre has its own graph measured run after run.

use maitre::datasets::clustered_vectors;
#[cfg(feature = "hnsw-rs")]
use maitre::index::HnswRsIndex;
use maitre::index::{ExactIndex, Hit, HnswIndex, HnswParams, Index};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const K: usize = 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ann: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts: HashMap<String, String> = HashMap::new();
    for pair in args.chunks(2) {
        match pair {
            [flag, value] if flag.starts_with("--") => {
                opts.insert(flag[2..].to_string(), value.clone());
            }
            _ => return Err(format!("expected --flag value pairs, got {pair:?}")),
        }
    }
    let num = |name: &str, default: usize| -> Result<usize, String> {
        opts.get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|e| format!("--{name}: {e}"))
        })
    };
    let (items, dim, queries) = (
        num("items", 200_000)?,
        num("dim", 64)?,
        num("queries", 1000)?,
    );
    let (m, efc, efs) = (
        num("m", 16)?,
        num("ef-construction", 200)?,
        num("ef-search", 100)?,
    );
    let (threads, seed, filter_every) = (
        num("threads", 2)?,
        num("seed", 42)?,
        num("filter-every", 0)?,
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| e.to_string())?;

    let spread: f64 = opts.get("norm-spread").map_or(Ok(0.3), |v| {
        v.parse().map_err(|e| format!("--norm-spread: {e}"))
    })?;
    let all = clustered_vectors(seed as u64, items + queries, dim, 100, spread)
        .map_err(|e| e.to_string())?;
    let (data, qs) = all.split_at(items * dim);
    let params = HnswParams::default()
        .max_connections(m)
        .ef_construction(efc)
        .ef_search(efs)
        .seed(seed as u64);

    let started = Instant::now();
    let mut hnsw = pool
        .install(|| params.build(dim, data))
        .map_err(|e| e.to_string())?;
    let build_s = started.elapsed().as_secs_f64();
    eprintln!("built {items} × {dim} in {build_s:.1} s on {threads} threads");

    let exact = ExactIndex::build(dim, data).map_err(|e| e.to_string())?;
    let truth = pool
        .install(|| exact.search_batch(qs, K, None))
        .map_err(|e| e.to_string())?;

    let (hnsw_qps, got) = timed(qs, dim, |q| hnsw.search(q, K, None))?;
    // The exact scan is slow on big tables: time it on at most 200 queries.
    let few = &qs[..qs.len().min(200 * dim)];
    let (exact_qps, _) = timed(few, dim, |q| exact.search(q, K, None))?;
    let recall = recall_of(&truth, &got);
    eprintln!("hnsw {hnsw_qps:.0} q/s, recall@{K} {recall:.4}; exact {exact_qps:.1} q/s");

    // Recall and speed at other ef values, on the same graph: peers are
    // compared at equal recall, not only at equal ef.
    let mut efs_swept = Vec::new();
    for ef in opts.get("ef-sweep").map_or("", String::as_str).split(',') {
        if !ef.is_empty() {
            efs_swept.push(ef.parse().map_err(|e| format!("--ef-sweep {ef}: {e}"))?);
        }
    }
    let sweep = sweep_of(&mut hnsw, "maitre", &efs_swept, efs, qs, dim, &truth)?;

    // hnsw_rs on the same vectors, parameters and pool (its seed cannot be set).
    #[cfg(feature = "hnsw-rs")]
    let (mut hnsw_rs, hnsw_rs_row) = {
        let started = Instant::now();
        let mut index = pool
            .install(|| HnswRsIndex::build(&params, dim, data))
            .map_err(|e| e.to_string())?;
        let build_s = started.elapsed().as_secs_f64();
        let (qps, got) = timed(qs, dim, |q| index.search(q, K, None))?;
        let recall = recall_of(&truth, &got);
        eprintln!("hnsw_rs: built in {build_s:.1} s; {qps:.0} q/s, recall@{K} {recall:.4}");
        let sweep = sweep_of(&mut index, "hnsw_rs", &efs_swept, efs, qs, dim, &truth)?;
        let row = json!({"library": "hnsw_rs", "build_s": build_s, "qps_1_thread": qps,
            "recall_at_10": recall, "sweep": sweep});
        (index, row)
    };
    #[cfg(not(feature = "hnsw-rs"))]
    let hnsw_rs_row = serde_json::Value::Null;

    let mut filtered = serde_json::Value::Null;
    if filter_every > 0 {
        let keep = move |i: u32| i as usize % filter_every == 0;
        let truth_f = pool
            .install(|| exact.search_batch(qs, K, Some(&keep)))
            .map_err(|e| e.to_string())?;
        let (qps, got_f) = timed(qs, dim, |q| hnsw.search(q, K, Some(&keep)))?;
        let (exact_qps_f, _) = timed(few, dim, |q| exact.search(q, K, Some(&keep)))?;
        let recall_f = recall_of(&truth_f, &got_f);
        eprintln!(
            "filtered (1 in {filter_every}): hnsw {qps:.0} q/s, recall@{K} {recall_f:.4}; exact {exact_qps_f:.1} q/s"
        );
        filtered = json!({"keep_one_in": filter_every, "hnsw_qps": qps,
            "recall_at_10": recall_f, "exact_qps": exact_qps_f});
    }

    if let Some(dir) = opts.get("write") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        write_raw(&dir.join("items.f32"), data.iter().map(|v| v.to_le_bytes()))?;
        write_raw(&dir.join("queries.f32"), qs.iter().map(|v| v.to_le_bytes()))?;
        write_raw(
            &dir.join("truth.u32"),
            truth.iter().flatten().map(|h| h.item.to_le_bytes()),
        )?;
    }

    let out = json!({
        "library": "maitre", "items": items, "dim": dim, "queries": queries,
        "m": m, "ef_construction": efc, "ef_search": efs, "threads": threads,
        "build_s": build_s, "qps_1_thread": hnsw_qps, "recall_at_10": recall,
        "exact_qps_1_thread": exact_qps, "filtered": filtered, "sweep": sweep,
        "hnsw_rs": hnsw_rs_row,
    });
    println!("{out}");
    if num("serve", 0)? != 0 {
        #[cfg(feature = "hnsw-rs")]
        let other = Some(&mut hnsw_rs as &mut dyn Tunable);
        #[cfg(not(feature = "hnsw-rs"))]
        let other = None;
        serve(&mut hnsw, other, qs, dim, &truth)?;
    }
    Ok(())
}

/// An approximate index whose search breadth can change without a rebuild.
trait Tunable: Index {
    fn set_ef(&mut self, ef: usize) -> maitre::Result<()>;
}

impl Tunable for HnswIndex {
    fn set_ef(&mut self, ef: usize) -> maitre::Result<()> {
        self.set_ef_search(ef)
    }
}

#[cfg(feature = "hnsw-rs")]
impl Tunable for HnswRsIndex {
    fn set_ef(&mut self, ef: usize) -> maitre::Result<()> {
        self.set_ef_search(ef)
    }
}

/// Speed and recall at each of `efs`, then back to `ef_search`.
fn sweep_of(
    index: &mut dyn Tunable,
    name: &str,
    efs: &[usize],
    ef_search: usize,
    qs: &[f32],
    dim: usize,
    truth: &[Vec<Hit>],
) -> Result<Vec<serde_json::Value>, String> {
    let mut sweep = Vec::new();
    for &ef in efs {
        index.set_ef(ef).map_err(|e| e.to_string())?;
        let (qps, got) = timed(qs, dim, |q| index.search(q, K, None))?;
        let recall = recall_of(truth, &got);
        eprintln!("{name} ef {ef}: {qps:.0} q/s, recall@{K} {recall:.4}");
        sweep.push(json!({"ef": ef, "qps": qps, "recall_at_10": recall}));
    }
    index.set_ef(ef_search).map_err(|e| e.to_string())?;
    Ok(sweep)
}

/// Answers one ef per stdin line with one JSON line of speed and recall at
/// that ef, until stdin closes: the peer script interleaves these timings with
/// its own, so that all libraries are timed under the same machine load. A
/// line `hnsw_rs <ef>` asks the hnsw_rs index (built with `--features hnsw-rs`).
fn serve(
    hnsw: &mut HnswIndex,
    mut hnsw_rs: Option<&mut dyn Tunable>,
    qs: &[f32],
    dim: usize,
    truth: &[Vec<Hit>],
) -> Result<(), String> {
    let mut stdout = std::io::stdout();
    stdout.flush().map_err(|e| e.to_string())?;
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let (index, ef): (&mut dyn Tunable, &str) = match line.trim().strip_prefix("hnsw_rs ") {
            Some(ef) => match hnsw_rs.as_deref_mut() {
                Some(index) => (index, ef),
                None => return Err("serve: hnsw_rs needs `--features hnsw-rs`".into()),
            },
            None => (&mut *hnsw, line.trim()),
        };
        let ef: usize = ef
            .trim()
            .parse()
            .map_err(|e| format!("serve: {line:?}: {e}"))?;
        index.set_ef(ef).map_err(|e| e.to_string())?;
        let (qps, got) = timed(qs, dim, |q| index.search(q, K, None))?;
        let recall = recall_of(truth, &got);
        writeln!(
            stdout,
            "{}",
            json!({"ef": ef, "qps": qps, "recall_at_10": recall})
        )
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Queries per second on the calling thread, and the results.
fn timed(
    qs: &[f32],
    dim: usize,
    search: impl Fn(&[f32]) -> maitre::Result<Vec<Hit>>,
) -> Result<(f64, Vec<Vec<Hit>>), String> {
    let started = Instant::now();
    let got = qs
        .chunks_exact(dim)
        .map(&search)
        .collect::<maitre::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    Ok((got.len() as f64 / started.elapsed().as_secs_f64(), got))
}

fn recall_of(truth: &[Vec<Hit>], got: &[Vec<Hit>]) -> f64 {
    let (mut found, mut total) = (0usize, 0usize);
    for (t, g) in truth.iter().zip(got) {
        total += t.len();
        found += g
            .iter()
            .filter(|h| t.iter().any(|x| x.item == h.item))
            .count();
    }
    found as f64 / total.max(1) as f64
}

fn write_raw<const N: usize>(
    path: &std::path::Path,
    values: impl Iterator<Item = [u8; N]>,
) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for v in values {
        w.write_all(&v).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}
