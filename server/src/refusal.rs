//! Why a request cannot go on with its session, and the `x` frame that says so.

use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::connections::RETRY_AFTER_SECS;
use crate::frame::Frame;
use crate::routes::json_response;

/// A request the session protocol refuses. HTTP transports answer with [`Refusal::status`] and the
/// `x` frame as body; event streams, iframes and WebSockets carry the `x` frame, then end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `sid` names no live session (never created, or expired). `404`, code `unknown_session`.
    UnknownSession,
    /// `token` does not match the session's. `403`, code `bad_token`.
    BadToken,
    /// The request or a frame in it is malformed. `400`, code `protocol`; the text says what.
    Protocol(String),
    /// A long poll arrived while another long poll of the session is held by a connection that
    /// is still open. `409`, code `conflict`; the session goes on (the held poll keeps it).
    Conflict,
    /// The server holds as many sessions as it may and this request would create one more.
    /// `503` with `Retry-After`, code `busy`.
    Busy,
}

impl Refusal {
    /// The HTTP status for the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::UnknownSession => StatusCode::NOT_FOUND,
            Refusal::BadToken => StatusCode::FORBIDDEN,
            Refusal::Protocol(_) => StatusCode::BAD_REQUEST,
            Refusal::Conflict => StatusCode::CONFLICT,
            Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `code` of the `x` frame.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownSession => "unknown_session",
            Refusal::BadToken => "bad_token",
            Refusal::Protocol(_) => "protocol",
            Refusal::Conflict => "conflict",
            Refusal::Busy => "busy",
        }
    }

    /// The human-readable `reason` of the `x` frame.
    pub fn reason(&self) -> &str {
        match self {
            Refusal::UnknownSession => "no such session (it may have expired); start a new one",
            Refusal::BadToken => "the resume token does not match the session",
            Refusal::Protocol(why) => why,
            Refusal::Conflict => "another long poll is held for this session",
            Refusal::Busy => "the server is full; retry later",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status(), Frame::Refused(&self).to_json());
        if self == Refusal::Busy {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}
