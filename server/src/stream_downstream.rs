//! Event streams (`/rt/sse`) and hidden-iframe documents (`/rt/iframe`): long HTTP responses
//! carrying one frame per event or per `<script>`, recycled after a byte budget.

use crate::chunk_sink::ChunkSink;
use crate::downstream::{Downstream, Ending, Gone, Input};
use crate::frame::{push_json_string, Frame};
use crate::refusal::Refusal;
use crate::tamper::{Carrier, Tampered};

/// Size of the padding that opens every stream: old engines and proxies hold back the first
/// kilobytes of a response, so we send them something to hold back.
pub const PRELUDE_PADDING: usize = 2048;

/// How frames are written into the response.
#[derive(Debug, Clone)]
pub enum StreamFormat {
    /// `text/event-stream`: `id: s` (for messages) and `data: JSON` per frame.
    EventStream,
    /// `text/html`: `<script>parent.postMessage(JSON_STRING, ORIGIN)</script>` per frame.
    Iframe {
        /// The target origin as an escaped JS string literal.
        origin: String,
    },
}

impl StreamFormat {
    /// The start of the response, padding included.
    pub fn prelude(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PRELUDE_PADDING + 128);
        match self {
            StreamFormat::EventStream => {
                out.push(b':');
                out.resize(PRELUDE_PADDING, b' ');
                out.extend_from_slice(b"\n\n");
            }
            StreamFormat::Iframe { .. } => {
                out.extend_from_slice(
                    b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><!--",
                );
                out.resize(PRELUDE_PADDING, b' ');
                out.extend_from_slice(b"-->\n");
            }
        }
        out
    }

    /// Appends one frame.
    pub fn push(&self, out: &mut String, frame: &Frame<'_>) {
        match self {
            StreamFormat::EventStream => {
                if let Some(seq) = frame.seq() {
                    out.push_str(&format!("id: {seq}\n"));
                }
                out.push_str("data: ");
                out.push_str(&frame.to_json());
                out.push_str("\n\n");
            }
            StreamFormat::Iframe { origin } => {
                out.push_str("<script>parent.postMessage(");
                out.push_str(&script_string(&frame.to_json()));
                out.push(',');
                out.push_str(origin);
                out.push_str(")</script>\n");
            }
        }
    }

    /// Appends a tampered piece (test hooks, see [`crate::tamper`]): a payload where a frame's
    /// JSON goes, or a frame cut in the middle of its JSON.
    pub fn push_tampered(&self, out: &mut Vec<u8>, tampered: &Tampered<'_>) {
        match (self, tampered) {
            (StreamFormat::EventStream, Tampered::Payload(bytes)) => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\n\n");
            }
            (StreamFormat::Iframe { origin }, Tampered::Payload(bytes)) => {
                out.extend_from_slice(b"<script>parent.postMessage(");
                push_script_bytes(out, bytes);
                out.push(b',');
                out.extend_from_slice(origin.as_bytes());
                out.extend_from_slice(b")</script>\n");
            }
            (StreamFormat::EventStream, Tampered::Cut(frame)) => {
                if let Some(seq) = frame.seq() {
                    out.extend_from_slice(format!("id: {seq}\n").as_bytes());
                }
                out.extend_from_slice(b"data: ");
                let json = frame.to_json();
                out.extend_from_slice(&json.as_bytes()[..Tampered::cut_point(json.as_bytes())]);
            }
            (StreamFormat::Iframe { .. }, Tampered::Cut(frame)) => {
                out.extend_from_slice(b"<script>parent.postMessage(");
                let literal = script_string(&frame.to_json());
                let literal = literal.as_bytes();
                out.extend_from_slice(&literal[..Tampered::cut_point(literal)]);
            }
        }
    }

    /// The end of the response.
    fn epilogue(&self) -> &'static [u8] {
        match self {
            StreamFormat::EventStream => b"",
            StreamFormat::Iframe { .. } => b"</body></html>\n",
        }
    }
}

/// `text` as a JS string literal that is safe inside `<script>`: `<`, `>` and `&` are escaped so
/// no payload can write `</script>` or `<!--`, and U+2028/U+2029 because older engines end a
/// string literal at them.
pub fn script_string(text: &str) -> String {
    let mut json = String::with_capacity(text.len() + 16);
    push_json_string(&mut json, text);
    let mut out = String::with_capacity(json.len() + 16);
    for ch in json.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `bytes` as a script-safe JS string literal, as [`script_string`] writes text, except that
/// bytes that are not UTF-8 go in as they are (the `bad-utf8` fault: the browser decodes them).
fn push_script_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        let literal = script_string(chunk.valid());
        out.extend_from_slice(&literal.as_bytes()[1..literal.len() - 1]);
        out.extend_from_slice(chunk.invalid());
    }
    out.push(b'"');
}

/// A streaming HTTP response carrying frames.
#[derive(Debug)]
pub struct StreamDownstream {
    sink: ChunkSink,
    format: StreamFormat,
    budget: usize,
    started: bool,
    crlf: bool,
}

impl StreamDownstream {
    /// Frames in `format` into `sink`, recycled after `budget` bytes.
    pub fn new(sink: ChunkSink, format: StreamFormat, budget: usize) -> StreamDownstream {
        StreamDownstream {
            sink,
            format,
            budget,
            started: false,
            crlf: false,
        }
    }

    /// With `on`, every write after the first ends its lines with CR LF (the `crlf` fault).
    pub fn crlf(mut self, on: bool) -> StreamDownstream {
        self.crlf = on;
        self
    }

    /// Writes the `x` frame and ends the response.
    pub async fn refuse(mut self, refusal: Refusal) {
        // Ending anyway: if the client is gone there is no one to tell.
        let _ = self.write(&[Frame::Refused(&refusal)]).await;
        self.end(Ending::Refused).await;
    }
}

impl StreamDownstream {
    /// Writes `chunk`, after the prelude if it is the first.
    async fn send(&mut self, chunk: &[u8]) -> Result<(), Gone> {
        if !self.started {
            self.started = true;
            let mut bytes = self.format.prelude();
            bytes.extend_from_slice(chunk);
            return self.sink.write(bytes).await;
        }
        if self.crlf {
            return self.sink.write(with_crlf(chunk)).await;
        }
        self.sink.write(chunk.to_vec()).await
    }
}

impl Downstream for StreamDownstream {
    async fn write(&mut self, frames: &[Frame<'_>]) -> Result<(), Gone> {
        let mut chunk = String::new();
        for frame in frames {
            self.format.push(&mut chunk, frame);
        }
        self.send(chunk.as_bytes()).await
    }

    fn carrier(&self) -> Carrier {
        Carrier::HTTP
    }

    async fn write_tampered(&mut self, tampered: &Tampered<'_>) -> Result<(), Gone> {
        let mut chunk = Vec::new();
        self.format.push_tampered(&mut chunk, tampered);
        self.send(&chunk).await
    }

    async fn input(&mut self) -> Input {
        // Upstream frames of HTTP transports come by POST /send; this only watches for the end.
        self.sink.closed().await;
        Input::Gone
    }

    fn budget_spent(&self) -> bool {
        self.sink.written() >= self.budget
    }

    async fn end(mut self, ending: Ending) {
        let epilogue = self.format.epilogue();
        if ending != Ending::Gone && !epilogue.is_empty() {
            // Best effort: the response ends right after whether or not this arrives.
            let _ = self.sink.write(epilogue.to_vec()).await;
        }
        self.sink.finish().await;
    }
}

/// `chunk` with every LF made CR LF.
fn with_crlf(chunk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 16);
    for &byte in chunk {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_strings_cannot_close_the_script() {
        let literal = script_string("</script><!--&\u{2028}\u{2029}\"");
        assert_eq!(
            literal,
            r#""\u003c/script\u003e\u003c!--\u0026\u2028\u2029\"""#
        );
    }

    #[test]
    fn crlf_line_ends() {
        assert_eq!(
            with_crlf(b"id: 1\ndata: {}\n\n"),
            b"id: 1\r\ndata: {}\r\n\r\n"
        );
    }

    #[test]
    fn event_stream_frames() {
        let mut out = String::new();
        StreamFormat::EventStream.push(&mut out, &Frame::Ack(3));
        assert_eq!(out, "data: {\"t\":\"a\",\"a\":3}\n\n");
        assert_eq!(
            StreamFormat::EventStream.prelude().len(),
            PRELUDE_PADDING + 2
        );
    }
}
