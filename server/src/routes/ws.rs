//! `GET /rt/ws`: the WebSocket transport, both directions on one socket.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{FutureExt as _, SinkExt as _};

use crate::downstream::{run, Downstream, Ending, Gone, Input};
use crate::faults::Faults;
use crate::frame::{ClientFrame, Frame};
use crate::message::Body;
use crate::refusal::Refusal;
use crate::routes::{connect, SessionQuery};
use crate::tamper::Tampered;
use crate::AppState;

/// Incoming messages are small protocol frames: a small read buffer per socket keeps thousands
/// of idle sockets cheap (tungstenite allocates it up front; its default is 128 KiB).
pub const READ_BUFFER: usize = 4 * 1024;
/// Frames of one batch gather up to this much before the socket is written.
pub const WRITE_BUFFER: usize = 16 * 1024;
/// Upstream frames answered by one `a` frame at most.
const INPUT_BATCH: usize = 64;
/// How long `ws-hang` holds an upgrade before letting go (a test has given up long before).
const HANG: Duration = Duration::from_secs(600);

/// Upgrades to a WebSocket. A refused session still gets the upgrade, then an `x` frame and a
/// close: browsers hide a failed handshake's status, and the client must learn why. With
/// `probe=1` the socket is an upgrade probe: `o`, heartbeats, then a close `1000` `probe`.
pub async fn ws(
    State(state): State<AppState>,
    faults: Faults,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if faults.ws_refuse {
        return (StatusCode::FORBIDDEN, "fault injected: ws-refuse\n").into_response();
    }
    if faults.ws_hang {
        tokio::time::sleep(HANG).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(WRITE_BUFFER)
            .max_message_size(state.config.max_ws_message)
            .max_frame_size(state.config.max_ws_message),
        Err(rejection) => return rejection.into_response(),
    };
    if faults.ws_drop_open {
        return upgrade.on_upgrade(|socket| async move { drop(socket) });
    }
    let opened = SessionQuery::from_uri(&uri).and_then(|q| {
        faults
            .session_check(q.sid.as_deref())
            .and_then(|()| q.open(&state))
            .map(|o| (o, q.after.unwrap_or(0), q.is_probe()))
    });
    if let Err(Refusal::Busy) = opened {
        // No session to speak of: a plain `503` (with `Retry-After`), as for any full server.
        return Refusal::Busy.into_response();
    }
    upgrade.on_upgrade(move |socket| async move {
        let conn = WsDownstream { socket };
        match opened {
            // Attach only now that the socket is open, so a handshake that never completes
            // does not supersede a working connection.
            Ok((opened, after, probe)) => {
                run(conn, connect(&state, opened, after, faults, probe)).await;
            }
            Err(refusal) => conn.refuse(refusal).await,
        }
    })
}

/// A session's WebSocket.
#[derive(Debug)]
struct WsDownstream {
    socket: WebSocket,
}

/// One received WebSocket message, decoded.
enum Received {
    Frame(ClientFrame),
    Nothing,
    Closed,
    Bad(Refusal),
    TooBig,
}

/// Whether a WebSocket read failed because the message (or a frame) is larger than allowed.
pub fn too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|inner| inner.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// The close frame for a message that was too big (`1009`).
pub fn too_big_close() -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: 1009,
        reason: "message too big".into(),
    }))
}

impl WsDownstream {
    async fn refuse(mut self, refusal: Refusal) {
        let _ = self.write(&[Frame::Refused(&refusal)]).await;
        self.end(Ending::Refused).await;
    }

    fn decode(message: Option<Result<WsMessage, axum::Error>>) -> Received {
        match message {
            Some(Ok(WsMessage::Text(text))) => {
                ClientFrame::parse(&text).map_or_else(Received::Bad, Received::Frame)
            }
            Some(Ok(WsMessage::Binary(bytes))) => {
                ClientFrame::from_binary(&bytes).map_or_else(Received::Bad, Received::Frame)
            }
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Received::Nothing,
            Some(Err(error)) if too_big(&error) => Received::TooBig,
            Some(Ok(WsMessage::Close(_)) | Err(_)) | None => Received::Closed,
        }
    }
}

impl Downstream for WsDownstream {
    async fn write(&mut self, frames: &[Frame<'_>]) -> Result<(), Gone> {
        for frame in frames {
            let message = match frame {
                Frame::Message(message) => match &message.body {
                    Body::Binary(bytes) => {
                        let mut data = Vec::with_capacity(8 + bytes.len());
                        data.extend_from_slice(&message.seq.to_be_bytes());
                        data.extend_from_slice(bytes);
                        WsMessage::Binary(data.into())
                    }
                    _ => WsMessage::Text(frame.to_json().into()),
                },
                _ => WsMessage::Text(frame.to_json().into()),
            };
            // `feed` only buffers; the one `flush` below writes the whole batch.
            self.socket.feed(message).await.map_err(|_| Gone)?;
        }
        self.socket.flush().await.map_err(|_| Gone)
    }

    async fn input(&mut self) -> Input {
        let mut frames = Vec::new();
        loop {
            // Wait for the first message; then take whatever else has already arrived, so one
            // `a` frame answers the lot.
            let next = if frames.is_empty() {
                Some(self.socket.recv().await)
            } else {
                self.socket.recv().now_or_never()
            };
            let Some(message) = next else { break };
            match WsDownstream::decode(message) {
                Received::Frame(frame) => frames.push(frame),
                Received::Nothing => {}
                Received::Closed if frames.is_empty() => return Input::Gone,
                // Process what came before the close; the next call reports the end.
                Received::Closed => break,
                Received::Bad(refusal) => return Input::Malformed(refusal),
                // Whatever came before is dropped too: the connection ends, and the client
                // resends everything unacknowledged on its next one.
                Received::TooBig => return Input::TooBig,
            }
            if frames.len() >= INPUT_BATCH {
                break;
            }
        }
        Input::Frames(frames)
    }

    fn budget_spent(&self) -> bool {
        false
    }

    async fn write_tampered(&mut self, tampered: &Tampered<'_>) -> Result<(), Gone> {
        // A WebSocket carries text payloads only (see `Carrier::WEBSOCKET`).
        let Tampered::Payload(bytes) = tampered else {
            return Ok(());
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(());
        };
        let message = WsMessage::Text(text.into());
        self.socket.send(message).await.map_err(|_| Gone)
    }

    async fn end(mut self, ending: Ending) {
        if ending == Ending::TooBig {
            let _ = self.socket.send(too_big_close()).await;
            return;
        }
        let close = match ending {
            Ending::Superseded => Some((1000, "superseded")),
            Ending::ProbeOver => Some((1000, "probe")),
            Ending::Refused => Some((1008, "refused")),
            // Dropped: vanish without a close frame, as a broken network does.
            Ending::Dropped | Ending::Recycled | Ending::Gone | Ending::TooBig => None,
        };
        if let Some((code, reason)) = close {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            // The socket closes when dropped below either way.
            let _ = self.socket.send(WsMessage::Close(Some(frame))).await;
        }
    }
}
