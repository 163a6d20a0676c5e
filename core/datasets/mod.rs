//! Data sets: a built-in synthetic storefront, MovieLens 100K, synthetic
//! clustered vectors for the index, and an offer-response simulator
//! ([`OfferWorld`]) for the bandit and off-policy evaluation.
//!
//! The first two produce an [`EventLog`](crate::events::EventLog), the same input every
//! model and evaluation takes. Depends on: `events`, `error`.

pub mod movielens;
mod offer_world;
pub mod synthetic;
mod vectors;

pub use offer_world::{OfferWorld, MAX_WORLD_CELLS};
pub use synthetic::{
    synthetic_storefront, synthetic_storefront_with, GroundTruth, Size, Storefront,
    StorefrontOptions, CATEGORIES, MAX_CUSTOMERS,
};
pub use vectors::clustered_vectors;
