//! Writes the generated seed corpora: `seeds <dir>` puts the artifacts of the
//! fixed model into `<dir>/artifact` (each prefixed by the target's mode byte,
//! once as is and once with the checksum fix-up), and copies nothing else: the
//! text seeds are committed under `fuzz/seeds/`.
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let out = dir.join("artifact");
    std::fs::create_dir_all(&out).expect("create the corpus directory");
    for (name, bytes) in maitre_fuzz::artifacts() {
        for mode in [0u8, 1] {
            let mut seed = vec![mode];
            seed.extend_from_slice(&bytes);
            std::fs::write(out.join(format!("{mode}-{name}")), seed).expect("write a seed");
        }
    }
}
