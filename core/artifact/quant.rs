//! int8 vectors with one scale per row, for storefront artifacts.
//!
//! Each row `x` is stored as codes `c = round(x / s)` in `-127..=127` with
//! `s = max|x| / 127` (symmetric, so zero stays exactly zero and no offset is
//! needed). Norms are not kept: storefront artifacts are size-bound (every
//! four bytes per row is 80 KB on a 20,000-item catalogue) and inner-product
//! scoring does not need them. A score is computed from the codes directly:
//! `q · x ≈ s · Σ q_j c_j`. Each component is off by at most `s / 2`, so the
//! score is off by at most `s/2 · ‖q‖₁` (plus `f32` rounding): about four
//! times smaller than `f32` and, on MovieLens iALS vectors, no Recall@20 lost
//! (see DESIGN.md).

use super::codec::{Decoder, Encoder};
use crate::error::{Error, Result};

/// A `rows × k` table of int8 codes with one `f32` scale per row.
///
/// Row accessors take an index below [`QuantizedRows::rows`] and panic
/// otherwise, like slice indexing: indices come from the model's own id
/// tables, not from outside input.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedRows {
    rows: usize,
    k: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

impl QuantizedRows {
    /// Quantises a row-major `rows × k` table.
    ///
    /// Errors: [`Error::LengthMismatch`] if `data.len() != rows * k`;
    /// [`Error::InvalidParam`] if a value is NaN or infinite (it has no scale).
    pub fn quantize(rows: usize, k: usize, data: &[f32]) -> Result<QuantizedRows> {
        let expected = rows
            .checked_mul(k)
            .ok_or_else(|| Error::param("rows", format!("{rows} × {k} overflows")))?;
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                name: "data".into(),
                expected,
                got: data.len(),
            });
        }
        if let Some(at) = data.iter().position(|x| !x.is_finite()) {
            return Err(Error::param(
                "data",
                format!("row {} has a non-finite value {}", at / k.max(1), data[at]),
            ));
        }
        let mut codes = Vec::with_capacity(expected);
        let mut scales = Vec::with_capacity(rows);
        for i in 0..rows {
            let row = &data[i * k..(i + 1) * k];
            let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = max / 127.0;
            // Multiplying by the reciprocal would be faster, but can round a
            // max-magnitude value to 127.0000x; the clamp keeps codes in range either way.
            codes.extend(row.iter().map(|&x| {
                if scale == 0.0 {
                    0
                } else {
                    (x / scale).round().clamp(-127.0, 127.0) as i8
                }
            }));
            scales.push(scale);
        }
        Ok(QuantizedRows {
            rows,
            k,
            codes,
            scales,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimension.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Row `i`'s codes.
    pub fn codes(&self, i: usize) -> &[i8] {
        &self.codes[i * self.k..(i + 1) * self.k]
    }

    /// Row `i`'s scale: its value is `scale × code`.
    pub fn scale(&self, i: usize) -> f32 {
        self.scales[i]
    }

    /// Row `i` back as `f32`, into `out` (length `k`, checked in debug builds).
    pub fn dequantize_row(&self, i: usize, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.k, "output length");
        let s = self.scales[i];
        for (o, &c) in out.iter_mut().zip(self.codes(i)) {
            *o = s * f32::from(c);
        }
    }

    /// `query · row i`, from the codes without dequantising the row.
    /// `query` must have length `k` (checked in debug builds; callers check
    /// dimensions once per query, not once per row).
    pub fn dot_row(&self, query: &[f32], i: usize) -> f32 {
        debug_assert_eq!(query.len(), self.k, "query dimension");
        let codes = self.codes(i);
        // Eight independent accumulators let the compiler vectorise the loop.
        let mut acc = [0f32; 8];
        let (cq, cc) = (query.chunks_exact(8), codes.chunks_exact(8));
        let tail: f32 = cq
            .remainder()
            .iter()
            .zip(cc.remainder())
            .map(|(q, &c)| q * f32::from(c))
            .sum();
        for (q, c) in cq.zip(cc) {
            for l in 0..8 {
                acc[l] += q[l] * f32::from(c[l]);
            }
        }
        self.scales[i] * (acc.iter().sum::<f32>() + tail)
    }

    /// Appends the table to a section: `rows` and `k` as `u64`, then the
    /// scales (an `f32` slice) and the codes (an `i8` slice).
    pub fn encode(&self, enc: &mut Encoder) {
        enc.put_u64(self.rows as u64)
            .put_u64(self.k as u64)
            .put_f32s(&self.scales)
            .put_i8s(&self.codes);
    }

    /// Reads a table written by [`QuantizedRows::encode`], checking that the
    /// lengths agree and every scale is finite and non-negative and
    /// every code is in `-127..=127`, so scoring can trust it.
    pub fn decode(dec: &mut Decoder<'_>) -> Result<QuantizedRows> {
        let rows = dec.get_u64()?;
        let k = dec.get_u64()?;
        let scales = dec.get_f32s()?;
        let codes = dec.get_i8s()?;
        let shape = usize::try_from(rows)
            .ok()
            .zip(usize::try_from(k).ok())
            .and_then(|(r, k)| r.checked_mul(k).map(|n| (r, k, n)));
        let (rows, k) = match shape {
            Some((r, k, n)) if scales.len() == r && codes.len() == n => (r, k),
            _ => {
                return Err(dec.invalid(format!(
                    "quantised table {rows} × {k} has {} scales and {} codes",
                    scales.len(),
                    codes.len()
                )))
            }
        };
        let bad = |x: &f32| !x.is_finite() || *x < 0.0;
        if let Some(i) = scales.iter().position(bad) {
            return Err(dec.invalid(format!("row {i} has scale {}", scales[i])));
        }
        if let Some(at) = codes.iter().position(|&c| c == i8::MIN) {
            return Err(dec.invalid(format!("code {at} is -128, outside -127..=127")));
        }
        Ok(QuantizedRows {
            rows,
            k,
            codes,
            scales,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
        // Box–Muller; rand's distributions crate is not a dependency.
        let u1: f32 = rng.random_range(f32::EPSILON..1.0);
        let u2: f32 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }

    /// The score error stays within the bound the scale implies, on every
    /// (query, row) pair, and the measured error is reported.
    #[test]
    fn score_error_is_within_the_bound_from_the_scale() {
        let (rows, k, queries) = (2000, 64, 50);
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let data: Vec<f32> = (0..rows * k).map(|_| gaussian(&mut rng)).collect();
        let q = QuantizedRows::quantize(rows, k, &data).unwrap();
        let (mut max_rel, mut sum_rel, mut sum_sq_unit, mut n) = (0f64, 0f64, 0f64, 0usize);
        let mut top20_kept = 0usize;
        for _ in 0..queries {
            let query: Vec<f32> = (0..k).map(|_| gaussian(&mut rng)).collect();
            let l1: f64 = query.iter().map(|x| f64::from(x.abs())).sum();
            let l2: f64 = query
                .iter()
                .map(|x| f64::from(*x).powi(2))
                .sum::<f64>()
                .sqrt();
            let (mut exact_scores, mut approx_scores) = (Vec::new(), Vec::new());
            for i in 0..rows {
                let row = &data[i * k..(i + 1) * k];
                let exact: f64 = row
                    .iter()
                    .zip(&query)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let approx = q.dot_row(&query, i);
                exact_scores.push((exact, i));
                approx_scores.push((f64::from(approx), i));
                let err = (f64::from(approx) - exact).abs();
                // Rounding: ≤ s/2 per component. f32 accumulation: k terms
                // each ≤ 127 s |q_j|, relative rounding ≤ k ε.
                let s = f64::from(q.scale(i));
                let bound = s / 2.0 * l1 + (k as f64) * f64::from(f32::EPSILON) * 127.0 * s * l1;
                assert!(err <= bound, "row {i}: error {err} > bound {bound}");
                // Relative to ‖q‖‖x‖: the scale of a score, and never zero.
                let norm: f64 = row
                    .iter()
                    .map(|x| f64::from(*x).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let rel = err / (l2 * norm);
                max_rel = max_rel.max(rel);
                sum_rel += rel;
                sum_sq_unit += (err / (s * l2)).powi(2);
                n += 1;
            }
            top20_kept += top_overlap(exact_scores, approx_scores, 20);
        }
        let rms_unit = (sum_sq_unit / n as f64).sqrt();
        eprintln!(
            "int8 k={k}, {rows} gaussian rows × {queries} queries: score error / (‖q‖‖x‖) \
             max {max_rel:.2e}, mean {:.2e}; rms error / (s‖q‖) {rms_unit:.3}; \
             top-20 kept {:.1}%",
            sum_rel / n as f64,
            100.0 * top20_kept as f64 / (20 * queries) as f64
        );
        // Round-to-nearest leaves errors uniform in ±s/2, so the rms error is
        // s‖q‖/√12 (a little less: the largest component is exact). Truncating
        // instead of rounding, or a wrong scale, moves it well away from that.
        let expected = (1.0 / 12f64).sqrt();
        assert!(
            (0.8 * expected..1.1 * expected).contains(&rms_unit),
            "rms error / (s‖q‖) is {rms_unit}, expected about {expected}"
        );
    }

    fn top_overlap<T: PartialOrd>(
        mut a: Vec<(T, usize)>,
        mut b: Vec<(T, usize)>,
        n: usize,
    ) -> usize {
        let by_score = |x: &(T, usize), y: &(T, usize)| y.0.partial_cmp(&x.0).unwrap();
        a.sort_by(by_score);
        b.sort_by(by_score);
        let top: Vec<usize> = a[..n].iter().map(|x| x.1).collect();
        b[..n].iter().filter(|x| top.contains(&x.1)).count()
    }

    #[test]
    fn dequantised_components_are_within_half_a_step() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (rows, k) = (100, 13); // odd k exercises the tail of dot_row
        let data: Vec<f32> = (0..rows * k).map(|_| gaussian(&mut rng) * 3.0).collect();
        let q = QuantizedRows::quantize(rows, k, &data).unwrap();
        let mut out = vec![0f32; k];
        for i in 0..rows {
            q.dequantize_row(i, &mut out);
            let s = q.scale(i);
            let row = &data[i * k..(i + 1) * k];
            for (x, y) in row.iter().zip(&out) {
                assert!((x - y).abs() <= s * 0.5001, "{x} vs {y}, scale {s}");
            }
            // The largest component maps to ±127 exactly.
            assert_eq!(q.codes(i).iter().map(|c| c.unsigned_abs()).max(), Some(127));
            // dot_row agrees with the dequantised row's dot product.
            let direct: f32 = out.iter().zip(row).map(|(a, b)| a * b).sum();
            assert!((q.dot_row(row, i) - direct).abs() <= 1e-4 * direct.abs().max(1.0));
        }
    }

    #[test]
    fn zero_rows_and_bad_input() {
        let q = QuantizedRows::quantize(2, 3, &[0.0, 0.0, 0.0, 1.0, -2.0, 0.5]).unwrap();
        assert_eq!(q.scale(0), 0.0);
        assert_eq!(q.codes(0), [0, 0, 0]);
        assert_eq!(q.dot_row(&[1.0, 1.0, 1.0], 0), 0.0);
        assert_eq!(q.codes(1), [64, -127, 32]);
        let e = QuantizedRows::quantize(2, 3, &[0.0; 5]).unwrap_err();
        assert_eq!(e.kind(), "LengthMismatch");
        let e = QuantizedRows::quantize(1, 2, &[1.0, f32::NAN]).unwrap_err();
        assert_eq!(e.kind(), "InvalidParam");
        assert!(QuantizedRows::quantize(0, 8, &[]).unwrap().rows() == 0);
    }

    #[test]
    fn encode_decode_round_trips_and_rejects_inconsistent_tables() {
        let data: Vec<f32> = (0..24).map(|i| (i as f32 - 11.5) * 0.37).collect();
        let q = QuantizedRows::quantize(4, 6, &data).unwrap();
        let mut enc = Encoder::new();
        q.encode(&mut enc);
        let bytes = enc.into_bytes();
        assert_eq!(bytes.len(), 8 + 8 + (8 + 16) + (8 + 24));
        let mut dec = Decoder::new(&bytes);
        assert_eq!(QuantizedRows::decode(&mut dec).unwrap(), q);
        dec.finish().unwrap();

        // rows says 5 but there are 4 scales.
        let mut bad = bytes.clone();
        bad[0] = 5;
        assert!(QuantizedRows::decode(&mut Decoder::new(&bad)).is_err());
        // A negative scale (sign bit of the first scale's last byte).
        let mut bad = bytes.clone();
        bad[16 + 8 + 3] |= 0x80;
        assert!(QuantizedRows::decode(&mut Decoder::new(&bad)).is_err());
        // A -128 code.
        let mut bad = bytes;
        let last = bad.len() - 1;
        bad[last] = 0x80;
        assert!(QuantizedRows::decode(&mut Decoder::new(&bad)).is_err());
    }
}
