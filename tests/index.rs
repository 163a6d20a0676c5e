//! The index contract, checked on every implementation built in: exact results equal a
//! brute-force full sort; HNSW recall against the exact index; filters,
//! removals and short lists; bad input.

use maitre::datasets::clustered_vectors;
use maitre::index::{ExactIndex, Hit, Index, IndexKind, IndexParams};
use maitre::Error;
use proptest::prelude::*;

/// Every eligible item scored and fully sorted: the reference. Its plain serial
/// sum equals the index's vectorised one only because the tests use values on a
/// coarse grid (multiples of 1/8 add exactly in any order).
fn brute_force(
    dim: usize,
    data: &[f32],
    removed: &[u32],
    query: &[f32],
    k: usize,
    filter: &dyn Fn(u32) -> bool,
) -> Vec<Hit> {
    let mut all: Vec<Hit> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, row)| Hit {
            item: i as u32,
            score: row.iter().zip(query).map(|(a, b)| a * b).sum(),
        })
        .filter(|h| !removed.contains(&h.item) && filter(h.item))
        .collect();
    all.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .expect("no NaN")
            .then(a.item.cmp(&b.item))
    });
    all.truncate(k);
    all
}

fn items(hits: &[Hit]) -> Vec<u32> {
    hits.iter().map(|h| h.item).collect()
}

/// Sorted by descending score, ties by ascending id.
fn is_ranked(hits: &[Hit]) -> bool {
    hits.windows(2)
        .all(|w| w[0].score > w[1].score || (w[0].score == w[1].score && w[0].item < w[1].item))
}

/// Vectors with few distinct values, so ties are common and tie-breaking is tested.
fn small_table() -> impl Strategy<Value = (usize, Vec<f32>)> {
    (1usize..12, 0usize..700).prop_flat_map(|(dim, rows)| {
        (
            Just(dim),
            prop::collection::vec((-3i8..=3).prop_map(|v| v as f32 * 0.5), dim * rows),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn exact_equals_a_full_sort(
        (dim, data) in small_table(),
        q in prop::collection::vec((-8i8..=8).prop_map(|v| v as f32 * 0.25), 12),
        k in 0usize..40,
        modulus in 1u32..5,
        removals in prop::collection::vec(0u32..700, 0..60),
    ) {
        let mut index = ExactIndex::build(dim, &data).unwrap();
        let n = index.len() as u32;
        let removed: Vec<u32> = removals.into_iter().filter(|&r| r < n).collect();
        for &r in &removed {
            index.remove(r).unwrap();
        }
        let query = &q[..dim];
        let filter = |i: u32| i % modulus != 1;
        let got = index.search(query, k, Some(&filter)).unwrap();
        let want = brute_force(dim, &data, &removed, query, k, &filter);
        prop_assert!(is_ranked(&got));
        prop_assert!(got.iter().all(|h| filter(h.item) && !removed.contains(&h.item)));
        // `==` on the scores: a zero may come out signed either way.
        prop_assert_eq!(items(&got), items(&want));
        prop_assert!(got.iter().zip(&want).all(|(g, w)| g.score == w.score));
    }
}

#[cfg(feature = "hnsw")]
mod hnsw {
    use super::*;
    use maitre::index::HnswParams;

    proptest! {
        // Each case builds a graph: keep the budget small for debug builds.
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn hnsw_keeps_the_contract(
            seed in 0u64..1000,
            rows in 1usize..600,
            k in 0usize..30,
            modulus in 1u32..40,
            removals in prop::collection::vec(0u32..600, 0..100),
        ) {
            let dim = 8;
            let data = clustered_vectors(seed, rows + 1, dim, 5, 0.3).unwrap();
            let (data, query) = data.split_at(rows * dim);
            // A cheap graph: this checks the contract, not recall.
            let mut index = HnswParams::default()
                .max_connections(8)
                .ef_construction(32)
                .ef_search(16)
                .rebuild_fraction(0.5)
                .build(dim, data)
                .unwrap();
            let removed: Vec<u32> = removals.into_iter().filter(|&r| (r as usize) < rows).collect();
            for &r in &removed {
                index.remove(r).unwrap();
            }
            // A selective filter: the graph alone often finds fewer than k.
            let filter = |i: u32| i % modulus == 0;
            let got = index.search(query, k, Some(&filter)).unwrap();
            let eligible = (0..rows as u32)
                .filter(|i| filter(*i) && !removed.contains(i))
                .count();
            prop_assert_eq!(got.len(), k.min(eligible));
            prop_assert!(is_ranked(&got));
            prop_assert!(got.iter().all(|h| filter(h.item) && !removed.contains(&h.item)));
            // Scores are exact inner products, not graph distances.
            let exact = ExactIndex::build(dim, data).unwrap();
            for h in &got {
                let one = exact.search(query, 1, Some(&|i| i == h.item)).unwrap();
                prop_assert_eq!(one[0].score, h.score);
            }
        }
    }

    fn recall_at_10(rows: usize, dim: usize, queries: usize, params: HnswParams) -> f64 {
        let all = clustered_vectors(11, rows + queries, dim, 40, 0.3).unwrap();
        let (data, qs) = all.split_at(rows * dim);
        recall_against_exact(dim, data, qs, params)
    }

    fn recall_against_exact(dim: usize, data: &[f32], qs: &[f32], params: HnswParams) -> f64 {
        let (rows, queries) = (data.len() / dim, qs.len() / dim);
        let exact = ExactIndex::build(dim, data).unwrap();
        let hnsw = params.build(dim, data).unwrap();
        let want = exact.search_batch(qs, 10, None).unwrap();
        let got = hnsw.search_batch(qs, 10, None).unwrap();
        let found: usize = want
            .iter()
            .zip(&got)
            .map(|(w, g)| {
                assert_eq!(g.len(), 10);
                items(g).iter().filter(|i| items(w).contains(i)).count()
            })
            .sum();
        let recall = found as f64 / (10 * queries) as f64;
        eprintln!("recall@10 {recall} ({rows} items, dim {dim}, {queries} queries)");
        recall
    }

    /// Small enough for a debug build; the 20,000-item check is below, ignored by default.
    #[test]
    fn recall_at_10_at_default_params() {
        let recall = recall_at_10(1_500, 32, 50, HnswParams::default());
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    /// The first data set: ALS item vectors of MovieLens 100K (1,682 ×
    /// 64), queried with every customer's vector. Fails (never skips) without
    /// the data.
    #[test]
    fn recall_at_10_on_movielens_item_vectors() {
        use maitre::datasets::movielens;
        use maitre::embed::Als;
        use maitre::eval::{Positives, Split};
        let dir = movielens::locate(None).unwrap_or_else(|e| panic!("{e}"));
        let ml = movielens::load(dir).unwrap();
        let positives = Positives::from_log(&ml.log, Some(&["rating".into()]), Some(4.0)).unwrap();
        let train = Split::LeaveLastOut { min_positives: 5 }
            .apply(&positives, &[])
            .unwrap()
            .train;
        let model = Als::params()
            .factors(64)
            .iterations(15)
            .seed(1)
            .fit_matrix(&train, |_| std::ops::ControlFlow::Continue(()))
            .unwrap();
        let (users, items) = (model.users.view(), model.items.view());
        let (users, items) = (users.as_slice().unwrap(), items.as_slice().unwrap());
        let recall = recall_against_exact(64, items, users, HnswParams::default());
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    /// `cargo test --release --test index -- --ignored`
    #[test]
    #[ignore = "20,000 items: run in release"]
    fn recall_at_10_on_20k_items() {
        let recall = recall_at_10(20_000, 32, 500, HnswParams::default());
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    #[test]
    fn builds_are_identical_on_any_thread_count() {
        let all = clustered_vectors(3, 3_020, 16, 10, 0.3).unwrap();
        let (data, qs) = all.split_at(3_000 * 16);
        let params = HnswParams::default().ef_construction(64).ef_search(10);
        let results = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let index = pool.install(|| params.build(16, data)).unwrap();
            index.search_batch(qs, 10, None).unwrap()
        };
        assert_eq!(results(1), results(2));
    }

    #[test]
    fn auto_picks_by_size() {
        let p = IndexParams::default().auto_threshold(100);
        assert_eq!(p.resolve(99), IndexKind::Exact);
        assert_eq!(p.resolve(100), IndexKind::Hnsw);
        assert_eq!(
            IndexParams::default()
                .kind(IndexKind::Exact)
                .resolve(1 << 30),
            IndexKind::Exact
        );
    }
}

#[test]
fn batch_equals_one_by_one() {
    let all = clustered_vectors(5, 1_050, 16, 8, 0.3).unwrap();
    let (data, qs) = all.split_at(1_000 * 16);
    let index = IndexParams::default().build(16, data).unwrap();
    let even = |i: u32| i % 2 == 0;
    let batch = index.search_batch(qs, 7, Some(&even)).unwrap();
    assert_eq!(batch.len(), 50);
    for (q, hits) in qs.chunks(16).zip(&batch) {
        assert_eq!(hits, &index.search(q, 7, Some(&even)).unwrap());
    }
}

#[test]
fn bad_input_is_a_typed_error_on_every_kind() {
    let data = clustered_vectors(1, 100, 4, 2, 0.3).unwrap();
    let mut kinds = vec![IndexKind::Exact];
    if cfg!(feature = "hnsw") {
        kinds.push(IndexKind::Hnsw);
    }
    if cfg!(feature = "hnsw-rs") {
        kinds.push(IndexKind::HnswRs);
    }
    for kind in kinds {
        let mut index = IndexParams::default().kind(kind).build(4, &data).unwrap();
        assert!(matches!(
            index.search(&[1.0; 3], 5, None),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            index.search(&[1.0, f32::NAN, 0.0, 0.0], 5, None),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            index.search_batch(&[1.0; 7], 5, None),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            index.insert(&[1.0, 2.0, f32::NEG_INFINITY, 0.0]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(index.remove(100), Err(Error::Unknown { .. })));
        assert_eq!(index.search(&[1.0; 4], 0, None).unwrap(), []);
        // A huge k is the whole live catalogue, not an allocation failure.
        index.remove(3).unwrap();
        index.remove(3).unwrap();
        assert_eq!(index.search(&[1.0; 4], usize::MAX, None).unwrap().len(), 99);
        assert!(matches!(
            IndexParams::default().kind(kind).build(0, &[]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            IndexParams::default().kind(kind).build(4, &data[..7]),
            Err(Error::LengthMismatch { .. })
        ));
    }
}

/// hnsw_rs is opt-in: without its cargo feature, asking for it is a typed
/// error, not a silent fallback to another index.
#[test]
fn hnsw_rs_is_an_error_without_its_feature() {
    let built = IndexParams::default()
        .kind(IndexKind::HnswRs)
        .build(2, &[1.0, 0.0, 0.0, 1.0]);
    if cfg!(feature = "hnsw-rs") {
        assert_eq!(built.unwrap().len(), 2);
    } else {
        assert!(matches!(built, Err(Error::InvalidParam { .. })));
    }
}
