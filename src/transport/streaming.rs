//! XHR streaming: one long response read while it loads (readyState 3).
//!
//! With the session protocol the events are split in JavaScript, where the body already is, while
//! they have the plain shape realtime-server writes (`src/js/stream.js`): the frames a chunk
//! completes go on as one JSON array text, not one string each, and nothing is copied into Rust.
//! Any other shape (CR line ends, `event:` lines, data over several lines) goes to the shared
//! [`SseParser`] from that event on, as does a raw `text/event-stream`; any other content type
//! (raw protocol only) is split into lines. Only the part of the body not seen yet is read, so
//! each chunk costs its own length, not the whole response's.

use js_sys::{Array, JsString};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsCast;
use web_sys::XmlHttpRequest;

use super::{Closed, Ctx, Frame, Sink, TransportEvent};
use crate::error::{Error, ErrorCode};
use crate::sse::SseParser;
use crate::web::xhr::{response_text, Xhr, XhrEvent, XhrRequest};

/// An open or opening streaming request. Dropping it aborts the request.
#[derive(Debug)]
pub(crate) struct StreamingTransport {
    _request: Xhr,
}

/// How the body is split into messages.
enum Framing {
    /// Not decided until the headers arrive.
    Unknown,
    /// Raw protocol, `text/event-stream`: each event is a message.
    EventStream(SseParser),
    /// Session protocol: each event's data is a JSON frame; a chunk's go on as one batch. Split in
    /// JavaScript while the events have the plain shape the server writes (`sseBatch` in
    /// `src/js/stream.js`); by the parser from the first one that does not.
    Batched(Option<SseParser>),
    /// Raw protocol, any other content type: one message per line; the partial last line is kept.
    Lines(String),
}

impl StreamingTransport {
    pub(crate) fn open(ctx: &Ctx, sink: Sink) -> Result<Self, Error> {
        let url = (ctx.url)();
        let raw = ctx.raw;
        let mut framing = Framing::Unknown;
        let mut offset: u32 = 0;
        let mut failed = false;
        let request = XhrRequest {
            method: "GET",
            url: &url,
            body: None,
            with_credentials: ctx.with_credentials,
        };
        let request = Xhr::send(&request, move |xhr, event| {
            if failed {
                return;
            }
            match event {
                XhrEvent::Headers => {
                    let status = xhr.status().unwrap_or(0);
                    if !(200..300).contains(&status) {
                        failed = true;
                        return sink(TransportEvent::Closed(Closed::http("stream", xhr, status)));
                    }
                    let content_type = xhr.get_response_header("Content-Type").ok().flatten();
                    let event_stream = content_type
                        .as_deref()
                        // Header values come trimmed (the Fetch standard normalises them).
                        .is_some_and(|t| t.starts_with("text/event-stream"));
                    if !raw && !event_stream {
                        // A captive portal's or proxy's page, not the server's stream.
                        failed = true;
                        let mut closed = Closed::new(
                            [
                                "stream answered ",
                                content_type.as_deref().unwrap_or("no content type"),
                                ", not an event stream",
                            ]
                            .concat(),
                        );
                        closed.error = Some(ErrorCode::Http);
                        return sink(TransportEvent::Closed(closed));
                    }
                    framing = if !raw {
                        Framing::Batched(None)
                    } else if event_stream {
                        Framing::EventStream(SseParser::new())
                    } else {
                        Framing::Lines(String::new())
                    };
                    if raw {
                        sink(TransportEvent::Opened);
                    }
                }
                XhrEvent::Progress => read_new(xhr, &mut offset, &mut framing, &sink),
                XhrEvent::Done(_) => {
                    read_new(xhr, &mut offset, &mut framing, &sink);
                    if let Framing::Lines(rest) = &mut framing {
                        if !rest.is_empty() {
                            let line = core::mem::take(rest);
                            sink(TransportEvent::Frame(Frame::text(JsString::from(
                                line.as_str(),
                            ))));
                        }
                    }
                    failed = true;
                    sink(TransportEvent::Closed(Closed::new("stream ended")));
                }
                XhrEvent::Failed => {
                    failed = true;
                    sink(TransportEvent::Closed(Closed::new("stream request failed")));
                }
            }
        })?;
        Ok(StreamingTransport { _request: request })
    }
}

fn read_new(xhr: &XmlHttpRequest, offset: &mut u32, framing: &mut Framing, sink: &Sink) {
    let text = response_text(xhr);
    let len = text.length();
    if len <= *offset {
        return;
    }
    if let Framing::Batched(parser @ None) = framing {
        match sse_batch(&text, *offset) {
            Some(batch) => {
                *offset = batch.get(1).as_f64().map_or(len, |end| end as u32);
                let events: Array = batch.get(0).unchecked_into();
                if events.length() > 0 {
                    sink(TransportEvent::Frame(Frame::Batch { events }));
                }
                return;
            }
            // Not the plain shape: the parser reads on from here, for good.
            None => *parser = Some(SseParser::new()),
        }
    }
    let chunk = text.slice(*offset, len);
    *offset = len;
    match framing {
        Framing::Unknown => {}
        Framing::EventStream(parser) => parser.feed_str(&utf8(&chunk), &mut |event| {
            let name = (event.event != "message").then(|| JsString::from(event.event.as_str()));
            let id = (!event.id.is_empty()).then(|| event.id.clone());
            let data = JsString::from(event.data.as_str());
            sink(TransportEvent::Frame(Frame::Text {
                data,
                event: name,
                id,
            }));
        }),
        Framing::Batched(None) => {}
        Framing::Batched(Some(parser)) => {
            let text = utf8(&chunk);
            let events = Array::new();
            parser.feed_str(&text, &mut |event| {
                events.push(&JsString::from(event.data.as_str()));
            });
            if events.length() > 0 {
                sink(TransportEvent::Frame(Frame::Batch { events }));
            }
        }
        Framing::Lines(rest) => {
            rest.push_str(&String::from(chunk));
            let mut start = 0;
            while let Some(end) = rest[start..].find('\n') {
                let line = &rest[start..start + end];
                let line = line.strip_suffix('\r').unwrap_or(line);
                if !line.is_empty() {
                    sink(TransportEvent::Frame(Frame::text(JsString::from(line))));
                }
                start += end + 1;
            }
            // The partial last line stays for the next chunk.
            *rest = rest.split_off(start);
        }
    }
}

/// A chunk of the response as a Rust string (for the parser: raw event streams, and session
/// streams that left the plain shape).
fn utf8(chunk: &JsString) -> String {
    String::from(chunk)
}

#[wasm_bindgen(module = "/src/js/stream.js")]
extern "C" {
    /// The complete events of `text` from `from` as `[events, end]`, or `undefined` if
    /// one is not of the plain shape (see `src/js/stream.js`).
    #[wasm_bindgen(js_name = sseBatch)]
    fn sse_batch(text: &JsString, from: u32) -> Option<Array>;
}
