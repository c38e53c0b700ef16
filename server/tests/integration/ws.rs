//! `/rt/ws`: open frame, echo both ways, acks, resume, supersede, bursts, heartbeats, refusals.

use std::time::Duration;

use futures_util::SinkExt as _;
use realtime_server::Config;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{config, ws_connect, ws_json, ws_next, ws_send, Server, Session, WsFrame};

#[tokio::test]
async fn echoes_text_and_binary_with_acks() {
    let server = Server::default().await;
    let mut ws = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    let open = ws_json(&mut ws).await;
    assert_eq!((&open["t"], &open["ack"]), (&json!("o"), &json!(0)));
    ws_send(&mut ws, json!({"t": "m", "c": 1, "d": "hi"})).await;
    // What the frames caused comes first, then their acknowledgement (see PROTOCOL.md).
    assert_eq!(ws_json(&mut ws).await, json!({"t": "m", "s": 1, "d": "hi"}));
    assert_eq!(ws_json(&mut ws).await, json!({"t": "a", "a": 1}));
    let mut binary = 2u64.to_be_bytes().to_vec();
    binary.extend_from_slice(&[0, 1, 255]);
    ws.send(WsMessage::Binary(binary.into()))
        .await
        .expect("send");
    assert_eq!(ws_next(&mut ws).await, WsFrame::Binary(2, vec![0, 1, 255]));
    assert_eq!(ws_json(&mut ws).await, json!({"t": "a", "a": 2}));
    ws_send(&mut ws, json!({"t": "e", "c": 3, "e": "echo", "v": [true]})).await;
    assert_eq!(
        ws_json(&mut ws).await,
        json!({"t": "e", "s": 3, "e": "echo", "v": [true]})
    );
    assert_eq!(ws_json(&mut ws).await["a"], 3);
}

#[tokio::test]
async fn resumes_after_what_the_client_has() {
    let server = Server::default().await;
    let mut ws = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    let session = Session::from_open(&ws_json(&mut ws).await);
    for c in 1..=3 {
        ws_send(&mut ws, json!({"t": "m", "c": c, "d": format!("m{c}")})).await;
    }
    drop(ws);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let url = server.ws_url(&format!("/rt/ws?{}&after=1", session.query()));
    let mut ws = ws_connect(&url, None).await.expect("reconnect");
    let open = ws_json(&mut ws).await;
    assert_eq!(
        (&open["sid"], &open["ack"]),
        (&json!(session.sid), &json!(3))
    );
    assert_eq!(ws_json(&mut ws).await["s"], 2);
    assert_eq!(ws_json(&mut ws).await["s"], 3);
}

#[tokio::test]
async fn a_new_connection_supersedes_the_old() {
    let server = Server::default().await;
    let mut first = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    let session = Session::from_open(&ws_json(&mut first).await);
    let mut second = ws_connect(&server.ws_url(&format!("/rt/ws?{}", session.query())), None)
        .await
        .expect("connect");
    assert_eq!(ws_json(&mut second).await["t"], "o");
    match ws_next(&mut first).await {
        WsFrame::Closed(Some(frame)) => assert_eq!(
            (u16::from(frame.code), frame.reason.as_str()),
            (1000, "superseded")
        ),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_burst_beyond_the_window_arrives_whole_while_the_client_acks() {
    let server = Server::default().await;
    let mut ws = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    ws_json(&mut ws).await;
    ws_send(
        &mut ws,
        json!({"t": "e", "c": 1, "e": "burst", "v": {"count": 2500, "size": 16}}),
    )
    .await;
    let mut n = 0;
    while n < 2500 {
        let frame = ws_json(&mut ws).await;
        match frame["t"].as_str() {
            Some("a") => continue,
            Some("e") => {}
            _ => panic!("unexpected frame {frame}"),
        }
        n += 1;
        assert_eq!(
            (frame["s"].as_u64(), frame["v"]["n"].as_u64()),
            (Some(n), Some(n))
        );
        assert_eq!(frame["v"]["pad"].as_str().map(str::len), Some(16));
        // As the client does: acknowledge every 64 messages.
        if n % 64 == 0 {
            ws_send(&mut ws, json!({"t": "a", "a": n})).await;
        }
    }
}

#[tokio::test]
async fn heartbeats_carry_the_server_clock() {
    let server = Server::start(Config {
        heartbeat: Duration::from_millis(100),
        ..config()
    })
    .await;
    let mut ws = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    assert_eq!(ws_json(&mut ws).await["hb"], 100);
    let WsFrame::Json(beat) = ws_next(&mut ws).await else {
        panic!("expected a heartbeat")
    };
    assert_eq!(beat["t"], "h");
    assert!(beat["ts"].as_u64().expect("ts") > 1_700_000_000_000);
}

#[tokio::test]
async fn refusals_are_an_x_frame_then_a_close() {
    let server = Server::default().await;
    let session = server.session().await;
    let bad = format!(
        "/rt/ws?sid={}&token=ffffffffffffffffffffffffffffffff",
        session.sid
    );
    for (path, code) in [
        (bad.as_str(), "bad_token"),
        ("/rt/ws?sid=nope&token=x", "unknown_session"),
    ] {
        let mut ws = ws_connect(&server.ws_url(path), None)
            .await
            .expect("connect");
        assert_eq!(ws_json(&mut ws).await["code"], code);
        assert!(
            matches!(ws_next(&mut ws).await, WsFrame::Closed(Some(f)) if u16::from(f.code) == 1008)
        );
    }
    let mut ws = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    ws_json(&mut ws).await;
    ws_send(&mut ws, json!({"t": "m", "d": "no c"})).await;
    assert_eq!(ws_json(&mut ws).await["code"], "protocol");
}
