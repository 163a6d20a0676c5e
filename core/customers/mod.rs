//! Customer intelligence: segments, RFM and lifecycle, loyalty, the single
//! customer view, targeting and forgetting a customer.
//!
//! Depends on: `events`, `identity`, `catalog`, `embed` (customer vectors as
//! [`crate::embed::Factors`]), `index` (targeting), `recommend`'s rules
//! (`Filters`, reused, not forked), `artifact` (its saved form) and the
//! `kernels`. It may not depend on `eval`, `datasets` or `offers`.

mod kmeans;

pub use kmeans::{silhouette, KMeans, KMeansParams, BLOCK, MAX_DIM, MAX_K};
