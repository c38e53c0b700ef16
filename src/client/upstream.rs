//! Upstream: `send`/`emit` through the outbox to the transport, or to HTTP POSTs, exactly once
//! and in order (the server deduplicates by client sequence number; the outbox keeps every message
//! until it is acknowledged).

use std::rc::Rc;

use js_sys::{Array, JsString};
use wasm_bindgen::prelude::wasm_bindgen;

use super::{Inner, MAX_BATCH, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, UPLOAD_RETRY_MS};
use crate::base64;
use crate::error::{Error, ErrorCode};
use crate::event::ClientState;
use crate::options::TransportKind;
use crate::text::dec;
use crate::transport::{Closed, Frame, Transport, Uploader};
use crate::web::page;

/// Something waiting in the outbox.
#[derive(Clone, Debug)]
pub(super) enum Outgoing {
    Text(JsString),
    Binary(Rc<[u8]>),
    /// An event name and its value, already serialised to JSON.
    Event(String, JsString),
}

impl Outgoing {
    /// Its size as sent: UTF-8 bytes for text (exact only when it could matter for the limit,
    /// since measuring copies the string out of JavaScript).
    fn utf8_len(&self) -> u64 {
        let exact = |text: &JsString| {
            let units = u64::from(text.length());
            if units.saturating_mul(3) <= MAX_MESSAGE_BYTES {
                units
            } else {
                String::from(text).len() as u64
            }
        };
        match self {
            Outgoing::Text(t) => exact(t),
            Outgoing::Binary(b) => b.len() as u64,
            Outgoing::Event(name, value) => name.len() as u64 + exact(value),
        }
    }

    /// Its size for the statistics: bytes of binary, UTF-16 code units of text.
    pub(super) fn len(&self) -> u64 {
        match self {
            Outgoing::Text(t) => u64::from(t.length()),
            Outgoing::Binary(b) => b.len() as u64,
            Outgoing::Event(name, value) => name.len() as u64 + u64::from(value.length()),
        }
    }
}

impl Inner {
    pub(super) fn enqueue(&self, item: Outgoing) -> Result<(), Error> {
        {
            let mut state = self.state.borrow_mut();
            if state.phase == ClientState::Closed {
                return Err(Error::new(
                    ErrorCode::Closed,
                    "the client is closed; call connect() first",
                ));
            }
            if self.raw()
                && self.options.send_url.is_none()
                && !self.options.transports.contains(&TransportKind::WebSocket)
            {
                return Err(Error::invalid(
                    "send: the raw protocol sends over WebSocket or to options.sendUrl, and neither is configured",
                ));
            }
            let size = item.len();
            if item.utf8_len() > MAX_MESSAGE_BYTES {
                return Err(Error::new(
                    ErrorCode::TooLarge,
                    [
                        "send: the message is ",
                        &dec(item.utf8_len()),
                        " bytes; the limit is ",
                        &dec(MAX_MESSAGE_BYTES),
                    ]
                    .concat(),
                ));
            }
            state.outbox.push(item).map_err(|_| {
                Error::new(
                    ErrorCode::QueueFull,
                    [
                        "send: ",
                        &dec(self.options.max_queued_messages.into()),
                        " messages are already queued (options.maxQueuedMessages)",
                    ]
                    .concat(),
                )
            })?;
            state.stats.messages_out += 1;
            state.stats.bytes_out += size;
        }
        self.flush();
        Ok(())
    }

    /// Hands unsent frames (and a due acknowledgement) to the transport, or to an HTTP POST.
    pub(super) fn flush(&self) {
        let (transport, kind) = {
            let state = self.state.borrow();
            // Paused during an upgrade until the switch, and until a transport is open.
            if state.phase != ClientState::Open || !state.opened || state.upgrade.is_switching() {
                return;
            }
            let Some(transport) = state.transport.clone() else {
                return;
            };
            (transport, self.options.transports[state.index])
        };
        // A WebSocket-only build leaves the POST paths out (`POSTS_BUILT` is a constant).
        if kind.is_duplex() || !TransportKind::POSTS_BUILT {
            self.flush_duplex(&transport);
        } else if self.raw() {
            self.flush_raw_post();
        } else {
            self.flush_session_post();
        }
    }

    pub(super) fn flush_duplex(&self, transport: &Transport) {
        let (items, ack) = {
            let mut state = self.state.borrow_mut();
            let items: Vec<(u64, Outgoing)> = state
                .outbox
                .unsent()
                .map(|(c, item)| (c, item.clone()))
                .collect();
            if let Some((last, _)) = items.last() {
                state.outbox.mark_sent(*last);
            }
            (items, state.ack_pending.take())
        };
        let raw = self.raw();
        let mut result = Ok(true);
        if let Some(seq) = ack {
            result = transport.send_text(&JsString::from(ack_frame(seq).as_str()));
        }
        for (c, item) in items {
            if result.is_err() {
                break;
            }
            result = match (&item, raw) {
                (Outgoing::Binary(bytes), true) => transport.send_binary(bytes),
                (Outgoing::Binary(bytes), false) => {
                    let mut framed = Vec::with_capacity(bytes.len() + 8);
                    framed.extend_from_slice(&c.to_be_bytes());
                    framed.extend_from_slice(bytes);
                    transport.send_binary(&framed)
                }
                (Outgoing::Text(text), true) => transport.send_text(text),
                (item, _) => transport.send_text(&session_frame_text(c, item)),
            };
            if raw && result.is_ok() {
                // The raw protocol has no acknowledgements: handed to the socket is done.
                let _ = self.state.borrow_mut().outbox.ack(c);
            }
        }
        // A failed send means the socket is closing; its close event triggers the reconnect,
        // and the outbox still holds everything unacknowledged.
    }

    pub(super) fn flush_session_post(&self) {
        let (frames, last, url) = {
            let mut state = self.state.borrow_mut();
            if state.upload.is_some() || state.upload_retry.is_some() {
                return;
            }
            let frames = Array::new();
            if let Some(seq) = state.ack_pending.take() {
                frames.push(&JsString::from(ack_frame(seq).as_str()));
            }
            let mut last = None;
            let mut bytes = 0;
            for (c, item) in state.outbox.unsent().take(MAX_BATCH) {
                // At least one frame, then only while the body stays well under the server's cap.
                bytes += item.len();
                if last.is_some() && bytes > MAX_BATCH_BYTES {
                    break;
                }
                frames.push(&session_frame_text(c, item));
                last = Some(c);
            }
            if frames.length() == 0 {
                return;
            }
            if let Some(last) = last {
                state.outbox.mark_sent(last);
            }
            drop(state);
            let Some(url) = self.send_url() else { return };
            (frames, last, url)
        };
        let _ = last;
        let body = ["[", &String::from(frames.join(",")), "]"].concat();
        let weak = self.me.clone();
        let attempt = self.state.borrow().attempt;
        let upload = Uploader::post(&url, &body, self.options.with_credentials, move |result| {
            if let Some(inner) = weak.upgrade() {
                inner.upload_done(attempt, result);
            }
        });
        match upload {
            Ok(upload) => self.state.borrow_mut().upload = Some(upload),
            Err(error) => self.upload_failed(attempt, &Closed::new(error.message())),
        }
    }

    pub(super) fn upload_done(&self, attempt: u64, result: Result<JsString, Closed>) {
        let upload = self.state.borrow_mut().upload.take();
        drop(upload);
        // The answer belongs to the session, not to the transport it was sent beside: its
        // acknowledgement counts even if the downstream reconnected meanwhile.
        let attempt = attempt.max(self.state.borrow().attempt);
        match result {
            Ok(body) => {
                if !self.raw() && body.length() > 0 {
                    self.session_frame(attempt, Frame::text(body));
                }
                self.finish_switch_if_idle();
                self.finish_session_end_if_idle();
                self.flush();
            }
            Err(closed) => self.upload_failed(attempt, &closed),
        }
    }

    /// Starts the new session an `x` frame asked for, once the POST it waited for answered.
    pub(super) fn finish_session_end_if_idle(&self) {
        let ready = {
            let state = self.state.borrow();
            state.session_ended && state.upload.is_none()
        };
        if ready {
            self.start_new_session();
        }
    }

    pub(super) fn upload_failed(&self, attempt: u64, closed: &Closed) {
        // A refusal of the session protocol says why in an `x` frame (unknown session, bad
        // token): handled like one arriving downstream (a new session, the outbox resent).
        if let Some(body) = closed.body.as_ref().filter(|_| !self.raw()) {
            if body.starts_with("{", 0) && body.includes("\"x\"", 0) {
                self.session_frame(attempt, Frame::text(body.clone()));
                if !self.is_current(attempt) {
                    return;
                }
            }
        }
        self.error(
            ErrorCode::Http,
            ["upstream POST failed: ", &closed.reason].concat(),
        );
        self.state.borrow_mut().outbox.rewind();
        let weak = self.me.clone();
        let delay = UPLOAD_RETRY_MS.max(closed.retry_after_ms.unwrap_or(0));
        let timer = page::timeout(delay, move || {
            if let Some(inner) = weak.upgrade() {
                inner.state.borrow_mut().upload_retry = None;
                inner.flush();
            }
        });
        {
            let mut state = self.state.borrow_mut();
            if state.attempt == attempt {
                state.upload_retry = Some(timer);
            }
        }
        // Nothing is in flight any more: a pending upgrade or new session may go ahead.
        self.finish_switch_if_idle();
        self.finish_session_end_if_idle();
    }

    pub(super) fn flush_raw_post(&self) {
        let (c, item, url) = {
            let mut state = self.state.borrow_mut();
            if state.upload.is_some() || state.upload_retry.is_some() {
                return;
            }
            let Some((c, item)) = state.outbox.unsent().next().map(|(c, i)| (c, i.clone())) else {
                return;
            };
            let Some(url) = self.options.send_url.clone() else {
                return;
            };
            state.outbox.mark_sent(c);
            (c, item, url)
        };
        let body = match &item {
            Outgoing::Text(text) => String::from(text),
            Outgoing::Binary(bytes) => base64::encode(bytes),
            Outgoing::Event(_, json) => String::from(json),
        };
        let weak = self.me.clone();
        let attempt = self.state.borrow().attempt;
        let upload = Uploader::post(&url, &body, self.options.with_credentials, move |result| {
            if let Some(inner) = weak.upgrade() {
                let upload = inner.state.borrow_mut().upload.take();
                drop(upload);
                match result {
                    Ok(_) => {
                        let _ = inner.state.borrow_mut().outbox.ack(c);
                        inner.flush();
                    }
                    Err(closed) => inner.upload_failed(attempt, &closed),
                }
            }
        });
        match upload {
            Ok(upload) => self.state.borrow_mut().upload = Some(upload),
            Err(error) => self.upload_failed(attempt, &Closed::new(error.message())),
        }
    }
}

/// The session protocol's acknowledgement frame for server messages up to `seq`, as JSON text.
fn ack_frame(seq: u64) -> String {
    ["{\"t\":\"a\",\"a\":", &dec(seq), "}"].concat()
}

/// The session protocol's upstream frame for outbox item `c`, as JSON text.
fn session_frame_text(c: u64, item: &Outgoing) -> JsString {
    // JSON numbers are exact to 2^53, far beyond any session's count of messages.
    let c = c as f64;
    match item {
        Outgoing::Text(text) => message_frame(c, text),
        Outgoing::Binary(bytes) => binary_frame(c, &base64::encode(bytes)),
        Outgoing::Event(name, value) => event_frame(c, name, value),
    }
}

// An upstream frame is built where its payload is, in one call: the text is not copied into Rust,
// and JSON.stringify quotes it.
#[wasm_bindgen(inline_js = "
export const messageFrame = (c, d) => '{\"t\":\"m\",\"c\":' + c + ',\"d\":' + JSON.stringify(d) + '}';
export const binaryFrame = (c, b) => '{\"t\":\"m\",\"c\":' + c + ',\"b\":\"' + b + '\"}';
export const eventFrame = (c, e, v) => '{\"t\":\"e\",\"c\":' + c + ',\"e\":' + JSON.stringify(e) + ',\"v\":' + v + '}';
")]
extern "C" {
    /// `{"t":"m","c":C,"d":TEXT}`.
    #[wasm_bindgen(js_name = messageFrame)]
    fn message_frame(c: f64, text: &JsString) -> JsString;
    /// `{"t":"m","c":C,"b":"BASE64"}`.
    #[wasm_bindgen(js_name = binaryFrame)]
    fn binary_frame(c: f64, base64: &str) -> JsString;
    /// `{"t":"e","c":C,"e":NAME,"v":VALUE}`, `value` already JSON.
    #[wasm_bindgen(js_name = eventFrame)]
    fn event_frame(c: f64, name: &str, value: &JsString) -> JsString;
}

#[cfg(test)]
mod tests {
    use super::ack_frame;

    #[test]
    fn ack_frame_text() {
        assert_eq!(ack_frame(0), r#"{"t":"a","a":0}"#);
        assert_eq!(ack_frame(10), r#"{"t":"a","a":10}"#);
        assert_eq!(
            ack_frame(9_007_199_254_740_991),
            r#"{"t":"a","a":9007199254740991}"#
        );
    }
}
