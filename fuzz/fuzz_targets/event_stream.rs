//! The event-stream parser: never panics, and any split of the input gives the same events as
//! the whole input at once (as bytes, and as text where the input is UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;
use realtime_wasm::sse::{SseEvent, SseParser};

fn parse_in(chunks: &[&[u8]]) -> (Vec<SseEvent>, Option<u32>, String) {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        parser.feed_bytes(chunk, &mut |e| events.push(e.clone()));
    }
    (events, parser.retry(), parser.last_event_id().to_owned())
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose split points; the rest is the stream.
    let (splits, stream) = data.split_at(data.len().min(2));
    let whole = parse_in(&[stream]);
    let mut cuts: Vec<usize> = splits.iter().map(|&b| usize::from(b) % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&stream[start..cut]);
        start = cut;
    }
    pieces.push(&stream[start..]);
    assert_eq!(parse_in(&pieces), whole, "a split changed the events");
    if let Ok(text) = std::str::from_utf8(stream) {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        parser.feed_str(text, &mut |e| events.push(e.clone()));
        assert_eq!(events, whole.0, "text and bytes disagree");
    }
});
