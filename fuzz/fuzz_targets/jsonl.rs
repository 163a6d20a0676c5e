//! AFL target: `EventLog::read_jsonl` on arbitrary bytes (see `maitre_fuzz::jsonl`).
fn main() {
    afl::fuzz!(|data: &[u8]| maitre_fuzz::jsonl(data));
}
