//! Behaviour events: who did what to which item, when, how much, in which context.
//!
//! This is the front door of the data path. [`EventLog`] ingests events from
//! Rust values, CSV, JSON Lines or columns (the bindings' path), validates every
//! field, interns string ids to dense indices and stores the log column by
//! column. A batch is accepted whole or rejected whole, unless the caller asks
//! to skip bad rows ([`OnBadRow::Skip`]); then the [`IngestReport`] says how many
//! were skipped and why.
//!
//! ## Timestamps
//!
//! Every timestamp is Unix epoch seconds, and every ingestion path (CSV, JSON
//! Lines, columns, iterators, [`EventLog::push`], identity links) accepts only
//! [`MIN_TIMESTAMP`]`..=`[`MAX_TIMESTAMP`], 1970-01-01 to 2100-01-01. A value
//! outside is a [`crate::error::Problem::TimestampOutOfRange`] bad row (skipped
//! and counted in the report when skipping is asked for) whose message names
//! the unit it looks like ("it looks like milliseconds; divide by 1000"). Units
//! are not guessed: one millisecond stamp among second stamps would otherwise
//! read as the year 56,000 and, with a recency half-life, decay every other
//! event to weight 0. The same range applies to times given later
//! (`InteractionConfig::reference_time`, a request's `now` and session event
//! times), so differences of accepted times never overflow.
//!
//! Depends on: `error`, `intern`. Nothing downstream (identity, interactions,
//! models) may be imported here.

mod kinds;
mod log;
mod parse;

pub use kinds::{EventKinds, KindSpec};
pub use log::{
    Columns, ContextVocab, EventLog, EventView, IngestOptions, IngestReport, Link, LogForgotten,
    OnBadRow, Summary, TextColumn, TimeColumn, ValueColumn,
};
pub use parse::{check_timestamp, parse_timestamp, Schema, MAX_TIMESTAMP, MIN_TIMESTAMP};

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
    /// Unix epoch seconds, 1970-01-01 to 2100-01-01 (see [`check_timestamp`]).
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
