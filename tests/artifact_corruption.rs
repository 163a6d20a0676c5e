//! Content corrupted *behind a valid checksum* (a writer's bug, or bytes
//! altered and resealed): every section type, many corruptions each, the
//! CRC recomputed so the container accepts the file. Loading must then fail
//! with an `Error::Artifact` naming a section, or succeed with a model that
//! serves without panicking; never another error type, a panic or a huge
//! allocation.

/// The fuzz targets' own code (no AFL in it): the same tiny model.
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

use maitre::artifact::{ArtifactProblem, Flavour};
use maitre::index::IndexKind;
use maitre::recommend::{Filters, Recommender, Request};
use maitre::Error;
use std::collections::BTreeMap;

/// (tag, payload range) of every section, read from the section table.
fn sections(bytes: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| {
            let at = 24 + 24 * i;
            let tag = String::from_utf8(bytes[at..at + 4].to_vec()).unwrap();
            let offset = u64_at(at + 8);
            (tag, offset..offset + u64_at(at + 16))
        })
        .collect()
}

fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_le_bytes());
}

/// Loads `bytes`; on success serves a few requests (they may fail, typed).
/// Returns the section named by the error, or `None` when loading succeeded.
fn load(bytes: &[u8], what: &str) -> Option<String> {
    match Recommender::from_bytes(bytes) {
        Ok(rec) => {
            let mut request = Request::new(5).context("device", "mobile");
            request.customer = Some("c1".into());
            let _ = rec.recommend(&request);
            let _ = rec.recommend(&Request::new(4).event("sku-3", "purchase"));
            let _ = rec.similar_items("sku-2", 3, &Filters::default());
            None
        }
        Err(Error::Artifact {
            problem: ArtifactProblem::BadSection { tag, .. },
            ..
        }) => Some(tag),
        Err(other) => panic!("{what}: not an artifact error naming a section: {other:?}"),
    }
}

/// Replaces bytes of a section payload with a pattern, reseals, loads.
fn corrupt(bytes: &[u8], at: usize, pattern: &[u8], what: &str) -> Option<String> {
    let mut b = bytes.to_vec();
    let end = (at + pattern.len()).min(b.len() - 4);
    b[at..end].copy_from_slice(&pattern[..end - at]);
    reseal(&mut b);
    load(&b, what)
}

#[test]
fn corrupt_payloads_behind_a_valid_checksum_are_artifact_errors_naming_the_section() {
    let patterns: [(&str, Vec<u8>); 7] = [
        ("NaN f32", 0x7fc0_0000u32.to_le_bytes().to_vec()),
        ("infinite f32", f32::INFINITY.to_le_bytes().to_vec()),
        ("u32::MAX", u32::MAX.to_le_bytes().to_vec()),
        ("u64::MAX", u64::MAX.to_le_bytes().to_vec()),
        ("2^40", (1u64 << 40).to_le_bytes().to_vec()),
        ("zero u64", 0u64.to_le_bytes().to_vec()),
        ("high bit", vec![0x80]),
    ];
    let mut seen_flavours = 0;
    for index in [IndexKind::Exact, IndexKind::Hnsw] {
        let rec = fuzz_targets::model(index);
        for flavour in [Flavour::Full, Flavour::Storefront] {
            seen_flavours += 1;
            let bytes = rec.to_bytes(flavour).unwrap();
            let mut named: BTreeMap<String, usize> = BTreeMap::new();
            let all = sections(&bytes);
            for (tag, range) in &all {
                let mut rejected = 0;
                for at in range.clone() {
                    for (name, pattern) in &patterns {
                        // Multi-byte patterns at value boundaries, single bytes everywhere.
                        if pattern.len() > 1 && (at - range.start) % 4 != 0 {
                            continue;
                        }
                        let what = format!("{flavour:?} {tag} +{} {name}", at - range.start);
                        if let Some(by) = corrupt(&bytes, at, pattern, &what) {
                            rejected += 1;
                            *named.entry(by).or_default() += 1;
                        }
                    }
                }
                // Each section's own checks catch corruption of it (an empty
                // payload has nothing to corrupt).
                assert!(
                    range.is_empty() || rejected > 0,
                    "{flavour:?}: no corruption of {tag} was rejected"
                );
            }
            for (tag, _) in &all {
                assert!(
                    named.contains_key(tag),
                    "{flavour:?} ({index:?}): no error named {tag}; named {named:?}"
                );
            }
        }
    }
    assert_eq!(seen_flavours, 4);
}

/// The two reported cases: a non-finite Gram matrix and a row count that
/// would ask for terabytes are artifact errors naming their sections.
#[test]
fn the_reported_cases_name_their_sections() {
    let rec = fuzz_targets::model(IndexKind::Exact);
    let bytes = rec.to_bytes(Flavour::Full).unwrap();
    let all = sections(&bytes);
    let range = |tag: &str| all.iter().find(|(t, _)| t == tag).unwrap().1.clone();
    // GRAM: u64 count, then f32s; the first value made NaN.
    let gram = range("GRAM");
    let got = corrupt(
        &bytes,
        gram.start + 8,
        &0x7fc0_0000u32.to_le_bytes(),
        "gram",
    );
    assert_eq!(got.as_deref(), Some("GRAM"));
    // CUST: a purchase-history weight made NaN (it would fold into a NaN
    // taste vector); found by walking the section's layout.
    let cust = range("CUST");
    let mut d = maitre::artifact::Decoder::new(&bytes[cust.clone()]);
    d.get_strs().unwrap(); // customer ids
    d.get_strs().unwrap(); // alias names
    for _ in 0..3 {
        d.get_u32s().unwrap(); // alias rows, offsets, items
    }
    let weights = cust.end - d.remaining() + 8;
    let got = corrupt(&bytes, weights, &f32::NAN.to_le_bytes(), "history weight");
    assert_eq!(got.as_deref(), Some("CUST"));
    // IVEC: u64 row count first.
    let ivec = range("IVEC");
    for rows in [1u64 << 40, u64::MAX / 4, u64::MAX] {
        let got = corrupt(&bytes, ivec.start, &rows.to_le_bytes(), "rows");
        assert_eq!(got.as_deref(), Some("IVEC"), "{rows} rows");
    }
}

/// The flavour byte must agree with the sections: a full artifact relabelled
/// storefront (customer data in a file meant for browsers) and a storefront
/// one relabelled full are both malformed.
#[test]
fn the_flavour_byte_is_checked_against_the_sections() {
    let rec = fuzz_targets::model(IndexKind::Exact);
    for (flavour, byte, missing) in [
        (Flavour::Full, 2u8, "CUST"),
        (Flavour::Storefront, 1, "IVEC"),
    ] {
        let mut bytes = rec.to_bytes(flavour).unwrap();
        bytes[10] = byte;
        reseal(&mut bytes);
        match Recommender::from_bytes(&bytes) {
            Err(Error::Artifact {
                problem: ArtifactProblem::Malformed { reason },
                ..
            }) => {
                assert!(reason.contains("flavour"), "{reason}");
                assert!(
                    reason.contains(missing) || reason.contains("IVQ8"),
                    "{reason}"
                );
            }
            other => panic!("{flavour:?} relabelled: {other:?}"),
        }
    }
}

/// The caller's own bad index parameters stay an `InvalidParam`: the file is fine.
#[test]
fn a_callers_bad_index_parameters_are_not_blamed_on_the_file() {
    use maitre::artifact::Artifact;
    use maitre::index::{HnswParams, IndexParams};
    let bytes = fuzz_targets::model(IndexKind::Hnsw)
        .to_bytes(Flavour::Full)
        .unwrap();
    let artifact = Artifact::from_bytes(&bytes).unwrap();
    let params = IndexParams::default().hnsw(HnswParams::default().max_connections(0));
    match Recommender::from_artifact(&artifact, &params) {
        Err(Error::InvalidParam { name, .. }) => assert_eq!(name, "max_connections"),
        other => panic!("{other:?}"),
    }
}
