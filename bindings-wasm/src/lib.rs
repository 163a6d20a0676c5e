//! The browser and Node binding of maitre (npm package `maitre`).
//!
//! Each exported function converts its JS arguments, makes one call into the
//! core and converts the result back. Validation and every message a user
//! sees come from the core: a core [`maitre::Error`] becomes a JS `Error` with
//! the same message, a `kind` property naming the variant and, for a bad
//! record, `field` and `row` (0-based, JS arrays) or `line` (1-based, text).
//!
//! Modules: `convert` turns JS values into core inputs and core results into
//! plain JS objects; `events` is the `EventLog` class; `eval` is `evaluate`
//! and `syntheticStorefront`; `recommend` is `Storefront` and `Session`
//! (serving a visitor in the page); `offers` adds the next best offer to a
//! `Session`; `storage` reads and writes the strings a
//! persisted session keeps in `localStorage`. Nothing here may hold logic the Python binding
//! would have to repeat.

mod convert;
mod eval;
mod events;
mod offers;
mod recommend;
mod storage;

pub use eval::{evaluate, synthetic_storefront};
pub use events::EventLog;
pub use recommend::{Session, Storefront};

use wasm_bindgen::prelude::*;

/// Installs a panic hook so that a panic (a core bug) is logged to the
/// console with its message instead of a bare "unreachable".
#[wasm_bindgen(start, private)]
fn start() {
    console_error_panic_hook::set_once();
}

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** The `Error` every function throws: the core's message, plus what kind of error it is. */
export interface MaitreError extends Error {
  /** The core's error variant. */
  kind:
    | "BadRecord"
    | "MissingColumn"
    | "InvalidParam"
    | "Unknown"
    | "LengthMismatch"
    | "NotEnoughData"
    | "Cancelled"
    | "FileNotFound"
    | "Io"
    | "Artifact";
  /** BadRecord only: the field (column or key) at fault. */
  field?: string;
  /** BadRecord only: 0-based position in a JS array of events. */
  row?: number;
  /** BadRecord only: 1-based line in CSV or JSON Lines text. */
  line?: number;
  /** Artifact only: what is wrong with the bytes. */
  problem?:
    | "not_an_artifact"
    | "unsupported_version"
    | "truncated"
    | "checksum_mismatch"
    | "malformed"
    | "missing_section"
    | "bad_section";
}
"#;
