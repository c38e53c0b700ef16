//! `/rt/sse`: prelude, headers, `id:` lines, `Last-Event-ID`, recycling, refusals.

use std::time::Duration;

use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{config, EventReader, Server};

#[tokio::test]
async fn streams_frames_after_a_prelude() {
    let server = Server::start(Config {
        heartbeat: Duration::from_millis(100),
        ..config()
    })
    .await;
    let response = server.get("/rt/sse").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store, no-transform");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let mut events = EventReader::new(response);
    events.body.until("data:").await;
    assert!(events.body.text.starts_with(':'));
    assert!(events.body.text.find("data:").expect("data") >= 2048);
    let open = events.next().await.expect("open");
    assert_eq!(open.id, None);
    let session =
        crate::harness::Session::from_open(&serde_json::from_str(&open.data).expect("JSON"));
    server.send_texts(&session, 1, 1).await;
    let mut message = events.next().await.expect("message");
    while message.data.contains(r#""t":"h""#) {
        message = events.next().await.expect("message");
    }
    assert_eq!(message.id.as_deref(), Some("1"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&message.data).expect("JSON"),
        json!({"t": "m", "s": 1, "d": "m1"})
    );
    let beat = events.frame().await;
    assert_eq!(beat["t"], "h");
}

#[tokio::test]
async fn a_larger_last_event_id_wins_over_after() {
    let server = Server::default().await;
    let session = server.session().await;
    server.send_texts(&session, 1, 3).await;
    let response = server
        .http
        .get(server.url(&format!("/rt/sse?{}&after=1", session.query())))
        .header("last-event-id", "2")
        .send()
        .await
        .expect("GET");
    let mut events = EventReader::new(response);
    assert_eq!(events.frame().await["ack"], 3);
    assert_eq!(events.frame().await["s"], 3);
}

#[tokio::test]
async fn recycles_after_the_byte_budget() {
    let server = Server::start(Config {
        stream_budget: 8 * 1024,
        ..config()
    })
    .await;
    let session = server.session().await;
    let burst = json!({"t": "e", "c": 1, "e": "burst", "v": {"count": 100, "size": 200}});
    server.send(&session, json!([burst])).await;
    let mut events = EventReader::new(server.get(&format!("/rt/sse?{}", session.query())).await);
    let mut last = json!(null);
    while let Some(event) = events.next().await {
        last = serde_json::from_str(&event.data).expect("JSON");
    }
    assert_eq!(last, json!({"t": "r"}));
    assert!(events.body.ended);
}

/// EventSource keeps nothing it has dispatched: its requests (`Accept: text/event-stream`) get
/// their own, larger budget, so a flood does not cost a reconnect every 256 KiB.
#[tokio::test]
async fn event_source_requests_have_their_own_budget() {
    let server = Server::start(Config {
        stream_budget: 8 * 1024,
        event_source_budget: 64 * 1024,
        ..config()
    })
    .await;
    let session = server.session().await;
    let burst = json!({"t": "e", "c": 1, "e": "burst", "v": {"count": 400, "size": 200}});
    server.send(&session, json!([burst])).await;
    let response = server
        .http
        .get(server.url(&format!("/rt/sse?{}", session.query())))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("GET");
    let mut events = EventReader::new(response);
    let mut messages = 0;
    let mut last = json!(null);
    while let Some(event) = events.next().await {
        last = serde_json::from_str(&event.data).expect("JSON");
        messages += usize::from(last["t"] == "e");
    }
    assert_eq!(last, json!({"t": "r"}));
    // About 250 B per message: 8 KiB would end the stream after ~30, 64 KiB after ~250.
    assert!(
        (200..400).contains(&messages),
        "{messages} messages before the recycle"
    );
}

#[tokio::test]
async fn a_refused_session_gets_an_x_event_then_the_end() {
    let server = Server::default().await;
    let mut events = EventReader::new(server.get("/rt/sse?sid=nope&token=x").await);
    assert_eq!(events.frame().await["code"], "unknown_session");
    assert_eq!(events.next().await, None);
}

#[tokio::test]
async fn a_closed_stream_detaches_its_session_so_it_can_expire() {
    let server = Server::start(Config {
        session_idle: Duration::from_millis(200),
        ..config()
    })
    .await;
    let mut events = EventReader::new(server.get("/rt/sse").await);
    let session = crate::harness::Session::from_open(&events.frame().await);
    drop(events);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, _) = server
        .get_json(&format!("/rt/poll?{}", session.query()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_open_stream_keeps_its_session_alive() {
    let server = Server::start(Config {
        session_idle: Duration::from_millis(200),
        ..config()
    })
    .await;
    let mut events = EventReader::new(server.get("/rt/sse").await);
    let session = crate::harness::Session::from_open(&events.frame().await);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, _) = server
        .get_json(&format!("/rt/poll?{}", session.query()))
        .await;
    assert_eq!(status, StatusCode::OK);
    drop(events);
}
