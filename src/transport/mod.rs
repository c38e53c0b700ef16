//! Transports: dumb pipes with a lifecycle.
//!
//! A transport opens, hands what it receives to its [`Sink`], accepts frames to send (WebSocket only;
//! the HTTP transports' upstream goes through [`Uploader`]) and reports why it closed. It never
//! decides about fallback, retry or ordering: the client does. Dropping a transport releases every
//! browser resource it holds (listeners removed first, then requests aborted, sockets closed, frames
//! removed, timers cleared), so it never calls its sink after being dropped.

// One cargo feature per transport (Cargo.toml); `upload` serves every HTTP transport.
#[cfg(feature = "eventsource")]
mod eventsource;
#[cfg(feature = "iframe")]
mod iframe;
#[cfg(feature = "polling")]
mod polling;
#[cfg(feature = "streaming")]
mod streaming;
mod upload;
#[cfg(feature = "websocket")]
mod websocket;

use std::rc::Rc;

use js_sys::{JsString, Uint8Array};

pub(crate) use upload::Uploader;

use crate::error::Error;
use crate::options::TransportKind;

/// One unit received from the network.
#[derive(Debug)]
pub(crate) enum Frame {
    /// Text: a JSON frame (session protocol) or a message as received (raw protocol).
    Text {
        /// The text, kept as a JS string so it is not copied through Rust when passed on.
        data: JsString,
        /// The SSE event name, when the transport carries one and it is not `message`.
        event: Option<JsString>,
        /// The SSE last event id, when the transport carries one.
        id: Option<String>,
    },
    /// A binary WebSocket message.
    Binary(Uint8Array),
    /// Session protocol over XHR streaming: the `data` of the events a chunk completed, passed on
    /// together so the chunk is parsed once (as one JSON array) rather than once per event.
    #[cfg(feature = "streaming")]
    Batch {
        /// Each event's data (JS strings), each meant to be one JSON frame.
        events: js_sys::Array,
    },
}

impl Frame {
    /// A text frame without SSE metadata.
    pub(crate) fn text(data: JsString) -> Frame {
        Frame::Text {
            data,
            event: None,
            id: None,
        }
    }
}

/// Why a transport ended.
#[derive(Debug, Clone)]
pub(crate) struct Closed {
    /// For people: what happened.
    pub reason: String,
    /// How long the server asked the client to wait (`Retry-After`), in milliseconds.
    pub retry_after_ms: Option<u32>,
    /// The body of a failed HTTP answer, which may be the session protocol's `x` frame.
    pub body: Option<JsString>,
    /// How to report it, when it is more specific than a failed transport (an HTTP error).
    pub error: Option<crate::error::ErrorCode>,
}

impl Closed {
    /// A failed HTTP answer: its status, and its `Retry-After` (seconds; an HTTP date is ignored).
    pub(crate) fn http(what: &str, xhr: &web_sys::XmlHttpRequest, status: u16) -> Closed {
        let retry_after_ms = xhr
            .get_response_header("Retry-After")
            .ok()
            .flatten()
            // Header values come trimmed (the Fetch standard normalises them).
            .and_then(|v| v.parse::<u32>().ok())
            .map(|seconds| seconds.saturating_mul(1000));
        let body = crate::web::xhr::response_text(xhr);
        let mut reason = String::from(what);
        reason.push_str(" answered HTTP ");
        crate::text::push_dec(&mut reason, status.into());
        Closed {
            reason,
            retry_after_ms,
            body: (body.length() > 0).then_some(body),
            error: Some(crate::error::ErrorCode::Http),
        }
    }

    pub(crate) fn new(reason: impl Into<String>) -> Closed {
        Closed {
            reason: reason.into(),
            retry_after_ms: None,
            body: None,
            error: None,
        }
    }
}

/// What a transport reports.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// The transport is connected (for the raw protocol this is "open"; the session protocol waits
    /// for the server's open frame).
    Opened,
    /// Something arrived.
    Frame(Frame),
    /// The transport ended and will report nothing more.
    Closed(Closed),
}

/// Where a transport reports to. The client binds each sink to one attempt, so events from a
/// superseded attempt are ignored.
pub(crate) type Sink = Rc<dyn Fn(TransportEvent)>;

/// Everything a transport needs to open.
pub(crate) struct Ctx {
    /// The URL of the next request. Called again for every poll or re-opened stream, so resume
    /// parameters (session, last sequence number) are current.
    pub url: Rc<dyn Fn() -> String>,
    /// Whether the raw protocol is in use (affects what "open" means and how bodies are split).
    pub raw: bool,
    /// Cookies on cross-origin HTTP requests.
    pub with_credentials: bool,
    /// Short polling: the pause between polls.
    pub poll_interval_ms: u32,
    /// Long polling, session protocol: how long the server may hold a poll (`wait`).
    pub long_poll_wait_ms: Option<u32>,
    /// Long polling: the client-side timeout after which a held poll is abandoned and retried.
    pub long_poll_client_timeout_ms: u32,
    /// The server's origin, the only one iframe messages are accepted from.
    pub server_origin: String,
    /// Named SSE events to listen for (raw EventSource cannot listen for "any event").
    pub event_names: Vec<String>,
}

impl core::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ctx")
            .field("raw", &self.raw)
            .finish_non_exhaustive()
    }
}

/// An open (or opening) transport of any kind. Some variants are only held for their `Drop`.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) enum Transport {
    #[cfg(feature = "websocket")]
    WebSocket(websocket::WebSocketTransport),
    #[cfg(feature = "eventsource")]
    EventSource(eventsource::EventSourceTransport),
    #[cfg(feature = "streaming")]
    Streaming(streaming::StreamingTransport),
    #[cfg(feature = "iframe")]
    Iframe(iframe::IframeTransport),
    #[cfg(feature = "polling")]
    Polling(polling::PollingTransport),
}

impl Transport {
    /// Starts opening a transport of `kind`. Errors are synchronous failures (a URL the browser
    /// rejects, a missing API); everything later arrives through `sink`.
    pub(crate) fn open(kind: TransportKind, ctx: Ctx, sink: Sink) -> Result<Transport, Error> {
        Ok(match kind {
            #[cfg(feature = "websocket")]
            TransportKind::WebSocket => {
                Transport::WebSocket(websocket::WebSocketTransport::open(&ctx, sink)?)
            }
            #[cfg(feature = "eventsource")]
            TransportKind::EventSource => {
                Transport::EventSource(eventsource::EventSourceTransport::open(&ctx, sink)?)
            }
            #[cfg(feature = "streaming")]
            TransportKind::Streaming => {
                Transport::Streaming(streaming::StreamingTransport::open(&ctx, sink)?)
            }
            #[cfg(feature = "iframe")]
            TransportKind::Iframe => Transport::Iframe(iframe::IframeTransport::open(&ctx, &sink)?),
            #[cfg(feature = "polling")]
            TransportKind::LongPolling => Transport::Polling(polling::PollingTransport::open(
                ctx,
                sink,
                polling::Mode::Long,
            )?),
            #[cfg(feature = "polling")]
            TransportKind::Polling => Transport::Polling(polling::PollingTransport::open(
                ctx,
                sink,
                polling::Mode::Short,
            )?),
            // `Options::validate` lets no such transport through; this is the last word.
            #[allow(unreachable_patterns)]
            _ => return Err(kind.not_built()),
        })
    }

    /// Sends text over a duplex transport; `false` when the transport cannot send itself.
    pub(crate) fn send_text(&self, text: &JsString) -> Result<bool, Error> {
        match self {
            #[cfg(feature = "websocket")]
            Transport::WebSocket(ws) => ws.send_text(text).map(|()| true),
            #[allow(unreachable_patterns)]
            _ => Ok(false),
        }
    }

    /// Sends bytes over a duplex transport; `false` when the transport cannot send itself.
    pub(crate) fn send_binary(&self, bytes: &[u8]) -> Result<bool, Error> {
        match self {
            #[cfg(feature = "websocket")]
            Transport::WebSocket(ws) => ws.send_binary(bytes).map(|()| true),
            #[allow(unreachable_patterns)]
            _ => Ok(false),
        }
    }

    /// Starts delivering SSE events named `name` (raw EventSource needs a listener per name).
    pub(crate) fn watch_event(&self, name: &str) {
        match self {
            #[cfg(feature = "eventsource")]
            Transport::EventSource(es) => es.watch_event(name),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}
