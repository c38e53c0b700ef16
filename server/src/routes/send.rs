//! `POST /rt/send`: upstream frames of the HTTP transports.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::faults::Faults;
use crate::frame::{ClientFrame, Frame};
use crate::refusal::Refusal;
use crate::routes::{json_response, read_body, SessionQuery};
use crate::AppState;

/// Processes a JSON array of upstream frames (any content type: clients send `text/plain` to
/// avoid a preflight) and answers `200` with the `a` frame. A body over `max_post_body` is `413`.
pub async fn send(State(state): State<AppState>, faults: Faults, uri: Uri, body: Body) -> Response {
    if let Some(refusal) = faults.http_refusal() {
        return refusal;
    }
    let body = match read_body(&state.config, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let answer = match receive(&state, &faults, &uri, &body) {
        Ok(ack) => json_response(StatusCode::OK, Frame::Ack(ack).to_json()),
        Err(refusal) => refusal.into_response(),
    };
    if let Some(delay) = faults.send_delay {
        tokio::time::sleep(delay).await;
    }
    answer
}

fn receive(state: &AppState, faults: &Faults, uri: &Uri, body: &[u8]) -> Result<u64, Refusal> {
    let query = SessionQuery::from_uri(uri)?;
    if query.sid.as_deref().is_none_or(str::is_empty) {
        return Err(Refusal::Protocol("send needs sid and token".into()));
    }
    faults.session_check(query.sid.as_deref())?;
    let session = query.open(state)?.session;
    let frames = ClientFrame::parse_batch(body)?;
    Ok(state.hub.receive(&session, frames))
}
