//! Upgrade probes (`probe=1`): `o` and heartbeats only, never attached, so the session's attached
//! connection carries on undisturbed; refusals and faults as for ordinary connections.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::harness::{
    config, ws_connect, ws_json, ws_next, ws_send, BodyReader, EventReader, Server, Session, Ws,
    WsFrame,
};

/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(300);

/// Opens a WebSocket probe for `session`, returning it and its `o` frame.
async fn ws_probe(server: &Server, session: &Session, extra: &str) -> (Ws, Value) {
    let url = server.ws_url(&format!("/rt/ws?{}&probe=1{extra}", session.query()));
    let mut ws = ws_connect(&url, None).await.expect("probe upgrade");
    let open = ws_json(&mut ws).await;
    (ws, open)
}

/// Asserts that nothing but heartbeats arrives on `ws` for `QUIET`.
async fn ws_quiet(ws: &mut Ws) {
    let deadline = tokio::time::Instant::now() + QUIET;
    while let Ok(message) = tokio::time::timeout_at(deadline, ws.next()).await {
        let message = message.expect("open").expect("a message");
        let text = message.to_text().expect("text");
        let frame: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(frame["t"], "h", "a probe carries only heartbeats: {frame}");
    }
}

/// Asserts the `o` frame of a probe names `session` and acknowledges `ack`.
fn assert_open(open: &Value, session: &Session, ack: u64) {
    assert_eq!(
        (&open["t"], &open["sid"], &open["token"], &open["ack"]),
        (
            &json!("o"),
            &json!(session.sid),
            &json!(session.token),
            &json!(ack)
        ),
        "{open}"
    );
}

/// Starts a long poll for `session` after `after`, returning its answer when it comes.
fn long_poll(server: &Server, session: &Session, after: u64) -> JoinHandle<Value> {
    let url = server.url(&format!(
        "/rt/poll?{}&after={after}&wait=5000",
        session.query()
    ));
    let http = server.http.clone();
    tokio::spawn(async move {
        let body = http.get(url).send().await.expect("GET").bytes().await;
        serde_json::from_slice(&body.expect("body")).expect("JSON")
    })
}

/// The next frame that is not a heartbeat.
async fn next_message(events: &mut EventReader) -> Value {
    loop {
        let frame = events.frame().await;
        if frame["t"] != "h" {
            return frame;
        }
    }
}

/// The `t` of every frame.
fn types(frames: &[Value]) -> Vec<&str> {
    frames.iter().filter_map(|f| f["t"].as_str()).collect()
}

#[tokio::test]
async fn a_ws_probe_does_not_disturb_a_held_long_poll() {
    let server = Server::default().await;
    let session = server.session().await;
    server.send_texts(&session, 1, 2).await;
    assert_eq!(types(&server.poll(&session, 0).await), ["o", "m", "m"]);
    let held = long_poll(&server, &session, 2);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (mut probe, open) = ws_probe(&server, &session, "&after=0").await;
    assert_open(&open, &session, 2);
    // A poll probe is answered at once, and does not supersede the held poll either.
    let started = Instant::now();
    let (status, frames) = server
        .get_json(&format!("/rt/poll?{}&probe=1&wait=5000", session.query()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(frames.as_array().map(Vec::len), Some(1), "{frames}");
    assert_open(&frames[0], &session, 2);
    assert!(started.elapsed() < Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!held.is_finished(), "the long poll is still held");

    server.send_texts(&session, 3, 1).await;
    let answer = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("answered in time")
        .expect("poll");
    assert_eq!(answer[1], json!({"t": "m", "s": 3, "d": "m3"}), "{answer}");
    ws_quiet(&mut probe).await;
}

#[tokio::test]
async fn an_sse_probe_does_not_disturb_an_attached_stream() {
    let server = Server::start(Config {
        heartbeat: Duration::from_millis(100),
        ..config()
    })
    .await;
    let mut attached = EventReader::new(server.get("/rt/sse").await);
    let session = Session::from_open(&attached.frame().await);
    server.send_texts(&session, 1, 1).await;
    assert_eq!(next_message(&mut attached).await["s"], 1);

    let response = server
        .get(&format!("/rt/sse?{}&probe=1&after=1", session.query()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let mut probe = EventReader::new(response);
    assert_open(&probe.frame().await, &session, 1);
    let (mut ws, open) = ws_probe(&server, &session, "").await;
    assert_open(&open, &session, 1);

    server.send_texts(&session, 2, 3).await;
    for s in 2..=4 {
        assert_eq!(next_message(&mut attached).await["s"], s, "not superseded");
    }
    // Heartbeats only, and they keep coming.
    let mut beats = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(450);
    while tokio::time::Instant::now() < deadline {
        let frame = probe.frame().await;
        assert_eq!(frame["t"], "h", "a probe carries only heartbeats: {frame}");
        beats += 1;
    }
    assert!(beats >= 3, "{beats} heartbeats");
    ws_quiet(&mut ws).await;
    // The probes' `after` acknowledged nothing: the replay window still has message 1.
    assert_eq!(server.poll(&session, 0).await[1]["s"], 1);
}

#[tokio::test]
async fn a_probe_ignores_upstream_frames() {
    let server = Server::default().await;
    let session = server.session().await;
    let (mut probe, _) = ws_probe(&server, &session, "").await;
    ws_send(&mut probe, json!({"t": "m", "c": 1, "d": "lost"})).await;
    ws_send(&mut probe, json!({"t": "a", "a": 5})).await;
    ws_quiet(&mut probe).await;
    assert_eq!(types(&server.poll(&session, 0).await), ["o"]);
    assert_eq!(server.poll(&session, 0).await[0]["ack"], 0);
}

#[tokio::test]
async fn a_probe_without_a_session_is_refused() {
    let server = Server::default().await;
    let session = server.session().await;
    let only_sid = format!("&sid={}", session.sid);
    for missing in ["", only_sid.as_str()] {
        let query = format!("probe=1{missing}");
        let mut ws = ws_connect(&server.ws_url(&format!("/rt/ws?{query}")), None)
            .await
            .expect("upgrade");
        assert_eq!(ws_json(&mut ws).await["code"], "protocol", "{query}");
        match ws_next(&mut ws).await {
            WsFrame::Closed(Some(frame)) => assert_eq!(u16::from(frame.code), 1008),
            other => panic!("expected a close frame, got {other:?}"),
        }

        let mut events = EventReader::new(server.get(&format!("/rt/sse?{query}")).await);
        assert_eq!(events.frame().await["code"], "protocol", "{query}");
        assert_eq!(events.next().await, None);

        let iframe = format!("/rt/iframe?{query}&origin=http%3A%2F%2Flocalhost");
        let mut body = BodyReader::new(server.get(&iframe).await);
        body.read_to_end().await;
        assert!(
            body.text.contains(r#"\"code\":\"protocol\""#),
            "{}",
            body.text
        );

        let (status, x) = server.get_json(&format!("/rt/poll?{query}")).await;
        assert_eq!(
            (status, &x["code"]),
            (StatusCode::BAD_REQUEST, &json!("protocol"))
        );
    }
    let (status, x) = server.get_json("/rt/poll?sid=nope&token=x&probe=1").await;
    assert_eq!(
        (status, &x["code"]),
        (StatusCode::NOT_FOUND, &json!("unknown_session"))
    );
    let bad_token = format!("/rt/ws?sid={}&token=0&probe=1", session.sid);
    let mut ws = ws_connect(&server.ws_url(&bad_token), None)
        .await
        .expect("upgrade");
    assert_eq!(ws_json(&mut ws).await["code"], "bad_token");
    let (status, _) = server
        .get_json(&format!("/rt/poll?{}&probe=2", session.query()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_probe_finds_out_when_ws_refuse_is_lifted() {
    let server = Server::default().await;
    let session = server.session().await;
    let faults = "&fault=ws-refuse&fault_key=probe-k";
    let url = server.ws_url(&format!("/rt/ws?{}&probe=1{faults}", session.query()));
    match ws_connect(&url, None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    let lift = server
        .http
        .post(server.url("/rt/_hooks/lift?key=probe-k"))
        .send()
        .await
        .expect("POST");
    assert_eq!(lift.status(), StatusCode::NO_CONTENT);
    let (_probe, open) = ws_probe(&server, &session, faults).await;
    assert_open(&open, &session, 0);
}

#[tokio::test]
async fn a_probe_under_stream_buffer_delivers_nothing() {
    let server = Server::start(Config {
        heartbeat: Duration::from_millis(50),
        ..config()
    })
    .await;
    let session = server.session().await;
    for path in ["/rt/sse", "/rt/iframe"] {
        let url = format!(
            "{path}?{}&probe=1&origin=http%3A%2F%2Flocalhost&fault=stream-buffer",
            session.query()
        );
        let response = server.get(&url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = BodyReader::new(response);
        assert!(!body.more(QUIET).await, "{path}: {:?}", body.text);
    }
}

#[tokio::test]
async fn a_probe_ends_after_its_lifetime() {
    let server = Server::start(Config {
        probe_lifetime: Duration::from_millis(300),
        ..config()
    })
    .await;
    let session = server.session().await;
    let started = Instant::now();
    let (mut ws, _) = ws_probe(&server, &session, "").await;
    match ws_next(&mut ws).await {
        WsFrame::Closed(Some(frame)) => assert_eq!(
            (u16::from(frame.code), frame.reason.as_str()),
            (1000, "probe")
        ),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));

    let mut events = EventReader::new(
        server
            .get(&format!("/rt/sse?{}&probe=1", session.query()))
            .await,
    );
    assert_eq!(events.frame().await["t"], "o");
    assert_eq!(events.next().await, None);

    let iframe = format!(
        "/rt/iframe?{}&probe=1&origin=http%3A%2F%2Flocalhost",
        session.query()
    );
    let mut body = BodyReader::new(server.get(&iframe).await);
    body.read_to_end().await;
    assert_eq!(body.text.matches("postMessage").count(), 1, "{}", body.text);
    assert!(body.text.contains(r#"\"t\":\"o\""#) && body.text.ends_with("</html>\n"));
}

#[tokio::test]
async fn an_open_probe_keeps_its_session_alive() {
    let server = Server::start(Config {
        session_idle: Duration::from_millis(200),
        ..config()
    })
    .await;
    let session = server.session().await;
    let (probe, _) = ws_probe(&server, &session, "").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, _) = server
        .get_json(&format!("/rt/poll?{}", session.query()))
        .await;
    assert_eq!(status, StatusCode::OK, "alive while the probe is open");
    // The poll just now attached and ended; without it and the probe the session expires.
    drop(probe);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, _) = server
        .get_json(&format!("/rt/poll?{}", session.query()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
