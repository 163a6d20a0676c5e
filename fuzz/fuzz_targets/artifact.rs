//! AFL target: `Recommender::from_bytes` and serving from what it accepts
//! (see `maitre_fuzz::artifact`).
fn main() {
    afl::fuzz!(|data: &[u8]| maitre_fuzz::artifact(data));
}
