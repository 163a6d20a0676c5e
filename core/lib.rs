//! # maitre
//!
//! An embeddable personalisation and recommendation library: behaviour events
//! in, customer and item embeddings and contextual recommendations out, from one
//! core that runs in a Rust service, a Python notebook and the browser.
//!
//! The data path, module by module:
//!
//! ```text
//! events ──► identity ──► interactions ──► embed ──► index ──► recommend
//!   EventLog    Identities    Csr + transpose   ALS,       exact,     rules, reasons,
//!   + catalog                                   context,   HNSW       fallbacks
//!                                               cold start
//! customers: segments, RFM, lifecycle, loyalty, single customer view,
//!   targeting, forget (beside recommend, on the same log and vectors)
//! eval: splits, metrics, baselines, context and cold-start comparisons
//! datasets: synthetic storefront, MovieLens 100K (feed `events`)
//! artifact: the versioned file models are saved in (full or storefront)
//! ```
//!
//! ```
//! use maitre::datasets::{synthetic_storefront, Size};
//! use maitre::interactions::{InteractionConfig, Interactions};
//! let shop = synthetic_storefront(7, Size::Tiny)?;
//! let matrix = Interactions::build(&shop.log, &InteractionConfig::default().half_life_days(60.0))?;
//! assert_eq!(matrix.by_customer().n_rows(), shop.log.summary().customers);
//! # Ok::<(), maitre::Error>(())
//! ```

pub mod artifact;
pub mod catalog;
pub mod customers;
pub mod datasets;
pub mod embed;
pub mod error;
pub mod eval;
pub mod events;
mod hash;
pub mod identity;
pub mod index;
pub mod interactions;
mod intern;
mod kernels;
pub mod offers;
pub mod recommend;
mod threads;

#[cfg(test)]
mod hostile_tests;

pub use error::{Error, Result};
pub use intern::Interner;

/// The README's Rust example, compiled and run as a doc-test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
