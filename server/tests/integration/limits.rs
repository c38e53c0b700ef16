//! Resource limits: the header-read timeout (slowloris), connection caps answered `503` with
//! `Retry-After`, body and WebSocket message caps (`413`, `1009`), slow bodies (`408`), the
//! cut-off of a client that stops reading, and the cap on sessions.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use crate::harness::{config, ws_connect, ws_json, ws_next, ws_send, Server, WsFrame, PATIENCE};

/// The test configuration with a short header-read timeout.
fn quick_timeouts() -> Config {
    Config {
        header_read_timeout: Duration::from_millis(300),
        ..config()
    }
}

fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `PATIENCE` runs out, which panics); returns
/// what was read and when the end came.
async fn read_until_closed(tcp: &mut TcpStream) -> (String, Instant) {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(PATIENCE, tcp.read(&mut buf))
            .await
            .expect("the server should have closed the connection");
        match read {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&text).into(), Instant::now()),
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends a whole `GET path` on a new connection and returns the raw answer (up to the close).
async fn raw_get(server: &Server, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr(server)).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("write");
    read_until_closed(&mut tcp).await.0
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = Server::start(quick_timeouts()).await;
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr(&server)).await.expect("connect");
    let (text, closed) = read_until_closed(&mut tcp).await;
    let took = closed - started;
    assert!(text.is_empty(), "{text}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_partial_request_head_is_closed_after_the_header_timeout() {
    let server = Server::start(quick_timeouts()).await;
    let mut tcp = TcpStream::connect(addr(&server)).await.expect("connect");
    let started = Instant::now();
    // Slowloris: a request head that trickles in and never ends.
    tcp.write_all(b"GET /raw/time HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The server may already have closed; then the write fails, which is fine.
        let _ = tcp.write_all(format!("X-Drip-{i}: y\r\n").as_bytes()).await;
    }
    let (_, closed) = read_until_closed(&mut tcp).await;
    let took = closed - started;
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A whole request is still answered.
    assert!(raw_get(&server, "/raw/time")
        .await
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn the_default_header_timeout_is_under_35_seconds() {
    let default = Config::default().header_read_timeout;
    assert!(default > Duration::ZERO && default < Duration::from_secs(35));
}

/// Opens `n` connections and makes sure the server has taken them (each answered a request and
/// stays open).
async fn hold_connections(server: &Server, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut tcp = TcpStream::connect(addr(server)).await.expect("connect");
        tcp.write_all(b"GET /raw/time HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(PATIENCE, tcp.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "a held connection");
        held.push(tcp);
    }
    held
}

fn assert_busy(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: 5\r\n"), "{answer}");
    assert!(lower.contains("\r\nconnection: close\r\n"), "{answer}");
}

#[tokio::test]
async fn connections_past_the_per_ip_cap_get_503_with_retry_after() {
    let server = Server::start(Config {
        max_connections_per_ip: 2,
        limit_loopback: true,
        ..config()
    })
    .await;
    let mut held = hold_connections(&server, 2).await;
    assert_busy(&raw_get(&server, "/raw/time").await);
    // A released place is taken again.
    drop(held.pop());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let answer = raw_get(&server, "/raw/time").await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn loopback_clients_are_not_capped_per_ip_by_default() {
    let server = Server::start(Config {
        max_connections_per_ip: 2,
        ..config()
    })
    .await;
    let _held = hold_connections(&server, 5).await;
    assert!(raw_get(&server, "/raw/time")
        .await
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn connections_past_the_global_cap_get_503_with_retry_after() {
    let server = Server::start(Config {
        max_connections: 3,
        ..config()
    })
    .await;
    let _held = hold_connections(&server, 3).await;
    assert_busy(&raw_get(&server, "/raw/time").await);
    // A WebSocket upgrade past the cap fails the same way.
    match ws_connect(&server.ws_url("/rt/ws"), None).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "5");
        }
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn post_bodies_past_the_cap_get_413() {
    let server = Server::start(Config {
        max_post_body: 1024,
        ..config()
    })
    .await;
    let session = server.session().await;
    let big = json!([{"t": "m", "c": 1, "d": "x".repeat(2000)}]).to_string();
    for path in [format!("/rt/send?{}", session.query()), "/raw/send".into()] {
        let response = server
            .http
            .post(server.url(&path))
            .body(big.clone())
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    // Nothing of it was processed; a body within the cap is.
    assert_eq!(server.poll(&session, 0).await[0]["ack"], 0);
    server.send_texts(&session, 1, 1).await;
}

#[tokio::test]
async fn a_post_body_that_trickles_gets_408() {
    let server = Server::start(quick_timeouts()).await;
    let session = server.session().await;
    let mut tcp = TcpStream::connect(addr(&server)).await.expect("connect");
    let head = format!(
        "POST /rt/send?{} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[",
        session.query()
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    let (answer, _) = read_until_closed(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_websocket_message_past_the_cap_closes_with_1009() {
    let server = Server::start(Config {
        max_ws_message: 4096,
        ..config()
    })
    .await;
    let mut ws = ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    ws_json(&mut ws).await;
    // Within the cap: processed.
    ws_send(&mut ws, json!({"t": "m", "c": 1, "d": "x".repeat(3000)})).await;
    assert_eq!(ws_json(&mut ws).await["s"], 1, "the echo");
    assert_eq!(ws_json(&mut ws).await["a"], 1);
    ws_send(&mut ws, json!({"t": "m", "c": 2, "d": "x".repeat(5000)})).await;
    match ws_next(&mut ws).await {
        WsFrame::Closed(Some(frame)) => assert_eq!(u16::from(frame.code), 1009),
        other => panic!("expected close 1009, got {other:?}"),
    }
    // The raw echo has its own cap (64 KiB).
    let mut raw = ws_connect(&server.ws_url("/raw/ws"), None)
        .await
        .expect("connect");
    raw.send_big(65 * 1024).await;
    match ws_next(&mut raw).await {
        WsFrame::Closed(Some(frame)) => assert_eq!(u16::from(frame.code), 1009),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

trait SendBig {
    async fn send_big(&mut self, size: usize);
}

impl SendBig for crate::harness::Ws {
    async fn send_big(&mut self, size: usize) {
        use futures_util::SinkExt as _;
        self.send(WsMessage::Binary(vec![7u8; size].into()))
            .await
            .expect("send");
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off() {
    let server = Server::start(Config {
        stall_timeout: Duration::from_millis(300),
        // All 20 MB may be numbered at once, so the server has far more to write than the
        // socket buffers (4 MiB at most here) can take.
        session_buffer_bytes: 64 << 20,
        ..config()
    })
    .await;
    // A client with a tiny receive buffer that reads nothing once it has asked for a lot.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let tcp = socket
        .connect(addr(&server).parse().expect("addr"))
        .await
        .expect("connect");
    let request = server
        .ws_url("/rt/ws")
        .into_client_request()
        .expect("request");
    let small = WebSocketConfig::default().read_buffer_size(4096);
    let tcp = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(small))
        .await
        .expect("handshake");
    ws_json(&mut ws).await;
    // 200 messages of 100 KB: far more than the socket buffers hold.
    ws_send(
        &mut ws,
        json!({"t": "e", "c": 1, "e": "burst", "v": {"count": 200, "size": 100_000}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Reading again: whatever the buffers held, then the end, well before all 200.
    let mut messages = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                if text.contains("\"burst\"") {
                    messages += 1;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break,
            Err(_) => panic!("still connected after {messages} messages: not cut off"),
        }
    }
    assert!(messages < 200, "{messages}");
}

#[tokio::test]
async fn sessions_past_the_cap_get_503_and_existing_ones_go_on() {
    let server = Server::start(Config {
        max_sessions: 2,
        ..config()
    })
    .await;
    let first = server.session().await;
    server.session().await;
    let response = server.get("/rt/poll").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let x: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    assert_eq!(x["code"], "busy");
    for path in ["/rt/sse", "/rt/iframe?origin=http%3A%2F%2Flocalhost"] {
        assert_eq!(
            server.get(path).await.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
    }
    match ws_connect(&server.ws_url("/rt/ws"), None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    assert_eq!(server.poll(&first, 0).await[0]["sid"], json!(first.sid));
}

#[tokio::test]
async fn a_session_that_is_not_read_holds_a_bounded_number_of_bytes() {
    let server = Server::start(Config {
        session_buffer_bytes: 8 * 1024,
        ..config()
    })
    .await;
    let session = server.session().await;
    // 100 KB of echoes to a client that reads none of them.
    for c in 1..=100u64 {
        let frame = json!([{"t": "m", "c": c, "d": "y".repeat(1000)}]);
        assert_eq!(server.send(&session, frame).await.0, StatusCode::OK);
    }
    let frames = server.poll(&session, 0).await;
    assert_eq!(frames[1]["t"], "g", "the oldest were dropped");
    let kept: usize = frames[2..]
        .iter()
        .map(|f| f["d"].as_str().map_or(0, str::len))
        .sum();
    assert!(kept <= 8 * 1024, "{kept} bytes kept");
    // The newest are there.
    let last = frames.last().expect("a message");
    assert!(last["s"].as_u64().expect("s") >= 80, "{last}");
}

#[tokio::test]
async fn long_requests_and_big_bodies_are_not_cut_by_the_limits() {
    let server = Server::start(quick_timeouts()).await;
    let session = server.session().await;
    // A held long poll and an open event stream outlive the header timeout by far.
    let poll = {
        let url = server.url(&format!("/rt/poll?{}&wait=5000", session.query()));
        let http = server.http.clone();
        tokio::spawn(async move { http.get(url).send().await.expect("GET").text().await })
    };
    let mut events = crate::harness::EventReader::new(server.get("/rt/sse?after=0").await);
    let other = crate::harness::Session::from_open(&events.frame().await);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.send_texts(&session, 1, 1).await;
    server.send_texts(&other, 1, 1).await;
    let answer = poll.await.expect("poll").expect("body");
    assert!(answer.contains(r#""d":"m1""#), "{answer}");
    assert_eq!(events.frame().await["d"], "m1");
    // A body far larger than the read buffer, within the cap, goes through.
    let big = json!([{"t": "m", "c": 2, "d": "z".repeat(1024 * 1024)}]);
    assert_eq!(server.send(&session, big).await.0, StatusCode::OK);
}
