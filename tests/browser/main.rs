//! Browser tests against the real `realtime-server`, driven through the JavaScript surface exactly
//! as a page would use it. `scripts/test.sh` starts the server and passes its address at compile
//! time in `RT_SERVER`.
#![cfg(target_arch = "wasm32")]

mod faults;
mod harness;
mod hostile;
mod options;
mod raw;
// The crate's Rust API (cargo feature `rust-api`, on by default; the reduced builds leave it out).
#[cfg(feature = "rust-api")]
mod rust_api;
mod session;
mod soak;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
