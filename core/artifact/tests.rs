use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn small() -> ArtifactWriter {
    let mut meta = Encoder::new();
    meta.put_str("als").put_u32(3);
    let mut vecs = Encoder::new();
    vecs.put_f32s(&[1.0, -0.5, 0.25, f32::from_bits(0x7fc0_0001), -0.0]);
    ArtifactWriter::new(Flavour::Full)
        .section(*b"META", meta.into_bytes())
        .section(*b"ITMV", vecs.into_bytes())
        .section(*b"EMPT", Vec::new())
        .section(*b"ODD_", vec![1, 2, 3])
}

fn problem(r: Result<Artifact>) -> ArtifactProblem {
    match r {
        Err(Error::Artifact { problem, .. }) => problem,
        other => panic!("expected an artifact error, got {other:?}"),
    }
}

/// Recomputes the checksum, to test the structural checks behind it.
fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - CHECKSUM_LEN;
    let crc = crc32fast::hash(&bytes[..end]);
    bytes[end..].copy_from_slice(&crc.to_le_bytes());
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("maitre-artifact-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sections_round_trip_byte_for_byte() {
    let writer = small();
    let bytes = writer.to_bytes().unwrap();
    let a = Artifact::from_bytes(&bytes).unwrap();
    assert_eq!(a.version(), 1);
    assert_eq!(a.flavour(), Flavour::Full);
    assert_eq!(
        a.tags().collect::<Vec<_>>(),
        [*b"META", *b"ITMV", *b"EMPT", *b"ODD_"]
    );
    for (tag, payload) in &writer.sections {
        assert_eq!(a.section(*tag).unwrap(), payload.as_slice());
    }
    let floats = a.decoder(*b"ITMV").unwrap().get_f32s().unwrap();
    assert_eq!(floats[3].to_bits(), 0x7fc0_0001);
    assert_eq!(floats[4].to_bits(), (-0.0f32).to_bits());
    // Writing is deterministic, and payloads sit at multiples of 8.
    assert_eq!(small().to_bytes().unwrap(), bytes);
    for (_, range) in &a.sections {
        assert_eq!(range.start % 8, 0);
    }
    // Header and table, then META (8 + 3 + 4 = 15), ITMV (8 + 20 = 28), EMPT, ODD_, CRC.
    let table_end = 24 + 4 * 24;
    assert_eq!(bytes.len(), table_end + 16 + 32 + 3 + 4);
}

#[test]
fn an_empty_artifact_is_valid() {
    let bytes = ArtifactWriter::new(Flavour::Storefront).to_bytes().unwrap();
    assert_eq!(bytes.len(), HEADER_LEN + CHECKSUM_LEN);
    let a = Artifact::from_bytes(&bytes).unwrap();
    assert_eq!(a.flavour(), Flavour::Storefront);
    assert_eq!(a.tags().count(), 0);
}

#[test]
fn a_missing_section_is_typed() {
    let a = Artifact::from_bytes(&small().to_bytes().unwrap()).unwrap();
    assert!(!a.has_section(*b"CUSV"));
    match a.section(*b"CUSV").unwrap_err() {
        Error::Artifact {
            problem: ArtifactProblem::MissingSection { tag },
            ..
        } => assert_eq!(tag, "CUSV"),
        other => panic!("{other:?}"),
    }
    let e = a.decoder(*b"CUSV").unwrap_err();
    assert_eq!(e.kind(), "Artifact");
}

#[test]
fn bad_tags_are_refused_when_writing() {
    for tags in [
        [*b"META", *b"META"],
        [*b"ME A", *b"ITMV"],
        [*b"ITMV", [0, 1, 2, 3]],
    ] {
        let w = ArtifactWriter::new(Flavour::Full)
            .section(tags[0], vec![])
            .section(tags[1], vec![]);
        assert_eq!(w.to_bytes().unwrap_err().kind(), "InvalidParam", "{tags:?}");
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = small().to_bytes().unwrap();
    for len in 0..bytes.len() {
        let p = problem(Artifact::from_bytes(&bytes[..len]));
        match (len, &p) {
            (0, ArtifactProblem::NotAnArtifact { .. }) => {}
            (1.., ArtifactProblem::Truncated { got, .. }) => assert_eq!(*got, len as u64),
            _ => panic!("prefix of {len} bytes: {p:?}"),
        }
    }
    // And one byte too many.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        problem(Artifact::from_bytes(&longer)),
        ArtifactProblem::Malformed { .. }
    ));
}

#[test]
fn random_corruption_is_always_detected() {
    let bytes = small().to_bytes().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut seen = std::collections::BTreeMap::new();
    for trial in 0..10_000 {
        let mut bad = bytes.clone();
        // Half the trials flip single bits (what a bad sector or cable does),
        // half overwrite bytes with random values, 1 to 8 places at a time.
        let places = rng.random_range(1..=8);
        for _ in 0..places {
            let at = rng.random_range(0..bad.len());
            if trial % 2 == 0 {
                bad[at] ^= 1 << rng.random_range(0..8);
            } else {
                bad[at] = rng.random();
            }
        }
        if bad == bytes {
            continue; // flips that cancel out, or a byte rewritten to itself
        }
        match Artifact::from_bytes(&bad) {
            Err(Error::Artifact { problem, .. }) => {
                *seen.entry(problem.code()).or_insert(0) += 1;
            }
            other => panic!("trial {trial}: corruption not detected: {other:?}"),
        }
    }
    // The corruptions land on every layer of the checks, not just the checksum.
    for code in [
        "not_an_artifact",
        "unsupported_version",
        "truncated",
        "checksum_mismatch",
    ] {
        assert!(seen.contains_key(code), "no trial hit {code}: {seen:?}");
    }
}

#[test]
fn a_foreign_file_is_named_as_such() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let text = b"item_id,vector\nsku-1,0.5\n".to_vec();
    let json = br#"{"model": "als"}"#.to_vec();
    for foreign in [png, text, json] {
        match problem(Artifact::from_bytes(&foreign)) {
            ArtifactProblem::NotAnArtifact { found } => assert_eq!(found, foreign[..8]),
            p => panic!("{p:?}"),
        }
    }
    // The same file with CR LF turned into LF by a text-mode copy.
    let bytes = small().to_bytes().unwrap();
    let mangled: Vec<u8> = bytes[..5].iter().chain(&bytes[6..]).copied().collect();
    assert_eq!(
        problem(Artifact::from_bytes(&mangled)).code(),
        "not_an_artifact"
    );
}

#[test]
fn a_newer_version_names_the_version() {
    let mut bytes = small().to_bytes().unwrap();
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    // Even with a valid checksum and whatever a version 2 might change.
    reseal(&mut bytes);
    let err = Artifact::from_bytes(&bytes).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
    match err {
        Error::Artifact {
            problem: ArtifactProblem::UnsupportedVersion { found, newest },
            ..
        } => assert_eq!((found, newest), (2, FORMAT_VERSION)),
        other => panic!("{other:?}"),
    }
}

/// Bytes with a valid checksum but a bad layout, each caught by name.
#[test]
fn structural_problems_behind_a_valid_checksum() {
    let good = small().to_bytes().unwrap();
    const fn entry(i: usize) -> usize {
        HEADER_LEN + i * ENTRY_LEN
    }
    type Mutation = fn(&mut [u8]);
    let cases: [(&str, Mutation); 9] = [
        ("flavour", |b| b[10] = 9),
        ("reserved header byte", |b| b[11] = 1),
        ("do not fit", |b| {
            b[12..16].copy_from_slice(&u32::MAX.to_le_bytes())
        }),
        ("not printable", |b| b[entry(1)] = b' '),
        ("reserved bytes", |b| b[entry(0) + 4] = 1),
        ("appears twice", |b| {
            b[entry(1)..entry(1) + 4].copy_from_slice(b"META")
        }),
        ("outside", |b| {
            b[entry(0) + 16..entry(0) + 24].copy_from_slice(&u64::MAX.to_le_bytes())
        }),
        ("outside", |b| {
            b[entry(0) + 8..entry(0) + 16].copy_from_slice(&8u64.to_le_bytes())
        }),
        ("overlap", |b| {
            // ITMV starts where META does.
            let meta_offset: [u8; 8] = b[entry(0) + 8..entry(0) + 16].try_into().unwrap();
            b[entry(1) + 8..entry(1) + 16].copy_from_slice(&meta_offset);
        }),
    ];
    for (expect, mutate) in cases {
        let mut bytes = good.clone();
        mutate(&mut bytes);
        reseal(&mut bytes);
        match problem(Artifact::from_bytes(&bytes)) {
            ArtifactProblem::Malformed { reason } => {
                assert!(
                    reason.contains(expect),
                    "expected {expect:?}, got {reason:?}"
                )
            }
            p => panic!("expected {expect:?}, got {p:?}"),
        }
    }
    // The unmodified bytes pass, so each case fails for its own reason.
    Artifact::from_bytes(&good).unwrap();
}

#[test]
fn load_of_a_missing_file_is_file_not_found() {
    let dir = temp_dir("missing");
    let err = Artifact::load(dir.join("nope.bin")).unwrap_err();
    assert_eq!(err.kind(), "FileNotFound");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn save_then_load_and_errors_name_the_path() {
    let dir = temp_dir("save");
    let path = dir.join("model.bin");
    small().save(&path).unwrap();
    let a = Artifact::load(&path).unwrap();
    assert_eq!(a.section(*b"ODD_").unwrap(), [1, 2, 3]);
    assert_eq!(dir_entries(&dir), ["model.bin"]);

    std::fs::write(&path, b"not an artifact").unwrap();
    let err = Artifact::load(&path).unwrap_err();
    assert!(err.to_string().contains("model.bin"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn save_replaces_an_existing_file_only_on_success() {
    let dir = temp_dir("atomic");
    let path = dir.join("model.bin");
    std::fs::write(&path, b"old").unwrap();

    // A write that fails half-way: the old file stays, no temporary is left.
    let err = atomic_write(&path, 0o600, |f| {
        f.write_all(b"half")?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    assert_eq!(err.kind(), "Io");
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(dir_entries(&dir), ["model.bin"]);

    // A rename that fails (the target is a non-empty directory): same.
    let blocked = dir.join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();
    assert!(small().save(&blocked).is_err());
    assert_eq!(dir_entries(&dir), ["blocked", "model.bin"]);
    assert_eq!(dir_entries(&blocked), ["keep"]);

    // A directory that does not exist: nothing is created.
    let err = small().save(dir.join("no/such/dir.bin")).unwrap_err();
    assert_eq!(err.kind(), "FileNotFound");

    // Success replaces the old contents completely.
    small().save(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), small().to_bytes().unwrap());
    assert_eq!(dir_entries(&dir), ["blocked", "model.bin"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn save_keeps_the_mode_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("mode");
    let path = dir.join("model.bin");
    // New files: full artifacts hold customer data, so owner-only.
    small().save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let shop = dir.join("shop.bin");
    ArtifactWriter::new(Flavour::Storefront)
        .save(&shop)
        .unwrap();
    assert_eq!(
        mode(&shop) & !0o022,
        0o644 & !0o022,
        "storefront: 0644 under the umask"
    );
    // A replaced file keeps its mode, narrower or wider than the default.
    for kept in [0o600, 0o640, 0o644] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(kept)).unwrap();
        small().save(&path).unwrap();
        assert_eq!(mode(&path), kept);
        ArtifactWriter::new(Flavour::Storefront)
            .save(&path)
            .unwrap();
        assert_eq!(mode(&path), kept);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn save_through_a_symlink_writes_its_target() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = temp_dir("symlink");
    let real = dir.join("v1.bin");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A relative link to a relative link: both are followed.
    symlink("v1.bin", dir.join("middle.bin")).unwrap();
    symlink("middle.bin", dir.join("current.bin")).unwrap();
    small().save(dir.join("current.bin")).unwrap();
    let link = std::fs::symlink_metadata(dir.join("current.bin")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is kept");
    assert_eq!(std::fs::read(&real).unwrap(), small().to_bytes().unwrap());
    assert_eq!(mode(&real), 0o600);
    assert_eq!(dir_entries(&dir), ["current.bin", "middle.bin", "v1.bin"]);
    // A dangling link: its target is created.
    symlink("v2.bin", dir.join("next.bin")).unwrap();
    small().save(dir.join("next.bin")).unwrap();
    assert!(Artifact::load(dir.join("v2.bin")).is_ok());
    // A loop is an error, not a hang.
    symlink("loop-b", dir.join("loop-a")).unwrap();
    symlink("loop-a", dir.join("loop-b")).unwrap();
    assert_eq!(small().save(dir.join("loop-a")).unwrap_err().kind(), "Io");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn save_removes_stale_temporaries_of_its_target() {
    let dir = temp_dir("stale");
    let path = dir.join("model.bin");
    let name = std::ffi::OsStr::new("model.bin");
    // A writer that is gone (no such process), one that is old, and one of
    // this process (a save in flight on another thread): only the first two go.
    let gone = dir.join(temp_name(name, u32::MAX - 1, 3));
    let mine = dir.join(temp_name(name, process_tag(), 999_999));
    let old = dir.join(temp_name(name, process_tag(), 1_000_000));
    // Another target's temporary and a look-alike are not touched.
    let other = dir.join(temp_name(
        std::ffi::OsStr::new("other.bin"),
        u32::MAX - 1,
        3,
    ));
    let lookalike = dir.join(".model.bin.notes.tmp");
    for f in [&gone, &mine, &old, &other, &lookalike] {
        std::fs::write(f, b"partial").unwrap();
    }
    let hours_ago = std::time::SystemTime::now() - 2 * STALE_TEMP_AGE;
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(hours_ago)
        .unwrap();
    assert_eq!(
        temp_writer(gone.file_name().unwrap(), name),
        Some(u32::MAX - 1)
    );
    small().save(&path).unwrap();
    let mut expected = vec![
        other.file_name().unwrap().to_str().unwrap().to_owned(),
        ".model.bin.notes.tmp".to_owned(),
        mine.file_name().unwrap().to_str().unwrap().to_owned(),
        "model.bin".to_owned(),
    ];
    if !cfg!(target_os = "linux") {
        // Without /proc only age tells a temporary is stale.
        expected.push(gone.file_name().unwrap().to_str().unwrap().to_owned());
    }
    expected.sort();
    assert_eq!(dir_entries(&dir), expected);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn quantized_rows_travel_in_a_section() {
    let data: Vec<f32> = (0..40).map(|i| ((i * 7 % 13) as f32 - 6.0) / 3.0).collect();
    let q = QuantizedRows::quantize(5, 8, &data).unwrap();
    let mut enc = Encoder::new();
    q.encode(&mut enc);
    let bytes = ArtifactWriter::new(Flavour::Storefront)
        .section(*b"ITMQ", enc.into_bytes())
        .to_bytes()
        .unwrap();
    let a = Artifact::from_bytes(&bytes).unwrap();
    let mut dec = a.decoder(*b"ITMQ").unwrap();
    assert_eq!(QuantizedRows::decode(&mut dec).unwrap(), q);
    dec.finish().unwrap();
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Arbitrary bytes behind a real magic and version are an error, not a
        /// panic. (Random bytes matching the length field and the CRC: ~2^-64.)
        #[test]
        fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            bytes.extend_from_slice(&tail);
            prop_assert!(Artifact::from_bytes(&bytes).is_err());
        }

        /// Edits to the header and section table with the checksum recomputed,
        /// so the structural checks (not the CRC) must hold: either a typed
        /// error, or an artifact whose every section can be read in bounds.
        #[test]
        fn resealed_table_edits_never_panic(
            edits in proptest::collection::vec((10usize..HEADER_LEN + 4 * ENTRY_LEN, any::<u8>()), 1..6),
        ) {
            let mut bytes = small().to_bytes().unwrap();
            for (at, value) in edits {
                bytes[at] = value;
            }
            let declared = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
            prop_assume!(declared == bytes.len() as u64);
            reseal(&mut bytes);
            if let Ok(a) = Artifact::from_bytes(&bytes) {
                let tags: Vec<[u8; 4]> = a.tags().collect();
                let mut total = 0;
                for tag in &tags {
                    total += a.section(*tag).unwrap().len();
                }
                prop_assert!(total <= bytes.len());
            }
        }
    }
}
