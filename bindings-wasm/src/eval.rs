//! `evaluate` and `syntheticStorefront`: offline evaluation and the built-in data set.
//!
//! The report is the core's `EvalReport` as it serialises (the same JSON the
//! evaluate example prints), so metric keys such as `"ndcg@10"` and
//! `fit_seconds` are kept as they are.

use crate::convert::{bad_argument, js_error, to_js};
use crate::events::EventLog;
use maitre::datasets::{self, Size};
use maitre::eval::{self, EvalConfig, Split};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_EVAL: &'static str = r#"
export interface EvalOptions {
  /** How test interactions are held out (default "leave-last-out": customers with ≥ 5 positives). */
  split?: "leave-last-out" | "temporal" | "random";
  /** Models to run (default ["popularity", "item-knn"]). */
  models?: ("popularity" | "item-knn" | "als")[];
  /** Kinds that count as positive (default: every kind with a positive weight). */
  positiveKinds?: string[];
  /** Minimum value of a positive, e.g. 4 for ratings (default none). */
  minValue?: number;
  /** A name for the report (default "events"). */
  dataset?: string;
}

/** One model's metrics: hr, precision, recall, ndcg, map, mrr and coverage at 10 and 20. */
export interface ModelResult {
  model: string;
  "hr@10": number;
  "recall@10": number;
  "recall@20": number;
  "ndcg@10": number;
  "mrr@10": number;
  "coverage@10": number;
  fit_seconds: number;
  [metric: string]: number | string;
}

export interface EvalReport {
  dataset: string;
  split: "leave-last-out" | "temporal" | "random";
  /** Tested customers. */
  users: number;
  /** Catalogue size. */
  items: number;
  results: ModelResult[];
}

/** "tiny" (300 customers), "small" (3,000), "medium" (30,000), "large" (300,000), or a customer count. */
export type StorefrontSize = "tiny" | "small" | "medium" | "large" | number;
"#;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EvalOptions {
    split: Option<String>,
    models: Option<Vec<String>>,
    positive_kinds: Option<Vec<String>>,
    min_value: Option<f64>,
    dataset: Option<String>,
}

impl EvalOptions {
    fn config(self) -> Result<EvalConfig, maitre::Error> {
        let mut config = EvalConfig::default();
        if let Some(split) = self.split {
            config = config.split(split.parse::<Split>()?);
        }
        if let Some(models) = self.models {
            config = config.models(models);
        }
        if let Some(kinds) = self.positive_kinds {
            config = config.positive_kinds(kinds);
        }
        if let Some(value) = self.min_value {
            config = config.min_value(value);
        }
        if let Some(name) = self.dataset {
            config = config.dataset(name);
        }
        Ok(config)
    }
}

/// Splits the log's positives, fits each model on the training part and
/// scores it on the held-out part.
#[wasm_bindgen(unchecked_return_type = "EvalReport")]
pub fn evaluate(
    log: &EventLog,
    #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let config = crate::convert::options::<EvalOptions>("options", options)?
        .config()
        .map_err(js_error)?;
    let report = eval::evaluate(&log.inner, &config).map_err(js_error)?;
    to_js(&report)
}

/// A synthetic storefront's event log, generated from `seed` (a non-negative
/// integer): the same seed and size give the same events.
#[wasm_bindgen(js_name = syntheticStorefront)]
pub fn synthetic_storefront(
    seed: f64,
    #[wasm_bindgen(unchecked_param_type = "StorefrontSize")] size: JsValue,
) -> Result<EventLog, JsValue> {
    if !is_exact_count(seed) {
        return Err(bad_argument(
            "seed",
            format_args!("{seed} is not a non-negative integer"),
        ));
    }
    let size = match (size.as_string(), size.as_f64()) {
        (Some(text), _) => text,
        (None, Some(n)) if is_exact_count(n) => format!("{}", n as u64),
        (None, Some(n)) => n.to_string(),
        (None, None) => {
            return Err(bad_argument(
                "size",
                "expected a size name or a customer count",
            ))
        }
    };
    let size: Size = size.parse().map_err(js_error)?;
    let shop = datasets::synthetic_storefront(seed as u64, size).map_err(js_error)?;
    Ok(EventLog { inner: shop.log })
}

/// A JS number that is a non-negative integer below 2^53, where every integer is exact.
fn is_exact_count(n: f64) -> bool {
    n.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&n)
}
