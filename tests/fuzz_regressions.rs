//! Every input a fuzz target crashed on, replayed through the target's own
//! code (`fuzz/src/lib.rs`, included here without AFL), so a fixed crash
//! stays fixed. Inputs live in `tests/fixtures/fuzz/<target>/`, one file
//! each, named after what they broke.

#[allow(dead_code)] // `artifacts` writes seeds; not needed here
#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

use maitre::index::IndexKind;
use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| {
                    let path = e.unwrap().path();
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read(&path).unwrap())
                })
                .filter(|(name, _)| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn artifact_crashes_stay_fixed() {
    let found = inputs("artifact");
    assert!(!found.is_empty(), "the first crash found is kept");
    for (name, bytes) in found {
        eprintln!("artifact/{name}");
        fuzz_targets::artifact(&bytes);
    }
}

#[test]
fn csv_and_jsonl_crashes_stay_fixed() {
    for (name, bytes) in inputs("csv") {
        eprintln!("csv/{name}");
        fuzz_targets::csv(&bytes);
    }
    for (name, bytes) in inputs("jsonl") {
        eprintln!("jsonl/{name}");
        fuzz_targets::jsonl(&bytes);
    }
}

#[test]
fn request_crashes_stay_fixed() {
    let rec = fuzz_targets::model(IndexKind::Exact);
    for (name, bytes) in inputs("request") {
        eprintln!("request/{name}");
        fuzz_targets::request(&rec, &bytes);
    }
}
