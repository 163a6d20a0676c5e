//! `localStorage` for persisted sessions, reached through `globalThis` so the
//! same code runs in a browser and (with any object of the same shape) in Node.
//!
//! Only strings go in and out; what they mean is the session's business. A
//! storage that is missing, refuses access (private modes, sandboxed frames) or
//! is full becomes the core's `Io` error, so it reaches JS like every other
//! failure.

use crate::convert::js_error;
use maitre::Error;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

fn io(what: &str, cause: Option<&JsValue>) -> JsValue {
    let reason = cause.and_then(|c| {
        c.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| c.as_string())
    });
    let message = match reason {
        Some(reason) => format!("{what}: {reason}"),
        None => what.to_owned(),
    };
    js_error(Error::Io {
        path: "localStorage".into(),
        source: std::io::Error::other(message),
    })
}

/// The global `localStorage`, or an `Io` error saying why there is none.
fn local_storage() -> Result<JsValue, JsValue> {
    let storage = js_sys::Reflect::get(&js_sys::global(), &"localStorage".into())
        .map_err(|e| io("access denied", Some(&e)))?;
    if storage.is_undefined() || storage.is_null() {
        return Err(io("not available here", None));
    }
    Ok(storage)
}

fn call(method: &str, args: &[&str]) -> Result<JsValue, JsValue> {
    let storage = local_storage()?;
    let f: js_sys::Function = js_sys::Reflect::get(&storage, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| io(&format!("no {method} method"), None))?;
    let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
    f.apply(&storage, &args).map_err(|e| io(method, Some(&e)))
}

/// Fails with `Io` when there is no usable storage.
pub(crate) fn check() -> Result<(), JsValue> {
    local_storage().map(|_| ())
}

pub(crate) fn get(key: &str) -> Result<Option<String>, JsValue> {
    Ok(call("getItem", &[key])?.as_string())
}

pub(crate) fn set(key: &str, value: &str) -> Result<(), JsValue> {
    call("setItem", &[key, value]).map(|_| ())
}

pub(crate) fn remove(key: &str) -> Result<(), JsValue> {
    call("removeItem", &[key]).map(|_| ())
}
