//! The HTTP endpoints: one file per transport endpoint, plus `/send`, the raw demo endpoints,
//! the test hooks and the static files.

pub mod hooks;
pub mod iframe;
pub mod poll;
pub mod raw;
pub mod send;
pub mod sse;
pub mod static_files;
pub mod ws;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::Query;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;
use serde::Deserialize;

use crate::config::Config;
use crate::downstream::{Connection, Link, Probe};
use crate::faults::Faults;
use crate::hub::Opened;
use crate::refusal::Refusal;
use crate::AppState;

/// The protocol's query parameters; others (the client's `query` option, `fault`) are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct SessionQuery {
    /// Session to resume.
    pub sid: Option<String>,
    /// Its resume token.
    pub token: Option<String>,
    /// Highest downstream `s` the client has.
    pub after: Option<u64>,
    /// Long-poll wait in ms.
    pub wait: Option<u64>,
    /// Iframe target origin.
    pub origin: Option<String>,
    /// `1`: an upgrade probe (see [`crate::downstream::Probe`]); `0` or absent: a connection.
    pub probe: Option<u8>,
}

impl SessionQuery {
    /// Reads the parameters, refusing malformed ones (`after=abc`) with a `protocol` refusal.
    pub fn from_uri(uri: &Uri) -> Result<SessionQuery, Refusal> {
        let Query(query) = Query::<SessionQuery>::try_from_uri(uri)
            .map_err(|e| Refusal::Protocol(format!("bad query: {}", e.body_text())))?;
        if query.probe.is_some_and(|p| p > 1) {
            return Err(Refusal::Protocol("probe must be 0 or 1".into()));
        }
        Ok(query)
    }

    /// Whether the request is an upgrade probe (`probe=1`).
    pub fn is_probe(&self) -> bool {
        self.probe == Some(1)
    }

    /// Resolves the session (resuming or creating it). A probe only resumes: without `sid` and
    /// `token` it is refused as malformed.
    pub fn open(&self, state: &AppState) -> Result<Opened, Refusal> {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        if self.is_probe() && !(given(&self.sid) && given(&self.token)) {
            return Err(Refusal::Protocol("a probe needs sid and token".into()));
        }
        state.hub.open(self.sid.as_deref(), self.token.as_deref())
    }
}

/// The streaming connection a request opens: an upgrade probe if `probe` (nothing attached, no
/// acknowledgement), else the session's newly attached connection (see [`attach`]).
pub fn connect(
    state: &AppState,
    opened: Opened,
    after: u64,
    faults: Faults,
    probe: bool,
) -> Connection {
    if probe {
        Connection::Probe(Probe {
            claim: opened.session.probe(),
            session: opened.session,
            heartbeat: faults.heartbeat.unwrap_or(state.config.heartbeat),
            faults,
            lifetime: state.config.probe_lifetime,
        })
    } else {
        Connection::Attached(attach(state, opened, after, faults, false))
    }
}

/// Makes a new connection (a poll if `polling`) the session's attached one. `after` doubles as an
/// acknowledgement: the client has those messages, so the window may drop them.
pub fn attach(state: &AppState, opened: Opened, after: u64, faults: Faults, polling: bool) -> Link {
    let attachment = opened.session.attach(polling);
    opened.session.acknowledge(after);
    Link {
        hub: state.hub.clone(),
        session: opened.session,
        attachment,
        created: opened.created,
        after,
        heartbeat: faults.heartbeat.unwrap_or(state.config.heartbeat),
        faults,
    }
}

/// Adds `X-Content-Type-Options: nosniff` to every answer that is not HTML: transport bodies
/// (and error texts) are data, never to be sniffed as a document or script, and a sniffing browser
/// would also hold a stream back until it has seen enough bytes to guess.
pub async fn nosniff(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        let nosniff = HeaderValue::from_static("nosniff");
        response
            .headers_mut()
            .insert(header::X_CONTENT_TYPE_OPTIONS, nosniff);
    }
    response
}

/// `Cache-Control: no-store, no-transform`: no cache may keep or recompress live data.
pub const NO_STORE: (HeaderName, HeaderValue) = (
    header::CACHE_CONTROL,
    HeaderValue::from_static("no-store, no-transform"),
);

/// Lets a page that is cross-origin isolated (`Cross-Origin-Embedder-Policy: require-corp`) embed
/// the iframe transports' documents: they opt in to being embedded cross-origin, and declare the
/// same embedder policy themselves, as a nested document of such a page must.
pub const EMBEDDABLE: [(HeaderName, HeaderValue); 2] = [
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-embedder-policy"),
        HeaderValue::from_static("require-corp"),
    ),
];

/// Reads a request body of at most `config.max_post_body` bytes within
/// `config.header_read_timeout`: a larger one is answered `413`, a slower one `408` (a client
/// trickling a body must not hold the connection and its buffer forever).
pub async fn read_body(config: &Config, body: Body) -> Result<Bytes, Response> {
    let limit = config.max_post_body;
    let read = tokio::time::timeout(config.header_read_timeout, to_bytes(body, limit));
    match read.await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.downcast_ref::<LengthLimitError>().is_some());
            Err(if too_large {
                let text = format!("request body larger than {limit} bytes\n");
                (StatusCode::PAYLOAD_TOO_LARGE, text).into_response()
            } else {
                (StatusCode::BAD_REQUEST, "request body unreadable\n").into_response()
            })
        }
        Err(_) => Err((StatusCode::REQUEST_TIMEOUT, "request body too slow\n").into_response()),
    }
}

/// A JSON answer of the session protocol.
pub fn json_response(status: StatusCode, body: impl IntoResponse) -> Response {
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, [content_type, NO_STORE], body).into_response()
}
