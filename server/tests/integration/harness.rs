//! Starting a server and talking to it.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Long enough for anything that should happen, short enough to fail fast.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// The test configuration: fixtures as static dirs, test hooks on, quick raw ticks, and a long
/// heartbeat so heartbeats only show up in tests that shorten it.
pub fn config() -> Config {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    Config {
        static_dirs: vec![fixtures.join("www")],
        pkg_dir: fixtures.join("pkg"),
        test_hooks: true,
        heartbeat: Duration::from_secs(30),
        raw_tick: Duration::from_millis(100),
        ..Config::default()
    }
}

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
}

impl Server {
    pub async fn start(config: Config) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        tokio::spawn(realtime_server::serve(listener, config));
        Server {
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn default() -> Server {
        Server::start(config()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// GET returning the status and the body as JSON.
    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let response = self.get(path).await;
        let status = response.status();
        (
            status,
            serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON body"),
        )
    }

    /// POST /rt/send with `frames` for the session.
    pub async fn send(&self, session: &Session, frames: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(&format!("/rt/send?{}", session.query())))
            .header("content-type", "text/plain")
            .body(frames.to_string())
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (
            status,
            serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON body"),
        )
    }

    /// A new session, created by a short poll.
    pub async fn session(&self) -> Session {
        let (status, frames) = self.get_json("/rt/poll").await;
        assert_eq!(status, StatusCode::OK);
        Session::from_open(&frames[0])
    }

    /// Short-polls `after`, returning the frames.
    pub async fn poll(&self, session: &Session, after: u64) -> Vec<Value> {
        let (status, frames) = self
            .get_json(&format!("/rt/poll?{}&after={after}", session.query()))
            .await;
        assert_eq!(status, StatusCode::OK, "{frames}");
        frames.as_array().expect("array").clone()
    }

    /// Sends `count` text messages `m1`, `m2`, ... with client seqs from `first_c`.
    pub async fn send_texts(&self, session: &Session, first_c: u64, count: u64) {
        let frames: Vec<Value> = (0..count)
            .map(|i| json!({"t": "m", "c": first_c + i, "d": format!("m{}", first_c + i)}))
            .collect();
        let (status, ack) = self.send(session, Value::Array(frames)).await;
        assert_eq!(status, StatusCode::OK, "{ack}");
    }
}

/// A session's id and token.
#[derive(Clone, Debug)]
pub struct Session {
    pub sid: String,
    pub token: String,
}

impl Session {
    pub fn from_open(open: &Value) -> Session {
        assert_eq!(open["t"], "o", "{open}");
        Session {
            sid: open["sid"].as_str().expect("sid").into(),
            token: open["token"].as_str().expect("token").into(),
        }
    }

    pub fn query(&self) -> String {
        format!("sid={}&token={}", self.sid, self.token)
    }
}

/// Reads a streaming HTTP body.
pub struct BodyReader {
    pub response: reqwest::Response,
    pub text: String,
    pub ended: bool,
}

impl BodyReader {
    pub fn new(response: reqwest::Response) -> BodyReader {
        BodyReader {
            response,
            text: String::new(),
            ended: false,
        }
    }

    /// Reads one more chunk within `wait`; false on timeout or end.
    pub async fn more(&mut self, wait: Duration) -> bool {
        match tokio::time::timeout(wait, self.response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                self.text
                    .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
                true
            }
            Ok(_) => {
                self.ended = true;
                false
            }
            Err(_) => false,
        }
    }

    /// Reads until `text` holds `needle` (panics after [`PATIENCE`]).
    pub async fn until(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.text.contains(needle) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(self.more(left).await, "no {needle:?} in {:?}", self.text);
        }
    }

    /// Reads to the end.
    pub async fn read_to_end(&mut self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.ended {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(
                left > Duration::ZERO,
                "the body did not end: {:?}",
                self.text
            );
            self.more(left).await;
        }
    }
}

/// One parsed event-stream event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub retry: Option<String>,
    pub data: String,
}

/// Reads an event stream.
pub struct EventReader {
    pub body: BodyReader,
}

impl EventReader {
    pub fn new(response: reqwest::Response) -> EventReader {
        EventReader {
            body: BodyReader::new(response),
        }
    }

    /// The next event with data (comments skipped); `None` when the stream ends.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.body.text.find("\n\n") {
                let block: String = self.body.text.drain(..end + 2).collect();
                let mut event = Event::default();
                for line in block.lines() {
                    let (field, value) = line.split_once(": ").unwrap_or((line, ""));
                    match field {
                        "id" => event.id = Some(value.into()),
                        "event" => event.event = Some(value.into()),
                        "retry" => event.retry = Some(value.into()),
                        "data" => event.data.push_str(value),
                        _ => {}
                    }
                }
                if !event.data.is_empty() {
                    return Some(event);
                }
                continue;
            }
            if !self.body.more(PATIENCE).await {
                assert!(
                    self.body.ended,
                    "no event within {PATIENCE:?}: {:?}",
                    self.body.text
                );
                return None;
            }
        }
    }

    /// The next frame, as JSON.
    pub async fn frame(&mut self) -> Value {
        let event = self.next().await.expect("an event");
        serde_json::from_str(&event.data).expect("JSON data")
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects a WebSocket, optionally with an `Origin`.
pub async fn ws_connect(
    url: &str,
    origin: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).expect("header"));
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// What a session WebSocket delivered.
#[derive(Debug, PartialEq)]
pub enum WsFrame {
    Json(Value),
    Binary(u64, Vec<u8>),
    Closed(Option<CloseFrame>),
    /// The TCP connection ended without a close frame.
    Broken,
}

/// The next frame (panics after [`PATIENCE`]).
pub async fn ws_next(ws: &mut Ws) -> WsFrame {
    loop {
        let message = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a WebSocket message in time");
        return match message {
            Some(Ok(WsMessage::Text(text))) => {
                WsFrame::Json(serde_json::from_str(text.as_str()).expect("JSON"))
            }
            Some(Ok(WsMessage::Binary(bytes))) => {
                let (seq, payload) = bytes.split_at(8);
                WsFrame::Binary(
                    u64::from_be_bytes(seq.try_into().expect("8 bytes")),
                    payload.to_vec(),
                )
            }
            Some(Ok(WsMessage::Close(frame))) => WsFrame::Closed(frame),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => WsFrame::Broken,
        };
    }
}

/// The next JSON frame, skipping heartbeats.
pub async fn ws_json(ws: &mut Ws) -> Value {
    loop {
        match ws_next(ws).await {
            WsFrame::Json(value) if value["t"] == "h" => continue,
            WsFrame::Json(value) => return value,
            other => panic!("expected a JSON frame, got {other:?}"),
        }
    }
}

pub async fn ws_send(ws: &mut Ws, frame: Value) {
    ws.send(WsMessage::Text(frame.to_string().into()))
        .await
        .expect("send");
}
