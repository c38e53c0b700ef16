//! The page the client runs in: its global object, location and origin.

use js_sys::{global, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The page's `window`, or `None` in a worker (where iframe transports cannot work).
pub(crate) fn window() -> Option<web_sys::Window> {
    global().dyn_into::<web_sys::Window>().ok()
}

/// `location.href` of the page or worker, used to resolve relative URLs.
pub(crate) fn base_href() -> Option<String> {
    let location = Reflect::get(&global(), &JsValue::from_str("location")).ok()?;
    Reflect::get(&location, &JsValue::from_str("href"))
        .ok()?
        .as_string()
}

/// `location.origin` of the page, which the server's iframe frames are addressed to.
pub(crate) fn origin() -> Option<String> {
    let location = Reflect::get(&global(), &JsValue::from_str("location")).ok()?;
    Reflect::get(&location, &JsValue::from_str("origin"))
        .ok()?
        .as_string()
}

/// The current time in milliseconds since the Unix epoch (`Instant::now` panics on wasm32).
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A one-shot timer: gloo's [`Timeout`](gloo_timers::callback::Timeout), cancelled when dropped.
/// Every callback goes in as the same boxed type: gloo wraps each callback type in a wasm-bindgen
/// adapter of its own, a few hundred bytes of wasm apiece.
pub(crate) fn timeout(
    ms: u32,
    callback: impl FnOnce() + 'static,
) -> gloo_timers::callback::Timeout {
    let callback: Box<dyn FnOnce()> = Box::new(callback);
    gloo_timers::callback::Timeout::new(ms, callback)
}
