//! `GET /rt/iframe?origin=ORIGIN`: the hidden-iframe stream, an HTML document whose `<script>`
//! chunks `postMessage` each frame to the embedding page.

use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::chunk_sink::ChunkSink;
use crate::downstream::run;
use crate::faults::Faults;
use crate::origin_policy::OriginPolicy;
use crate::refusal::Refusal;
use crate::routes::{connect, SessionQuery, EMBEDDABLE, NO_STORE};
use crate::stream_downstream::{script_string, StreamDownstream, StreamFormat};
use crate::AppState;

/// Opens the iframe document. `origin` must be one origin (`scheme://host[:port]`, never `*`),
/// else `400`, and an allowed one, else `403`: it is where every frame is posted, and posting
/// session data to a page we do not trust (or to whatever page embeds us) would leak it. A refused
/// session gets `200` and a script posting the `x` frame, as for event streams. With `probe=1`
/// the document is an upgrade probe: `o`, heartbeats, then the end.
pub async fn iframe(
    State(state): State<AppState>,
    faults: Faults,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = match SessionQuery::from_uri(&uri) {
        Ok(query) => query,
        Err(refusal) => return refusal.into_response(),
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let Some(origin) = query.origin.as_deref() else {
        return (StatusCode::BAD_REQUEST, "iframe needs ?origin=ORIGIN\n").into_response();
    };
    if origin == "*" || OriginPolicy::validate(origin).is_err() {
        return (
            StatusCode::BAD_REQUEST,
            "origin must be scheme://host[:port]\n",
        )
            .into_response();
    }
    if !state.policy.allows(origin, host) {
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    if let Some(refusal) = faults.http_refusal() {
        return refusal;
    }
    let (sink, body) = ChunkSink::new(faults.stream_buffer);
    let format = StreamFormat::Iframe {
        origin: script_string(origin),
    };
    let stream = StreamDownstream::new(sink, format, state.config.stream_budget);
    let opened = faults
        .session_check(query.sid.as_deref())
        .and_then(|()| query.open(&state));
    match opened {
        Err(Refusal::Busy) => return Refusal::Busy.into_response(),
        Ok(opened) => {
            let after = query.after.unwrap_or(0);
            let connection = connect(&state, opened, after, faults, query.is_probe());
            tokio::spawn(run(stream, connection));
        }
        Err(refusal) => {
            tokio::spawn(stream.refuse(refusal));
        }
    }
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    ([content_type, NO_STORE], EMBEDDABLE, body).into_response()
}
