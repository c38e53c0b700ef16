//! Every fault of the test hooks, that they are ignored without `--test-hooks`, and lifting them.

use std::time::{Duration, Instant};

use realtime_server::clock::Timestamp;
use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::harness::{
    config, ws_connect, ws_json, ws_next, BodyReader, EventReader, Server, WsFrame,
};

#[tokio::test]
async fn ws_refuse_answers_403() {
    let server = Server::default().await;
    match ws_connect(&server.ws_url("/rt/ws?fault=ws-refuse"), None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn ws_hang_never_answers() {
    let server = Server::default().await;
    let url = server.ws_url("/rt/ws?fault=ws-hang");
    let attempt = ws_connect(&url, None);
    assert!(tokio::time::timeout(Duration::from_millis(300), attempt)
        .await
        .is_err());
}

#[tokio::test]
async fn ws_drop_open_closes_right_after_the_upgrade() {
    let server = Server::default().await;
    let mut ws = ws_connect(&server.ws_url("/rt/ws?fault=ws-drop-open"), None)
        .await
        .expect("upgrade");
    assert!(matches!(
        ws_next(&mut ws).await,
        WsFrame::Broken | WsFrame::Closed(_)
    ));
}

#[tokio::test]
async fn sse_refuse_answers_503() {
    let server = Server::default().await;
    assert_eq!(
        server.get("/rt/sse?fault=sse-refuse").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        server.get("/rt/poll?fault=sse-refuse").await.status(),
        StatusCode::OK
    );
    let event_source = server
        .http
        .get(server.url("/rt/sse?fault=eventsource-refuse"))
        .header("accept", "text/event-stream");
    let refused = event_source.send().await.expect("GET");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let streaming = server.get("/rt/sse?fault=eventsource-refuse").await;
    assert_eq!(streaming.status(), StatusCode::OK, "XHR streaming passes");
}

#[tokio::test]
async fn stream_buffer_holds_everything_back_until_the_response_ends() {
    let server = Server::start(Config {
        heartbeat: Duration::from_millis(30),
        stream_budget: 8 * 1024,
        ..config()
    })
    .await;
    let session = server.session().await;
    let response = server
        .get(&format!("/rt/sse?{}&fault=stream-buffer", session.query()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = BodyReader::new(response);
    assert!(
        !body.more(Duration::from_millis(300)).await,
        "nothing is flushed: {:?}",
        body.text
    );
    // Enough to spend the budget: the response ends and everything arrives at once.
    server
        .send(
            &session,
            json!([{"t": "e", "c": 1, "e": "burst", "v": {"count": 40, "size": 200}}]),
        )
        .await;
    body.read_to_end().await;
    assert!(body.text.starts_with(':'));
    assert!(body.text.contains(r#""t":"o""#) && body.text.contains(r#""t":"h""#));
    assert!(body.text.ends_with("data: {\"t\":\"r\"}\n\n"));
}

#[tokio::test]
async fn drop_every_ends_each_transport_after_n_messages() {
    let server = Server::default().await;
    let session = server.session().await;
    server.send_texts(&session, 1, 5).await;
    let query = format!("{}&fault=drop-every%3D2", session.query());

    let frames = server.get_json(&format!("/rt/poll?{query}")).await.1;
    assert_eq!(
        frames.as_array().map(Vec::len),
        Some(3),
        "o and two messages: {frames}"
    );

    let mut ws = ws_connect(&server.ws_url(&format!("/rt/ws?{query}")), None)
        .await
        .expect("connect");
    assert_eq!(ws_json(&mut ws).await["t"], "o");
    assert_eq!(ws_json(&mut ws).await["s"], 1);
    assert_eq!(ws_json(&mut ws).await["s"], 2);
    assert_eq!(
        ws_next(&mut ws).await,
        WsFrame::Broken,
        "dropped without a close frame"
    );

    let mut events = EventReader::new(server.get(&format!("/rt/sse?{query}&after=2")).await);
    assert_eq!(events.frame().await["t"], "o");
    assert_eq!(events.frame().await["s"], 3);
    assert_eq!(events.frame().await["s"], 4);
    assert_eq!(events.next().await, None, "ended without an r frame");
}

/// `stall-after=N`: after N messages the connection stays open but carries nothing more, not even
/// heartbeats, whatever the session produces.
#[tokio::test]
async fn stall_after_goes_silent_but_keeps_the_connection() {
    let server = Server::start(Config {
        heartbeat: Duration::from_millis(100),
        ..config()
    })
    .await;
    let session = server.session().await;
    server.send_texts(&session, 1, 2).await;
    let query = format!("{}&fault=stall-after%3D2", session.query());
    let mut ws = ws_connect(&server.ws_url(&format!("/rt/ws?{query}")), None)
        .await
        .expect("connect");
    assert_eq!(ws_json(&mut ws).await["t"], "o");
    assert_eq!(ws_json(&mut ws).await["s"], 1);
    assert_eq!(ws_json(&mut ws).await["s"], 2);
    server.send_texts(&session, 3, 2).await;
    // Five heartbeat intervals: a live connection would have carried heartbeats and messages.
    let silent = tokio::time::timeout(Duration::from_millis(500), ws_next(&mut ws)).await;
    assert!(
        silent.is_err(),
        "a stalled connection wrote {:?}",
        silent.ok()
    );
}

#[tokio::test]
async fn http_error_answers_every_http_transport_request() {
    let server = Server::default().await;
    let session = server.session().await;
    for path in ["/rt/poll", "/rt/sse", "/rt/iframe"] {
        let url = format!(
            "{path}?{}&origin=http%3A%2F%2Flocalhost&fault=http-error%3D502",
            session.query()
        );
        assert_eq!(
            server.get(&url).await.status(),
            StatusCode::BAD_GATEWAY,
            "{path}"
        );
    }
    let send = server
        .http
        .post(server.url(&format!(
            "/rt/send?{}&fault=http-error%3D500",
            session.query()
        )))
        .body("[]")
        .send()
        .await
        .expect("POST");
    assert_eq!(send.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let mut ws = ws_connect(&server.ws_url("/rt/ws?fault=http-error%3D502"), None)
        .await
        .expect("not an HTTP transport");
    assert_eq!(ws_json(&mut ws).await["t"], "o");
}

#[tokio::test]
async fn latency_delays_downstream_writes() {
    let server = Server::default().await;
    let started = Instant::now();
    assert_eq!(
        server.get("/rt/poll?fault=latency%3D200").await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    let started = Instant::now();
    let mut ws = ws_connect(&server.ws_url("/rt/ws?fault=latency%3D200"), None)
        .await
        .expect("connect");
    assert_eq!(ws_json(&mut ws).await["t"], "o");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn faults_are_ignored_without_test_hooks() {
    let server = Server::start(Config {
        test_hooks: false,
        ..config()
    })
    .await;
    assert_eq!(
        server.get("/rt/poll?fault=http-error%3D500").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        server.get("/rt/sse?fault=sse-refuse").await.status(),
        StatusCode::OK
    );
    ws_connect(&server.ws_url("/rt/ws?fault=ws-refuse"), None)
        .await
        .expect("no fault");
    let lift = server
        .http
        .post(server.url("/rt/_hooks/lift?key=k"))
        .send()
        .await
        .expect("POST");
    assert_eq!(lift.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bad_fault_is_a_400() {
    let server = Server::default().await;
    assert_eq!(
        server.get("/rt/poll?fault=nonsense").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        server
            .get("/rt/poll?fault=ws-refuse&fault_until=soon")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn faults_lift_at_fault_until_or_through_the_hook() {
    let server = Server::default().await;
    let past = Timestamp::now().millis() - 1;
    let future = Timestamp::now().millis() + 60_000;
    let poll =
        |query: String| server.get_json_status(format!("/rt/poll?fault=http-error%3D503&{query}"));
    assert_eq!(
        poll(format!("fault_until={future}")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(poll(format!("fault_until={past}")).await, StatusCode::OK);
    assert_eq!(
        poll("fault_key=k1".into()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let hook = |action: &'static str| {
        server
            .http
            .post(server.url(&format!("/rt/_hooks/{action}?key=k1")))
            .send()
    };
    assert_eq!(
        hook("lift").await.expect("POST").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(poll("fault_key=k1".into()).await, StatusCode::OK);
    assert_eq!(
        poll("fault_key=k2".into()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        hook("arm").await.expect("POST").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        poll("fault_key=k1".into()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

impl Server {
    async fn get_json_status(&self, path: String) -> StatusCode {
        self.get(&path).await.status()
    }
}
