//! Conversions at the boundary: JS values in, core errors and plain JS objects out.
//!
//! Depends on the core's public types only. No validation happens here beyond
//! what a conversion needs; a value that does not convert becomes the core's
//! own error type so every failure reaches JS the same way.

use maitre::error::{BadRow, Location};
use maitre::Error;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use std::fmt;
use wasm_bindgen::prelude::*;

/// A core error as a JS `Error`: the core's message, `kind`, and for a bad
/// record `field` plus `row` or `line`.
pub(crate) fn js_error(error: Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    let set = |key: &str, value: JsValue| {
        // Setting a data property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("kind", error.kind().into());
    match &error {
        Error::BadRecord(bad) => {
            set("field", bad.field.as_str().into());
            match bad.location {
                Location::Index(n) => set("row", (n as f64).into()),
                Location::Line(n) => set("line", (n as f64).into()),
            }
        }
        Error::Artifact { problem, .. } => set("problem", problem.code().into()),
        _ => {}
    }
    js.into()
}

/// A JS argument that does not have the expected shape, as the core's `InvalidParam`.
pub(crate) fn bad_argument(name: &str, reason: impl fmt::Display) -> JsValue {
    js_error(Error::InvalidParam {
        name: name.to_owned(),
        reason: reason.to_string(),
    })
}

/// Reads an options object; `undefined` or `null` give the defaults.
pub(crate) fn options<T: Default + for<'de> Deserialize<'de>>(
    name: &str,
    value: Option<JsValue>,
) -> Result<T, JsValue> {
    match value {
        // Through a JSON value: serde-wasm-bindgen reads only a struct's known
        // keys, and a misspelt option must not pass silently.
        Some(v) if !v.is_undefined() && !v.is_null() => {
            let JsJson(json) =
                serde_wasm_bindgen::from_value(v).map_err(|e| bad_argument(name, e))?;
            serde_json::from_value(json).map_err(|e| bad_argument(name, e))
        }
        _ => Ok(T::default()),
    }
}

/// A Rust value as a plain JS object (maps as objects, `None` as `null`).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(JsValue::from)
}

/// A JS array of event objects as JSON values for `EventLog::extend_json`.
///
/// JSON has no NaN or Infinity, and serde_json turns them into `null`, which
/// would make `value: NaN` look like "no value". They are kept as the strings
/// `"NaN"`, `"Infinity"`, `"-Infinity"` instead, so the core rejects them with
/// its usual message.
pub(crate) fn json_array(name: &str, value: JsValue) -> Result<Vec<serde_json::Value>, JsValue> {
    let rows: Vec<JsJson> = serde_wasm_bindgen::from_value(value).map_err(|e| {
        bad_argument(
            name,
            format_args!("expected an array of event objects ({e})"),
        )
    })?;
    Ok(rows.into_iter().map(|row| row.0).collect())
}

struct JsJson(serde_json::Value);

impl<'de> Deserialize<'de> for JsJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsJsonVisitor).map(JsJson)
    }
}

struct JsJsonVisitor;

impl<'de> Visitor<'de> for JsJsonVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-like value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(match serde_json::Number::from_f64(v) {
            Some(n) => n.into(),
            None if v.is_nan() => "NaN".into(),
            None if v > 0.0 => "Infinity".into(),
            None => "-Infinity".into(),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        JsJson::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(JsJson(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(items.into())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some((key, JsJson(v))) = map.next_entry::<String, JsJson>()? {
            object.insert(key, v);
        }
        Ok(object.into())
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Err(E::custom("binary data is not an event field"))
    }
}

/// One bad record of an ingestion report, as JS sees it.
#[derive(Serialize)]
pub(crate) struct JsBadRow {
    /// 0-based position in a JS array.
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<usize>,
    /// 1-based line in CSV or JSON Lines text.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    field: String,
    /// `problem` (snake_case name) and, when it has one, `detail`.
    #[serde(flatten)]
    problem: maitre::error::Problem,
    /// The core's complete message, e.g. "row 3: field `item_id` is empty".
    message: String,
}

impl From<BadRow> for JsBadRow {
    fn from(bad: BadRow) -> Self {
        let message = bad.to_string();
        let (row, line) = match bad.location {
            Location::Index(n) => (Some(n), None),
            Location::Line(n) => (None, Some(n)),
        };
        JsBadRow {
            row,
            line,
            field: bad.field,
            problem: bad.problem,
            message,
        }
    }
}
