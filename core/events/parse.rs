//! Text formats: CSV columns, JSON objects and timestamps.

use super::log::Row;
use crate::error::{BadRow, Error, Location, Problem, Result};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::io::Read;

/// Field names of an event in CSV headers, JSON keys and data-frame columns.
///
/// Defaults: `customer_id`, `item_id`, `kind`, `timestamp`, `value`. With
/// `context: None` (the default), every other column or key is context; set
/// `context` to name the context columns explicitly (others are then ignored).
/// In JSON, a `context` object is read as context as well.
///
/// ```
/// use maitre::events::Schema;
/// let schema = Schema::default().customer("user").item("sku").context(["channel"]);
/// assert_eq!(schema.customer, "user");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Schema {
    pub customer: String,
    pub item: String,
    pub kind: String,
    pub timestamp: String,
    pub value: String,
    pub context: Option<Vec<String>>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            customer: "customer_id".into(),
            item: "item_id".into(),
            kind: "kind".into(),
            timestamp: "timestamp".into(),
            value: "value".into(),
            context: None,
        }
    }
}

impl Schema {
    /// Renames the customer column.
    #[must_use]
    pub fn customer(mut self, name: impl Into<String>) -> Self {
        self.customer = name.into();
        self
    }

    /// Renames the item column.
    #[must_use]
    pub fn item(mut self, name: impl Into<String>) -> Self {
        self.item = name.into();
        self
    }

    /// Renames the kind column.
    #[must_use]
    pub fn kind(mut self, name: impl Into<String>) -> Self {
        self.kind = name.into();
        self
    }

    /// Renames the timestamp column.
    #[must_use]
    pub fn timestamp(mut self, name: impl Into<String>) -> Self {
        self.timestamp = name.into();
        self
    }

    /// Renames the value column.
    #[must_use]
    pub fn value(mut self, name: impl Into<String>) -> Self {
        self.value = name.into();
        self
    }

    /// Names the context columns explicitly.
    #[must_use]
    pub fn context<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.context = Some(names.into_iter().map(Into::into).collect());
        self
    }

    fn is_core(&self, name: &str) -> bool {
        [
            &self.customer,
            &self.item,
            &self.kind,
            &self.timestamp,
            &self.value,
        ]
        .iter()
        .any(|c| c.as_str() == name)
    }

    fn is_context(&self, name: &str) -> bool {
        match &self.context {
            Some(names) => names.iter().any(|c| c == name),
            None => !self.is_core(name),
        }
    }
}

/// The earliest accepted timestamp: 1970-01-01T00:00:00Z (epoch second 0).
pub const MIN_TIMESTAMP: i64 = 0;
/// The latest accepted timestamp: 2100-01-01T00:00:00Z.
pub const MAX_TIMESTAMP: i64 = 4_102_444_800;

/// Checks that epoch seconds lie in the accepted range,
/// [`MIN_TIMESTAMP`]`..=`[`MAX_TIMESTAMP`] (1970-01-01 to 2100-01-01).
///
/// Why a fixed range and not unit detection: one event in milliseconds among
/// second-stamped events reads as the year 56,000; with a recency half-life
/// every other event then decays to weight 0 and the model is silently
/// useless. Guessing the unit from the magnitude is ambiguous (a millisecond
/// stamp from January 1970 is a plausible second stamp), so a value outside the
/// range is rejected with a [`Problem::TimestampOutOfRange`] whose message says
/// which unit it looks like. The range also bounds all time arithmetic: the
/// difference of two accepted timestamps is far from `i64` overflow.
///
/// ```
/// use maitre::events::check_timestamp;
/// assert_eq!(check_timestamp(1_714_564_800), Ok(1_714_564_800));
/// let ms = check_timestamp(1_714_564_800_000).unwrap_err();
/// assert!(ms.to_string().contains("milliseconds"), "{ms}");
/// assert!(check_timestamp(-1).is_err());
/// ```
pub fn check_timestamp(seconds: i64) -> Result<i64, Problem> {
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(Problem::TimestampOutOfRange(seconds))
    }
}

/// Parses a timestamp: Unix epoch seconds (integer, or a float whose fraction
/// is dropped) or RFC 3339 (`2024-05-01T12:00:00Z`, `2024-05-01T14:00:00+02:00`).
///
/// ```
/// use maitre::events::parse_timestamp;
/// assert_eq!(parse_timestamp("1714564800"), Ok(1714564800));
/// assert_eq!(parse_timestamp("881250949.0"), Ok(881250949));
/// assert_eq!(parse_timestamp("2024-05-01T12:00:00Z"), Ok(1714564800));
/// assert!(parse_timestamp("yesterday").is_err());
/// assert!(parse_timestamp("NaN").is_err());
/// ```
pub fn parse_timestamp(text: &str) -> Result<i64, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::Empty);
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_checked(seconds).ok_or_else(|| Problem::BadTimestamp(text.to_owned()));
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| Problem::BadTimestamp(text.to_owned()))
}

fn seconds_checked(seconds: f64) -> Option<i64> {
    // i64 seconds span far beyond any real date; the bound keeps the cast exact.
    (seconds.is_finite() && seconds.abs() < 1e15).then(|| seconds.trunc() as i64)
}

/// Epoch seconds from a float column.
pub(crate) fn seconds(seconds: f64) -> Result<i64, Problem> {
    seconds_checked(seconds).ok_or_else(|| Problem::BadTimestamp(seconds.to_string()))
}

pub(crate) fn number(text: &str) -> Result<Option<f64>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err(Problem::NotFinite(text.to_owned())),
        Err(_) => Err(Problem::NotANumber(text.to_owned())),
    }
}

pub(crate) fn csv_problem(e: &csv::Error) -> Problem {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Problem::Malformed(format!("{len} fields where the header has {expected_len}")),
        csv::ErrorKind::Utf8 { .. } => Problem::Malformed("not valid UTF-8".into()),
        _ => Problem::Malformed(e.to_string()),
    }
}

/// Column positions of a CSV file, read from its header.
pub(crate) struct CsvLayout {
    customer: usize,
    item: usize,
    kind: usize,
    timestamp: usize,
    value: Option<usize>,
    context: Vec<(usize, String)>,
    names: Vec<String>,
}

impl CsvLayout {
    /// A bad record, named by the field at fault: a short row names the
    /// header's first column it lacks (`timestamp` is missing), a long one the
    /// position of its first extra field (`column 5`), invalid UTF-8 its
    /// column; other errors name the whole `record`.
    pub fn bad_record(&self, e: &csv::Error, location: Location) -> BadRow {
        match e.kind() {
            csv::ErrorKind::UnequalLengths { len, .. } => {
                let len = *len as usize;
                match self.names.get(len) {
                    Some(missing) => BadRow::new(location, missing.as_str(), Problem::Missing),
                    None => BadRow::new(
                        location,
                        format!("column {}", self.names.len() + 1),
                        Problem::Malformed(format!(
                            "{len} fields where the header has {}",
                            self.names.len()
                        )),
                    ),
                }
            }
            csv::ErrorKind::Utf8 { err, .. } => {
                let field = self
                    .names
                    .get(err.field())
                    .cloned()
                    .unwrap_or_else(|| format!("column {}", err.field() + 1));
                BadRow::new(location, field, csv_problem(e))
            }
            _ => BadRow::new(location, "record", csv_problem(e)),
        }
    }

    pub fn new<R: Read>(csv: &mut csv::Reader<R>, schema: &Schema) -> Result<Self> {
        let headers = csv
            .headers()
            .map_err(|e| BadRow::new(Location::Line(1), "header", csv_problem(&e)))?
            .clone();
        let names: Vec<String> = headers.iter().map(str::to_owned).collect();
        let find = |name: &str| names.iter().position(|h| h == name);
        let require = |name: &str| {
            find(name).ok_or_else(|| Error::MissingColumn {
                column: name.to_owned(),
                present: names.join(", "),
            })
        };
        Ok(CsvLayout {
            customer: require(&schema.customer)?,
            item: require(&schema.item)?,
            kind: require(&schema.kind)?,
            timestamp: require(&schema.timestamp)?,
            value: find(&schema.value),
            context: names
                .iter()
                .enumerate()
                .filter(|(_, n)| schema.is_context(n))
                .map(|(i, n)| (i, n.clone()))
                .collect(),
            names,
        })
    }

    pub fn row<'r>(
        &'r self,
        record: &'r csv::StringRecord,
        location: Location,
    ) -> Result<Row<'r>, BadRow> {
        let get = |i: usize| record.get(i).unwrap_or("");
        let bad = |i: usize, p| BadRow::new(location, &self.names[i], p);
        let timestamp = parse_timestamp(get(self.timestamp)).map_err(|p| bad(self.timestamp, p))?;
        let value = match self.value {
            Some(i) => number(get(i)).map_err(|p| bad(i, p))?,
            None => None,
        };
        Ok(Row {
            customer: Cow::Borrowed(get(self.customer)),
            item: Cow::Borrowed(get(self.item)),
            kind: Cow::Borrowed(get(self.kind)),
            timestamp,
            value,
            context: self
                .context
                .iter()
                .map(|(i, name)| (Cow::Borrowed(name.as_str()), Cow::Borrowed(get(*i))))
                .collect(),
        })
    }
}

/// A JSON scalar as text: ids and context values may be strings, numbers or booleans.
fn scalar_text(value: &serde_json::Value) -> Option<Cow<'_, str>> {
    use serde_json::Value;
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// Reads one JSON object into a row. Ids may be strings or numbers; the
/// timestamp a number or a string; context comes from a `context` object and
/// from any other key (or only the schema's context keys, when named).
pub(crate) fn json_row<'v>(
    value: &'v serde_json::Value,
    schema: &Schema,
    location: Location,
) -> Result<Row<'v>, BadRow> {
    use serde_json::Value;
    let bad = |field: &str, p| BadRow::new(location, field, p);
    let object = value.as_object().ok_or_else(|| {
        bad(
            "record",
            Problem::Malformed("expected a JSON object".into()),
        )
    })?;
    let text = |field: &str| -> Result<Cow<'v, str>, BadRow> {
        match object.get(field) {
            None | Some(Value::Null) => Err(bad(field, Problem::Missing)),
            Some(v) => scalar_text(v).ok_or_else(|| {
                bad(
                    field,
                    Problem::Malformed(format!("expected a string, got {v}")),
                )
            }),
        }
    };
    let customer = text(&schema.customer)?;
    let item = text(&schema.item)?;
    let kind = text(&schema.kind)?;
    let timestamp = match object.get(&schema.timestamp) {
        None | Some(Value::Null) => return Err(bad(&schema.timestamp, Problem::Missing)),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().and_then(seconds_checked))
            .ok_or_else(|| bad(&schema.timestamp, Problem::BadTimestamp(n.to_string())))?,
        Some(Value::String(s)) => parse_timestamp(s).map_err(|p| bad(&schema.timestamp, p))?,
        Some(other) => {
            return Err(bad(
                &schema.timestamp,
                Problem::BadTimestamp(other.to_string()),
            ))
        }
    };
    let value = match object.get(&schema.value) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => number(s).map_err(|p| bad(&schema.value, p))?,
        Some(other) => return Err(bad(&schema.value, Problem::NotANumber(other.to_string()))),
    };
    let mut context = Vec::new();
    let mut add = |key: &'v str, v: &'v Value| -> Result<(), BadRow> {
        if v.is_null() {
            return Ok(());
        }
        let text = scalar_text(v).ok_or_else(|| {
            bad(
                &format!("context.{key}"),
                Problem::Malformed(format!("expected a string, got {v}")),
            )
        })?;
        context.push((Cow::Borrowed(key), text));
        Ok(())
    };
    if let Some(ctx) = object.get("context") {
        let ctx = ctx
            .as_object()
            .ok_or_else(|| bad("context", Problem::Malformed("expected an object".into())))?;
        for (k, v) in ctx {
            add(k, v)?;
        }
    }
    for (k, v) in object {
        if k != "context" && schema.is_context(k) {
            add(k, v)?;
        }
    }
    Ok(Row {
        customer,
        item,
        kind,
        timestamp,
        value,
        context,
    })
}
