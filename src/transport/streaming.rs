//! XHR streaming: one long response read while it loads (readyState 3).
//!
//! An `text/event-stream` response is parsed by the shared [`SseParser`]; any other content type
//! (raw protocol only) is split into lines. The body is read as a JS string and only the part not
//! seen yet is copied into Rust, so each chunk costs its own length, not the whole response's.
//! With the session protocol the frames a chunk completes go back to JavaScript as one JSON array,
//! not one string each: a crossing per chunk, not per message.

use js_sys::{JsString, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
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
    /// Session protocol: each event's data is a JSON frame; a chunk's go on as one batch.
    Batched(SseParser),
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
                        .is_some_and(|t| t.trim_start().starts_with("text/event-stream"));
                    if !raw && !event_stream {
                        // A captive portal's or proxy's page, not the server's stream.
                        failed = true;
                        let mut closed = Closed::new(format!(
                            "stream answered {}, not an event stream",
                            content_type.as_deref().unwrap_or("no content type")
                        ));
                        closed.error = Some(ErrorCode::Http);
                        return sink(TransportEvent::Closed(closed));
                    }
                    framing = if !raw {
                        Framing::Batched(SseParser::new())
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
        Framing::Batched(parser) => {
            let text = utf8(&chunk);
            let mut batch = String::with_capacity(text.len() + 2);
            let mut count = 0u32;
            parser.feed_str(&text, &mut |event| {
                batch.push(if count == 0 { '[' } else { ',' });
                batch.push_str(&event.data);
                count += 1;
            });
            if count > 0 {
                batch.push(']');
                sink(TransportEvent::Frame(Frame::Batch {
                    frames: JsString::from(batch.as_str()),
                    count,
                }));
            }
        }
        Framing::Lines(rest) => {
            rest.push_str(&String::from(chunk));
            while let Some(end) = rest.find('\n') {
                let line = rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]);
                if !line.is_empty() {
                    sink(TransportEvent::Frame(Frame::text(JsString::from(line))));
                }
                rest.drain(..=end);
            }
        }
    }
}

/// A chunk of the response as a Rust string, by the browser's UTF-8 encoder: one native call and
/// one copy, where passing the JS string itself would copy it a character at a time.
fn utf8(chunk: &JsString) -> String {
    thread_local! {
        static ENCODER: Utf8Encoder = Utf8Encoder::new();
    }
    let bytes = ENCODER.with(|encoder| encoder.encode(chunk)).to_vec();
    // The encoder writes UTF-8 whatever the string holds (a lone surrogate becomes U+FFFD).
    String::from_utf8(bytes).unwrap_or_default()
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = TextEncoder)]
    type Utf8Encoder;
    #[wasm_bindgen(constructor, js_class = TextEncoder)]
    fn new() -> Utf8Encoder;
    /// `TextEncoder.prototype.encode` of a JS string (lone surrogates become U+FFFD).
    #[wasm_bindgen(method, js_class = TextEncoder)]
    fn encode(this: &Utf8Encoder, text: &JsString) -> Uint8Array;
}
