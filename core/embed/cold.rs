//! Cold start: item attributes mapped into the item-vector space, so an item
//! with attributes but no events gets a sensible vector the moment it is added.
//!
//! The map is a ridge regression from an item's attribute features (one-hot
//! kind, category, brand, price band, tags — see [`Item::features`]) to its
//! fitted vector, learned on warm items only: `W = (XᵀX + λI)⁻¹ XᵀV`. A new
//! item's vector is the sum of its features' rows of `W`. Features seen on
//! fewer than `min_support` warm items are dropped, so one odd brand cannot
//! carry a whole vector; unknown features of a new item are ignored.

use super::Factors;
use crate::catalog::Item;
use crate::error::{Error, Result};
use crate::Interner;

/// Settings of [`AttributeVectors::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStartParams {
    /// Ridge penalty λ on the feature weights. Default 10 (best of 1, 10,
    /// 100 on the cold-start evaluation of both data sets).
    pub regularization: f64,
    /// Warm items a feature must appear on to be learned. Default 3.
    pub min_support: usize,
}

impl Default for ColdStartParams {
    fn default() -> Self {
        ColdStartParams {
            regularization: 10.0,
            min_support: 3,
        }
    }
}

impl ColdStartParams {
    #[must_use]
    pub fn regularization(mut self, value: f64) -> Self {
        self.regularization = value;
        self
    }

    #[must_use]
    pub fn min_support(mut self, value: usize) -> Self {
        self.min_support = value;
        self
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.regularization.is_finite() && self.regularization > 0.0) {
            return Err(Error::param(
                "regularization",
                format!("{} must be positive and finite", self.regularization),
            ));
        }
        Ok(())
    }
}

/// A learned map from item attributes to item vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeVectors {
    features: Interner,
    /// One row of `k` weights per feature.
    weights: Factors,
}

impl AttributeVectors {
    /// Learns the map from the `warm` items (indices into both `items` and
    /// `vectors`), whose fitted vectors are the regression targets.
    ///
    /// ```
    /// use maitre::catalog::Item;
    /// use maitre::embed::{AttributeVectors, ColdStartParams, Factors};
    /// // Shoes point one way, books the other.
    /// let items: Vec<Item> = (0..10)
    ///     .map(|i| Item::new(format!("i{i}")).category(if i % 2 == 0 { "shoes" } else { "books" }))
    ///     .collect();
    /// let data = (0..10).flat_map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] }).collect();
    /// let vectors = Factors::from_vec(10, 2, data)?;
    /// let warm: Vec<u32> = (0..10).collect();
    /// // Ten items only: a light ridge penalty (the default, 10, suits real catalogues).
    /// let params = ColdStartParams::default().regularization(0.1);
    /// let map = AttributeVectors::fit(&items, &vectors, &warm, &params)?;
    /// let v = map.vector(&Item::new("new").category("shoes"));
    /// assert!(v[0] > 0.5 && v[1].abs() < 0.2);
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn fit(
        items: &[Item],
        vectors: &Factors,
        warm: &[u32],
        params: &ColdStartParams,
    ) -> Result<Self> {
        params.validate()?;
        if items.len() != vectors.rows() {
            return Err(Error::LengthMismatch {
                name: "items".into(),
                expected: vectors.rows(),
                got: items.len(),
            });
        }
        if let Some(&bad) = warm.iter().find(|&&i| i as usize >= items.len()) {
            return Err(Error::Unknown {
                what: "item index",
                id: bad.to_string(),
            });
        }
        if warm.is_empty() {
            return Err(Error::NotEnoughData("no warm item to learn from".into()));
        }
        // Features with enough support, in first-seen order (deterministic).
        let mut all = Interner::new();
        let mut support = Vec::new();
        for &i in warm {
            for f in items[i as usize].features() {
                let id = all.intern(&f) as usize;
                support.resize(all.len(), 0usize);
                support[id] += 1;
            }
        }
        let mut features = Interner::new();
        for (name, &n) in all.names().iter().zip(&support) {
            if n >= params.min_support {
                features.intern(name);
            }
        }
        let n_features = features.len();
        let k = vectors.k();
        if n_features == 0 {
            return Err(Error::NotEnoughData(format!(
                "no attribute appears on {} warm items",
                params.min_support
            )));
        }
        // Normal equations in f64: XᵀX + λI and XᵀV, accumulated item by item
        // (X is sparse and binary).
        let mut a = vec![0f64; n_features * n_features];
        let mut b = vec![0f64; n_features * k];
        for &i in warm {
            let active: Vec<usize> = items[i as usize]
                .features()
                .filter_map(|f| features.get(&f).map(|x| x as usize))
                .collect();
            let v = vectors.row(i);
            for &p in &active {
                for &q in &active {
                    a[p * n_features + q] += 1.0;
                }
                b[p * k..(p + 1) * k]
                    .iter_mut()
                    .zip(v)
                    .for_each(|(b, &x)| *b += f64::from(x));
            }
        }
        for p in 0..n_features {
            a[p * n_features + p] += params.regularization;
        }
        cholesky_solve_many(&mut a, &mut b, n_features, k)?;
        let weights = Factors::new(n_features, k, b.iter().map(|&w| w as f32).collect());
        Ok(AttributeVectors { features, weights })
    }

    /// The vector of an item from its attributes alone.
    pub fn vector(&self, item: &Item) -> Vec<f32> {
        let mut out = vec![0f32; self.weights.k()];
        for f in item.features() {
            if let Some(id) = self.features.get(&f) {
                out.iter_mut()
                    .zip(self.weights.row(id))
                    .for_each(|(o, w)| *o += w);
            }
        }
        out
    }

    /// A map from stored parts: feature names and one row of weights each.
    pub fn from_parts(features: Vec<String>, weights: Factors) -> Result<Self> {
        if features.len() != weights.rows() {
            return Err(Error::LengthMismatch {
                name: "features".into(),
                expected: weights.rows(),
                got: features.len(),
            });
        }
        let mut interned = Interner::new();
        for f in &features {
            interned.intern(f);
        }
        if interned.len() != features.len() {
            return Err(Error::param("features", "duplicate feature names"));
        }
        Ok(AttributeVectors {
            features: interned,
            weights,
        })
    }

    /// The weights, one row per feature of [`AttributeVectors::features`].
    pub fn weights(&self) -> &Factors {
        &self.weights
    }

    /// The features the map knows, as `field=value`.
    pub fn features(&self) -> &[String] {
        self.features.names()
    }
}

/// Solves `A X = B` for symmetric positive-definite `A` (`n × n`, row-major)
/// and `m` right-hand sides (`B` is `n × m`, row-major) in place. f64 because
/// attribute Gram matrices are counts that can be badly conditioned; sizes are
/// a few hundred features, so the cubic cost is milliseconds.
pub(crate) fn cholesky_solve_many(a: &mut [f64], b: &mut [f64], n: usize, m: usize) -> Result<()> {
    // Lower-triangular L with A = L Lᵀ, in the lower triangle of `a`.
    for j in 0..n {
        let mut d = a[j * n + j];
        for p in 0..j {
            d -= a[j * n + p] * a[j * n + p];
        }
        if !(d > 0.0 && d.is_finite()) {
            return Err(Error::NotEnoughData(
                "the attribute system is not positive definite".into(),
            ));
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for p in 0..j {
                s -= a[i * n + p] * a[j * n + p];
            }
            a[i * n + j] = s / d;
        }
    }
    // L Y = B, then Lᵀ X = Y, row by row over all right-hand sides at once.
    for i in 0..n {
        for p in 0..i {
            let l = a[i * n + p];
            let (done, rest) = b.split_at_mut(i * m);
            rest[..m]
                .iter_mut()
                .zip(&done[p * m..(p + 1) * m])
                .for_each(|(x, y)| *x -= l * y);
        }
        let d = a[i * n + i];
        b[i * m..(i + 1) * m].iter_mut().for_each(|x| *x /= d);
    }
    for i in (0..n).rev() {
        for p in i + 1..n {
            let l = a[p * n + i];
            let (head, tail) = b.split_at_mut(p * m);
            head[i * m..(i + 1) * m]
                .iter_mut()
                .zip(&tail[..m])
                .for_each(|(x, y)| *x -= l * y);
        }
        let d = a[i * n + i];
        b[i * m..(i + 1) * m].iter_mut().for_each(|x| *x /= d);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system() {
        // A = [[4, 2], [2, 3]], X = [[1, 2], [3, -1]] → B = A X.
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![10.0, 6.0, 11.0, 1.0];
        cholesky_solve_many(&mut a, &mut b, 2, 2).unwrap();
        for (got, want) in b.iter().zip([1.0, 2.0, 3.0, -1.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn rare_features_are_dropped_and_bad_input_rejected() {
        let items: Vec<Item> = (0..6)
            .map(|i| {
                let item = Item::new(format!("i{i}")).category("c");
                if i == 0 {
                    item.brand("rare")
                } else {
                    item
                }
            })
            .collect();
        let vectors = Factors::from_vec(6, 2, vec![1.0; 12]).unwrap();
        let warm: Vec<u32> = (0..6).collect();
        let map =
            AttributeVectors::fit(&items, &vectors, &warm, &ColdStartParams::default()).unwrap();
        assert_eq!(map.features(), ["kind=product", "category=c"]);
        assert!(
            AttributeVectors::fit(&items, &vectors, &[9], &ColdStartParams::default()).is_err()
        );
        assert!(
            AttributeVectors::fit(&items[..2], &vectors, &warm, &ColdStartParams::default())
                .is_err()
        );
        let bad = ColdStartParams::default().regularization(0.0);
        assert!(AttributeVectors::fit(&items, &vectors, &warm, &bad).is_err());
    }
}
