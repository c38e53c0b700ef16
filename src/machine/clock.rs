//! The machine's clock: wall-clock milliseconds, only ever compared with itself. Deadlines are
//! judged by the clock, not by timer ticks: browsers throttle timers in background tabs, so a
//! timer only says when to look. (`Instant::now` panics on wasm32.)

/// `Date.now()` in the browser.
#[cfg(target_arch = "wasm32")]
pub(crate) fn now() -> f64 {
    date_now()
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    /// Native builds (the unit tests) run on a clock they set.
    static NOW: core::cell::Cell<f64> = const { core::cell::Cell::new(0.0) };
}

/// The clock native tests set ([`set`]).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn now() -> f64 {
    NOW.with(core::cell::Cell::get)
}

/// Sets the clock of native builds.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn set(ms: f64) {
    NOW.with(|now| now.set(ms));
}
