//! Downstream: frames from the transport to the listeners, exactly once and in order.

use js_sys::{Array, JsString, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::{Inner, Reopen, SessionIds, ACK_IDLE_MS};
use crate::base64;
use crate::error::ErrorCode;
use crate::event::{ClientEvent, Data, MessageInfo};
use crate::options::TransportKind;
use crate::session::Accept;
use crate::text::dec;
use crate::transport::{Closed, Frame};
use crate::web::page;

impl Inner {
    pub(super) fn raw_frame(&self, attempt: u64, frame: Frame) {
        // A raw iframe or poll may deliver before its "open" was seen by the client.
        self.opened(attempt);
        let transport = self.transport_kind();
        let event = match frame {
            // Only the session protocol batches; a raw stream's events arrive one by one.
            #[cfg(feature = "streaming")]
            Frame::Batch { .. } => return,
            Frame::Binary(bytes) => {
                self.count_in(1, u64::from(bytes.length()));
                ClientEvent::Message {
                    data: Data::Binary(bytes),
                    info: MessageInfo {
                        transport,
                        seq: None,
                        id: None,
                        event: None,
                    },
                }
            }
            Frame::Text { data, event, id } => {
                self.count_in(1, u64::from(data.length()));
                match event {
                    Some(name) => ClientEvent::Named {
                        event: name.clone(),
                        value: data.into(),
                        info: MessageInfo {
                            transport,
                            seq: None,
                            id,
                            event: Some(name),
                        },
                    },
                    None => ClientEvent::Message {
                        data: Data::Text(data),
                        info: MessageInfo {
                            transport,
                            seq: None,
                            id,
                            event: None,
                        },
                    },
                }
            }
        };
        if self.is_current(attempt) {
            self.emit(&event);
        }
    }

    pub(super) fn transport_kind(&self) -> TransportKind {
        let state = self.state.borrow();
        self.options.transports[state.index]
    }

    /// Counts what arrived: `messages` delivered to listeners, `bytes` as received on the wire
    /// (frames and framing included, UTF-16 code units for text).
    pub(super) fn count_in(&self, messages: u64, bytes: u64) {
        let mut state = self.state.borrow_mut();
        state.stats.messages_in += messages;
        state.stats.bytes_in += bytes;
    }

    pub(super) fn session_frame(&self, attempt: u64, frame: Frame) {
        match frame {
            Frame::Binary(bytes) => {
                let len = bytes.length();
                self.count_in(0, u64::from(len));
                if len < 8 {
                    return self
                        .protocol_error(attempt, "binary frame shorter than its sequence number");
                }
                let mut head = [0u8; 8];
                bytes.subarray(0, 8).copy_to(&mut head);
                let seq = u64::from_be_bytes(head);
                let payload = bytes.subarray(8, len);
                self.deliver(attempt, seq, Payload::Data(Data::Binary(payload)));
            }
            Frame::Text { data, .. } => self.session_text(attempt, &data),
            #[cfg(feature = "streaming")]
            Frame::Batch { events } => self.session_batch(attempt, &events),
        }
        self.ack_if_due(attempt);
    }

    /// A streaming chunk's events: joined into one array and parsed at once, or, if that fails,
    /// event by event, so the frames before a bad one are delivered (as they are over an
    /// EventSource) and the connection resumes after them rather than before.
    #[cfg(feature = "streaming")]
    fn session_batch(&self, attempt: u64, events: &js_sys::Array) {
        let count = events.length();
        let frames = join_events(events);
        let frames = &frames;
        let parsed = if REPLACEMENT.with(|replacement| includes(frames, replacement)) {
            None
        } else {
            parse_frames(frames).filter(|parsed| parsed.len() == count as usize)
        };
        let Some(parsed) = parsed else {
            for event in events.iter() {
                if !self.is_current(attempt) {
                    return;
                }
                self.frame_arrived();
                self.session_text(attempt, event.unchecked_ref());
            }
            return;
        };
        // The brackets and commas are not on the wire.
        self.count_in(0, u64::from(frames.length().saturating_sub(count + 1)));
        for frame in &parsed {
            if !self.is_current(attempt) {
                return;
            }
            self.frame_arrived();
            self.session_object(attempt, frame);
        }
    }

    /// Text frames: one JSON frame, or a polling answer's array of them.
    fn session_text(&self, attempt: u64, data: &JsString) {
        self.count_in(0, u64::from(data.length()));
        // The server escapes U+FFFD in its frames, so a raw one means the browser replaced bytes
        // that were not UTF-8: the frame is corrupt, whatever it parses to.
        if REPLACEMENT.with(|replacement| includes(data, replacement)) {
            return self.protocol_error(attempt, "a frame arrived corrupted (invalid UTF-8)");
        }
        let Some(frames) = parse_frames(data) else {
            return self.protocol_error(attempt, "a frame is not valid JSON");
        };
        for frame in &frames {
            if !self.is_current(attempt) {
                return;
            }
            self.session_object(attempt, frame);
        }
    }

    pub(super) fn session_object(&self, attempt: u64, frame: &JsValue) {
        // Most frames are messages: one call reads what the general path below takes eight for
        // (the type, its length and character, the number and its value, the text's or name's type).
        let head = message_head(frame);
        if head >= 0.0 {
            let text = field!(frame, "d").unchecked_into::<JsString>();
            return self.deliver(attempt, head as u64, Payload::Data(Data::Text(text)));
        }
        if head < 0.0 {
            let name = field!(frame, "e").unchecked_into::<JsString>();
            return self.named_event(attempt, (-1.0 - head) as u64, name, field!(frame, "v"));
        }
        let Some(kind) = frame_type(frame) else {
            return self.protocol_error(attempt, "a frame has no type");
        };
        match kind {
            'o' => {
                let (Some(sid), Some(token)) = (
                    field!(frame, "sid").as_string(),
                    field!(frame, "token").as_string(),
                ) else {
                    return self.protocol_error(attempt, "open frame without a session");
                };
                let ack = whole(&field!(frame, "ack")).unwrap_or(0);
                let heartbeat = whole(&field!(frame, "hb")).unwrap_or(0);
                let replaced = {
                    let mut state = self.state.borrow_mut();
                    let same = state.session.as_ref().is_some_and(|s| s.sid == sid);
                    let replaced = !same && state.session.is_some();
                    if !same {
                        // A new session has processed nothing: renumber what is pending.
                        state.inbound.reset();
                        state.outbox.reset();
                    }
                    state.session = Some(SessionIds { sid, token });
                    state.server_heartbeat_ms = u32::try_from(heartbeat).unwrap_or(u32::MAX);
                    if state.outbox.ack(ack).is_err() {
                        drop(state);
                        return self.protocol_error(
                            attempt,
                            "the server acknowledged messages never sent",
                        );
                    }
                    // Polling repeats `o` on every answer; only a connection's first one means
                    // "resend what I have not processed".
                    if !state.opened {
                        state.outbox.rewind();
                    }
                    replaced
                };
                if replaced {
                    self.error(
                        ErrorCode::Gap,
                        "the server replaced the session; messages in flight may have been lost",
                    );
                }
                self.opened(attempt);
                self.flush();
            }
            'm' | 'e' => {
                let Some(seq) = whole(&field!(frame, "s")) else {
                    return self.protocol_error(attempt, "a message frame has no sequence number");
                };
                if kind == 'e' {
                    let Ok(name) = field!(frame, "e").dyn_into::<JsString>() else {
                        return self.protocol_error(attempt, "an event frame has no name");
                    };
                    self.named_event(attempt, seq, name, field!(frame, "v"));
                } else if let Ok(text) = field!(frame, "d").dyn_into::<JsString>() {
                    self.deliver(attempt, seq, Payload::Data(Data::Text(text)));
                } else if let Some(bytes) = field!(frame, "b")
                    .as_string()
                    .and_then(|b| base64::decode(&b))
                {
                    let data = Data::Binary(Uint8Array::from(bytes.as_slice()));
                    self.deliver(attempt, seq, Payload::Data(data));
                } else {
                    self.protocol_error(
                        attempt,
                        "a message frame has neither text nor valid base64",
                    );
                }
            }
            'a' => {
                let ack = whole(&field!(frame, "a")).unwrap_or(0);
                let result = self.state.borrow_mut().outbox.ack(ack);
                if result.is_err() {
                    self.protocol_error(attempt, "the server acknowledged messages never sent");
                } else {
                    self.flush();
                }
            }
            'h' => {
                // The highest `s` the connection carried: less here means the last messages were
                // skipped, which no later message would reveal.
                let Some(sent) = whole(&field!(frame, "s")) else {
                    return;
                };
                let missing = self.state.borrow_mut().inbound.sent_through(sent);
                if let Some(missing) = missing {
                    self.missing(attempt, missing);
                }
            }
            'g' => {
                let from = whole(&field!(frame, "from")).unwrap_or(0);
                let to = whole(&field!(frame, "to")).unwrap_or(from);
                self.state.borrow_mut().inbound.on_gap_frame(from, to);
                self.error(ErrorCode::Gap, lost(from, to));
            }
            'r' => {
                // The server recycled the response on purpose: reopen at once, same transport.
                self.state.borrow_mut().reopen = Reopen::Recycle;
                self.release_transport();
                if self.is_current(attempt) {
                    self.start_attempt();
                }
            }
            'x' => {
                let code = field!(frame, "code").as_string().unwrap_or_default();
                let reason = field!(frame, "reason").as_string().unwrap_or_default();
                if code != "unknown_session" && code != "bad_token" {
                    // The session is fine; this connection was refused (a concurrent long poll,
                    // a busy server): drop it and reconnect with backoff, same session.
                    let message =
                        ["the server refused the connection (", &code, "): ", &reason].concat();
                    return self.transport_closed(attempt, Closed::new(message));
                }
                self.release_transport();
                self.error(
                    ErrorCode::Gap,
                    ["the server ended the session (", &code, "): ", &reason].concat(),
                );
                // A POST still in flight may carry the old session's acknowledgement of messages
                // it processed: the outbox is renumbered for the new session only once that answer
                // is in, or they would be sent (and acted on) twice.
                let in_flight = {
                    let mut state = self.state.borrow_mut();
                    state.session_ended = true;
                    state.upload.is_some()
                };
                if !in_flight && self.is_current(attempt) {
                    self.start_new_session();
                }
            }
            _ => {} // Unknown frame types are ignored, so servers can add them.
        }
    }

    /// A named server event (`e` frame): `value` undefined (no `v`) is passed on as `null`.
    fn named_event(&self, attempt: u64, seq: u64, name: JsString, value: JsValue) {
        let value = if value.is_undefined() {
            JsValue::NULL
        } else {
            value
        };
        self.deliver(attempt, seq, Payload::Named(name, value));
    }

    /// Passes a sequenced message on exactly once and in order.
    fn deliver(&self, attempt: u64, seq: u64, payload: Payload) {
        let went_back = {
            let mut state = self.state.borrow_mut();
            let last = core::mem::replace(&mut state.connection_last_seq, seq);
            seq <= last
        };
        if went_back {
            // Within one connection numbers only grow; a repeat across connections is a normal
            // replay, but here the server broke the protocol. The message is not delivered twice.
            self.error(
                ErrorCode::Protocol,
                [
                    "the sequence went back to ",
                    &dec(seq),
                    " on one connection",
                ]
                .concat(),
            );
            return;
        }
        let accept = self.state.borrow_mut().inbound.accept(seq);
        if !self.missing(attempt, accept) {
            return;
        }
        self.count_in(1, 0);
        let info = MessageInfo {
            transport: self.transport_kind(),
            seq: Some(seq),
            id: None,
            event: None,
        };
        let event = match payload {
            Payload::Data(data) => ClientEvent::Message { data, info },
            Payload::Named(name, value) => ClientEvent::Named {
                event: name.clone(),
                value,
                info: MessageInfo {
                    event: Some(name),
                    ..info
                },
            },
        };
        if self.is_current(attempt) {
            self.emit(&event);
        }
    }

    /// Acts on what [`Inbound`](crate::session::Inbound) says of a message or heartbeat; returns
    /// whether the message is to be delivered. Skipped messages are fetched again by resuming
    /// (the server still has them: it numbers every message in turn); lost ones are reported.
    fn missing(&self, attempt: u64, accept: Accept) -> bool {
        match accept {
            Accept::Deliver => true,
            Accept::Duplicate => false,
            Accept::Skipped { from, to } => {
                let message = [
                    "server messages ",
                    &dec(from),
                    " to ",
                    &dec(to),
                    " were skipped on the connection; fetching them again",
                ]
                .concat();
                self.protocol_error(attempt, &message);
                false
            }
            Accept::Gap { from, to } => {
                self.error(ErrorCode::Gap, lost(from, to));
                true
            }
        }
    }

    pub(super) fn protocol_error(&self, attempt: u64, message: &str) {
        if !self.is_current(attempt) {
            return self.error(ErrorCode::Protocol, message);
        }
        // A transport that speaks garbage cannot be trusted with what follows: reconnect. The
        // close reports the error, once, as a protocol error.
        let mut closed = Closed::new(message);
        closed.error = Some(ErrorCode::Protocol);
        self.transport_closed(attempt, closed);
    }

    /// Acknowledges what arrived, now if due, otherwise after a pause.
    pub(super) fn ack_if_due(&self, attempt: u64) {
        let kind = self.transport_kind();
        if matches!(kind, TransportKind::Polling | TransportKind::LongPolling) {
            return; // Every poll's `after` parameter acknowledges.
        }
        // The hot path reads no clock and sets no timer: a count-based ack when 64 arrived, and
        // one idle timer per second while anything is unacknowledged.
        let (due, arm) = {
            let mut state = self.state.borrow_mut();
            if state.attempt != attempt {
                return;
            }
            let due = state.inbound.count_due();
            if due {
                state.ack_pending = state.inbound.ack_due(page::now_ms());
            }
            (
                due,
                state.ack_timer.is_none() && state.inbound.has_unacked(),
            )
        };
        if arm {
            let weak = self.me.clone();
            let timer = page::timeout(ACK_IDLE_MS, move || {
                if let Some(inner) = weak.upgrade() {
                    {
                        let mut state = inner.state.borrow_mut();
                        state.ack_timer = None;
                        if let Some(seq) = state.inbound.ack_due(page::now_ms()) {
                            state.ack_pending = Some(seq);
                        }
                    }
                    inner.flush();
                    // Still something to acknowledge later (the clock said not yet): look again.
                    let attempt = inner.state.borrow().attempt;
                    inner.ack_if_due(attempt);
                }
            });
            let mut state = self.state.borrow_mut();
            if state.attempt == attempt {
                state.ack_timer = Some(timer);
            }
        }
        if due {
            self.flush();
        }
    }
}

/// What a sequenced frame carries to the listeners (one type, so [`Inner::deliver`] is compiled
/// once rather than once per kind of message).
enum Payload {
    Data(Data),
    /// A named event's name and value.
    Named(JsString, JsValue),
}

/// Every frame field the client reads (docs/PROTOCOL.md, "Frames").
const KEYS: [&str; 15] = [
    "t", "s", "e", "v", "d", "b", "a", "sid", "token", "ack", "hb", "from", "to", "code", "reason",
];

/// `key`'s place in [`KEYS`], for [`field!`] at compile time: a key not in the list does not
/// compile.
pub(super) const fn key_index(key: &str) -> usize {
    let mut i = 0;
    while i < KEYS.len() {
        let (k, key) = (KEYS[i].as_bytes(), key.as_bytes());
        let mut same = k.len() == key.len();
        let mut j = 0;
        while same && j < k.len() {
            same = k[j] == key[j];
            j += 1;
        }
        if same {
            return i;
        }
        i += 1;
    }
    panic!("not a frame key: add it to KEYS");
}

/// The field of a frame named by [`KEYS`]`[index]`. The keys are JS strings made once (per
/// thread), not for every read.
pub(super) fn field_at(object: &JsValue, index: usize) -> JsValue {
    thread_local! {
        static KEY_VALUES: Vec<JsValue> = KEYS.iter().map(|k| JsValue::from_str(k)).collect();
    }
    KEY_VALUES.with(|keys| {
        keys.get(index)
            .map_or(JsValue::UNDEFINED, |key| property(object, key))
    })
}

/// A frame's field: `field!(frame, "s")`.
macro_rules! field {
    ($object:expr, $key:literal) => {{
        const INDEX: usize = $crate::client::downstream::key_index($key);
        $crate::client::downstream::field_at($object, INDEX)
    }};
}
pub(super) use field;

/// A frame's type: its `t`, read as a character code rather than copied into Rust (every frame
/// has one). The protocol's types are one letter; a longer one is a type this client does not
/// know (U+FFFD here), `None` a frame without a type.
fn frame_type(frame: &JsValue) -> Option<char> {
    let t = field!(frame, "t").dyn_into::<JsString>().ok()?;
    let code = if t.length() == 1 {
        t.char_code_at(0) as u32
    } else {
        0xFFFD
    };
    Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
}

/// The `gap` error's message: server messages `from` to `to` are gone for good.
fn lost(from: u64, to: u64) -> String {
    [
        "server messages ",
        &dec(from),
        " to ",
        &dec(to),
        " were lost",
    ]
    .concat()
}

/// A whole number field of a frame (at most 2^53 - 1, as JSON numbers are exact).
fn whole(value: &JsValue) -> Option<u64> {
    let n = value.as_f64()?;
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0)
        .then_some(n as u64)
}

thread_local! {
    /// U+FFFD as a JS string, made once: searched for in every frame.
    static REPLACEMENT: JsString = JsString::from("\u{FFFD}");
}

// A property read that cannot throw for a frame that is not an object (`Reflect.get` does, so
// js-sys's binding catches, which costs every read a wrapper): `undefined` instead.
#[wasm_bindgen(inline_js = "export function property(o, k) { return o?.[k]; }
// A message frame's `s` (a whole number, as `whole` reads it) if it is a text message (`m` with
// a string `d`), `-1 - s` if it is a named event (`e` with a string `e`), else NaN.
export function messageHead(f) {
  const s = f?.s;
  if (!Number.isSafeInteger(s) || s < 0) return NaN;
  if (f.t === \"m\") return typeof f.d == \"string\" ? s : NaN;
  return f.t === \"e\" && typeof f.e == \"string\" ? -1 - s : NaN;
}")]
extern "C" {
    /// `object[key]`, or `undefined` if `object` is `null` or `undefined`.
    fn property(object: &JsValue, key: &JsValue) -> JsValue;
    /// What a message frame is, in one call: `s` for a text message
    /// (`{"t":"m","s":S,"d":"..."}`), `-1 - s` for a named event (`{"t":"e","s":S,"e":"..."}`;
    /// exact: `s` < 2^53), NaN for anything else (other frames, and message frames the general
    /// path must judge).
    #[wasm_bindgen(js_name = messageHead)]
    fn message_head(frame: &JsValue) -> f64;
}

#[cfg(feature = "streaming")]
#[wasm_bindgen(module = "/src/js/stream.js")]
extern "C" {
    /// A streaming batch's events as one JSON array text (`[d1,d2,...]`).
    #[wasm_bindgen(js_name = joinEvents)]
    pub(super) fn join_events(events: &js_sys::Array) -> JsString;
}

#[wasm_bindgen]
extern "C" {
    /// `String.prototype.includes` with a JS string (js-sys's `includes` takes a `&str`, which
    /// would be decoded into a new JS string on every call).
    #[wasm_bindgen(js_namespace = ["String", "prototype", "includes"], js_name = call)]
    fn includes(text: &JsString, search: &JsString) -> bool;
    /// `JSON.parse` of a JS string: the text is not copied into Rust and back.
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &JsString) -> Result<JsValue, JsValue>;
}

/// Parses a text unit into frames: one object, or a polling answer's array of them.
pub(super) fn parse_frames(data: &JsString) -> Option<Vec<JsValue>> {
    let parsed = json_parse(data).ok()?;
    if Array::is_array(&parsed) {
        Some(parsed.unchecked_into::<Array>().iter().collect())
    } else {
        Some(vec![parsed])
    }
}

#[cfg(test)]
mod tests {
    use super::lost;

    #[test]
    fn lost_text() {
        assert_eq!(lost(2, 4), "server messages 2 to 4 were lost");
        assert_eq!(lost(0, 0), "server messages 0 to 0 were lost");
        assert_eq!(
            lost(9, u64::MAX),
            "server messages 9 to 18446744073709551615 were lost"
        );
    }
}
