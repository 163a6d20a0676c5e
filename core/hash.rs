//! SplitMix64's finaliser: a fixed scramble of 64-bit integers, for choices
//! that must be the same on every run yet look random (tie-breakers, HNSW
//! layers, filter probes), without carrying an RNG's state around.
//!
//! Depends on nothing.

/// Added to the input (times a counter) before [`mix`], as in SplitMix64.
pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (Steele, Lea & Flood, 2014).
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
