//! `GET /rt/poll` (short polling) and `GET /rt/poll?wait=MS` (long polling).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::downstream::{batch_frames, open_frame, Link};
use crate::faults::Faults;
use crate::frame::Frame;
use crate::refusal::Refusal;
use crate::routes::{attach, json_response, SessionQuery};
use crate::session::Session;
use crate::tamper::{self, Carrier, Tamper};
use crate::AppState;

/// Answers with a JSON array: the `o` frame, a gap frame if any, then every pending message
/// (at most N with the `drop-every=N` fault). A long poll with nothing pending is held until
/// something is, or answered `[]` when `wait` runs out or a newer poll supersedes it. A poll
/// that creates its session, or follows a connection of another transport, is answered at once:
/// it opens a connection, and the client is waiting for its `o` frame. A probe (`probe=1`) is
/// answered `[o]` at once and neither attaches nor acknowledges.
///
/// A long poll (`wait` > 0) arriving while another poll of the session is held is refused `409`
/// (`conflict`) unless the held one goes away within [`CONFLICT_GRACE`] (its client closed it:
/// a client retrying an abandoned poll closes the old request first). Two clients sharing one
/// session would otherwise supersede each other's polls in a tight loop. A short poll (no `wait`)
/// still supersedes a held one: that is how a reopened polling transport takes over.
pub async fn poll(State(state): State<AppState>, faults: Faults, uri: Uri) -> Response {
    if let Some(refusal) = faults.http_refusal() {
        return refusal;
    }
    let query = match SessionQuery::from_uri(&uri) {
        Ok(query) => query,
        Err(refusal) => return refusal.into_response(),
    };
    let opened = match faults
        .session_check(query.sid.as_deref())
        .and_then(|()| query.open(&state))
    {
        Ok(opened) => opened,
        Err(refusal) => return refusal.into_response(),
    };
    if query.is_probe() {
        // An upgrade probe: proves the session and the endpoint, changes nothing.
        let open = open_frame(
            &opened.session,
            faults.heartbeat.unwrap_or(state.config.heartbeat),
        );
        let body = json_array(std::iter::once(open));
        faults.delay().await;
        return json_response(StatusCode::OK, body);
    }
    let wait = query
        .wait
        .filter(|&ms| ms > 0)
        .map(|ms| Duration::from_millis(ms).min(state.config.max_long_poll));
    if wait.is_some() && !held_poll_leaves(&opened.session).await {
        return Refusal::Conflict.into_response();
    }
    let link = attach(&state, opened, query.after.unwrap_or(0), faults, true);
    let body = answer(&link, wait).await;
    link.faults.delay().await;
    json_response(StatusCode::OK, body)
}

/// How long a long poll waits for a held poll of its session to go away before it is refused.
/// Covers the moment between a client closing an abandoned poll and the server noticing.
pub const CONFLICT_GRACE: Duration = Duration::from_secs(1);

/// Whether no poll of `session` is held, or the held one ends within [`CONFLICT_GRACE`].
async fn held_poll_leaves(session: &Session) -> bool {
    let mut changes = session.subscribe();
    let deadline = Instant::now() + CONFLICT_GRACE;
    loop {
        changes.borrow_and_update();
        if !session.poll_held() {
            return true;
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return true;
                }
            }
            () = tokio::time::sleep_until(deadline) => return false,
        }
    }
}

async fn answer(link: &Link, wait: Option<Duration>) -> Vec<u8> {
    let session = &link.session;
    let mut changes = session.subscribe();
    let deadline = wait.map(|wait| Instant::now() + wait);
    // Only a poll continuing a polling connection is held (see `poll`).
    let holds = !link.created && link.attachment.follows_poll();
    let limit = link
        .faults
        .drop_every
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    // Set while waiting; dropped (with the whole future, if the client goes away) when answering.
    let mut hold = None;
    loop {
        changes.borrow_and_update();
        if !link.attachment.is_current() {
            return "[]".into();
        }
        let batch = session.read(link.after, limit, usize::MAX);
        let Some(deadline) = deadline.filter(|_| batch.is_empty() && holds) else {
            drop(hold);
            let frames = std::iter::once(link.open_frame()).chain(batch_frames(&batch));
            return tampered_array(&link.faults, frames);
        };
        hold.get_or_insert_with(|| link.attachment.hold());
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return "[]".into();
                }
            }
            () = tokio::time::sleep_until(deadline) => return "[]".into(),
        }
    }
}

/// The answer's body; tampered with as the test hooks' hostile faults ask (see
/// [`crate::tamper`]: a poll answer counts as a connection).
fn tampered_array<'a>(faults: &Faults, frames: impl Iterator<Item = Frame<'a>>) -> Vec<u8> {
    match Tamper::new(faults, Carrier::HTTP) {
        Some(mut tamper) => tamper::json_array(&tamper.apply(frames.collect())),
        None => json_array(frames).into_bytes(),
    }
}

fn json_array<'a>(frames: impl Iterator<Item = Frame<'a>>) -> String {
    let mut out = String::from("[");
    for (i, frame) in frames.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&frame.to_json());
    }
    out.push(']');
    out
}
