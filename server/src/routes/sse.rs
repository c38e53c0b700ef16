//! `GET /rt/sse`: the event stream, read by EventSource or by XHR streaming.

use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::chunk_sink::ChunkSink;
use crate::downstream::run;
use crate::faults::Faults;
use crate::refusal::Refusal;
use crate::routes::{connect, SessionQuery, NO_STORE};
use crate::stream_downstream::{StreamDownstream, StreamFormat};
use crate::AppState;

/// `X-Accel-Buffering: no`: asks nginx-style proxies not to buffer the stream.
const NO_ACCEL_BUFFERING: (HeaderName, HeaderValue) = (
    HeaderName::from_static("x-accel-buffering"),
    HeaderValue::from_static("no"),
);

/// Opens an event stream. A refused session still gets `200` and an `x` event, then the end:
/// EventSource hides the body of any other status, and the client must learn why. With `probe=1`
/// the stream is an upgrade probe: `o`, heartbeats, then the end.
pub async fn sse(
    State(state): State<AppState>,
    faults: Faults,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if faults.sse_refuse || (faults.eventsource_refuse && from_event_source(&headers)) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "fault injected: sse-refuse\n",
        )
            .into_response();
    }
    if let Some(refusal) = faults.http_refusal() {
        return refusal;
    }
    let (sink, body) = ChunkSink::new(faults.stream_buffer);
    let budget = if from_event_source(&headers) {
        state.config.event_source_budget
    } else {
        state.config.stream_budget
    };
    let stream = StreamDownstream::new(sink, StreamFormat::EventStream, budget).crlf(faults.crlf);
    let opened = SessionQuery::from_uri(&uri).and_then(|query| {
        let after = query.after.unwrap_or(0).max(last_event_id(&headers));
        faults
            .session_check(query.sid.as_deref())
            .and_then(|()| query.open(&state))
            .map(|opened| (opened, after, query.is_probe()))
    });
    match opened {
        Err(Refusal::Busy) => return Refusal::Busy.into_response(),
        Ok((opened, after, probe)) => {
            let connection = connect(&state, opened, after, faults, probe);
            tokio::spawn(run(stream, connection));
        }
        Err(refusal) => {
            tokio::spawn(stream.refuse(refusal));
        }
    }
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    ([content_type, NO_STORE, NO_ACCEL_BUFFERING], body).into_response()
}

/// Whether the request comes from an EventSource, which asks for `text/event-stream` (an XHR
/// streaming request accepts anything). Only a recycling budget and a test fault depend on it.
fn from_event_source(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("text/event-stream")))
}

/// The browser's own reconnect sends the last `id:` it saw; a larger one than `after` wins.
fn last_event_id(headers: &HeaderMap) -> u64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}
