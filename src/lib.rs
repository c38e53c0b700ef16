//! # realtime-wasm
//!
//! One realtime client for every way a browser can get pushes from a server: WebSocket,
//! EventSource, XHR streaming, hidden-iframe streaming, long polling and short polling. It picks
//! the best transport that works, falls back when one is blocked, reconnects with jittered backoff
//! and, with the session protocol, delivers every message exactly once and in order in both
//! directions.
//!
//! From JavaScript, use the npm package (`new RealtimeClient(url, options)`); from Rust:
//!
//! ```no_run
//! use realtime_wasm::{ClientEvent, Data, Options, RealtimeClient, TransportKind};
//!
//! # fn main() -> Result<(), realtime_wasm::Error> {
//! let options = Options {
//!     transports: vec![TransportKind::WebSocket, TransportKind::EventSource, TransportKind::LongPolling],
//!     ..Options::default()
//! };
//! let client = RealtimeClient::new("https://example.com/rt", options)?;
//! let _subscription = client.subscribe(|event| match event {
//!     ClientEvent::Open { transport } => web_sys_log(&format!("open over {transport}")),
//!     ClientEvent::Message { data: Data::Text(text), info } => {
//!         web_sys_log(&format!("#{:?} {}", info.seq, String::from(text)))
//!     }
//!     ClientEvent::Error(error) => web_sys_log(&format!("{}: {error}", error.code().as_str())),
//!     _ => {}
//! });
//! client.send_text(&"hello".into())?; // queued until open, delivered exactly once
//! # Ok(()) }
//! # fn web_sys_log(_: &str) {}
//! ```
//!
//! Keep the client (and the subscription) alive as long as you want the connection: dropping the
//! client closes it; dropping the subscription removes the listener.

#![deny(missing_docs, missing_debug_implementations)]

pub mod backoff;
mod base64;
mod client;
mod error;
mod event;
pub mod js;
mod options;
pub mod session;
pub mod sse;
mod transport;
mod web;

pub use client::{RealtimeClient, Subscription};
pub use error::{Error, ErrorCode};
pub use event::{ClientEvent, ClientState, Data, MessageInfo, Stats};
pub use options::{Options, Protocol, ReconnectOptions, TransportKind};
