//! AFL target: `EventLog::read_csv` on arbitrary bytes (see `maitre_fuzz::csv`).
fn main() {
    afl::fuzz!(|data: &[u8]| maitre_fuzz::csv(data));
}
