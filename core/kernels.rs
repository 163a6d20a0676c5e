//! The inner loops of ALS, fold-in and the HNSW search, with the instruction
//! set chosen at run time.
//!
//! Depends on nothing: `embed` and `index` both build on it.
//!
//! The core is built without `target-cpu` flags, because it must run on any
//! x86-64 and build for wasm32: left alone, the compiler only uses SSE2 and never
//! fuses a multiply with an add. On an x86-64 CPU with AVX2 and FMA the same
//! algorithms run through [`Avx2Fma`] instead, twice as wide and with fused
//! multiply-adds. [`Dispatch::detect`] asks the CPU once per sweep or fold-in
//! (`is_x86_feature_detected!` caches the answer, so asking is an atomic load).
//!
//! The two paths round differently (fused multiply-adds, another summation
//! order), so factors agree across machines only to float rounding; on one
//! machine the path is fixed, so a seed still gives the same model bit for bit,
//! whatever the thread count.

/// Asks the CPU to fetch `x`'s cache line; no effect on results. x86-64 only
/// (SSE, part of its baseline); elsewhere nothing.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is in every x86-64 CPU; a prefetch never faults.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// The few vector operations the solvers are written in.
pub(crate) trait Kernels: Copy {
    /// `a·b`.
    fn dot(self, a: &[f32], b: &[f32]) -> f32;
    /// `y += alpha·x` over the shorter of the two.
    fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]);
    /// `out[c] ±= Σ_j coef[j]·m[j·k + c]` for `c` in `from..k`, `k = out.len()`
    /// (`−=` if `NEG`): a combination of the first `coef.n` rows of the
    /// row-major `m`, restricted to columns `from..`. One call instead of one
    /// `axpy` per row, so the columns stay in registers across rows.
    fn gemv_acc<const NEG: bool>(self, m: &[f32], coef: Strided<'_>, out: &mut [f32], from: usize);

    /// [`Kernels::gemv_acc`] into two consecutive rows `out[..k]`, `out[k..]`
    /// (`k = out.len() / 2`) with the coefficient sequences of a
    /// [`Strided::pair`]: each row of `m` is loaded once for both.
    #[inline(always)]
    fn gemv2_acc<const NEG: bool>(
        self,
        m: &[f32],
        coef: Strided<'_>,
        out: &mut [f32],
        from: usize,
    ) {
        let (first, second) = out.split_at_mut(out.len() / 2);
        self.gemv_acc::<NEG>(m, coef.column(0), first, from);
        self.gemv_acc::<NEG>(m, coef.column(1), second, from);
    }

    /// A hint that `x` will be read soon; no effect on results.
    #[inline(always)]
    fn prefetch(self, x: &[f32]) {
        let _ = x;
    }

    /// `out = G·v` for a symmetric row-major `G` of side `v.len()`.
    #[inline(always)]
    fn sym_gemv(self, g: &[f32], v: &[f32], out: &mut [f32]) {
        let k = v.len();
        out[..k].fill(0.0);
        // Σ_j v[j]·(row j), as G is symmetric: plain vertical adds, no
        // horizontal sum per entry as with one dot product per row.
        self.gemv_acc::<false>(g, Strided::contiguous(v), &mut out[..k], 0);
    }
}

/// `n` coefficients `data[j·stride]`: a vector, or a column of a row-major
/// matrix read in place (no gathering copy).
#[derive(Clone, Copy)]
pub(crate) struct Strided<'a> {
    data: &'a [f32],
    stride: usize,
    n: usize,
    /// Consecutive values readable at each `j·stride`: 1, or 2 for `gemv2_acc`.
    width: usize,
}

impl<'a> Strided<'a> {
    pub(crate) fn new(data: &'a [f32], stride: usize, n: usize) -> Self {
        // The invariant the unchecked reads of the AVX2 kernel rely on.
        assert!(n == 0 || (n - 1) * stride < data.len());
        Strided {
            data,
            stride,
            n,
            width: 1,
        }
    }

    /// Two coefficient sequences side by side: `data[j·stride]` and `data[j·stride + 1]`.
    pub(crate) fn pair(data: &'a [f32], stride: usize, n: usize) -> Self {
        assert!(n == 0 || (n - 1) * stride + 1 < data.len());
        Strided {
            data,
            stride,
            n,
            width: 2,
        }
    }

    /// The sequence `t` of a pair.
    fn column(self, t: usize) -> Self {
        assert!(t < self.width);
        Strided::new(&self.data[t.min(self.data.len())..], self.stride, self.n)
    }

    pub(crate) fn contiguous(v: &'a [f32]) -> Self {
        Strided::new(v, 1, v.len())
    }

    #[inline(always)]
    fn get(self, j: usize) -> f32 {
        self.data[j * self.stride]
    }
}

/// Inner product with eight independent accumulators, so the compiler can
/// vectorise it (a plain `zip().sum()` is a serial float chain). The portable
/// kernels' dot, and the one every exact score uses (indexes, rescoring), so
/// scores are the same whichever index answered.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot8(a, b)
}

/// [`dot`] in `f64` (the bandit's ridge inverses, updated thousands of times).
#[inline]
pub(crate) fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    dot8(a, b)
}

#[inline(always)]
fn dot8<T>(a: &[T], b: &[T]) -> T
where
    T: Copy + Default + std::ops::Mul<Output = T> + std::ops::AddAssign + std::iter::Sum,
{
    let mut acc = [T::default(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut total: T = acc.iter().copied().sum();
    total += tail;
    total
}

/// Portable code, vectorised by the compiler for the build's baseline (SSE2 on
/// x86-64, simd128 when enabled on wasm32).
#[derive(Clone, Copy)]
pub(crate) struct Scalar;

impl Kernels for Scalar {
    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        dot(a, b)
    }

    #[inline(always)]
    fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]) {
        y.iter_mut().zip(x).for_each(|(y, x)| *y += alpha * x);
    }

    #[inline(always)]
    fn gemv_acc<const NEG: bool>(self, m: &[f32], coef: Strided<'_>, out: &mut [f32], from: usize) {
        let k = out.len();
        for (j, row) in m.chunks_exact(k).take(coef.n).enumerate() {
            let c = coef.get(j);
            self.axpy(if NEG { -c } else { c }, &row[from..], &mut out[from..]);
        }
    }
}

/// Work that runs with whichever [`Kernels`] the CPU supports. A trait rather
/// than a closure because the AVX2 entry point must be one function compiled
/// with those features, with the generic body inlined into it.
pub(crate) trait Task {
    type Output;
    fn run<K: Kernels>(self, kernels: K) -> Self::Output;
}

/// The kernels this CPU can run, detected once and then passed around.
#[derive(Clone, Copy)]
pub(crate) struct Dispatch {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<Avx2Fma>,
}

impl Dispatch {
    pub(crate) fn detect() -> Self {
        Dispatch {
            #[cfg(target_arch = "x86_64")]
            avx2: Avx2Fma::detect(),
        }
    }

    #[inline]
    pub(crate) fn run<T: Task>(self, task: T) -> T::Output {
        #[cfg(target_arch = "x86_64")]
        if let Some(kernels) = self.avx2 {
            // SAFETY: an `Avx2Fma` exists only if the CPU reported AVX2 and FMA.
            return unsafe { run_avx2(kernels, task) };
        }
        task.run(Scalar)
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA (guaranteed by holding an `Avx2Fma`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<T: Task>(kernels: Avx2Fma, task: T) -> T::Output {
    task.run(kernels)
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2Fma;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Kernels, Strided};
    use std::arch::x86_64::*;

    /// AVX2 + FMA kernels. A token: the only way to get one is [`Avx2Fma::detect`],
    /// so holding one proves the CPU runs these instructions.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2Fma(());

    impl Avx2Fma {
        pub(crate) fn detect() -> Option<Self> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
                .then_some(Avx2Fma(()))
        }
    }

    impl Kernels for Avx2Fma {
        #[inline(always)]
        fn dot(self, a: &[f32], b: &[f32]) -> f32 {
            // SAFETY: `self` proves AVX2 and FMA.
            unsafe { dot(a, b) }
        }

        #[inline(always)]
        fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]) {
            // SAFETY: `self` proves AVX2 and FMA.
            unsafe { axpy(alpha, x, y) }
        }

        #[inline(always)]
        fn gemv2_acc<const NEG: bool>(
            self,
            m: &[f32],
            coef: Strided<'_>,
            out: &mut [f32],
            from: usize,
        ) {
            let k = out.len() / 2;
            assert!(coef.width == 2 && out.len() == 2 * k);
            assert!(m.len() >= coef.n * k && from <= k);
            // SAFETY: `self` proves AVX2 and FMA; the lengths were checked above
            // and `coef`'s reads by its constructor.
            unsafe { gemv2_acc::<NEG>(m, coef, out, from) }
        }

        #[inline(always)]
        fn prefetch(self, x: &[f32]) {
            for line in x.chunks(16) {
                // SAFETY: `self` proves AVX2 (and so SSE); a prefetch never faults
                // and here only names addresses inside `x`.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) }
            }
        }

        #[inline(always)]
        fn gemv_acc<const NEG: bool>(
            self,
            m: &[f32],
            coef: Strided<'_>,
            out: &mut [f32],
            from: usize,
        ) {
            let k = out.len();
            assert!(m.len() >= coef.n * k && from <= k);
            // SAFETY: `self` proves AVX2 and FMA; the lengths were checked above
            // and `coef`'s reads by its constructor.
            unsafe { gemv_acc::<NEG>(m, coef, out, from) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // Four accumulators: a 64-factor dot is two rounds of four independent FMAs.
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (l, acc) in acc.iter_mut().enumerate() {
                // SAFETY: i + 8l + 8 <= n, within both slices.
                let (x, y) = (
                    _mm256_loadu_ps(pa.add(i + 8 * l)),
                    _mm256_loadu_ps(pb.add(i + 8 * l)),
                );
                *acc = _mm256_fmadd_ps(x, y, *acc);
            }
            i += 32;
        }
        while i + 8 <= n {
            // SAFETY: i + 8 <= n.
            acc[0] = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i)),
                _mm256_loadu_ps(pb.add(i)),
                acc[0],
            );
            i += 8;
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut total = hsum(sum);
        for j in i..n {
            total += a[j] * b[j];
        }
        total
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        let (px, py) = (x.as_ptr(), y.as_mut_ptr());
        let a = _mm256_set1_ps(alpha);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n, within both slices.
            let v = _mm256_fmadd_ps(a, _mm256_loadu_ps(px.add(i)), _mm256_loadu_ps(py.add(i)));
            _mm256_storeu_ps(py.add(i), v);
            i += 8;
        }
        for j in i..n {
            y[j] += alpha * x[j];
        }
    }

    /// # Safety
    /// AVX2 and FMA; `m.len() >= coef.n·k` for `k = out.len()`, `from <= k`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gemv_acc<const NEG: bool>(
        m: &[f32],
        coef: Strided<'_>,
        out: &mut [f32],
        from: usize,
    ) {
        let k = out.len();
        let mut c = from;
        // Up to 64 columns at a time, held in registers while the rows stream
        // by; eight independent chains hide the FMA latency.
        while c + 64 <= k {
            gemv_block::<8, NEG>(m, coef, out, c);
            c += 64;
        }
        match (k - c) / 8 {
            7 => gemv_block::<7, NEG>(m, coef, out, c),
            6 => gemv_block::<6, NEG>(m, coef, out, c),
            5 => gemv_block::<5, NEG>(m, coef, out, c),
            4 => gemv_block::<4, NEG>(m, coef, out, c),
            3 => gemv_block::<3, NEG>(m, coef, out, c),
            2 => gemv_block::<2, NEG>(m, coef, out, c),
            1 => gemv_block::<1, NEG>(m, coef, out, c),
            _ => {}
        }
        c += (k - c) / 8 * 8;
        for col in c..k {
            for j in 0..coef.n {
                let term = coef.get(j) * m[j * k + col];
                out[col] += if NEG { -term } else { term };
            }
        }
    }

    /// `out[c..c + 8W] ±= Σ_j coef[j]·m[j, c..c + 8W]`.
    ///
    /// # Safety
    /// AVX2 and FMA; `c + 8W <= k = out.len()`, `m.len() >= coef.n·k`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gemv_block<const W: usize, const NEG: bool>(
        m: &[f32],
        coef: Strided<'_>,
        out: &mut [f32],
        c: usize,
    ) {
        let k = out.len();
        let o = out.as_mut_ptr().add(c);
        // Narrow blocks would be one long dependency chain per register (a
        // 4-cycle FMA latency per row); alternating rows between `BANKS` sets
        // of accumulators keeps about eight chains in flight whatever W is.
        let banks = (8 / W).max(1);
        let mut acc = [[_mm256_setzero_ps(); W]; 8];
        for (l, acc) in acc[0].iter_mut().enumerate() {
            // SAFETY: c + 8W <= k.
            *acc = _mm256_loadu_ps(o.add(8 * l));
        }
        let coef_ptr = coef.data.as_ptr();
        let mut j = 0;
        while j < coef.n {
            for (bank, acc) in acc.iter_mut().take(banks.min(coef.n - j)).enumerate() {
                // SAFETY: (j + bank)·stride < data.len(), checked when `coef` was made.
                let s = _mm256_broadcast_ss(&*coef_ptr.add((j + bank) * coef.stride));
                // SAFETY: (j + bank)·k + c + 8W <= coef.n·k <= m.len().
                let row = m.as_ptr().add((j + bank) * k + c);
                for (l, acc) in acc.iter_mut().enumerate() {
                    let x = _mm256_loadu_ps(row.add(8 * l));
                    *acc = if NEG {
                        _mm256_fnmadd_ps(s, x, *acc)
                    } else {
                        _mm256_fmadd_ps(s, x, *acc)
                    };
                }
            }
            j += banks;
        }
        let (first, rest) = acc.split_at_mut(1);
        for bank in rest.iter().take(banks - 1) {
            for (a, b) in first[0].iter_mut().zip(bank) {
                *a = _mm256_add_ps(*a, *b);
            }
        }
        for (l, acc) in first[0].iter().enumerate() {
            // SAFETY: c + 8W <= k.
            _mm256_storeu_ps(o.add(8 * l), *acc);
        }
    }

    /// # Safety
    /// AVX2 and FMA; `out.len() = 2k`, `m.len() >= coef.n·k`, `from <= k`,
    /// `coef` a pair.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gemv2_acc<const NEG: bool>(
        m: &[f32],
        coef: Strided<'_>,
        out: &mut [f32],
        from: usize,
    ) {
        let k = out.len() / 2;
        let mut c = from;
        // 32 columns × 2 rows = eight accumulators, as in `gemv_acc`.
        while c + 32 <= k {
            gemv2_block::<4, NEG>(m, coef, out, c);
            c += 32;
        }
        match (k - c) / 8 {
            3 => gemv2_block::<3, NEG>(m, coef, out, c),
            2 => gemv2_block::<2, NEG>(m, coef, out, c),
            1 => gemv2_block::<1, NEG>(m, coef, out, c),
            _ => {}
        }
        c += (k - c) / 8 * 8;
        for col in c..k {
            for t in 0..2 {
                for j in 0..coef.n {
                    let term = coef.data[j * coef.stride + t] * m[j * k + col];
                    out[t * k + col] += if NEG { -term } else { term };
                }
            }
        }
    }

    /// Rows `out[..k]` and `out[k..]`, columns `c..c + 8W`: `±= Σ_j coef[j, t]·m[j, c..]`.
    ///
    /// # Safety
    /// As `gemv2_acc`, and `c + 8W <= k`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn gemv2_block<const W: usize, const NEG: bool>(
        m: &[f32],
        coef: Strided<'_>,
        out: &mut [f32],
        c: usize,
    ) {
        let k = out.len() / 2;
        let o = out.as_mut_ptr();
        // As in `gemv_block`: narrow blocks alternate rows of `m` between banks.
        let banks = (4 / W).max(1);
        let mut acc = [[[_mm256_setzero_ps(); W]; 2]; 4];
        for (t, acc) in acc[0].iter_mut().enumerate() {
            for (l, acc) in acc.iter_mut().enumerate() {
                // SAFETY: t·k + c + 8W <= 2k.
                *acc = _mm256_loadu_ps(o.add(t * k + c + 8 * l));
            }
        }
        let coef_ptr = coef.data.as_ptr();
        let mut j = 0;
        while j < coef.n {
            for (bank, acc) in acc.iter_mut().take(banks.min(coef.n - j)).enumerate() {
                let at = (j + bank) * coef.stride;
                // SAFETY: at + 1 < data.len(), checked when the pair was made.
                let s = [
                    _mm256_broadcast_ss(&*coef_ptr.add(at)),
                    _mm256_broadcast_ss(&*coef_ptr.add(at + 1)),
                ];
                // SAFETY: (j + bank)·k + c + 8W <= coef.n·k <= m.len().
                let row = m.as_ptr().add((j + bank) * k + c);
                let [first, second] = acc;
                for (l, (a0, a1)) in first.iter_mut().zip(second.iter_mut()).enumerate() {
                    let x = _mm256_loadu_ps(row.add(8 * l));
                    if NEG {
                        *a0 = _mm256_fnmadd_ps(s[0], x, *a0);
                        *a1 = _mm256_fnmadd_ps(s[1], x, *a1);
                    } else {
                        *a0 = _mm256_fmadd_ps(s[0], x, *a0);
                        *a1 = _mm256_fmadd_ps(s[1], x, *a1);
                    }
                }
            }
            j += banks;
        }
        let (first, rest) = acc.split_at_mut(1);
        for bank in rest.iter().take(banks - 1) {
            for (a, b) in first[0].iter_mut().zip(bank) {
                for (a, b) in a.iter_mut().zip(b) {
                    *a = _mm256_add_ps(*a, *b);
                }
            }
        }
        for (t, acc) in first[0].iter().enumerate() {
            for (l, acc) in acc.iter().enumerate() {
                // SAFETY: t·k + c + 8W <= 2k.
                _mm256_storeu_ps(o.add(t * k + c + 8 * l), *acc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Check;

    impl Task for Check {
        type Output = (f32, Vec<f32>, Vec<f32>);
        fn run<K: Kernels>(self, kern: K) -> Self::Output {
            // One 64-column block, one 8-column block and three scalar columns.
            let k = 75;
            let a: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k).map(|i| (i as f32 * 0.11).cos()).collect();
            let g: Vec<f32> = (0..k * k)
                .map(|x| {
                    let (i, j) = (x / k, x % k);
                    ((i * j) as f32 * 0.01).sin()
                })
                .collect();
            let mut y = b.clone();
            kern.axpy(0.5, &a, &mut y);
            let mut out = vec![0f32; k];
            kern.sym_gemv(&g, &a, &mut out);
            // Rows 0..40 of g, columns 13.. (one 56-column block, three scalars).
            kern.gemv_acc::<true>(&g, Strided::new(&g[5..], k, 40), &mut out, 13);
            // Rows 0..30 of g into rows 1 and 2 of a copy, from column 21.
            let mut two = g[k..3 * k].to_vec();
            kern.gemv2_acc::<false>(&g, Strided::pair(&g[7..], k, 30), &mut two, 21);
            out.extend(two);
            (kern.dot(&a, &b), y, out)
        }
    }

    #[test]
    fn every_path_computes_the_same_thing() {
        let (d0, y0, o0) = Check.run(Scalar);
        let (d1, y1, o1) = Dispatch::detect().run(Check);
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * (1.0 + a.abs());
        assert!(close(d0, d1), "{d0} {d1}");
        assert!(y0.iter().zip(&y1).all(|(a, b)| close(*a, *b)));
        assert!(o0.iter().zip(&o1).all(|(a, b)| close(*a, *b)));
    }
}
