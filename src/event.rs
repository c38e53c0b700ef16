//! What the client tells its listeners.

#[cfg(feature = "rust-api")]
use js_sys::{JsString, Uint8Array};
#[cfg(feature = "rust-api")]
use wasm_bindgen::JsValue;

#[cfg(feature = "rust-api")]
use crate::error::Error;
#[cfg(feature = "rust-api")]
use crate::options::TransportKind;

/// The client's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Opening the first connection (or the first after `connect()`).
    Connecting,
    /// A transport is open; messages flow.
    Open,
    /// The connection was lost; the client is waiting for or making another attempt.
    Reconnecting,
    /// Stopped for good: closed by the user, retries exhausted, or not connected yet.
    Closed,
}

impl ClientState {
    /// The name JavaScript sees (`"connecting"`, `"open"`, `"reconnecting"`, `"closed"`).
    pub fn name(self) -> &'static str {
        match self {
            ClientState::Connecting => "connecting",
            ClientState::Open => "open",
            ClientState::Reconnecting => "reconnecting",
            ClientState::Closed => "closed",
        }
    }
}

#[cfg(feature = "rust-api")]
/// A message's payload, kept as the JavaScript value it arrived as (no copy through Rust).
#[derive(Clone, Debug)]
pub enum Data {
    /// A text message.
    Text(JsString),
    /// A binary message.
    Binary(Uint8Array),
}

#[cfg(feature = "rust-api")]
impl Data {
    /// The text, if this is a text message.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Data::Text(text) => Some(text.into()),
            Data::Binary(_) => None,
        }
    }

    /// The bytes, if this is a binary message.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Data::Text(_) => None,
            Data::Binary(bytes) => Some(bytes.to_vec()),
        }
    }

    /// The payload as the JavaScript value listeners get.
    pub fn to_js(&self) -> JsValue {
        match self {
            Data::Text(text) => text.into(),
            Data::Binary(bytes) => bytes.into(),
        }
    }
}

#[cfg(feature = "rust-api")]
/// Where a message came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    /// The transport it arrived on.
    pub transport: TransportKind,
    /// Its server sequence number (session protocol).
    pub seq: Option<u64>,
    /// The event stream's last event id (raw EventSource and streaming).
    pub id: Option<String>,
    /// The event name, for named events (the JS string it arrived as, like the payload:
    /// `info.event == Some("chat")` compares, `to_string()` copies it).
    pub event: Option<JsString>,
}

/// Counters since the client was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages and named events delivered to listeners.
    pub messages_in: u64,
    /// Messages and events handed to a transport (resends not counted).
    pub messages_out: u64,
    /// Bytes received (frames as they arrived; UTF-16 code units for text).
    pub bytes_in: u64,
    /// Bytes sent (frames as sent; UTF-16 code units for text).
    pub bytes_out: u64,
    /// Connections re-established after one was lost.
    pub reconnects: u64,
    /// Moves down the transport list.
    pub fallbacks: u64,
    /// Moves up the transport list.
    pub upgrades: u64,
}

#[cfg(feature = "rust-api")]
/// One event, as delivered to [`RealtimeClient::subscribe`](crate::RealtimeClient::subscribe) callbacks.
#[derive(Clone, Debug)]
pub enum ClientEvent {
    /// A transport opened.
    Open {
        /// Which one.
        transport: TransportKind,
    },
    /// An unnamed message.
    Message {
        /// The payload.
        data: Data,
        /// Where it came from.
        info: MessageInfo,
    },
    /// A named server event (or, raw protocol, a named SSE event with its data as a string).
    Named {
        /// The event name, kept as the JS string it arrived as (`event == "chat"` compares).
        event: JsString,
        /// The parsed JSON value (raw protocol: the string received).
        value: JsValue,
        /// Where it came from.
        info: MessageInfo,
    },
    /// The client stopped for good.
    Close {
        /// A WebSocket-style close code (1000 for a user close).
        code: u16,
        /// Why.
        reason: String,
        /// Whether the user asked for it.
        was_clean: bool,
    },
    /// Something went wrong; the client goes on unless a `Close` follows.
    Error(Error),
    /// The client moved to another transport.
    Transport {
        /// The previous transport.
        from: Option<TransportKind>,
        /// The new one.
        to: TransportKind,
        /// Why.
        reason: String,
    },
    /// A reconnection attempt is scheduled.
    Reconnecting {
        /// Failed attempts in a row so far (1 for the first retry).
        attempt: u32,
        /// The wait before it.
        delay_ms: u32,
        /// The transport it will try first.
        transport: TransportKind,
    },
    /// The lifecycle state changed.
    State {
        /// The old state.
        from: ClientState,
        /// The new state.
        to: ClientState,
    },
}
