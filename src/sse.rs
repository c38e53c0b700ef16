//! One parser for `text/event-stream`, following the HTML standard's rules for parsing and
//! interpreting an event stream.
//!
//! `EventSource` parses event streams itself, but the XHR-streaming transport reads the same stream
//! from `responseText` and raw mode reads it as bytes. Both go through this parser so that they see
//! exactly the events an `EventSource` would, down to the corner cases: a byte-order mark, three kinds
//! of line end, a `retry` that is not a number, an `id` with U+0000 in it.
//!
//! Chunks arrive wherever the network split them: inside a line, between the CR and the LF of a CRLF,
//! inside a multi-byte character or the byte-order mark. The parser carries just enough state across
//! chunks that every split gives the events of the unsplit stream. It scans each chunk for line ends
//! and copies only lines that a chunk boundary cut in two.

use std::mem;
use std::str;

/// What malformed UTF-8 decodes to, as in the browser's decoder.
const REPLACEMENT: &str = "\u{FFFD}";

/// One dispatched event: what `EventSource` would deliver as a `MessageEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type: the event's last `event` field, or `"message"` when it had none.
    pub event: String,
    /// The values of the event's `data` fields, joined with `\n`.
    pub data: String,
    /// The last event ID at dispatch: the last valid `id` field of this or an earlier event.
    pub id: String,
}

/// An incremental event-stream parser: feed it chunks, get [`SseEvent`]s.
///
/// One parser can read the successive responses of a reconnecting stream: call
/// [`finish`](Self::finish) when a response ends. Like `EventSource`, it keeps the last event ID and
/// the reconnection time across responses.
#[derive(Debug)]
pub struct SseParser {
    /// The start of a line that the end of a chunk cut off.
    line: String,
    data: String,
    event: String,
    /// The spec's "last event ID buffer": becomes [`Self::last_event_id`] at the next dispatch.
    id: String,
    last_event_id: String,
    retry: Option<u32>,
    /// The text so far ends with CR, so an LF starting the next chunk completes a CRLF: it must not
    /// count as a second, empty line, which would dispatch the event early.
    after_cr: bool,
    /// No text decoded from this response yet: a byte-order mark here is stripped.
    at_start: bool,
    /// The first bytes of a UTF-8 sequence that the end of a `feed_bytes` chunk cut off (at most 3).
    partial: Vec<u8>,
    /// The event passed to `on_event`, kept so its buffers are reused: no allocation per event.
    dispatched: SseEvent,
}

impl Default for SseParser {
    fn default() -> Self {
        Self {
            line: String::new(),
            data: String::new(),
            event: String::new(),
            id: String::new(),
            last_event_id: String::new(),
            retry: None,
            after_cr: false,
            at_start: true,
            partial: Vec::new(),
            dispatched: SseEvent {
                event: String::new(),
                data: String::new(),
                id: String::new(),
            },
        }
    }
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses text that is already decoded, such as a slice of an XHR's `responseText`, calling
    /// `on_event` for each event it completes.
    pub fn feed_str(&mut self, chunk: &str, on_event: &mut dyn FnMut(&SseEvent)) {
        // A `str` starts on a character boundary, so a sequence left over from `feed_bytes` can
        // never be completed: it is malformed.
        if !self.partial.is_empty() {
            self.partial.clear();
            self.feed_text(REPLACEMENT, on_event);
        }
        self.feed_text(chunk, on_event);
    }

    /// Parses raw bytes, calling `on_event` for each event it completes.
    ///
    /// The bytes are decoded as UTF-8 the way the browser does it: a character split across chunks
    /// decodes as if it were not split, and each malformed sequence becomes one U+FFFD.
    pub fn feed_bytes(&mut self, chunk: &[u8], on_event: &mut dyn FnMut(&SseEvent)) {
        let mut input = chunk;
        // Complete a character the previous chunk cut off, a byte at a time: at most 3 bytes.
        while !self.partial.is_empty() {
            let Some((&byte, rest)) = input.split_first() else {
                return;
            };
            // Taken out (and put back, keeping its allocation) so its text can be fed to `self`.
            let mut partial = mem::take(&mut self.partial);
            partial.push(byte);
            match str::from_utf8(&partial) {
                Ok(text) => {
                    self.feed_text(text, on_event);
                    partial.clear();
                    input = rest;
                }
                Err(error) if error.error_len().is_none() => input = rest,
                Err(_) => {
                    // `byte` cannot continue the sequence: the sequence is malformed and `byte`
                    // starts afresh below, as in the spec's UTF-8 decoder.
                    self.feed_text(REPLACEMENT, on_event);
                    partial.clear();
                }
            }
            self.partial = partial;
        }
        let mut chunks = input.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            self.feed_text(chunk.valid(), on_event);
            let invalid = chunk.invalid();
            if invalid.is_empty() {
                continue;
            }
            let cut_off = chunks.peek().is_none()
                && str::from_utf8(invalid).is_err_and(|error| error.error_len().is_none());
            if cut_off {
                self.partial.extend_from_slice(invalid);
            } else {
                self.feed_text(REPLACEMENT, on_event);
            }
        }
    }

    /// The reconnection time in milliseconds from the last valid `retry` field, if any.
    ///
    /// A value too large for `u32` saturates: the server asked for a very long wait.
    pub fn retry(&self) -> Option<u32> {
        self.retry
    }

    /// The last event ID: what `EventSource` would send as `Last-Event-ID` on reconnecting.
    ///
    /// It changes only when an event is dispatched (even one with no data), so an `id` field of an
    /// event the stream cut off does not count.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Ends the current response. As the spec requires, an event not yet completed by an empty line
    /// is discarded, not dispatched.
    ///
    /// The parser is then at the start of a new response (which may begin with a byte-order mark
    /// again) and keeps [`last_event_id`](Self::last_event_id) and [`retry`](Self::retry).
    pub fn finish(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event.clear();
        self.id.clone_from(&self.last_event_id);
        self.partial.clear();
        self.after_cr = false;
        self.at_start = true;
    }

    /// Splits decoded text into lines; carries an unterminated last line to the next call.
    fn feed_text(&mut self, mut text: &str, on_event: &mut dyn FnMut(&SseEvent)) {
        if text.is_empty() {
            return;
        }
        if mem::take(&mut self.at_start) {
            text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        }
        while !text.is_empty() {
            if mem::take(&mut self.after_cr) {
                if let Some(rest) = text.strip_prefix('\n') {
                    text = rest;
                    continue;
                }
            }
            let Some(end) = text.bytes().position(|b| b == b'\n' || b == b'\r') else {
                self.line.push_str(text);
                return;
            };
            // `end` is the index of an ASCII byte, always a character boundary, and the line end
            // is one byte long: neither split can panic.
            let (line, rest) = text.split_at(end);
            let (line_end, rest) = rest.split_at(1);
            self.after_cr = line_end == "\r";
            text = rest;
            if self.line.is_empty() {
                self.process_line(line, on_event);
            } else {
                let mut whole = mem::take(&mut self.line);
                whole.push_str(line);
                self.process_line(&whole, on_event);
                whole.clear();
                self.line = whole;
            }
        }
    }

    /// Interprets one line, without its line end.
    fn process_line(&mut self, line: &str, on_event: &mut dyn FnMut(&SseEvent)) {
        let (field, value) = match line.split_once(':') {
            None if line.is_empty() => return self.dispatch(on_event),
            None => (line, ""),
            Some(("", _comment)) => return,
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
        };
        match field {
            "event" => {
                self.event.clear();
                self.event.push_str(value);
            }
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                self.id.clear();
                self.id.push_str(value);
            }
            "retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut dyn FnMut(&SseEvent)) {
        self.last_event_id.clone_from(&self.id);
        if self.data.is_empty() {
            self.event.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let out = &mut self.dispatched;
        out.event.clear();
        out.event.push_str(if self.event.is_empty() {
            "message"
        } else {
            &self.event
        });
        // The data buffer changes places with the last event's, which is emptied for the next.
        mem::swap(&mut out.data, &mut self.data);
        self.data.clear();
        out.id.clone_from(&self.last_event_id);
        self.event.clear();
        on_event(&self.dispatched);
    }
}

/// A `retry` value: ASCII digits only, else ignored. Empty is ignored too, rather than read as 0,
/// which would make a client reconnect in a tight loop.
fn parse_retry(value: &str) -> Option<u32> {
    if value.is_empty() {
        return None;
    }
    value.bytes().try_fold(0u32, |ms, b| {
        b.is_ascii_digit()
            .then(|| ms.saturating_mul(10).saturating_add(u32::from(b - b'0')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event: &str, data: &str, id: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.into(),
        }
    }

    /// Feeds `chunks` as bytes, then finishes the response.
    fn parse_bytes(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for chunk in chunks {
            parser.feed_bytes(chunk, &mut |e| events.push(e.clone()));
        }
        parser.finish();
        events
    }

    fn parse_strs(parser: &mut SseParser, chunks: &[&str]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for chunk in chunks {
            parser.feed_str(chunk, &mut |e| events.push(e.clone()));
        }
        parser.finish();
        events
    }

    fn parse(text: &str) -> Vec<SseEvent> {
        parse_strs(&mut SseParser::new(), &[text])
    }

    /// Every rule at least once: BOM, the three line ends (CR then CRLF too), 2-, 3- and 4-byte
    /// characters, malformed bytes, comments, fields without a colon, one space stripped, an `id`
    /// with NUL, an event without data, bad `retry`s, case-sensitive names, an unfinished event.
    const RICH: &[u8] = b"\xEF\xBB\xBF: prelude\r\n\
        retry: 2500\n\
        id: 1\r\
        data: caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\r\n\
        data:second\n\
        \n\
        event: tick\r\n\
        data\r\
        \r\n\
        id: bad\0id\n\
        data: bad \xFF byte \xE2\x82 cut\xC3\n\n\
        event: dropped\n\
        id: 7\n\
        \r\
        data:  two spaces\n\
        Data: ignored\n\
        retry: 12x\n\
        unknown: field\n\
        data: x:y\r\n\r\n\
        id: 8\n\
        data: unfinished\n";

    fn rich_events() -> Vec<SseEvent> {
        vec![
            event("message", "caf\u{e9} \u{20ac} \u{1f600}\nsecond", "1"),
            event("tick", "", "1"),
            event("message", "bad \u{FFFD} byte \u{FFFD} cut\u{FFFD}", "1"),
            event("message", " two spaces\nx:y", "7"),
        ]
    }

    fn assert_rich(parser: &SseParser, events: &[SseEvent], split: &str) {
        assert_eq!(events, rich_events(), "split at {split}");
        assert_eq!(parser.retry(), Some(2500), "split at {split}");
        // `id: 8` belongs to the unfinished event.
        assert_eq!(parser.last_event_id(), "7", "split at {split}");
    }

    #[test]
    fn every_byte_split_gives_the_same_events() {
        let mut parser = SseParser::new();
        let events = parse_bytes(&mut parser, &[RICH]);
        assert_rich(&parser, &events, "none");
        for i in 0..=RICH.len() {
            let (a, b) = RICH.split_at(i);
            let mut parser = SseParser::new();
            let events = parse_bytes(&mut parser, &[a, b]);
            assert_rich(&parser, &events, &i.to_string());
        }
        let bytes: Vec<&[u8]> = RICH.chunks(1).collect();
        let mut parser = SseParser::new();
        let events = parse_bytes(&mut parser, &bytes);
        assert_rich(&parser, &events, "every byte");
    }

    #[test]
    fn every_pair_of_byte_splits_gives_the_same_events() {
        for i in 0..=RICH.len() {
            for j in i..=RICH.len() {
                let (a, rest) = RICH.split_at(i);
                let (b, c) = rest.split_at(j - i);
                let mut parser = SseParser::new();
                let events = parse_bytes(&mut parser, &[a, b, c]);
                assert_rich(&parser, &events, &format!("{i} and {j}"));
            }
        }
    }

    #[test]
    fn every_str_split_gives_the_same_events() {
        // The lossy decoding is the browser's: one U+FFFD per maximal malformed subpart.
        let text = String::from_utf8_lossy(RICH);
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &i in &bounds {
            for &j in bounds.iter().filter(|&&j| j >= i) {
                let (a, rest) = text.split_at(i);
                let (b, c) = rest.split_at(j - i);
                let mut parser = SseParser::new();
                let events = parse_strs(&mut parser, &[a, b, c]);
                assert_rich(&parser, &events, &format!("{i} and {j}"));
            }
        }
    }

    #[test]
    fn line_ends() {
        let want = vec![event("message", "a\nb", "")];
        assert_eq!(parse("data: a\ndata: b\n\n"), want);
        assert_eq!(parse("data: a\rdata: b\r\r"), want);
        assert_eq!(parse("data: a\r\ndata: b\r\n\r\n"), want);
        // LF CR is two line ends, CR CR too.
        assert_eq!(
            parse("data: a\n\rdata: b\r\r"),
            vec![event("message", "a", ""), event("message", "b", "")]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let mut parser = SseParser::new();
        let events = parse_strs(&mut parser, &["data: a\r", "\ndata: b\r", "\n", "\r", "\n"]);
        assert_eq!(events, vec![event("message", "a\nb", "")]);
        // The same through the byte path, and a CR at the end of a chunk followed by a non-LF.
        let events = parse_bytes(
            &mut parser,
            &[b"data: a\r", b"\ndata: b\r", b"data: c\r", b"\r"],
        );
        assert_eq!(events, vec![event("message", "a\nb\nc", "")]);
    }

    #[test]
    fn bom_is_stripped_once_and_only_at_the_start() {
        let mut parser = SseParser::new();
        let events = parse_bytes(&mut parser, &[b"\xEF", b"\xBB", b"\xBF", b"data: a\n\n"]);
        assert_eq!(events, vec![event("message", "a", "")]);
        // A second BOM is part of the first field's name, which is then unknown.
        assert_eq!(parse("\u{FEFF}\u{FEFF}data: a\n\n"), vec![]);
        let events = parse_strs(
            &mut SseParser::new(),
            &["", "\u{FEFF}", "data: a\n\n", "\u{FEFF}data: b\n\n"],
        );
        assert_eq!(events, vec![event("message", "a", "")]);
        // A new response may start with a BOM again.
        let mut parser = SseParser::new();
        parse_strs(&mut parser, &["data: a\n\n"]);
        assert_eq!(
            parse_strs(&mut parser, &["\u{FEFF}data: b\n\n"]),
            vec![event("message", "b", "")]
        );
    }

    #[test]
    fn data_lines() {
        assert_eq!(parse("data:a\n\n"), vec![event("message", "a", "")]);
        assert_eq!(parse("data: a\n\n"), vec![event("message", "a", "")]);
        assert_eq!(parse("data:  a \n\n"), vec![event("message", " a ", "")]);
        assert_eq!(
            parse("data: a\ndata:\ndata\n\n"),
            vec![event("message", "a\n\n", "")]
        );
        // A lone `data` makes the buffer "\n", which is not empty: an event with empty data.
        assert_eq!(parse("data\n\n"), vec![event("message", "", "")]);
        assert_eq!(
            parse("data: {\"a\":1}\n\n"),
            vec![event("message", "{\"a\":1}", "")]
        );
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_eq!(parse(":\n: data: x\n\n"), vec![]);
        assert_eq!(parse("Data: x\ndata : x\nfoo: x\nfoo\n\n"), vec![]);
        assert_eq!(
            parse(": c\ndata: x\n: c\n\n"),
            vec![event("message", "x", "")]
        );
    }

    #[test]
    fn event_type() {
        let events = parse(
            "event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\nevent\ndata: 4\n\n",
        );
        assert_eq!(
            events,
            vec![
                event("a", "1", ""),
                event("message", "2", ""),
                event("c", "3", ""),
                event("message", "4", "")
            ]
        );
        // An event without data is not dispatched, but its type does not leak into the next one.
        assert_eq!(
            parse("event: a\n\ndata: 1\n\n"),
            vec![event("message", "1", "")]
        );
    }

    #[test]
    fn event_id() {
        let mut parser = SseParser::new();
        let events = parse_strs(
            &mut parser,
            &["id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\n"],
        );
        assert_eq!(
            events,
            vec![
                event("message", "a", "1"),
                event("message", "b", "1"),
                event("message", "c", "")
            ]
        );
        // Dispatching without data still sets the last event ID.
        assert_eq!(parser.last_event_id(), "2");
        let events = parse_strs(&mut parser, &["id: x\0y\ndata: d\n\nid: 3 \ndata: e\n\n"]);
        assert_eq!(
            events,
            vec![event("message", "d", "2"), event("message", "e", "3 ")]
        );
    }

    #[test]
    fn retry() {
        let retry = |text: &str| {
            let mut parser = SseParser::new();
            parse_strs(&mut parser, &["retry: 100\n", text]);
            parser.retry()
        };
        assert_eq!(retry("retry: 2000\n"), Some(2000));
        assert_eq!(retry("retry:0\n"), Some(0));
        assert_eq!(retry("retry: 99999999999999999999\n"), Some(u32::MAX));
        for ignored in [
            "retry:\n",
            "retry\n",
            "retry: 1e3\n",
            "retry: -1\n",
            "retry: +1\n",
            "retry: 1 \n",
            "retry: \u{661}\n",
        ] {
            assert_eq!(retry(ignored), Some(100), "{ignored:?}");
        }
        assert_eq!(SseParser::new().retry(), None);
    }

    #[test]
    fn finish_discards_the_unfinished_event() {
        let mut parser = SseParser::new();
        assert_eq!(
            parse_strs(
                &mut parser,
                &["id: 1\ndata: a\n\nid: 2\nevent: e\ndata: b\n"]
            ),
            vec![event("message", "a", "1")]
        );
        assert_eq!(parser.last_event_id(), "1");
        // Nothing of the cut-off event survives into the next response.
        assert_eq!(
            parse_strs(&mut parser, &["\ndata: c\n\n"]),
            vec![event("message", "c", "1")]
        );
        // Nor a cut-off line, a trailing CR or a cut-off character.
        assert_eq!(
            parse_bytes(&mut parser, &[b"data: d\n\ndata: e"]),
            vec![event("message", "d", "1")]
        );
        assert_eq!(parse_bytes(&mut parser, &[b"data: f\r"]), vec![]);
        assert_eq!(parse_bytes(&mut parser, &[b"\ndata: g\n\xE2\x82"]), vec![]);
        // The leftover `\xAC` is malformed on its own, making the field name unknown.
        assert_eq!(parse_bytes(&mut parser, &[b"\xACdata: h\n\n"]), vec![]);
    }

    #[test]
    fn malformed_utf8() {
        let mut parser = SseParser::new();
        let events = parse_bytes(&mut parser, &[b"data: \xFF\xE2\x82A\xF0\x9F\n\n"]);
        assert_eq!(
            events,
            vec![event("message", "\u{FFFD}\u{FFFD}A\u{FFFD}", "")]
        );
        // A cut-off sequence that the next chunk does not continue.
        let events = parse_bytes(
            &mut parser,
            &[b"data: \xE2", b"\x82", b"\xFFb\xC3", b"\n\n"],
        );
        assert_eq!(
            events,
            vec![event("message", "\u{FFFD}\u{FFFD}b\u{FFFD}", "")]
        );
        // A `str` chunk can never complete bytes left over from `feed_bytes`.
        let mut events = Vec::new();
        parser.feed_bytes(b"data: \xC3", &mut |e| events.push(e.clone()));
        parser.feed_str("\u{A9}\n\n", &mut |e| events.push(e.clone()));
        assert_eq!(events, vec![event("message", "\u{FFFD}\u{A9}", "")]);
    }
}
