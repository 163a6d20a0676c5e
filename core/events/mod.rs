//! Behaviour events: who did what to which item, when, how much, in which context.
//!
//! This is the front door of the data path. [`EventLog`] ingests events from
//! Rust values, CSV, JSON Lines or columns (the bindings' path), validates every
//! field, interns string ids to dense indices and stores the log column by
//! column. A batch is accepted whole or rejected whole, unless the caller asks
//! to skip bad rows ([`OnBadRow::Skip`]); then the [`IngestReport`] says how many
//! were skipped and why.
//!
//! Depends on: `error`, `intern`. Nothing downstream (identity, interactions,
//! models) may be imported here.

mod kinds;
mod log;
mod parse;

pub use kinds::{EventKinds, KindSpec};
pub use log::{
    Columns, ContextVocab, EventLog, EventView, IngestOptions, IngestReport, Link, OnBadRow,
    Summary, TimeColumn, ValueColumn,
};
pub use parse::{parse_timestamp, Schema};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One behaviour event, as it arrives from outside.
///
/// Timestamps are Unix epoch seconds (UTC). `value` carries a rating, a
/// quantity or an amount, depending on the kind. `context` holds any key/value
/// pairs; `channel`, `device` and `locale` are the conventional keys.
///
/// ```
/// use maitre::events::{Event, EventLog};
/// let mut log = EventLog::new();
/// log.push(&Event::new("c42", "sku-1", "view", 1_714_564_800).context("channel", "app"))?;
/// log.push(&Event::new("c42", "sku-1", "purchase", 1_714_565_000).value(2.0))?;
/// assert_eq!(log.len(), 2);
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The customer, device or anonymous id that acted.
    pub customer: String,
    /// The item (product, content, offer or service action) acted on.
    pub item: String,
    /// A kind registered in the log's [`EventKinds`] (`view`, `purchase`, `return`, …).
    pub kind: String,
    /// Unix epoch seconds.
    pub timestamp: i64,
    /// Rating, quantity or amount, when the kind has one.
    #[serde(default)]
    pub value: Option<f64>,
    /// Context: `channel`, `device`, `locale`, or any other key.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

impl Event {
    /// An event without value or context.
    pub fn new(
        customer: impl Into<String>,
        item: impl Into<String>,
        kind: impl Into<String>,
        timestamp: i64,
    ) -> Self {
        Event {
            customer: customer.into(),
            item: item.into(),
            kind: kind.into(),
            timestamp,
            value: None,
            context: BTreeMap::new(),
        }
    }

    /// Sets the value (rating, quantity, amount).
    #[must_use]
    pub fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// Adds one context key/value.
    #[must_use]
    pub fn context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.insert(key.into(), value.into());
        self
    }
}
