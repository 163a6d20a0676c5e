use super::kinds::EventKinds;
use super::parse::{self, Schema};
use super::Event;
use crate::error::{BadRow, Error, Location, Problem, Result};
use crate::identity::Identities;
use crate::intern::Interner;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// What to do with a bad row in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBadRow {
    /// Reject the whole batch: the log is left exactly as it was (the default).
    #[default]
    Reject,
    /// Skip bad rows, keep the good ones, and report what was skipped.
    Skip,
}

/// Options for one ingestion batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Reject the batch on the first bad row (default), or skip bad rows.
    pub on_bad_row: OnBadRow,
    /// How many skipped rows the report keeps in full (default 20); all are counted.
    pub max_reported: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            on_bad_row: OnBadRow::Reject,
            max_reported: 20,
        }
    }
}

impl IngestOptions {
    /// Skip bad rows instead of rejecting the batch.
    #[must_use]
    pub fn skip_bad_rows(mut self) -> Self {
        self.on_bad_row = OnBadRow::Skip;
        self
    }
}

/// What one batch did to the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Rows added to the log.
    pub accepted: usize,
    /// Rows skipped (only with [`OnBadRow::Skip`]).
    pub skipped: usize,
    /// Skipped rows per field at fault.
    pub skipped_by_field: BTreeMap<String, usize>,
    /// The first skipped rows, in full (at most [`IngestOptions::max_reported`]).
    pub first_skipped: Vec<BadRow>,
}

/// An identity link: `alias` (an anonymous, device or secondary id) is the same
/// person as `customer`. Both are indices into [`EventLog::raw_customers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Link {
    pub alias: u32,
    pub customer: u32,
    pub timestamp: i64,
}

/// Context values, interned once per `key=value` pair.
#[derive(Debug, Clone, Default)]
pub struct ContextVocab {
    keys: Interner,
    pairs: Interner,
    key_of: Vec<u32>,
    scratch: String,
}

impl ContextVocab {
    fn intern(&mut self, key: &str, value: &str) -> u32 {
        // One buffer reused for every lookup: ingestion calls this once per
        // row and context column, and a fresh `format!` each time was a
        // measurable share of a columnar batch's cost.
        let mut pair = std::mem::take(&mut self.scratch);
        let id = match self.find(key, value, &mut pair) {
            Some(id) => id,
            None => {
                let key_id = self.keys.intern(key);
                self.key_of.push(key_id);
                self.pairs.intern(&pair)
            }
        };
        self.scratch = pair;
        id
    }

    /// The id of a `key=value` pair, if seen.
    pub fn get(&self, key: &str, value: &str) -> Option<u32> {
        self.find(key, value, &mut String::new())
    }

    /// [`ContextVocab::get`] with a buffer of the caller's for the pair.
    fn find(&self, key: &str, value: &str, pair: &mut String) -> Option<u32> {
        pair.clear();
        pair.push_str(key);
        pair.push('=');
        pair.push_str(value);
        self.pairs.get(pair)
    }

    /// The key and value of pair `id`.
    pub fn pair(&self, id: u32) -> Option<(&str, &str)> {
        let key = self.keys.name(*self.key_of.get(id as usize)?)?;
        let pair = self.pairs.name(id)?;
        Some((key, &pair[key.len() + 1..]))
    }

    /// Every context key seen.
    pub fn keys(&self) -> &Interner {
        &self.keys
    }

    /// The key id of pair `id`.
    pub fn key_of(&self, id: u32) -> u32 {
        self.key_of[id as usize]
    }

    /// How many distinct `key=value` pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no context was seen.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// A timestamp column in a columnar batch.
#[derive(Debug, Clone, Copy)]
pub enum TimeColumn<'a> {
    /// Epoch seconds; NaN or infinite values are bad rows, fractions are truncated.
    Seconds(&'a [f64]),
    /// Text: epoch seconds or RFC 3339.
    Text(&'a [String]),
}

impl TimeColumn<'_> {
    fn len(&self) -> usize {
        match self {
            TimeColumn::Seconds(s) => s.len(),
            TimeColumn::Text(s) => s.len(),
        }
    }
}

/// A value column in a columnar batch; `None` in a row means the row has no value.
#[derive(Debug, Clone, Copy)]
pub enum ValueColumn<'a> {
    /// Numbers; NaN or infinite values are bad rows.
    Numbers(&'a [Option<f64>]),
    /// Numbers as numpy and Arrow hold a float column: NaN where a row has
    /// no value (a row of a kind weighted by its value rejects it, as
    /// `Numbers` rejects `Some(NaN)`), so the column can be read where it
    /// lies instead of copied into `Option`s.
    Floats(&'a [f64]),
    /// Text, parsed as numbers (an empty cell is no value); how untyped frame columns arrive.
    Text(&'a [Option<String>]),
}

impl ValueColumn<'_> {
    fn len(&self) -> usize {
        match self {
            ValueColumn::Numbers(v) => v.len(),
            ValueColumn::Floats(v) => v.len(),
            ValueColumn::Text(v) => v.len(),
        }
    }
}

/// A text column in a columnar batch (ids, kinds, context values).
#[derive(Debug, Clone, Copy)]
pub enum TextColumn<'a> {
    /// One string per row.
    Plain(&'a [String]),
    /// One string or nothing per row (a missing cell).
    Optional(&'a [Option<String>]),
    /// Dictionary-encoded, as pandas' `factorize` and Arrow's dictionary
    /// arrays hold text: row `i` is `values[codes[i]]`, and a negative code is
    /// a missing cell. Each distinct string crosses a language boundary once,
    /// not once per row. A code past the end of `values` is a bad row.
    Coded {
        codes: &'a [i64],
        values: &'a [String],
    },
    /// Arrow's layout for text: row `i` is the UTF-8 bytes
    /// `data[offsets[i]..offsets[i + 1]]` (so `offsets` has one entry more
    /// than there are rows), missing where `nulls[i]` is true. Strings cross
    /// as two buffers, with no per-row object on either side. Offsets out of
    /// order or out of range, and bytes that are not UTF-8, are bad rows.
    Utf8 {
        offsets: &'a [i64],
        data: &'a [u8],
        nulls: Option<&'a [bool]>,
    },
}

impl<'a> TextColumn<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            TextColumn::Plain(v) => v.len(),
            TextColumn::Optional(v) => v.len(),
            TextColumn::Coded { codes, .. } => codes.len(),
            TextColumn::Utf8 { offsets, .. } => offsets.len().saturating_sub(1),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`: `Ok(None)` for a missing cell. `i` must be below `len()`.
    fn get(&self, i: usize) -> Result<Option<&'a str>, Problem> {
        match *self {
            TextColumn::Plain(v) => Ok(Some(&v[i])),
            TextColumn::Optional(v) => Ok(v[i].as_deref()),
            TextColumn::Coded { codes, values } => match codes[i] {
                c if c < 0 => Ok(None),
                c => values
                    .get(c as usize)
                    .map(|v| Some(v.as_str()))
                    .ok_or_else(|| {
                        Problem::Malformed(format!(
                            "code {c} has no value (the dictionary holds {})",
                            values.len()
                        ))
                    }),
            },
            TextColumn::Utf8 {
                offsets,
                data,
                nulls,
            } => {
                if nulls.is_some_and(|n| n.get(i) == Some(&true)) {
                    return Ok(None);
                }
                let (start, end) = (offsets[i], offsets[i + 1]);
                let bytes = usize::try_from(start)
                    .ok()
                    .zip(usize::try_from(end).ok())
                    .and_then(|(start, end)| data.get(start..end))
                    .ok_or_else(|| {
                        Problem::Malformed(format!(
                            "offsets {start}..{end} are outside the {} bytes of text",
                            data.len()
                        ))
                    })?;
                std::str::from_utf8(bytes)
                    .map(Some)
                    .map_err(|e| Problem::Malformed(format!("text is not UTF-8: {e}")))
            }
        }
    }

    /// Rows `rows`, trimmed, for looking them up: `None` for a missing cell
    /// and for one [`TextColumn::get`] rejects (the push loop reports it).
    /// Arrow text is checked as UTF-8 once for the whole block rather than
    /// row by row: for short ids the per-row check and its call cost more
    /// than the bytes.
    fn trimmed(&self, rows: std::ops::Range<usize>, out: &mut Vec<Option<&'a str>>) {
        if let TextColumn::Utf8 {
            offsets,
            data,
            nulls,
        } = *self
        {
            let span = (offsets.get(rows.start), offsets.get(rows.end));
            let text = match span {
                (Some(&a), Some(&b)) => usize::try_from(a)
                    .ok()
                    .zip(usize::try_from(b).ok())
                    .and_then(|(a, b)| data.get(a..b))
                    .and_then(|bytes| std::str::from_utf8(bytes).ok()),
                _ => None,
            };
            if let Some(text) = text {
                let base = offsets[rows.start];
                out.extend(rows.map(|i| {
                    if nulls.is_some_and(|n| n.get(i) == Some(&true)) {
                        return None;
                    }
                    // Offsets out of order, outside the span or inside a
                    // character give `None` here and a bad row in `get`.
                    let at = |o: i64| usize::try_from(o - base).ok();
                    let cell = at(offsets[i]).zip(at(offsets[i + 1]));
                    cell.and_then(|(a, b)| text.get(a..b)).map(trim)
                }));
                return;
            }
        }
        out.extend(rows.map(|i| self.get(i).ok().flatten().map(trim)));
    }

    /// The dictionary code of row `i`, for columns that have one.
    fn code(&self, i: usize) -> Option<usize> {
        match self {
            TextColumn::Coded { codes, .. } => usize::try_from(codes[i]).ok(),
            _ => None,
        }
    }
}

/// `text.trim()`, without decoding characters when both ends are visible
/// ASCII (as ids almost always are): trimming ran once per id on ingestion.
fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [a, .., b] if a.is_ascii_graphic() && b.is_ascii_graphic() => text,
        [a] if a.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// A batch of events as columns, the way data frames and JS arrays hold them.
/// Every column must have the same length; field names in errors come from `schema`.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    pub customer: TextColumn<'a>,
    pub item: TextColumn<'a>,
    pub kind: TextColumn<'a>,
    pub timestamp: TimeColumn<'a>,
    /// Optional values; `None` in a row means the row has no value.
    pub value: Option<ValueColumn<'a>>,
    /// Context columns: a key and one optional value per row.
    pub context: &'a [(String, TextColumn<'a>)],
}

/// One stored event, read back with string ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView<'a> {
    pub customer: &'a str,
    pub item: &'a str,
    pub kind: &'a str,
    pub timestamp: i64,
    pub value: Option<f64>,
    pub context: Vec<(&'a str, &'a str)>,
}

/// An overview of a log: what was ingested.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub events: usize,
    /// Distinct ids that acted (customers, devices, anonymous sessions).
    pub raw_ids: usize,
    /// People after identity resolution.
    pub customers: usize,
    pub items: usize,
    pub links: usize,
    /// Ids merged into another by a link.
    pub linked_ids: usize,
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    /// Events per kind.
    pub kinds: BTreeMap<String, usize>,
    /// Events per value of each context key.
    pub context: BTreeMap<String, BTreeMap<String, usize>>,
}

/// A validated, interned row ready to append.
pub(crate) struct Row<'a> {
    pub customer: Cow<'a, str>,
    pub item: Cow<'a, str>,
    pub kind: Cow<'a, str>,
    pub timestamp: i64,
    pub value: Option<f64>,
    pub context: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Lengths of everything a batch appends to, so a rejected batch can be undone.
struct Mark {
    events: usize,
    context: usize,
    customers: usize,
    items: usize,
    ctx_keys: usize,
    ctx_pairs: usize,
}

/// What [`EventLog::forget`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogForgotten {
    /// The canonical id of the person removed.
    pub customer: String,
    /// Every raw id that was theirs, sorted.
    pub identities: Vec<String>,
    pub events: usize,
    pub links: usize,
}

/// The event log: every event, column by column, with interned ids.
///
/// ```
/// use maitre::events::{EventLog, IngestOptions, Schema};
/// let csv = "customer_id,item_id,kind,timestamp,channel\n\
///            c1,sku-1,view,1714564800,web\n\
///            c1,sku-2,purchase,2024-05-01T12:00:00Z,app\n";
/// let mut log = EventLog::new();
/// let report = log.read_csv(csv.as_bytes(), &Schema::default(), &IngestOptions::default())?;
/// assert_eq!(report.accepted, 2);
/// assert_eq!(log.items().len(), 2);
///
/// // A bad row rejects the whole batch and names the line and the field.
/// let bad = "customer_id,item_id,kind,timestamp\nc2,sku-3,view,1714564800\nc2,,view,1714564801\n";
/// let err = log.read_csv(bad.as_bytes(), &Schema::default(), &IngestOptions::default()).unwrap_err();
/// assert_eq!(err.to_string(), "line 3: field `item_id` is empty");
/// assert_eq!(log.len(), 2); // nothing half-ingested
/// # Ok::<(), maitre::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    kinds: EventKinds,
    customers: Interner,
    items: Interner,
    context: ContextVocab,
    customer: Vec<u32>,
    item: Vec<u32>,
    kind: Vec<u8>,
    timestamp: Vec<i64>,
    /// NaN where the event has no value (NaN is never accepted as a value).
    value: Vec<f32>,
    /// Event `i`'s context pairs are `ctx[ctx_start[i]..ctx_start[i + 1]]`.
    ctx_start: Vec<u32>,
    ctx: Vec<u32>,
    links: Vec<Link>,
}

impl EventLog {
    /// An empty log with the default [`EventKinds`].
    pub fn new() -> Self {
        Self::with_kinds(EventKinds::default())
    }

    /// An empty log accepting the given kinds.
    pub fn with_kinds(kinds: EventKinds) -> Self {
        EventLog {
            kinds,
            ctx_start: vec![0],
            ..Default::default()
        }
    }

    /// Reads a CSV file (see [`Schema`] for the columns).
    pub fn from_csv(path: impl AsRef<Path>, schema: &Schema) -> Result<Self> {
        let mut log = EventLog::new();
        log.read_csv_file(path, schema, &IngestOptions::default())?;
        Ok(log)
    }

    /// Reads a JSON Lines file: one object per line (see [`Schema`]).
    pub fn from_jsonl(path: impl AsRef<Path>, schema: &Schema) -> Result<Self> {
        let mut log = EventLog::new();
        log.read_jsonl_file(path, schema, &IngestOptions::default())?;
        Ok(log)
    }

    /// Appends the rows of a CSV file. A missing file is [`Error::FileNotFound`].
    pub fn read_csv_file(
        &mut self,
        path: impl AsRef<Path>,
        schema: &Schema,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        self.read_csv(open(path.as_ref())?, schema, options)
    }

    /// Appends the objects of a JSON Lines file. A missing file is [`Error::FileNotFound`].
    pub fn read_jsonl_file(
        &mut self,
        path: impl AsRef<Path>,
        schema: &Schema,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        self.read_jsonl(BufReader::new(open(path.as_ref())?), schema, options)
    }

    /// Appends one event; on error the log is unchanged.
    pub fn push(&mut self, event: &Event) -> Result<()> {
        self.extend([event.clone()], &IngestOptions::default())
            .map(|_| ())
    }

    /// Appends a batch of events: all or nothing, unless `options` skip bad rows.
    /// Errors name the row by its 0-based position in the batch.
    pub fn extend<I>(&mut self, events: I, options: &IngestOptions) -> Result<IngestReport>
    where
        I: IntoIterator<Item = Event>,
    {
        let schema = Schema::default();
        let mut batch = Batch::begin(self, options);
        for (i, e) in events.into_iter().enumerate() {
            let row = Row {
                customer: Cow::Borrowed(&e.customer),
                item: Cow::Borrowed(&e.item),
                kind: Cow::Borrowed(&e.kind),
                timestamp: e.timestamp,
                value: e.value,
                context: e
                    .context
                    .iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
                    .collect(),
            };
            batch.row(Location::Index(i), Ok(row), &schema)?;
        }
        Ok(batch.finish())
    }

    /// Appends CSV rows from `reader`. Errors name the 1-based line.
    pub fn read_csv<R: Read>(
        &mut self,
        reader: R,
        schema: &Schema,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(reader);
        let layout = parse::CsvLayout::new(&mut csv, schema)?;
        let mut batch = Batch::begin(self, options);
        let mut record = csv::StringRecord::new();
        loop {
            let line = csv.position().line() as usize + 1;
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| p.line() as usize);
                    let row = layout.row(&record, Location::Line(line));
                    batch.row(Location::Line(line), row, schema)?;
                }
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line() as usize);
                    let bad = layout.bad_record(&e, Location::Line(line));
                    if e.is_io_error() || e.position().is_none() {
                        return Err(batch.abort(bad.into()));
                    }
                    batch.row(Location::Line(line), Err(bad), schema)?;
                }
            }
        }
        Ok(batch.finish())
    }

    /// Appends JSON Lines from `reader` (blank lines are ignored). Errors name the 1-based line.
    pub fn read_jsonl<R: BufRead>(
        &mut self,
        reader: R,
        schema: &Schema,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        let mut batch = Batch::begin(self, options);
        for (i, line) in reader.lines().enumerate() {
            let location = Location::Line(i + 1);
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    let bad = BadRow::new(location, "record", Problem::Malformed(e.to_string()));
                    return Err(batch.abort(bad.into()));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let value: Result<serde_json::Value, _> = serde_json::from_str(&line);
            match value {
                Ok(value) => {
                    let row = parse::json_row(&value, schema, location);
                    batch.row(location, row, schema)?;
                }
                Err(e) => {
                    let bad = BadRow::new(location, "record", Problem::Malformed(e.to_string()));
                    batch.row(location, Err(bad), schema)?;
                }
            }
        }
        Ok(batch.finish())
    }

    /// Appends already-parsed JSON objects (a JS array of event objects takes this path).
    /// Errors name the 0-based position.
    pub fn extend_json<'v, I>(
        &mut self,
        values: I,
        schema: &Schema,
        options: &IngestOptions,
    ) -> Result<IngestReport>
    where
        I: IntoIterator<Item = &'v serde_json::Value>,
    {
        let mut batch = Batch::begin(self, options);
        for (i, value) in values.into_iter().enumerate() {
            let location = Location::Index(i);
            let row = parse::json_row(value, schema, location);
            batch.row(location, row, schema)?;
        }
        Ok(batch.finish())
    }

    /// Appends a columnar batch (how data frames arrive). Errors name the 0-based row
    /// and the column as `schema` calls it.
    pub fn extend_columns(
        &mut self,
        columns: &Columns<'_>,
        schema: &Schema,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        let mut once = Some(*columns);
        self.extend_column_chunks(columns.customer.len(), schema, options, |feed| {
            match once.take() {
                Some(columns) => feed(&columns).map(|()| true),
                None => Ok(false),
            }
        })
    }

    /// Appends one batch that arrives in column chunks, so a caller converting
    /// a large frame holds one chunk's conversion at a time, not the whole
    /// frame's: `next` hands the next chunk to `feed` and returns `true`, or
    /// returns `false` when there are no more. The batch is still all or
    /// nothing across every chunk (an error from `next` or a bad row undoes
    /// all of them); rows are numbered across chunks. `rows_hint` (the
    /// expected total) sizes the columns once up front; it is only a hint: a
    /// wrong or unaffordable one changes nothing but speed.
    pub fn extend_column_chunks<F>(
        &mut self,
        rows_hint: usize,
        schema: &Schema,
        options: &IngestOptions,
        mut next: F,
    ) -> Result<IngestReport>
    where
        F: FnMut(&mut dyn FnMut(&Columns<'_>) -> Result<()>) -> Result<bool>,
    {
        self.reserve_rows(rows_hint);
        let mut batch = Batch::begin(self, options);
        let mut offset = 0usize;
        loop {
            let more = {
                let mut feed = |columns: &Columns<'_>| {
                    feed_columns(&mut batch, columns, offset, schema)?;
                    offset += columns.customer.len();
                    Ok(())
                };
                next(&mut feed)
            };
            match more {
                Ok(true) => {}
                Ok(false) => return Ok(batch.finish()),
                Err(e) => return Err(batch.abort(e)),
            }
        }
    }

    /// Room for `rows` more events in every per-event column, if memory allows.
    fn reserve_rows(&mut self, rows: usize) {
        let _ = self.customer.try_reserve_exact(rows);
        let _ = self.item.try_reserve_exact(rows);
        let _ = self.kind.try_reserve_exact(rows);
        let _ = self.timestamp.try_reserve_exact(rows);
        let _ = self.value.try_reserve_exact(rows);
        let _ = self.ctx_start.try_reserve_exact(rows);
    }

    /// Records that `alias` (an anonymous or device id) is the same person as
    /// `customer`. Links may arrive in any order, before or after the events.
    pub fn link(&mut self, alias: &str, customer: &str, timestamp: i64) -> Result<()> {
        let (alias, customer) = (alias.trim(), customer.trim());
        let location = Location::Index(self.links.len());
        for (field, id) in [("alias", alias), ("customer_id", customer)] {
            if id.is_empty() {
                return Err(BadRow::new(location, field, Problem::Empty).into());
            }
        }
        parse::check_timestamp(timestamp).map_err(|p| BadRow::new(location, "timestamp", p))?;
        let alias = self.customers.intern(alias);
        let customer = self.customers.intern(customer);
        self.links.push(Link {
            alias,
            customer,
            timestamp,
        });
        Ok(())
    }

    /// [`EventLog::link`] with the timestamp as text (epoch seconds or RFC 3339),
    /// `None` when the caller has none: how untyped inputs (JS values) arrive.
    /// A bad timestamp is a [`BadRow`] naming the link's position and `timestamp`.
    pub fn link_text(
        &mut self,
        alias: &str,
        customer: &str,
        timestamp: Option<&str>,
    ) -> Result<()> {
        let location = Location::Index(self.links.len());
        let seconds = timestamp
            .map_or(Err(Problem::Missing), parse::parse_timestamp)
            .map_err(|p| BadRow::new(location, "timestamp", p))?;
        self.link(alias, customer, seconds)
    }

    /// Adds an item to the catalogue without any event (so evaluation ranks it,
    /// and later models can place it). Returns its index.
    pub fn add_item(&mut self, id: &str) -> Result<u32> {
        let id = id.trim();
        if id.is_empty() {
            return Err(
                BadRow::new(Location::Index(self.items.len()), "item_id", Problem::Empty).into(),
            );
        }
        Ok(self.items.intern(id))
    }

    /// A copy holding only the events `keep` accepts, with the same ids,
    /// kinds, context vocabulary and links, so every index (customer, item,
    /// context pair) means the same thing in both logs. Used to rebuild what a
    /// live system would have known before a point in time.
    pub fn subset(&self, keep: impl Fn(usize) -> bool) -> EventLog {
        let mut out = EventLog {
            kinds: self.kinds.clone(),
            customers: self.customers.clone(),
            items: self.items.clone(),
            context: self.context.clone(),
            links: self.links.clone(),
            ..EventLog::default()
        };
        out.ctx_start.push(0);
        for i in (0..self.len()).filter(|&i| keep(i)) {
            out.customer.push(self.customer[i]);
            out.item.push(self.item[i]);
            out.kind.push(self.kind[i]);
            out.timestamp.push(self.timestamp[i]);
            out.value.push(self.value[i]);
            out.ctx.extend_from_slice(self.context_of(i));
            out.ctx_start.push(out.ctx.len() as u32);
        }
        out
    }

    /// Removes a person: every event and identity link of every raw id that
    /// resolves to the same customer as `id` (accounts, devices, anonymous
    /// ids). The log is rebuilt without their ids, so no interner keeps their
    /// names; items, kinds and context pairs keep their indices. An unknown
    /// id is [`Error::Unknown`] and changes nothing.
    ///
    /// ```
    /// use maitre::events::{Event, EventLog};
    /// let mut log = EventLog::new();
    /// log.push(&Event::new("anon-7", "sku-1", "view", 100))?;
    /// log.push(&Event::new("c42", "sku-2", "purchase", 200))?;
    /// log.push(&Event::new("c43", "sku-2", "view", 300))?;
    /// log.link("anon-7", "c42", 150)?;
    /// let gone = log.forget("anon-7")?;
    /// assert_eq!((gone.customer.as_str(), gone.events, gone.links), ("c42", 2, 1));
    /// assert_eq!(gone.identities, ["anon-7", "c42"]);
    /// assert_eq!(log.len(), 1);
    /// assert!(log.raw_customers().get("c42").is_none());
    /// # Ok::<(), maitre::Error>(())
    /// ```
    pub fn forget(&mut self, id: &str) -> Result<LogForgotten> {
        let ids = self.identities();
        let customer = ids
            .resolve_name(&self.customers, id)
            .ok_or_else(|| Error::Unknown {
                what: "customer",
                id: id.to_owned(),
            })?
            .to_owned();
        let mut identities: Vec<String> = ids
            .aliases(&self.customers, id)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        identities.sort();
        let mut gone = vec![false; self.customers.len()];
        for name in &identities {
            if let Some(r) = self.customers.get(name) {
                gone[r as usize] = true;
            }
        }
        let (log, events, links) = self.without_raw(&gone)?;
        *self = log;
        Ok(LogForgotten {
            customer,
            identities,
            events,
            links,
        })
    }

    /// A copy without the raw customers `gone` marks (their events, their
    /// links, their names); the other customers are re-interned in order.
    /// Returns the copy and the number of events and links removed.
    pub(crate) fn without_raw(&self, gone: &[bool]) -> Result<(EventLog, usize, usize)> {
        let mut log = EventLog::with_kinds(self.kinds.clone());
        for name in self.items.names() {
            log.intern_item(name);
        }
        for pair in 0..self.context.len() as u32 {
            if let Some((key, value)) = self.context.pair(pair) {
                log.intern_context(key, value);
            }
        }
        let mut new_raw = vec![u32::MAX; gone.len()];
        for (r, name) in self.customers.names().iter().enumerate() {
            if !gone[r] {
                new_raw[r] = log.intern_customer(name);
            }
        }
        let mut events = 0;
        for i in 0..self.len() {
            let r = self.customer[i] as usize;
            if gone[r] {
                events += 1;
                continue;
            }
            log.push_interned(
                new_raw[r],
                self.item[i],
                self.kind[i],
                self.timestamp[i],
                self.value[i],
                self.context_of(i),
            );
        }
        let mut links = 0;
        for link in &self.links {
            if gone[link.alias as usize] || gone[link.customer as usize] {
                links += 1;
                continue;
            }
            let (a, b) = (
                self.customers.name(link.alias).unwrap_or_default(),
                self.customers.name(link.customer).unwrap_or_default(),
            );
            log.link(a, b, link.timestamp)?;
        }
        Ok((log, events, links))
    }

    /// Resolves identities: every raw id to one customer (see [`Identities`]).
    pub fn identities(&self) -> Identities {
        Identities::resolve(&self.customers, &self.links)
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    /// Whether the log holds no events.
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    /// The kinds this log accepts.
    pub fn kinds(&self) -> &EventKinds {
        &self.kinds
    }

    /// Every id that acted or was linked (before identity resolution).
    pub fn raw_customers(&self) -> &Interner {
        &self.customers
    }

    /// Every item seen.
    pub fn items(&self) -> &Interner {
        &self.items
    }

    /// Every context pair seen.
    pub fn context_vocab(&self) -> &ContextVocab {
        &self.context
    }

    /// Identity links, in arrival order.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Raw customer index of each event.
    pub fn customer_column(&self) -> &[u32] {
        &self.customer
    }

    /// Item index of each event.
    pub fn item_column(&self) -> &[u32] {
        &self.item
    }

    /// Kind id of each event.
    pub fn kind_column(&self) -> &[u8] {
        &self.kind
    }

    /// Timestamp of each event.
    pub fn timestamp_column(&self) -> &[i64] {
        &self.timestamp
    }

    /// Value of each event (NaN where it has none).
    pub fn value_column(&self) -> &[f32] {
        &self.value
    }

    /// Context pair ids of event `i`.
    pub fn context_of(&self, i: usize) -> &[u32] {
        &self.ctx[self.ctx_start[i] as usize..self.ctx_start[i + 1] as usize]
    }

    /// Event `i` with its string ids, if in range.
    pub fn event(&self, i: usize) -> Option<EventView<'_>> {
        if i >= self.len() {
            return None;
        }
        let value = self.value[i];
        Some(EventView {
            customer: self.customers.name(self.customer[i])?,
            item: self.items.name(self.item[i])?,
            kind: &self.kinds.spec(self.kind[i])?.name,
            timestamp: self.timestamp[i],
            value: (!value.is_nan()).then_some(value as f64),
            context: self
                .context_of(i)
                .iter()
                .filter_map(|&c| self.context.pair(c))
                .collect(),
        })
    }

    /// What was ingested: counts of events, ids, customers, items, links, kinds and contexts.
    pub fn summary(&self) -> Summary {
        let identities = self.identities();
        let mut kind_counts = vec![0usize; self.kinds.specs().len()];
        for &k in &self.kind {
            kind_counts[k as usize] += 1;
        }
        let mut pair_counts = vec![0usize; self.context.len()];
        for &c in &self.ctx {
            pair_counts[c as usize] += 1;
        }
        let mut context: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (id, &count) in pair_counts.iter().enumerate() {
            if let Some((key, value)) = self.context.pair(id as u32) {
                context
                    .entry(key.to_owned())
                    .or_default()
                    .insert(value.to_owned(), count);
            }
        }
        Summary {
            events: self.len(),
            raw_ids: self.customers.len(),
            customers: identities.len(),
            items: self.items.len(),
            links: self.links.len(),
            linked_ids: self.customers.len() - identities.len(),
            first_timestamp: self.timestamp.iter().min().copied(),
            last_timestamp: self.timestamp.iter().max().copied(),
            kinds: self
                .kinds
                .specs()
                .iter()
                .zip(kind_counts)
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| (s.name.clone(), n))
                .collect(),
            context,
        }
    }

    /// Appends an event whose ids are already interned: the synthetic generator's fast path.
    pub(crate) fn push_interned(
        &mut self,
        customer: u32,
        item: u32,
        kind: u8,
        timestamp: i64,
        value: f32,
        context: &[u32],
    ) {
        debug_assert!((customer as usize) < self.customers.len());
        debug_assert!((item as usize) < self.items.len());
        debug_assert!(self.kinds.spec(kind).is_some());
        debug_assert!(parse::check_timestamp(timestamp).is_ok());
        self.customer.push(customer);
        self.item.push(item);
        self.kind.push(kind);
        self.timestamp.push(timestamp);
        self.value.push(value);
        self.ctx.extend_from_slice(context);
        self.ctx_start.push(self.ctx.len() as u32);
    }

    pub(crate) fn intern_customer(&mut self, id: &str) -> u32 {
        self.customers.intern(id)
    }

    pub(crate) fn intern_item(&mut self, id: &str) -> u32 {
        self.items.intern(id)
    }

    pub(crate) fn intern_context(&mut self, key: &str, value: &str) -> u32 {
        self.context.intern(key, value)
    }

    /// Validates a row completely, then appends it; a bad row changes nothing.
    fn push_row(
        &mut self,
        location: Location,
        row: &Row<'_>,
        schema: &Schema,
    ) -> Result<(), BadRow> {
        let mut cells = Cells {
            customer: Cell::Text(&row.customer),
            item: Cell::Text(&row.item),
            kind: Cell::Text(&row.kind),
            timestamp: row.timestamp,
            value: row.value,
            context: (row.context.iter())
                .map(|(k, v)| (k.as_ref(), Cell::Text(v.as_ref())))
                .collect(),
        };
        self.push_cells(location, &mut cells, schema).map(drop)
    }

    /// [`EventLog::push_row`] for a row some of whose fields are already
    /// resolved ids. Returns the ids the row resolved to; each context value
    /// that was interned is replaced by its pair id in `cells`.
    fn push_cells(
        &mut self,
        location: Location,
        cells: &mut Cells<'_>,
        schema: &Schema,
    ) -> Result<Pushed, BadRow> {
        let bad = |field: &str, problem| BadRow::new(location, field, problem);
        let customer = cells.customer.checked(location, &schema.customer)?;
        let item = cells.item.checked(location, &schema.item)?;
        let kind = match cells.kind.checked(location, &schema.kind)? {
            Ok(kind) => kind as u8,
            Err(name) => self
                .kinds
                .id(name)
                .ok_or_else(|| bad(&schema.kind, Problem::UnknownKind(name.to_owned())))?,
        };
        parse::check_timestamp(cells.timestamp).map_err(|p| bad(&schema.timestamp, p))?;
        let value = stored_value(cells.value, self.kinds.scales_by_value(kind))
            .map_err(|p| bad(&schema.value, p))?;
        for (key, _) in &cells.context {
            if key.trim().is_empty() {
                return Err(bad(
                    "context",
                    Problem::Malformed("empty context key".into()),
                ));
            }
        }
        let customer = customer.unwrap_or_else(|name| self.customers.intern(name));
        let item = item.unwrap_or_else(|name| self.items.intern(name));
        self.customer.push(customer);
        self.item.push(item);
        self.kind.push(kind);
        self.timestamp.push(cells.timestamp);
        self.value.push(value);
        for (key, value) in &mut cells.context {
            match *value {
                Cell::Id(pair) => self.ctx.push(pair),
                Cell::Text(text) => {
                    let text = text.trim();
                    if !text.is_empty() {
                        let pair = self.context.intern(key.trim(), text);
                        self.ctx.push(pair);
                        *value = Cell::Id(pair);
                    }
                }
            }
        }
        self.ctx_start.push(self.ctx.len() as u32);
        Ok(Pushed {
            customer,
            item,
            kind,
        })
    }

    /// Stores a row [`Known::row`] found complete.
    fn push_known(&mut self, row: KnownRow, context: &[u32]) {
        self.customer.push(row.customer);
        self.item.push(row.item);
        self.kind.push(row.kind);
        self.timestamp.push(row.timestamp);
        self.value.push(row.value);
        self.ctx.extend_from_slice(context);
        self.ctx_start.push(self.ctx.len() as u32);
    }

    /// Stores the rows `rows` of `ready` (all ready), a column at a time.
    fn push_ready(&mut self, ready: &Ready, rows: std::ops::Range<usize>) {
        self.customer
            .extend_from_slice(&ready.customer[rows.clone()]);
        self.item.extend_from_slice(&ready.item[rows.clone()]);
        self.kind.extend_from_slice(&ready.kind[rows.clone()]);
        self.timestamp
            .extend_from_slice(&ready.timestamp[rows.clone()]);
        self.value.extend_from_slice(&ready.value[rows.clone()]);
        let width = ready.width;
        for slots in ready.context[rows.start * width..rows.end * width].chunks_exact(width) {
            let present = slots.iter().take_while(|&&pair| pair != Known::UNSET);
            self.ctx.extend(present);
            self.ctx_start.push(self.ctx.len() as u32);
        }
    }

    fn mark(&self) -> Mark {
        Mark {
            events: self.len(),
            context: self.ctx.len(),
            customers: self.customers.len(),
            items: self.items.len(),
            ctx_keys: self.context.keys.len(),
            ctx_pairs: self.context.pairs.len(),
        }
    }

    fn rollback(&mut self, mark: &Mark) {
        self.customer.truncate(mark.events);
        self.item.truncate(mark.events);
        self.kind.truncate(mark.events);
        self.timestamp.truncate(mark.events);
        self.value.truncate(mark.events);
        self.ctx_start.truncate(mark.events + 1);
        self.ctx.truncate(mark.context);
        self.customers.truncate(mark.customers);
        self.items.truncate(mark.items);
        self.context.keys.truncate(mark.ctx_keys);
        self.context.pairs.truncate(mark.ctx_pairs);
        self.context.key_of.truncate(mark.ctx_pairs);
    }
}

/// Opens a file for reading; a directory is an I/O error here, not a malformed record later.
fn open(path: &Path) -> Result<std::fs::File> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    Ok(file)
}

/// Feeds the rows of one column chunk to a batch; rows are numbered from `offset`.
fn feed_columns<'a>(
    batch: &mut Batch<'_>,
    columns: &Columns<'a>,
    offset: usize,
    schema: &Schema,
) -> Result<()> {
    let n = columns.customer.len();
    let check = |name: &str, got: usize| {
        if got == n {
            Ok(())
        } else {
            Err(Error::LengthMismatch {
                name: name.to_owned(),
                expected: n,
                got,
            })
        }
    };
    check(&schema.item, columns.item.len())?;
    check(&schema.kind, columns.kind.len())?;
    check(&schema.timestamp, columns.timestamp.len())?;
    if let Some(values) = columns.value {
        check(&schema.value, values.len())?;
    }
    for (key, values) in columns.context {
        check(key, values.len())?;
    }
    let log = &batch.log;
    let mut customers = Known::interned(&columns.customer, &log.customers);
    let mut items = Known::interned(&columns.item, &log.items);
    let mut kinds = Known::looked_up(&columns.kind, |_, kind| log.kinds.id(kind).map(u32::from));
    let mut pairs: Vec<Known> = (columns.context.iter())
        .map(|(key, c)| {
            let key = key.trim();
            Known::looked_up(c, |scratch, value| {
                (!value.is_empty()).then(|| log.context.find(key, value, scratch))?
            })
        })
        .collect();
    let mut context = Vec::with_capacity(columns.context.len());
    // Which context column each entry of `context` came from.
    let mut present = Vec::with_capacity(columns.context.len());
    // A blank context key is a bad row wherever it has a value: such chunks
    // take the full path.
    let fast = columns
        .context
        .iter()
        .all(|(key, _)| !key.trim().is_empty());
    let mut fast_context = Vec::with_capacity(columns.context.len());
    let mut ready = std::mem::take(&mut batch.ready);
    // Ready rows are found a window at a time, so a large chunk (a Rust
    // caller's whole frame) does not need their columns all at once.
    let mut window = 0..0;
    // Rows before this one went in as part of a run of ready rows.
    let mut stored_to = 0;
    for i in 0..n {
        if i == window.end {
            window = i..(i + Ready::WINDOW).min(n);
            if fast {
                let registry = &batch.log.kinds;
                ready.find(
                    columns,
                    window.clone(),
                    &customers,
                    &items,
                    &kinds,
                    &pairs,
                    registry,
                );
            } else {
                ready.none(window.len());
            }
        }
        if i < stored_to {
            continue;
        }
        if ready.ok[i - window.start] {
            stored_to = (i..window.end)
                .find(|&j| !ready.ok[j - window.start])
                .unwrap_or(window.end);
            batch
                .log
                .push_ready(&ready, i - window.start..stored_to - window.start);
            batch.report.accepted += stored_to - i;
            continue;
        }
        // Not ready before the loop, but a code this chunk resolved may
        // have completed it since.
        if fast {
            let known = Known::row(
                columns,
                i,
                &customers,
                &items,
                &kinds,
                &pairs,
                &batch.log.kinds,
                &mut fast_context,
            );
            if let Some(row) = known {
                batch.log.push_known(row, &fast_context);
                batch.report.accepted += 1;
                continue;
            }
        }
        let location = Location::Index(offset + i);
        let timestamp = match columns.timestamp {
            TimeColumn::Seconds(s) => parse::seconds(s[i]),
            TimeColumn::Text(s) => parse::parse_timestamp(&s[i]),
        };
        let value = match columns.value {
            None => Ok(None),
            Some(ValueColumn::Numbers(v)) => Ok(v[i]),
            Some(ValueColumn::Floats(v)) => Ok(Some(v[i])),
            Some(ValueColumn::Text(v)) => v[i].as_deref().map_or(Ok(None), parse::number),
        };
        let row = (|| {
            let cell = |column: &TextColumn<'a>, ids: &Known, field: &str| {
                if let Some(id) = ids.get(column, i) {
                    return Ok(Some(Cell::Id(id)));
                }
                let text = column.get(i).map_err(|p| BadRow::new(location, field, p))?;
                Ok::<_, BadRow>(text.map(Cell::Text))
            };
            let id =
                |column, ids, field| cell(column, ids, field).map(|c| c.unwrap_or(Cell::Text("")));
            let customer = id(&columns.customer, &customers, &schema.customer)?;
            let item = id(&columns.item, &items, &schema.item)?;
            let kind = id(&columns.kind, &kinds, &schema.kind)?;
            let timestamp = timestamp.map_err(|p| BadRow::new(location, &schema.timestamp, p))?;
            let value = value.map_err(|p| BadRow::new(location, &schema.value, p))?;
            let mut context = std::mem::take(&mut context);
            context.clear();
            present.clear();
            for (j, ((key, column), ids)) in columns.context.iter().zip(&pairs).enumerate() {
                if let Some(value) = cell(column, ids, key)? {
                    context.push((key.as_str(), value));
                    present.push(j);
                }
            }
            Ok(Cells {
                customer,
                item,
                kind,
                timestamp,
                value,
                context,
            })
        })();
        let mut cells = match row {
            Ok(cells) => cells,
            Err(bad) => {
                batch.push(|_| Err::<(), _>(bad))?;
                continue;
            }
        };
        if let Some(pushed) = batch.push(|log| log.push_cells(location, &mut cells, schema))? {
            customers.set(&columns.customer, i, pushed.customer);
            items.set(&columns.item, i, pushed.item);
            kinds.set(&columns.kind, i, u32::from(pushed.kind));
            for (&j, (_, value)) in present.iter().zip(&cells.context) {
                if let Cell::Id(pair) = *value {
                    pairs[j].set(&columns.context[j].1, i, pair);
                }
            }
        }
        context = cells.context;
    }
    batch.ready = ready;
    Ok(())
}

/// A row's value as the log stores it (NaN: none). A frame's float column
/// has NaN where a row has no value; a kind whose weight ignores the value
/// takes it as such. A kind weighted by its value (a rating) still rejects
/// it, and every kind rejects infinities: its weight would be a guess.
fn stored_value(value: Option<f64>, scales_by_value: bool) -> Result<f32, Problem> {
    match value {
        Some(v) if v.is_nan() && !scales_by_value => Ok(f32::NAN),
        Some(v) if !v.is_finite() || !(v as f32).is_finite() => {
            Err(Problem::NotFinite(v.to_string()))
        }
        Some(v) => Ok(v as f32),
        None => Ok(f32::NAN),
    }
}

/// A row whose ids are all interned already ([`Known::row`]).
struct KnownRow {
    customer: u32,
    item: u32,
    kind: u8,
    timestamp: i64,
    value: f32,
}

/// The rows of a chunk that [`Known::row`] finds complete, column by column.
/// They are found in parallel before any row is stored (the check reads
/// only what the log held before the chunk), and a run of them is then
/// appended a column at a time instead of a row at a time. Kept by the
/// batch so each chunk reuses the memory.
#[derive(Debug, Default)]
struct Ready {
    ok: Vec<bool>,
    customer: Vec<u32>,
    item: Vec<u32>,
    kind: Vec<u8>,
    timestamp: Vec<i64>,
    value: Vec<f32>,
    /// `width` slots per row: its context pair ids, then `Known::UNSET`.
    context: Vec<u32>,
    width: usize,
}

impl Ready {
    /// Rows looked at together (their columns take ~26 bytes a row).
    const WINDOW: usize = 1 << 16;

    /// No row ready: every one takes the row path.
    fn none(&mut self, rows: usize) {
        self.ok.clear();
        self.ok.resize(rows, false);
    }

    /// Finds which of the chunk's rows `rows` are ready (`ok[j]` for row
    /// `rows.start + j`).
    #[allow(clippy::too_many_arguments)]
    fn find(
        &mut self,
        columns: &Columns<'_>,
        rows: std::ops::Range<usize>,
        customers: &Known,
        items: &Known,
        kinds: &Known,
        pairs: &[Known],
        registry: &EventKinds,
    ) {
        use rayon::prelude::*;
        let n = rows.len();
        // At least one slot, so the context blocks line up with the others.
        let width = columns.context.len().max(1);
        self.width = width;
        self.none(n);
        self.customer.resize(n, 0);
        self.item.resize(n, 0);
        self.kind.resize(n, 0);
        self.timestamp.resize(n, 0);
        self.value.resize(n, 0.0);
        self.context.resize(n * width, Known::UNSET);
        let per = Known::ROWS;
        let blocks = (
            self.ok.par_chunks_mut(per),
            self.customer.par_chunks_mut(per),
            self.item.par_chunks_mut(per),
            self.kind.par_chunks_mut(per),
            self.timestamp.par_chunks_mut(per),
            self.value.par_chunks_mut(per),
            self.context.par_chunks_mut(per * width),
        );
        (blocks.into_par_iter().enumerate()).for_each_init(Vec::new, |found, (b, block)| {
            let (ok, customer, item, kind, timestamp, value, context) = block;
            for j in 0..ok.len() {
                let i = rows.start + b * per + j;
                let row = Known::row(columns, i, customers, items, kinds, pairs, registry, found);
                ok[j] = row.is_some();
                if let Some(row) = row {
                    customer[j] = row.customer;
                    item[j] = row.item;
                    kind[j] = row.kind;
                    timestamp[j] = row.timestamp;
                    value[j] = row.value;
                    let slots = &mut context[j * width..(j + 1) * width];
                    slots[..found.len()].copy_from_slice(found);
                    slots[found.len()..].fill(Known::UNSET);
                }
            }
        });
    }
}

/// One field of a row on its way into the log: text still to be checked
/// and interned, or the id a row with the same dictionary code resolved.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Text(&'a str),
    Id(u32),
}

impl<'a> Cell<'a> {
    /// An id as it is, or text trimmed (`Err`, to intern); empty text is a
    /// bad row. An id was checked when a row first resolved it.
    fn checked(self, location: Location, field: &str) -> Result<Result<u32, &'a str>, BadRow> {
        match self {
            Cell::Id(id) => Ok(Ok(id)),
            Cell::Text(text) => match text.trim() {
                "" => Err(BadRow::new(location, field, Problem::Empty)),
                text => Ok(Err(text)),
            },
        }
    }
}

/// A row's fields as [`EventLog::push_cells`] takes them.
struct Cells<'a> {
    customer: Cell<'a>,
    item: Cell<'a>,
    kind: Cell<'a>,
    timestamp: i64,
    value: Option<f64>,
    /// (key, value) for each present context value.
    context: Vec<(&'a str, Cell<'a>)>,
}

/// The ids a pushed row resolved to.
struct Pushed {
    customer: u32,
    item: u32,
    kind: u8,
}

/// Ids already resolved for one text column of a chunk, so most rows skip
/// checking and looking up their string.
enum Known {
    /// A dictionary-coded column: the id each code's string already had
    /// before the chunk, or resolved to once a row holding it was accepted
    /// (the same string always resolves the same way), so each distinct
    /// string is looked up once per chunk.
    Codes(Vec<u32>),
    /// One string per row: the id each row's string already had before the
    /// chunk (customer, item, kind or context pair). These lookups are
    /// independent of each other, so they run in parallel and overlap their
    /// cache misses, which the push loop (that may intern as it goes)
    /// cannot; with hundreds of thousands of ids, those misses were most of
    /// a row's cost.
    Rows(Vec<u32>),
}

impl Known {
    const UNSET: u32 = u32::MAX;
    /// Rows per parallel task.
    const ROWS: usize = 4096;

    /// One id per row, or for a dictionary column one per distinct value,
    /// `fill`ed (given the rows' column) a block at a time in parallel, each
    /// thread with its own `scratch`.
    fn by_blocks<'a, S>(
        column: &TextColumn<'a>,
        scratch: impl Fn() -> S + Sync + Send,
        fill: impl Fn(&mut S, &TextColumn<'a>, usize, &mut [u32]) + Sync + Send,
    ) -> Self {
        use rayon::prelude::*;
        let each = |rows: &TextColumn<'a>| {
            let mut known = vec![Self::UNSET; rows.len()];
            (known.par_chunks_mut(Self::ROWS).enumerate())
                .for_each_init(&scratch, |s, (c, part)| fill(s, rows, c * Self::ROWS, part));
            known
        };
        match column {
            TextColumn::Coded { values, .. } => Known::Codes(each(&TextColumn::Plain(values))),
            rows => Known::Rows(each(rows)),
        }
    }

    /// Each row's id as `lookup` finds its trimmed string (given a scratch
    /// buffer of its thread). Bad or missing cells stay unset: the push
    /// loop reports them.
    fn looked_up(
        column: &TextColumn<'_>,
        lookup: impl Fn(&mut String, &str) -> Option<u32> + Sync + Send,
    ) -> Self {
        Self::by_blocks(column, String::new, |scratch, column, start, part| {
            for (j, slot) in part.iter_mut().enumerate() {
                if let Ok(Some(text)) = column.get(start + j) {
                    *slot = lookup(scratch, trim(text)).unwrap_or(Self::UNSET);
                }
            }
        })
    }

    /// [`Known::looked_up`] in `ids`, a block of rows at a time
    /// ([`Interner::get_many`]: the table's cache misses overlap).
    fn interned(column: &TextColumn<'_>, ids: &Interner) -> Self {
        Self::by_blocks(column, Vec::new, |names, column, start, part| {
            names.clear();
            column.trimmed(start..start + part.len(), names);
            ids.get_many(names, part, Self::UNSET);
        })
    }

    /// Row `i` when everything in it is known and valid, as
    /// [`EventLog::push_cells`] would store it: ids already interned, epoch
    /// seconds in range, a valid value, and each context cell a known pair
    /// or missing (the pairs go to `context`). Otherwise `None`, and the row
    /// takes the full path, which interns, reports or rejects it; so the log
    /// is the same either way, only faster for the rows seen before.
    #[allow(clippy::too_many_arguments)]
    fn row(
        columns: &Columns<'_>,
        i: usize,
        customers: &Known,
        items: &Known,
        kinds: &Known,
        pairs: &[Known],
        registry: &EventKinds,
        context: &mut Vec<u32>,
    ) -> Option<KnownRow> {
        let customer = customers.get(&columns.customer, i)?;
        let item = items.get(&columns.item, i)?;
        let kind = u8::try_from(kinds.get(&columns.kind, i)?).ok()?;
        let TimeColumn::Seconds(seconds) = columns.timestamp else {
            return None;
        };
        let timestamp = parse::seconds(seconds[i]).ok()?;
        parse::check_timestamp(timestamp).ok()?;
        let value = match columns.value {
            None => f32::NAN,
            Some(ValueColumn::Numbers(v)) => {
                stored_value(v[i], registry.scales_by_value(kind)).ok()?
            }
            Some(ValueColumn::Floats(v)) => {
                stored_value(Some(v[i]), registry.scales_by_value(kind)).ok()?
            }
            Some(ValueColumn::Text(_)) => return None,
        };
        context.clear();
        for ((_, column), ids) in columns.context.iter().zip(pairs) {
            match ids.get(column, i) {
                Some(pair) => context.push(pair),
                None if matches!(column.get(i), Ok(None)) => {}
                None => return None,
            }
        }
        Some(KnownRow {
            customer,
            item,
            kind,
            timestamp,
            value,
        })
    }

    fn get(&self, column: &TextColumn<'_>, i: usize) -> Option<u32> {
        let id = match self {
            Known::Codes(ids) => *ids.get(column.code(i)?)?,
            Known::Rows(ids) => ids[i],
        };
        (id != Self::UNSET).then_some(id)
    }

    /// Remembers the id row `i`'s string resolved to, for later rows with
    /// the same code.
    fn set(&mut self, column: &TextColumn<'_>, i: usize, id: u32) {
        if let Known::Codes(ids) = self {
            if let Some(slot) = column.code(i).and_then(|c| ids.get_mut(c)) {
                *slot = id;
            }
        }
    }
}

/// One ingestion batch: remembers where the log stood so a rejected batch can be undone.
struct Batch<'l> {
    log: &'l mut EventLog,
    mark: Mark,
    options: &'l IngestOptions,
    report: IngestReport,
    ready: Ready,
}

impl<'l> Batch<'l> {
    fn begin(log: &'l mut EventLog, options: &'l IngestOptions) -> Self {
        let mark = log.mark();
        Batch {
            log,
            mark,
            options,
            report: IngestReport::default(),
            ready: Ready::default(),
        }
    }

    /// Takes one parsed row (or its parse error). Rejects the batch, undoing it, or
    /// skips and reports the row, as the options say.
    fn row(
        &mut self,
        location: Location,
        row: Result<Row<'_>, BadRow>,
        schema: &Schema,
    ) -> Result<()> {
        self.push(|log| row.and_then(|row| log.push_row(location, &row, schema)))
            .map(drop)
    }

    /// Runs `push` on the log: `Some` of what it returns when the row went
    /// in, `None` when it was bad and skipped; a bad row that rejects the
    /// batch undoes it and is the error.
    fn push<T>(
        &mut self,
        push: impl FnOnce(&mut EventLog) -> Result<T, BadRow>,
    ) -> Result<Option<T>> {
        match push(self.log) {
            Ok(pushed) => {
                self.report.accepted += 1;
                Ok(Some(pushed))
            }
            Err(bad) if self.options.on_bad_row == OnBadRow::Skip => {
                self.report.skipped += 1;
                *self
                    .report
                    .skipped_by_field
                    .entry(bad.field.clone())
                    .or_default() += 1;
                if self.report.first_skipped.len() < self.options.max_reported {
                    self.report.first_skipped.push(bad);
                }
                Ok(None)
            }
            Err(bad) => {
                self.log.rollback(&self.mark);
                Err(bad.into())
            }
        }
    }

    fn abort(self, error: Error) -> Error {
        self.log.rollback(&self.mark);
        error
    }

    fn finish(self) -> IngestReport {
        self.report
    }
}

/// A whole log as bytes and back, for copies between processes (Python's
/// pickle, a worker pool). The bytes are an artifact container (see
/// [`crate::artifact`]: magic, version, CRC-32) with the log's columns and
/// interners as sections, about the log's own size; reading checks every
/// index and length before building the log, so foreign or damaged bytes are
/// an [`Error::Artifact`], never a panic.
impl EventLog {
    /// The log as bytes ([`EventLog::from_bytes`] reads them back).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        use crate::artifact::{ArtifactWriter, Encoder, Flavour};
        let split = |times: &mut dyn Iterator<Item = i64>| -> Vec<u32> {
            times
                .flat_map(|t| [t as u64 as u32, (t as u64 >> 32) as u32])
                .collect()
        };
        let mut kinds = Encoder::new();
        let specs = self.kinds.specs();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let weights: Vec<f32> = specs.iter().map(|s| s.weight).collect();
        let scaled: Vec<u32> = specs.iter().map(|s| u32::from(s.scale_by_value)).collect();
        kinds.put_strs(&names).put_f32s(&weights).put_u32s(&scaled);
        let mut ids = Encoder::new();
        ids.put_strs(self.customers.names())
            .put_strs(self.items.names())
            .put_strs(self.context.keys.names())
            .put_strs(self.context.pairs.names())
            .put_u32s(&self.context.key_of);
        let mut events = Encoder::new();
        events
            .put_u32s(&self.customer)
            .put_u32s(&self.item)
            .put_bytes(&self.kind)
            .put_u32s(&split(&mut self.timestamp.iter().copied()))
            .put_f32s(&self.value)
            .put_u32s(&self.ctx_start)
            .put_u32s(&self.ctx);
        let mut links = Encoder::new();
        let alias: Vec<u32> = self.links.iter().map(|l| l.alias).collect();
        let customer: Vec<u32> = self.links.iter().map(|l| l.customer).collect();
        links
            .put_u32s(&alias)
            .put_u32s(&customer)
            .put_u32s(&split(&mut self.links.iter().map(|l| l.timestamp)));
        ArtifactWriter::new(Flavour::Full)
            .section(*b"LKND", kinds.into_bytes())
            .section(*b"LIDS", ids.into_bytes())
            .section(*b"LEVT", events.into_bytes())
            .section(*b"LLNK", links.into_bytes())
            .to_bytes()
    }

    /// Reads bytes from [`EventLog::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<EventLog> {
        use crate::artifact::Artifact;
        let artifact = Artifact::from_bytes(bytes)?;
        let join = |halves: Vec<u32>| -> Vec<i64> {
            halves
                .chunks_exact(2)
                .map(|p| (u64::from(p[0]) | (u64::from(p[1]) << 32)) as i64)
                .collect()
        };
        let interner = |names: Vec<String>, d: &crate::artifact::Decoder<'_>| {
            let mut out = Interner::new();
            for name in &names {
                out.intern(name);
            }
            if out.len() == names.len() {
                Ok(out)
            } else {
                Err(d.invalid("duplicate ids"))
            }
        };

        let mut d = artifact.decoder(*b"LKND")?;
        let (names, weights, scaled) = (d.get_strs()?, d.get_f32s()?, d.get_u32s()?);
        if names.len() != weights.len() || names.len() != scaled.len() {
            return Err(d.invalid("kind tables disagree"));
        }
        let mut kinds = EventKinds::empty();
        for ((name, weight), scale) in names.iter().zip(weights).zip(scaled) {
            kinds = match scale {
                0 => kinds.with(name, weight),
                _ => kinds.with_scaled(name, weight),
            }
            .map_err(|e| d.invalid(e.to_string()))?;
        }
        if kinds.specs().len() != names.len() {
            return Err(d.invalid("duplicate kinds"));
        }
        d.finish()?;

        let mut d = artifact.decoder(*b"LIDS")?;
        let customers = interner(d.get_strs()?, &d)?;
        let items = interner(d.get_strs()?, &d)?;
        let keys = interner(d.get_strs()?, &d)?;
        let pairs = interner(d.get_strs()?, &d)?;
        let key_of = d.get_u32s()?;
        let pairs_ok = key_of.len() == pairs.len()
            && key_of.iter().enumerate().all(|(p, &k)| {
                keys.name(k).is_some_and(|key| {
                    pairs.names()[p]
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.starts_with('='))
                })
            });
        if !pairs_ok {
            return Err(d.invalid("context pairs do not match their keys"));
        }
        d.finish()?;

        let mut d = artifact.decoder(*b"LEVT")?;
        let customer = d.get_u32s()?;
        let item = d.get_u32s()?;
        let kind = d.get_bytes()?.to_vec();
        let timestamp = d.get_u32s()?;
        let value = d.get_f32s()?;
        let ctx_start = d.get_u32s()?;
        let ctx = d.get_u32s()?;
        let n = customer.len();
        let consistent = item.len() == n
            && kind.len() == n
            && timestamp.len() == 2 * n
            && value.len() == n
            && ctx_start.len() == n + 1
            && ctx_start.first() == Some(&0)
            && ctx_start.windows(2).all(|w| w[0] <= w[1])
            && ctx_start.last().map(|&c| c as usize) == Some(ctx.len())
            && customer.iter().all(|&c| (c as usize) < customers.len())
            && item.iter().all(|&i| (i as usize) < items.len())
            && kind.iter().all(|&k| (k as usize) < kinds.specs().len())
            && ctx.iter().all(|&p| (p as usize) < pairs.len())
            && value.iter().all(|v| v.is_nan() || v.is_finite());
        if !consistent {
            return Err(d.invalid("event columns disagree"));
        }
        d.finish()?;

        let mut d = artifact.decoder(*b"LLNK")?;
        let (alias, linked, times) = (d.get_u32s()?, d.get_u32s()?, d.get_u32s()?);
        let links_ok = alias.len() == linked.len()
            && times.len() == 2 * alias.len()
            && alias
                .iter()
                .chain(&linked)
                .all(|&c| (c as usize) < customers.len());
        if !links_ok {
            return Err(d.invalid("link columns disagree"));
        }
        d.finish()?;
        let links = alias
            .into_iter()
            .zip(linked)
            .zip(join(times))
            .map(|((alias, customer), timestamp)| Link {
                alias,
                customer,
                timestamp,
            })
            .collect();

        Ok(EventLog {
            kinds,
            customers,
            items,
            context: ContextVocab {
                keys,
                pairs,
                key_of,
                scratch: String::new(),
            },
            customer,
            item,
            kind,
            timestamp: join(timestamp),
            value,
            ctx_start,
            ctx,
            links,
        })
    }
}
