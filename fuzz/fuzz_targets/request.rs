//! AFL target: request JSON into the serde `Request`, served from a small
//! fixed model (see `maitre_fuzz::request`).
use maitre::index::IndexKind;

fn main() {
    // Built before the loop: persistent mode reuses it for many inputs.
    // A panic aborts the process under AFL, so no broken state is reused.
    let rec = std::panic::AssertUnwindSafe(maitre_fuzz::model(IndexKind::Exact));
    afl::fuzz!(|data: &[u8]| maitre_fuzz::request(&rec, data));
}
