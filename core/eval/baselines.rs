//! The baselines every model must beat: popularity and item-kNN (cosine).

use super::Scorer;
use crate::error::{Error, Result};
use crate::interactions::Csr;
use rayon::prelude::*;

/// Scores every item by how many training customers have it.
#[derive(Debug, Clone)]
pub struct Popularity {
    counts: Vec<f32>,
}

impl Popularity {
    /// Counts each item's training customers.
    pub fn fit(train: &Csr) -> Self {
        let mut counts = vec![0f32; train.n_cols()];
        for &i in train.indices() {
            counts[i as usize] += 1.0;
        }
        Popularity { counts }
    }
}

impl Scorer for Popularity {
    fn score(&self, _user: u32, _history: &[u32], out: &mut [f32]) {
        out.copy_from_slice(&self.counts);
    }
}

/// Item-based k-nearest neighbours: an item scores the sum of its cosine
/// similarities to the customer's history, over each history item's `neighbours`
/// most similar items (Sarwar et al. 2001; Deshpande & Karypis 2004).
#[derive(Debug, Clone)]
pub struct ItemKnn {
    /// Row `j`: the nearest neighbours of item `j` and their similarities.
    neighbours: Csr,
}

impl ItemKnn {
    /// Default number of neighbours kept per item.
    pub const DEFAULT_NEIGHBOURS: usize = 100;

    /// Computes cosine similarities between items' customer sets (binary), keeping
    /// the top `neighbours` per item. Items are processed in parallel.
    pub fn fit(train: &Csr, neighbours: usize) -> Result<Self> {
        if neighbours == 0 {
            return Err(Error::param("neighbours", "must be at least 1"));
        }
        let by_item = train.transpose();
        let n_items = train.n_cols();
        let counts: Vec<f32> = (0..n_items as u32)
            .map(|i| by_item.row(i).0.len() as f32)
            .collect();
        let rows: Vec<Vec<(u32, f32)>> = (0..n_items as u32)
            .into_par_iter()
            .map_init(
                || (vec![0u32; n_items], Vec::new()),
                |(co, touched), i| {
                    for &u in by_item.row(i).0 {
                        for &j in train.row(u).0 {
                            if j != i {
                                if co[j as usize] == 0 {
                                    touched.push(j);
                                }
                                co[j as usize] += 1;
                            }
                        }
                    }
                    let mut sims: Vec<(u32, f32)> = touched
                        .drain(..)
                        .map(|j| {
                            let c = std::mem::take(&mut co[j as usize]) as f32;
                            (j, c / (counts[i as usize] * counts[j as usize]).sqrt())
                        })
                        .collect();
                    let better =
                        |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                    if sims.len() > neighbours {
                        sims.select_nth_unstable_by(neighbours - 1, better);
                        sims.truncate(neighbours);
                    }
                    sims
                },
            )
            .collect();
        let triplets = rows
            .into_iter()
            .enumerate()
            .flat_map(|(i, sims)| sims.into_iter().map(move |(j, s)| (i as u32, j, s)))
            .collect();
        Ok(ItemKnn {
            neighbours: Csr::from_triplets(n_items, n_items, triplets)?,
        })
    }
}

impl Scorer for ItemKnn {
    fn score(&self, _user: u32, history: &[u32], out: &mut [f32]) {
        out.fill(0.0);
        for &j in history {
            let (items, sims) = self.neighbours.row(j);
            for (&i, &s) in items.iter().zip(sims) {
                out[i as usize] += s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_knn_cosine_by_hand() {
        // Users: 0 -> {0, 1}, 1 -> {0, 1, 2}, 2 -> {2}.
        let train = Csr::from_triplets(
            3,
            3,
            vec![
                (0, 0, 1.0),
                (0, 1, 1.0),
                (1, 0, 1.0),
                (1, 1, 1.0),
                (1, 2, 1.0),
                (2, 2, 1.0),
            ],
        )
        .unwrap();
        let knn = ItemKnn::fit(&train, 10).unwrap();
        let mut out = vec![0.0; 3];
        // History {0}: sim(0,1) = 2 / (√2·√2) = 1, sim(0,2) = 1 / (√2·√2) = 0.5.
        knn.score(0, &[0], &mut out);
        assert_eq!(out, vec![0.0, 1.0, 0.5]);
        // One neighbour only: item 0 keeps item 1.
        let knn = ItemKnn::fit(&train, 1).unwrap();
        knn.score(0, &[0], &mut out);
        assert_eq!(out, vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn popularity_counts_customers() {
        let train = Csr::from_triplets(2, 3, vec![(0, 2, 1.0), (1, 2, 1.0), (1, 0, 1.0)]).unwrap();
        let mut out = vec![0.0; 3];
        Popularity::fit(&train).score(0, &[], &mut out);
        assert_eq!(out, vec![1.0, 0.0, 2.0]);
    }
}
