//! `EventLog`: the core's event log as a JS class.

use crate::convert::{js_error, json_array, to_js, JsBadRow};
use maitre::events::{self, IngestOptions, IngestReport, Schema, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_EVENTS: &'static str = r#"
/** One behaviour event, with the same keys as a JSON Lines record. */
export interface EventInput {
  customer_id: string | number;
  item_id: string | number;
  /** A registered kind: view, click, cart, purchase, rating, review, share, return, dislike, complaint. */
  kind: string;
  /** Unix epoch seconds, or RFC 3339 text such as "2024-05-01T12:00:00Z". */
  timestamp: number | string;
  /** Rating, quantity or amount. */
  value?: number | string | null;
  /** Context such as channel, device, locale. */
  context?: Record<string, string | number | boolean | null>;
  /** Any other key is context too. */
  [key: string]: unknown;
}

export interface IngestOptions {
  /** Skip bad rows and report them, instead of rejecting the whole batch (default false). */
  skipBadRows?: boolean;
}

/** A skipped record. */
export interface BadRow {
  /** 0-based position in a JS array. */
  row?: number;
  /** 1-based line in CSV or JSON Lines text. */
  line?: number;
  field: string;
  problem: "missing" | "empty" | "unknown_kind" | "not_finite" | "not_a_number" | "bad_timestamp" | "timestamp_out_of_range" | "malformed";
  detail?: string;
  /** The complete message, e.g. "row 3: field `item_id` is empty". */
  message: string;
}

/** What one batch did to the log. */
export interface IngestReport {
  accepted: number;
  skipped: number;
  /** Skipped rows per field at fault. */
  skippedByField: Record<string, number>;
  /** The first skipped rows in full (at most 20). */
  firstSkipped: BadRow[];
}

/** What a log holds. */
export interface Summary {
  events: number;
  /** Distinct ids that acted or were linked. */
  rawIds: number;
  /** People after identity resolution. */
  customers: number;
  items: number;
  links: number;
  /** Ids merged into another by a link. */
  linkedIds: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** Events per kind. */
  kinds: Record<string, number>;
  /** Events per value of each context key. */
  context: Record<string, Record<string, number>>;
}
"#;

/// Behaviour events: ingest, link identities, summarise.
///
/// A batch is accepted whole or rejected whole (unless `skipBadRows`); a
/// rejected batch throws and leaves the log unchanged.
#[wasm_bindgen]
#[derive(Default)]
pub struct EventLog {
    pub(crate) inner: events::EventLog,
}

#[wasm_bindgen]
impl EventLog {
    /// An empty log accepting the default event kinds.
    #[wasm_bindgen(constructor)]
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// A log read from CSV text with a `customer_id,item_id,kind,timestamp[,value]`
    /// header; other columns are context. Errors name the 1-based line.
    #[wasm_bindgen(js_name = fromCsv)]
    pub fn from_csv(text: &str) -> Result<EventLog, JsValue> {
        let mut log = EventLog::new();
        log.inner
            .read_csv(
                text.as_bytes(),
                &Schema::default(),
                &IngestOptions::default(),
            )
            .map_err(js_error)?;
        Ok(log)
    }

    /// A log read from JSON Lines text, one event object per line. Errors name
    /// the 1-based line.
    #[wasm_bindgen(js_name = fromJsonLines)]
    pub fn from_json_lines(text: &str) -> Result<EventLog, JsValue> {
        let mut log = EventLog::new();
        log.inner
            .read_jsonl(
                text.as_bytes(),
                &Schema::default(),
                &IngestOptions::default(),
            )
            .map_err(js_error)?;
        Ok(log)
    }

    /// Appends an array of events. Errors name the 0-based row and the field.
    #[wasm_bindgen(unchecked_return_type = "IngestReport")]
    pub fn push(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "EventInput[]")] events: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "IngestOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let opts: PushOptions = crate::convert::options("options", options)?;
        let rows = json_array("events", events)?;
        let report = self
            .inner
            .extend_json(&rows, &Schema::default(), &opts.into())
            .map_err(js_error)?;
        to_js(&JsIngestReport::from(report))
    }

    /// Records that `alias` (an anonymous or device id) is the same person as
    /// `customer`, as of `timestamp` (epoch seconds or RFC 3339 text).
    pub fn link(
        &mut self,
        alias: &str,
        customer: &str,
        #[wasm_bindgen(unchecked_param_type = "number | string")] timestamp: JsValue,
    ) -> Result<(), JsValue> {
        let text = timestamp_text(&timestamp);
        self.inner
            .link_text(alias, customer, text.as_deref())
            .map_err(js_error)
    }

    /// Number of events.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// Counts of events, ids, customers, items, links, kinds and contexts.
    #[wasm_bindgen(unchecked_return_type = "Summary")]
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&JsSummary::from(self.inner.summary()))
    }
}

/// A link's timestamp as text for the core's parser: numbers as JS writes
/// them, strings as they are, `None` when absent.
fn timestamp_text(value: &JsValue) -> Option<String> {
    if value.is_undefined() || value.is_null() {
        None
    } else if let Some(n) = value.as_f64() {
        Some(js_number_text(n))
    } else if let Some(s) = value.as_string() {
        Some(s)
    } else if let Some(b) = value.as_bool() {
        Some(b.to_string())
    } else {
        Some(format!(
            "[{}]",
            value.js_typeof().as_string().unwrap_or_default()
        ))
    }
}

/// A JS number as JS writes it (`NaN`, `Infinity`), which the core's parser reads.
fn js_number_text(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PushOptions {
    #[serde(default)]
    skip_bad_rows: bool,
}

impl From<PushOptions> for IngestOptions {
    fn from(opts: PushOptions) -> Self {
        let defaults = IngestOptions::default();
        if opts.skip_bad_rows {
            defaults.skip_bad_rows()
        } else {
            defaults
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsIngestReport {
    accepted: usize,
    skipped: usize,
    skipped_by_field: BTreeMap<String, usize>,
    first_skipped: Vec<JsBadRow>,
}

impl From<IngestReport> for JsIngestReport {
    fn from(report: IngestReport) -> Self {
        // No `..`: a new core field fails to compile here until it is exposed.
        let IngestReport {
            accepted,
            skipped,
            skipped_by_field,
            first_skipped,
        } = report;
        JsIngestReport {
            accepted,
            skipped,
            skipped_by_field,
            first_skipped: first_skipped.into_iter().map(JsBadRow::from).collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsSummary {
    events: usize,
    raw_ids: usize,
    customers: usize,
    items: usize,
    links: usize,
    linked_ids: usize,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
    kinds: BTreeMap<String, usize>,
    context: BTreeMap<String, BTreeMap<String, usize>>,
}

impl From<Summary> for JsSummary {
    fn from(summary: Summary) -> Self {
        // No `..`: a new core field fails to compile here until it is exposed.
        let Summary {
            events,
            raw_ids,
            customers,
            items,
            links,
            linked_ids,
            first_timestamp,
            last_timestamp,
            kinds,
            context,
        } = summary;
        JsSummary {
            events,
            raw_ids,
            customers,
            items,
            links,
            linked_ids,
            first_timestamp,
            last_timestamp,
            kinds,
            context,
        }
    }
}
