//! maitre's side of `benches/peers/kmeans_vs_sklearn.sh`: k-means++ and Lloyd
//! on a raw little-endian `f32` matrix, timed, centres written for the
//! script to score with the same code as scikit-learn's.
//!
//! ```text
//! cargo run --release --example kmeans_peer -- DATA.f32 DIM K THREADS SEED CENTRES_OUT [N_INIT]
//! ```
//! Prints one JSON line: seconds (fit only, file read excluded), inertia,
//! iterations, converged.

use maitre::customers::KMeansParams;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (fixed, rest) = args.split_at(args.len().min(6));
    let [data, dim, k, threads, seed, out] = fixed else {
        return Err("usage: kmeans_peer DATA.f32 DIM K THREADS SEED CENTRES_OUT [N_INIT]".into());
    };
    let n_init: usize = rest.first().map_or(Ok(1), |n| n.parse())?;
    let bytes = std::fs::read(data)?;
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let dim: usize = dim.parse()?;
    let params = KMeansParams::default()
        .k(k.parse()?)
        .threads(threads.parse()?)
        .seed(seed.parse()?)
        .max_iterations(300)
        .tolerance(1e-4)
        .n_init(n_init);
    let started = Instant::now();
    let fit = params.fit(&values, dim)?;
    let seconds = started.elapsed().as_secs_f64();
    let centres: Vec<u8> = fit.centroids.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(out, centres)?;
    println!(
        "{{\"seconds\": {seconds:.3}, \"inertia\": {}, \"iterations\": {}, \"converged\": {}}}",
        fit.inertia, fit.iterations, fit.converged
    );
    Ok(())
}
