//! Data sets: a built-in synthetic storefront and MovieLens 100K.
//!
//! Both produce an [`EventLog`](crate::events::EventLog), the same input every
//! model and evaluation takes. Depends on: `events`, `error`.

pub mod movielens;
pub mod synthetic;

pub use synthetic::{synthetic_storefront, Size, Storefront};
