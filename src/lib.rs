//! # realtime-wasm
//!
//! One realtime client for every way a browser can get pushes from a server: WebSocket,
//! EventSource, XHR streaming, hidden-iframe streaming, long polling and short polling. It picks
//! the best transport that works, falls back when one is blocked, reconnects with jittered backoff,
//! moves back up when a better transport works again and, with the session protocol
//! (`docs/PROTOCOL.md`), delivers every message exactly once and in order in both directions.
//!
//! The crate runs in the browser (`wasm32-unknown-unknown`). JavaScript uses it as the npm package
//! `realtime-wasm` (`new RealtimeClient(url, options)`, see the [`js`] module); Rust front ends use
//! [`RealtimeClient`] directly.
//!
//! # Example: a chat room in a Rust front end
//!
//! ```no_run
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! use js_sys::{Object, Reflect};
//! use realtime_wasm::{
//!     ClientEvent, ClientState, Data, Error, ErrorCode, Options, RealtimeClient, ReconnectOptions,
//!     Subscription, TransportKind,
//! };
//! use wasm_bindgen::JsValue;
//!
//! /// A chat room: the connection, its listener, and what the page shows.
//! pub struct Room {
//!     client: RealtimeClient,
//!     _events: Subscription,
//!     lines: Rc<RefCell<Vec<String>>>,
//!     name: String,
//! }
//!
//! impl Room {
//!     /// Connects to `url` (a realtime-server's `/rt`) and joins `room`.
//!     pub fn join(url: &str, room: &str, name: &str, ticket: &str) -> Result<Room, Error> {
//!         let options = Options {
//!             // Proxies that break WebSockets get EventSource; buffering ones get long polling.
//!             transports: vec![
//!                 TransportKind::WebSocket,
//!                 TransportKind::EventSource,
//!                 TransportKind::LongPolling,
//!             ],
//!             query: vec![("ticket".into(), ticket.into())],
//!             reconnect: Some(ReconnectOptions { max_attempts: Some(30), ..ReconnectOptions::default() }),
//!             ..Options::default()
//!         };
//!         let client = RealtimeClient::new(url, options)?;
//!         let lines = Rc::new(RefCell::new(Vec::new()));
//!         let shown = Rc::clone(&lines);
//!         // Listeners must not hold a borrow the page needs; this one only appends lines.
//!         let events = client.subscribe(move |event| {
//!             let line = match event {
//!                 ClientEvent::Open { transport } => format!("connected over {transport}"),
//!                 ClientEvent::Transport { from, to, reason } => {
//!                     format!("moved from {from:?} to {to}: {reason}")
//!                 }
//!                 ClientEvent::Reconnecting { attempt, delay_ms, .. } => {
//!                     format!("reconnecting (attempt {attempt}) in {delay_ms} ms")
//!                 }
//!                 // Named events: everyone in the room gets `chat` with `{ from, text }`.
//!                 ClientEvent::Named { event, value, info } if event == "chat" => {
//!                     let field = |key: &str| {
//!                         Reflect::get(value, &key.into()).ok().and_then(|v| v.as_string())
//!                     };
//!                     format!(
//!                         "#{} {}: {}",
//!                         info.seq.unwrap_or_default(),
//!                         field("from").unwrap_or_default(),
//!                         field("text").unwrap_or_default()
//!                     )
//!                 }
//!                 ClientEvent::Message { data: Data::Binary(bytes), .. } => {
//!                     format!("a file of {} bytes", bytes.length())
//!                 }
//!                 // A gap means the server's replay window overflowed: say so, never hide it.
//!                 ClientEvent::Error(error) if error.code() == ErrorCode::Gap => {
//!                     format!("some messages were lost: {error}")
//!                 }
//!                 ClientEvent::Close { reason, .. } => format!("disconnected: {reason}"),
//!                 _ => return,
//!             };
//!             shown.borrow_mut().push(line);
//!         });
//!         // Queued until a transport opens; delivered exactly once, in order, even across a
//!         // reconnect or a change of transport.
//!         client.emit("join", &JsValue::from_str(room))?;
//!         Ok(Room { client, _events: events, lines, name: name.to_owned() })
//!     }
//!
//!     /// Says `text` to the room.
//!     pub fn say(&self, room: &str, text: &str) -> Result<(), Error> {
//!         let data = Object::new();
//!         Reflect::set(&data, &"from".into(), &self.name.as_str().into()).ok();
//!         Reflect::set(&data, &"text".into(), &text.into()).ok();
//!         let message = Object::new();
//!         Reflect::set(&message, &"room".into(), &room.into()).ok();
//!         Reflect::set(&message, &"event".into(), &"chat".into()).ok();
//!         Reflect::set(&message, &"data".into(), &data).ok();
//!         match self.client.emit("publish", &message) {
//!             // Offline for long: the outbox is full. Tell the user instead of dropping it.
//!             Err(error) if error.code() == ErrorCode::QueueFull => {
//!                 self.lines.borrow_mut().push("not sent: still offline".into());
//!                 Ok(())
//!             }
//!             other => other,
//!         }
//!     }
//!
//!     /// Sends a file's bytes; they arrive as bytes on every transport.
//!     pub fn share(&self, bytes: &[u8]) -> Result<(), Error> {
//!         self.client.send_binary(bytes)
//!     }
//!
//!     /// What the status bar shows.
//!     pub fn status(&self) -> String {
//!         match (self.client.state(), self.client.transport()) {
//!             (ClientState::Open, Some(transport)) => format!("online ({transport})"),
//!             (state, _) => state.name().to_owned(),
//!         }
//!     }
//!
//!     /// The lines to show, oldest first.
//!     pub fn lines(&self) -> Vec<String> {
//!         self.lines.borrow().clone()
//!     }
//! }
//! ```
//!
//! Keep the client and its [`Subscription`] alive as long as you want the connection: dropping the
//! client closes it, dropping the subscription removes the listener. [`RealtimeClient::close`]
//! stops for good; [`RealtimeClient::connect`] starts again.
//!
//! # Cargo features
//!
//! `rust-api` ([`RealtimeClient`] and its events; on by default: the npm package is built
//! without it, JavaScript uses the class of `src/js/client.js`), and one per transport:
//! `websocket`, `eventsource`, `streaming`, `iframe` and `polling` (long and short polling), all
//! on by default. A build with fewer transports refuses options naming another with an error
//! that names the missing feature, and its default order is the transports it carries: for
//! instance `realtime-wasm = { version = "0.1", default-features = false, features = ["rust-api",
//! "websocket", "polling"] }`.
//!
//! # How it works
//!
//! The decisions are a state machine in Rust without input or output of its own (fallback,
//! reconnect, upgrade, liveness, the session protocol), tested natively; the browser work
//! (transports, timers, frames, listeners) is the JavaScript class the npm package exports,
//! `src/js/client.js`, which drives the machine through one exported function of numbers.
//! [`RealtimeClient`] is a typed Rust handle on that class: Rust and JavaScript pages run the same
//! client.
//!
//! # Modules
//!
//! - [`RealtimeClient`], [`Options`], [`ClientEvent`], [`Error`]: the client.
//! - [`js`]: the JavaScript class the npm package exports, bound for Rust, and its TypeScript
//!   declarations.
//! - [`session`], [`backoff`]: pure parts (sequence numbers and acks, reconnect delays), usable
//!   and tested natively.

#![deny(missing_docs, missing_debug_implementations)]
// A build without some transports leaves helpers only they use unused; the full build, which the
// test command lints with `-D warnings`, keeps every warning.
#![cfg_attr(
    not(feature = "default"),
    allow(dead_code, unused_imports, unused_variables)
)]

#[cfg(not(any(
    feature = "websocket",
    feature = "eventsource",
    feature = "streaming",
    feature = "iframe",
    feature = "polling"
)))]
compile_error!(
    "realtime-wasm needs at least one transport: enable one or more of the cargo features \
     websocket, eventsource, streaming, iframe, polling"
);

pub mod backoff;
#[cfg(feature = "rust-api")]
mod client;
mod error;
mod event;
pub mod js;
mod machine;
mod options;
mod port;
pub mod session;
mod text;

#[cfg(feature = "rust-api")]
pub use client::{RealtimeClient, Subscription};
pub use error::{Error, ErrorCode};
#[cfg(feature = "rust-api")]
pub use event::{ClientEvent, Data, MessageInfo};
pub use event::{ClientState, Stats};
pub use options::{Options, Protocol, ReconnectOptions, TransportKind};

/// The heap of the wasm build: a first-fit free list that merges neighbours as they are freed,
/// 2.2 KB (gzip) smaller than the standard library's dlmalloc and as fast on this client's
/// workload (docs/SIZE.md: flood and send-burst figures). The lock is never contended: a page's
/// wasm runs on one thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
