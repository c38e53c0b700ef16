//! realtime-wasm: one realtime client for every browser push transport.

pub mod backoff;
pub mod session;
pub mod sse;
