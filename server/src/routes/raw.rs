//! The `/raw/` endpoints: the plain patterns of the seed servers (a time text, a long poll, an
//! event stream, a line stream, an iframe stream, a WebSocket echo and a POST sink), for the
//! client's `protocol: "raw"` mode and the demo.

use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::time::MissedTickBehavior;

use crate::chunk_sink::ChunkSink;
use crate::clock::Timestamp;
use crate::routes::{read_body, ws, EMBEDDABLE, NO_STORE};
use crate::stream_downstream::{script_string, StreamFormat};
use crate::AppState;

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// `GET /raw/time`: the server time as text (ISO 8601), for short polling.
pub async fn time() -> Response {
    (
        [(header::CONTENT_TYPE, TEXT), NO_STORE],
        Timestamp::now().to_string(),
    )
        .into_response()
}

/// `GET /raw/longpoll`: the server time, answered at the next tick (whole second by default).
pub async fn longpoll(State(state): State<AppState>) -> Response {
    let tick = u64::try_from(state.config.raw_tick.as_millis())
        .unwrap_or(1000)
        .max(1);
    let now = Timestamp::now().millis();
    tokio::time::sleep(Duration::from_millis(tick - now % tick)).await;
    time().await
}

/// `GET /raw/sse`: a `tick` event with `id` and `retry` every tick, ids continuing after the
/// `Last-Event-ID` the browser sends when it reconnects.
pub async fn sse(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let last: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let retry = state.config.raw_tick.as_millis();
    let body = ticking(
        state.config.raw_tick,
        last + 1,
        StreamFormat::EventStream.prelude(),
        move |id, now| format!("retry: {retry}\nid: {id}\nevent: tick\ndata: {now}\n\n"),
    );
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    let no_buffering = (
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    ([content_type, NO_STORE, no_buffering], body).into_response()
}

/// `GET /raw/stream`: one line of text per tick, forever.
pub async fn stream(State(state): State<AppState>) -> Response {
    let body = ticking(state.config.raw_tick, 1, Vec::new(), |id, now| {
        format!("tick {id} {now}\n")
    });
    ([(header::CONTENT_TYPE, TEXT), NO_STORE], body).into_response()
}

/// The `callback` parameter of `/raw/iframe`.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    callback: Option<String>,
}

/// `GET /raw/iframe?callback=NAME`: an HTML document whose script chunks call
/// `parent[NAME](data)` every tick. `NAME` must be a JS identifier path (`cb`, `rt.on_tick$1`),
/// else `400`: it is written into a script, so anything else could inject code.
pub async fn iframe(State(state): State<AppState>, Query(query): Query<CallbackQuery>) -> Response {
    let Some(callback) = query.callback.filter(|c| is_callback(c)) else {
        return (
            StatusCode::BAD_REQUEST,
            "callback must be a JS identifier path such as cb or a.b_c$1\n",
        )
            .into_response();
    };
    let target: String = callback
        .split('.')
        .map(|part| format!("[\"{part}\"]"))
        .collect();
    let prelude = StreamFormat::Iframe {
        origin: String::new(),
    }
    .prelude();
    let body = ticking(state.config.raw_tick, 1, prelude, move |_, now| {
        format!(
            "<script>parent{target}({})</script>\n",
            script_string(&now.to_string())
        )
    });
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    ([content_type, NO_STORE], EMBEDDABLE, body).into_response()
}

/// Largest message `/raw/ws` echoes; a larger one closes the socket with `1009`.
pub const RAW_WS_MAX_MESSAGE: usize = 64 * 1024;

/// `GET /raw/ws`: echoes every text and binary message (up to [`RAW_WS_MAX_MESSAGE`]).
pub async fn ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .read_buffer_size(ws::READ_BUFFER)
        .write_buffer_size(ws::WRITE_BUFFER)
        .max_message_size(RAW_WS_MAX_MESSAGE)
        .max_frame_size(RAW_WS_MAX_MESSAGE)
        .on_upgrade(echo)
}

async fn echo(mut socket: WebSocket) {
    while let Some(received) = socket.recv().await {
        let message = match received {
            Ok(message) => message,
            Err(error) => {
                if ws::too_big(&error) {
                    let _ = socket.send(ws::too_big_close()).await;
                }
                break;
            }
        };
        let reply = match message {
            WsMessage::Text(_) | WsMessage::Binary(_) => message,
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            WsMessage::Close(_) => break,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

/// `POST /raw/send`: accepts anything (up to `max_post_body`, else `413`), answers `204`.
pub async fn send(State(state): State<AppState>, body: axum::body::Body) -> Response {
    match read_body(&state.config, body).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

/// A body that starts with `prelude`, then writes `render(id, now)` at once and every `tick`
/// with ids counting up from `first`, until the client goes away.
fn ticking<F>(tick: Duration, first: u64, prelude: Vec<u8>, render: F) -> axum::body::Body
where
    F: Fn(u64, Timestamp) -> String + Send + 'static,
{
    let (mut sink, body) = ChunkSink::new(false);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pending = prelude;
        for id in first.. {
            tokio::select! {
                _ = ticks.tick() => {}
                () = sink.closed() => return,
            }
            pending.extend_from_slice(render(id, Timestamp::now()).as_bytes());
            if sink.write(std::mem::take(&mut pending)).await.is_err() {
                return;
            }
        }
    });
    body
}

/// Whether `name` is a dot-separated path of JS identifiers (ASCII letters, digits, `_`, `$`).
pub fn is_callback(name: &str) -> bool {
    name.len() <= 128
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

#[cfg(test)]
mod tests {
    use super::is_callback;

    #[test]
    fn callback_names() {
        for ok in ["cb", "a.b_c$1", "$", "_x.y"] {
            assert!(is_callback(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a..b",
            "a.",
            "a b",
            "a(1)",
            "a[0]",
            "</script>",
            "a-b",
        ] {
            assert!(!is_callback(bad), "{bad}");
        }
    }
}
