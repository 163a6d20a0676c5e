//! Data sets: a built-in synthetic storefront, MovieLens 100K, and synthetic
//! clustered vectors for the index.
//!
//! The first two produce an [`EventLog`](crate::events::EventLog), the same input every
//! model and evaluation takes. Depends on: `events`, `error`.

pub mod movielens;
pub mod synthetic;
mod vectors;

pub use synthetic::{synthetic_storefront, Size, Storefront, CATEGORIES, MAX_CUSTOMERS};
pub use vectors::clustered_vectors;
