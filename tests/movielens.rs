//! MovieLens 100K through the whole foundation. These tests need the data and
//! fail (never skip) without it; the failure says how to get it.

use maitre::datasets::movielens::{self, MovieLens};
use maitre::eval::{evaluate, lower_quantile, EvalConfig, Positives, Split};

fn data() -> MovieLens {
    let dir = movielens::locate(None).unwrap_or_else(|e| panic!("{e}"));
    movielens::load(&dir).expect("loads")
}

#[test]
fn loads_the_whole_data_set() {
    let ml = data();
    let s = ml.log.summary();
    assert_eq!(s.events, 100_000);
    assert_eq!(s.customers, 943);
    assert_eq!(s.items, 1682);
    assert_eq!(ml.movies.len(), 1682);
    assert_eq!(ml.users.len(), 943);
}

#[test]
fn the_protocol_holds() {
    let ml = data();
    let positives = Positives::from_log(&ml.log, Some(&["rating".into()]), Some(4.0)).unwrap();
    // Ratings of 4 or 5 stars, counted independently from the raw values.
    let expected = ml.log.value_column().iter().filter(|&&v| v >= 4.0).count();
    assert_eq!(positives.len(), expected);

    // Leave-last-out: every user with at least 5 positives is tested on exactly one item,
    // the last positive in time (ties: the later row).
    let split = Split::LeaveLastOut { min_positives: 5 }
        .apply(&positives, &[])
        .unwrap();
    let mut count = vec![0usize; positives.n_users];
    let mut last = vec![(i64::MIN, 0usize); positives.n_users];
    for r in 0..positives.len() {
        let u = positives.user[r] as usize;
        count[u] += 1;
        if positives.timestamp[r] >= last[u].0 {
            last[u] = (positives.timestamp[r], r);
        }
    }
    let eligible = count.iter().filter(|&&c| c >= 5).count();
    assert_eq!(split.test.len(), eligible);
    for (u, held) in &split.test {
        assert_eq!(held, &vec![positives.item[last[*u as usize].1]]);
        assert_eq!(split.train.row(*u).0.len(), count[*u as usize] - 1);
    }
    assert_eq!(split.train.nnz(), positives.len() - split.test.len());

    // Temporal: the cut is the lower 80th percentile of all ratings' timestamps.
    let cut = lower_quantile(ml.log.timestamp_column(), 0.8).unwrap();
    let mut sorted = ml.log.timestamp_column().to_vec();
    sorted.sort_unstable();
    assert_eq!(cut, sorted[(0.8 * (sorted.len() - 1) as f64) as usize]);
    let split = Split::Temporal { quantile: 0.8 }
        .apply(&positives, ml.log.timestamp_column())
        .unwrap();
    for (u, held) in &split.test {
        assert!(!split.train.row(*u).0.is_empty());
        for item in held {
            let r = (0..positives.len())
                .find(|&r| positives.user[r] == *u && positives.item[r] == *item)
                .unwrap();
            assert!(positives.timestamp[r] >= cut);
        }
    }
}

#[test]
fn baselines_through_the_evaluate_contract() {
    let ml = data();
    for split in ["leave-last-out", "temporal"] {
        let config = EvalConfig::default()
            .dataset("ml-100k")
            .split(split.parse().unwrap())
            .positive_kinds(["rating"])
            .min_value(4.0);
        let report = evaluate(&ml.log, &config).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["items"], 1682);
        assert_eq!(json["split"], split);
        let models: Vec<&str> = report.results.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(models, ["popularity", "item-knn"]);
        for r in &json["results"].as_array().unwrap()[..] {
            for key in [
                "hr@10",
                "recall@10",
                "recall@20",
                "ndcg@10",
                "mrr@10",
                "coverage@10",
                "fit_seconds",
            ] {
                assert!(r[key].is_number(), "{split}: {key} missing in {r}");
            }
            for key in ["hr@10", "recall@20", "ndcg@10"] {
                let v = r[key].as_f64().unwrap();
                // Both baselines are far better than a random ranking of 1682 items.
                assert!(v > 0.02 && v < 0.6, "{split} {}: {key} = {v}", r["model"]);
            }
        }
    }
}
