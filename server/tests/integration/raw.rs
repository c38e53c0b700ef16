//! The `/raw/` demo endpoints.

use std::time::{Duration, Instant};

use futures_util::SinkExt as _;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{ws_connect, BodyReader, EventReader, Server, PATIENCE};

fn looks_like_time(text: &str) -> bool {
    text.len() == 24 && text.starts_with("20") && text.ends_with('Z')
}

#[tokio::test]
async fn time_and_longpoll() {
    let server = Server::default().await;
    let response = server.get("/raw/time").await;
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(looks_like_time(&response.text().await.expect("body")));
    let started = Instant::now();
    let text = server
        .get("/raw/longpoll")
        .await
        .text()
        .await
        .expect("body");
    assert!(looks_like_time(&text), "{text}");
    // The next 100 ms tick (the test configuration's).
    assert!(started.elapsed() <= Duration::from_millis(300));
    let millis: u32 = text[20..23].parse().expect("millis");
    assert!(millis % 100 < 80, "answered at a tick: {text}");
}

#[tokio::test]
async fn sse_ticks_with_ids_and_resumes_after_last_event_id() {
    let server = Server::default().await;
    let mut events = EventReader::new(server.get("/raw/sse").await);
    let first = events.next().await.expect("tick");
    assert_eq!(
        (
            first.event.as_deref(),
            first.id.as_deref(),
            first.retry.as_deref()
        ),
        (Some("tick"), Some("1"), Some("100"))
    );
    assert!(looks_like_time(&first.data));
    assert_eq!(events.next().await.expect("tick").id.as_deref(), Some("2"));
    let response = server
        .http
        .get(server.url("/raw/sse"))
        .header("last-event-id", "41")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        EventReader::new(response)
            .next()
            .await
            .expect("tick")
            .id
            .as_deref(),
        Some("42")
    );
}

#[tokio::test]
async fn stream_writes_a_line_per_tick() {
    let server = Server::default().await;
    let response = server.get("/raw/stream").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let mut body = BodyReader::new(response);
    body.until("tick 2 ").await;
    assert!(body.text.starts_with("tick 1 20"));
}

#[tokio::test]
async fn iframe_validates_the_callback() {
    let server = Server::default().await;
    for bad in ["", "1a", "a..b", "alert(1)", "x%3C%2Fscript%3E"] {
        let status = server
            .get(&format!("/raw/iframe?callback={bad}"))
            .await
            .status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(
        server.get("/raw/iframe").await.status(),
        StatusCode::BAD_REQUEST
    );
    let response = server.get("/raw/iframe?callback=a.b_c$1").await;
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let mut body = BodyReader::new(response);
    body.until("</script>").await;
    assert!(
        body.text.contains(r#"<script>parent["a"]["b_c$1"]("20"#),
        "{}",
        body.text
    );
}

#[tokio::test]
async fn ws_echoes_text_and_binary() {
    let server = Server::default().await;
    let mut ws = ws_connect(&server.ws_url("/raw/ws"), None)
        .await
        .expect("connect");
    for message in [
        WsMessage::Text("hello".into()),
        WsMessage::Binary(vec![1, 2, 3].into()),
    ] {
        ws.send(message.clone()).await.expect("send");
        let echoed = tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut ws))
            .await
            .expect("in time");
        assert_eq!(echoed.expect("message").expect("ok"), message);
    }
}

#[tokio::test]
async fn send_answers_no_content() {
    let server = Server::default().await;
    let response = server
        .http
        .post(server.url("/raw/send"))
        .body("anything")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
