//! Compatibility of stored artifacts across releases.
//!
//! `tests/fixtures/artifact-v1.bin` was written by format version 1 and is
//! committed. `v1_fixture_loads` reads it and checks its contents against
//! literal values, so a change to the reader that breaks old files fails
//! here. `writer_reproduces_v1_fixture` checks that today's writer still
//! produces those exact bytes, so a change to the writer cannot slip in
//! without a version bump.
//!
//! To regenerate the fixture after a deliberate change (only while the
//! format is still version 1):
//!
//! ```text
//! MAITRE_BLESS=1 cargo test --test artifact writer_reproduces
//! ```
//!
//! (The filter keeps the load test from racing the rewrite.)
//!
//! When the format version changes: keep `artifact-v1.bin` and
//! `v1_fixture_loads` (as a load test, or as an `UnsupportedVersion` test
//! if v1 support is dropped), add `artifact-v2.bin` with its own load test,
//! and point the writer comparison at the new file.

use maitre::artifact::{Artifact, ArtifactWriter, Encoder, Flavour, QuantizedRows};
use std::path::PathBuf;

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/artifact-v1.bin")
}

/// The fixture's contents, exercising every encoder call and every value
/// that is easy to get wrong (negative zero, subnormals, NaN payloads,
/// non-ASCII strings, an empty section, an all-zero quantised row).
fn fixture_writer() -> ArtifactWriter {
    let mut meta = Encoder::new();
    meta.put_str("maitre artifact fixture")
        .put_u8(7)
        .put_u32(0xdead_beef)
        .put_u64(1 << 40)
        .put_f64(std::f64::consts::PI);
    let mut ids = Encoder::new();
    ids.put_strs(&["sku-1", "sku-2", "crème brûlée"]);
    let mut floats = Encoder::new();
    floats.put_f32s(&[
        1.0,
        -0.0,
        0.1,
        f32::from_bits(1), // smallest subnormal
        f32::from_bits(0x7fc0_0001),
        f32::NEG_INFINITY,
    ]);
    let mut ints = Encoder::new();
    ints.put_u32s(&[0, 1, u32::MAX])
        .put_i8s(&[-127, -1, 0, 127]);
    let quantized = QuantizedRows::quantize(
        3,
        4,
        &[
            1.0, -2.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, -3.0, 0.25,
        ],
    )
    .expect("finite 3 × 4 table");
    let mut itmq = Encoder::new();
    quantized.encode(&mut itmq);
    ArtifactWriter::new(Flavour::Storefront)
        .section(*b"META", meta.into_bytes())
        .section(*b"IDS_", ids.into_bytes())
        .section(*b"F32S", floats.into_bytes())
        .section(*b"INTS", ints.into_bytes())
        .section(*b"ITMQ", itmq.into_bytes())
        .section(*b"EMPT", Vec::new())
}

#[test]
fn v1_fixture_loads() -> maitre::Result<()> {
    let a = Artifact::load(fixture_path())?;
    assert_eq!(a.version(), 1);
    assert_eq!(a.flavour(), Flavour::Storefront);
    assert_eq!(
        a.tags().collect::<Vec<_>>(),
        [*b"META", *b"IDS_", *b"F32S", *b"INTS", *b"ITMQ", *b"EMPT"]
    );

    let mut meta = a.decoder(*b"META")?;
    assert_eq!(meta.get_str()?, "maitre artifact fixture");
    assert_eq!(meta.get_u8()?, 7);
    assert_eq!(meta.get_u32()?, 0xdead_beef);
    assert_eq!(meta.get_u64()?, 1_099_511_627_776);
    assert_eq!(meta.get_f64()?.to_bits(), 0x4009_21fb_5444_2d18);
    meta.finish()?;

    let mut ids = a.decoder(*b"IDS_")?;
    assert_eq!(ids.get_strs()?, ["sku-1", "sku-2", "crème brûlée"]);
    ids.finish()?;

    let mut floats = a.decoder(*b"F32S")?;
    let bits: Vec<u32> = floats.get_f32s()?.iter().map(|x| x.to_bits()).collect();
    assert_eq!(
        bits,
        [
            0x3f80_0000,
            0x8000_0000,
            0x3dcc_cccd,
            1,
            0x7fc0_0001,
            0xff80_0000
        ]
    );
    floats.finish()?;

    let mut ints = a.decoder(*b"INTS")?;
    assert_eq!(ints.get_u32s()?, [0, 1, u32::MAX]);
    assert_eq!(ints.get_i8s()?, [-127, -1, 0, 127]);
    ints.finish()?;

    let mut itmq = a.decoder(*b"ITMQ")?;
    let q = QuantizedRows::decode(&mut itmq)?;
    itmq.finish()?;
    assert_eq!((q.rows(), q.k()), (3, 4));
    assert_eq!(q.codes(0), [64, -127, 32, 0]);
    assert_eq!(q.codes(1), [0, 0, 0, 0]);
    assert_eq!(q.codes(2), [127, 127, -127, 11]);
    assert_eq!(q.scale(0), 2.0 / 127.0);
    assert_eq!(q.scale(1), 0.0);

    assert_eq!(a.section(*b"EMPT")?, [0u8; 0]);
    Ok(())
}

#[test]
fn writer_reproduces_v1_fixture() -> maitre::Result<()> {
    let bytes = fixture_writer().to_bytes()?;
    if std::env::var_os("MAITRE_BLESS").is_some() {
        fixture_writer().save(fixture_path())?;
    }
    let stored = std::fs::read(fixture_path()).expect("committed fixture");
    assert!(
        stored == bytes,
        "the writer no longer produces tests/fixtures/artifact-v1.bin \
         ({} bytes now, {} stored); see this file's docs before regenerating",
        bytes.len(),
        stored.len()
    );
    Ok(())
}
