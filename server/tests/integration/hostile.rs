//! The hostile faults of the test hooks: what a broken server or proxy would write (an HTML page,
//! frames that are not JSON or not frames, sequence numbers that repeat or skip, bytes that are not
//! UTF-8, a response cut mid-event, a session that does not exist, `Retry-After`), each on the
//! transports it concerns, and only once per connection where it tampers with frames.

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{ws_connect, ws_next, Server, Session, Ws, WsFrame, PATIENCE};

/// A session holding the echoes `m1`, `m2`, `m3` (`s` 1 to 3).
async fn three_messages(server: &Server) -> Session {
    let session = server.session().await;
    server.send_texts(&session, 1, 3).await;
    session
}

fn m(s: u64) -> String {
    format!(r#"{{"t":"m","s":{s},"d":"m{s}"}}"#)
}

/// Reads `response` until its body holds `needle` or ends (panics after [`PATIENCE`]).
async fn read_until(response: &mut reqwest::Response, body: &mut Vec<u8>, needle: &[u8]) -> bool {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !body.windows(needle.len()).any(|w| w == needle) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            Ok(_) => return false,
            Err(_) => panic!(
                "no {:?} within {PATIENCE:?} in {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(body)
            ),
        }
    }
    true
}

/// Reads `response` to its end (panics after [`PATIENCE`]).
async fn read_to_end(response: &mut reqwest::Response, body: &mut Vec<u8>) {
    let ended = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the body did not end: {:?}",
        String::from_utf8_lossy(body)
    );
}

/// The `data:` of every complete event of an event-stream body, heartbeats left out.
fn sse_data(body: &[u8]) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    let mut rest = body;
    while let Some(end) = rest.windows(2).position(|w| w == b"\n\n") {
        let block = &rest[..end];
        rest = &rest[end + 2..];
        for line in block.split(|&b| b == b'\n') {
            if let Some(data) = line.strip_prefix(b"data: ") {
                if !data.starts_with(br#"{"t":"h""#) {
                    events.push(data.to_vec());
                }
            }
        }
    }
    events
}

/// The event stream of `session` with `fault`, read until `until` is in the body (or the end).
async fn sse(server: &Server, session: &Session, fault: &str, until: &[u8]) -> (Vec<u8>, bool) {
    let mut response = server
        .get(&format!("/rt/sse?{}&fault={fault}", session.query()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = Vec::new();
    let found = read_until(&mut response, &mut body, until).await;
    (body, found)
}

/// A poll answer's raw body.
async fn poll_body(server: &Server, session: &Session, fault: &str) -> (StatusCode, Vec<u8>) {
    let response = server
        .get(&format!("/rt/poll?{}&fault={fault}", session.query()))
        .await;
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

/// The text messages of a session WebSocket up to the one containing `until`, heartbeats left
/// out.
async fn ws_texts(server: &Server, session: &Session, fault: &str, until: &str) -> Vec<String> {
    let url = server.ws_url(&format!("/rt/ws?{}&fault={fault}", session.query()));
    let mut ws = ws_connect(&url, None).await.expect("connect");
    let mut texts = Vec::new();
    loop {
        let text = ws_text(&mut ws).await;
        if text.starts_with(r#"{"t":"h""#) {
            continue;
        }
        let done = text.contains(until);
        texts.push(text);
        if done {
            return texts;
        }
    }
}

async fn ws_text(ws: &mut Ws) -> String {
    let message = tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("a WebSocket message in time");
    match message {
        Some(Ok(WsMessage::Text(text))) => text.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

fn lossy(items: &[Vec<u8>]) -> Vec<String> {
    items
        .iter()
        .map(|i| String::from_utf8_lossy(i).into_owned())
        .collect()
}

/// The iframe document of `session` with `fault`, read until `until` (or the end).
async fn iframe(server: &Server, session: &Session, fault: &str, until: &[u8]) -> (Vec<u8>, bool) {
    let mut response = server
        .get(&format!(
            "/rt/iframe?{}&origin=http%3A%2F%2Flocalhost&fault={fault}",
            session.query()
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = Vec::new();
    let found = read_until(&mut response, &mut body, until).await;
    (body, found)
}

#[tokio::test]
async fn garbage_frame_comes_once_per_connection_before_the_second_message() {
    let server = Server::default().await;
    let session = three_messages(&server).await;
    let garbage = "this is not JSON {";

    let (status, body) = poll_body(&server, &session, "garbage-frame").await;
    assert_eq!(status, StatusCode::OK);
    let body = String::from_utf8(body).expect("UTF-8");
    assert!(
        body.ends_with(&format!("{},{garbage},{},{}]", m(1), m(2), m(3))),
        "{body}"
    );
    assert!(serde_json::from_str::<Value>(&body).is_err());

    let texts = ws_texts(&server, &session, "garbage-frame", r#""s":3"#).await;
    assert_eq!(texts[1..], [m(1), garbage.into(), m(2), m(3)]);

    let (body, _) = sse(&server, &session, "garbage-frame", br#""s":3"#).await;
    assert_eq!(
        lossy(&sse_data(&body)[1..]),
        [m(1), garbage.into(), m(2), m(3)]
    );

    let (body, _) = iframe(&server, &session, "garbage-frame", b"m3").await;
    let body = String::from_utf8(body).expect("UTF-8");
    assert!(
        body.contains(
            r#"<script>parent.postMessage("this is not JSON {","http://localhost")</script>"#
        ),
        "{body}"
    );

    // Once per connection: a second connection gets it again, at its own second message.
    let texts = ws_texts(&server, &session, "garbage-frame", r#""s":3"#).await;
    assert_eq!(texts.iter().filter(|t| *t == garbage).count(), 1);
}

#[tokio::test]
async fn bad_frames_stand_in_for_the_second_message() {
    let server = Server::default().await;
    let session = three_messages(&server).await;
    let kinds = [
        ("bad-frame", r#"{"s":2,"d":"bad-frame"}"#),
        ("bad-frame%3Dno-t", r#"{"s":2,"d":"bad-frame"}"#),
        ("bad-frame%3Dno-s", r#"{"t":"m","d":"bad-frame"}"#),
        ("bad-frame%3Dbad-s", r#"{"t":"m","s":"2","d":"bad-frame"}"#),
        (
            "bad-frame%3Dbad-b64",
            r#"{"t":"m","s":2,"b":"not base64!"}"#,
        ),
        ("bad-frame%3Dnot-object", r#""bad-frame""#),
    ];
    for (fault, bad) in kinds {
        let (_, body) = poll_body(&server, &session, fault).await;
        let frames: Value = serde_json::from_slice(&body).expect("still JSON");
        assert_eq!(
            frames.as_array().expect("array")[1..],
            [
                json!({"t": "m", "s": 1, "d": "m1"}),
                serde_json::from_str::<Value>(bad).expect("bad frame is JSON"),
                json!({"t": "m", "s": 2, "d": "m2"}),
                json!({"t": "m", "s": 3, "d": "m3"}),
            ],
            "{fault}"
        );
        let texts = ws_texts(&server, &session, fault, r#""s":3"#).await;
        assert_eq!(texts[1..], [m(1), bad.into(), m(2), m(3)], "{fault}");
    }
    assert_eq!(
        poll_body(&server, &session, "bad-frame%3Dnope").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn seq_repeat_writes_the_first_message_again_after_the_second() {
    let server = Server::default().await;
    let session = three_messages(&server).await;
    let expected = [m(1), m(2), m(1), m(3)];

    let (_, body) = poll_body(&server, &session, "seq-repeat").await;
    let frames: Vec<Value> = serde_json::from_slice(&body).expect("JSON");
    let seqs: Vec<u64> = frames[1..]
        .iter()
        .map(|f| f["s"].as_u64().expect("s"))
        .collect();
    assert_eq!(seqs, [1, 2, 1, 3]);

    let texts = ws_texts(&server, &session, "seq-repeat", r#""s":3"#).await;
    assert_eq!(texts[1..], expected);

    let (body, _) = sse(&server, &session, "seq-repeat", br#""s":3"#).await;
    assert_eq!(lossy(&sse_data(&body)[1..]), expected);

    // A resumed connection repeats its own first message.
    let (_, body) = poll_body(&server, &session, "seq-repeat&after=1").await;
    let frames: Vec<Value> = serde_json::from_slice(&body).expect("JSON");
    let seqs: Vec<u64> = frames[1..]
        .iter()
        .map(|f| f["s"].as_u64().expect("s"))
        .collect();
    assert_eq!(seqs, [2, 3, 2]);
}

#[tokio::test]
async fn seq_skip_leaves_out_the_second_message() {
    let server = Server::default().await;
    let session = three_messages(&server).await;

    let (_, body) = poll_body(&server, &session, "seq-skip").await;
    let frames: Vec<Value> = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        frames[1..],
        [
            json!({"t":"m","s":1,"d":"m1"}),
            json!({"t":"m","s":3,"d":"m3"})
        ]
    );

    let texts = ws_texts(&server, &session, "seq-skip", r#""s":3"#).await;
    assert_eq!(texts[1..], [m(1), m(3)]);

    let (body, _) = sse(&server, &session, "seq-skip", br#""s":3"#).await;
    assert_eq!(lossy(&sse_data(&body)[1..]), [m(1), m(3)]);

    // Nothing is lost on the server: the skipped message is still there for the next connection.
    let (_, body) = poll_body(&server, &session, "").await;
    let frames: Vec<Value> = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(frames.len(), 4, "o and all three: {frames:?}");
}

#[tokio::test]
async fn bad_utf8_corrupts_the_text_of_the_second_message() {
    let server = Server::default().await;
    let session = three_messages(&server).await;
    let corrupted = b"{\"t\":\"m\",\"s\":2,\"d\":\"\xFFm2\"}".to_vec();

    let (_, body) = poll_body(&server, &session, "bad-utf8").await;
    assert!(std::str::from_utf8(&body).is_err());
    let expected = [
        b"[".as_slice(),
        m(1).as_bytes(),
        b",",
        &corrupted,
        b",",
        m(3).as_bytes(),
        b"]",
    ]
    .concat();
    assert!(
        body.ends_with(&expected[1..]),
        "{:?}",
        String::from_utf8_lossy(&body)
    );

    let (body, _) = sse(&server, &session, "bad-utf8", br#""s":3"#).await;
    assert_eq!(
        sse_data(&body)[1..],
        [m(1).into_bytes(), corrupted, m(3).into_bytes()]
    );

    let (body, _) = iframe(&server, &session, "bad-utf8", b"m3").await;
    let needle = b"<script>parent.postMessage(\"{\\\"t\\\":\\\"m\\\",\\\"s\\\":2,\\\"d\\\":\\\"\xFFm2\\\"}\",\"http://localhost\")</script>";
    assert!(
        body.windows(needle.len()).any(|w| w == needle),
        "{:?}",
        String::from_utf8_lossy(&body)
    );

    // A WebSocket cannot carry it (text frames are UTF-8): the messages pass untouched.
    let texts = ws_texts(&server, &session, "bad-utf8", r#""s":3"#).await;
    assert_eq!(texts[1..], [m(1), m(2), m(3)]);
}

#[tokio::test]
async fn cut_mid_event_ends_the_response_inside_the_second_message() {
    let server = Server::default().await;
    let session = three_messages(&server).await;
    let half = |text: &str| text[..text.len() / 2].to_owned();

    let (_, body) = poll_body(&server, &session, "cut-mid-event").await;
    let body = String::from_utf8(body).expect("UTF-8");
    assert!(
        body.ends_with(&format!("{},{}", m(1), half(&m(2)))),
        "{body}"
    );

    let mut response = server
        .get(&format!("/rt/sse?{}&fault=cut-mid-event", session.query()))
        .await;
    let mut body = Vec::new();
    read_to_end(&mut response, &mut body).await;
    let body = String::from_utf8(body).expect("UTF-8");
    assert!(
        body.ends_with(&format!("data: {}\n\nid: 2\ndata: {}", m(1), half(&m(2)))),
        "{body}"
    );

    let mut response = server
        .get(&format!(
            "/rt/iframe?{}&origin=http%3A%2F%2Flocalhost&fault=cut-mid-event",
            session.query()
        ))
        .await;
    let mut body = Vec::new();
    read_to_end(&mut response, &mut body).await;
    let body = String::from_utf8(body).expect("UTF-8");
    let last_script = &body[body.rfind("<script>").expect("scripts")..];
    assert!(
        !last_script.contains("</script>"),
        "the last script is never closed: {last_script}"
    );
    let literal = r#""{\"t\":\"m\",\"s\":2,\"d\":\"m2\"}""#;
    assert!(
        last_script.starts_with(&format!("<script>parent.postMessage({}", half(literal))),
        "{last_script}"
    );

    // A WebSocket is not cut: everything arrives.
    let texts = ws_texts(&server, &session, "cut-mid-event", r#""s":3"#).await;
    assert_eq!(texts[1..], [m(1), m(2), m(3)]);
}

#[tokio::test]
async fn html_200_answers_the_http_transports_with_a_page() {
    let server = Server::default().await;
    let session = server.session().await;
    for path in ["/rt/poll", "/rt/sse", "/rt/iframe"] {
        let response = server
            .get(&format!(
                "{path}?{}&origin=http%3A%2F%2Flocalhost&fault=html-200",
                session.query()
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        let body = response.text().await.expect("body");
        assert!(body.starts_with("<!DOCTYPE html>"), "{path}: {body}");
    }
    let send = server
        .http
        .post(server.url(&format!("/rt/send?{}&fault=html-200", session.query())))
        .body(r#"[{"t":"m","c":1,"d":"lost"}]"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(send.status(), StatusCode::OK);
    assert!(send.text().await.expect("body").contains("Bad Gateway"));
    // Not processed: the message is not echoed.
    assert_eq!(server.poll(&session, 0).await.len(), 1);
    let mut ws = ws_connect(&server.ws_url("/rt/ws?fault=html-200"), None)
        .await
        .expect("not an HTTP transport");
    assert!(matches!(ws_next(&mut ws).await, WsFrame::Json(open) if open["t"] == "o"));
}

#[tokio::test]
async fn busy_http_errors_carry_retry_after() {
    let server = Server::default().await;
    let cases = [
        ("http-error%3D429", StatusCode::TOO_MANY_REQUESTS, Some("1")),
        (
            "http-error%3D503",
            StatusCode::SERVICE_UNAVAILABLE,
            Some("1"),
        ),
        ("http-error%3D500", StatusCode::INTERNAL_SERVER_ERROR, None),
        (
            "http-error%3D429,retry-after%3D7",
            StatusCode::TOO_MANY_REQUESTS,
            Some("7"),
        ),
    ];
    for (fault, status, retry_after) in cases {
        for path in ["/rt/poll", "/rt/sse"] {
            let response = server
                .http
                .get(server.url(&format!("{path}?fault={fault}")))
                .header("origin", "http://localhost:1234")
                .send()
                .await
                .expect("GET");
            assert_eq!(response.status(), status, "{path} {fault}");
            let headers = response.headers();
            assert_eq!(
                headers
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ASCII")),
                retry_after,
                "{path} {fault}"
            );
            if retry_after.is_some() {
                // Readable by a cross-origin page.
                assert_eq!(headers["access-control-expose-headers"], "Retry-After");
                assert_eq!(
                    headers["access-control-allow-origin"],
                    "http://localhost:1234"
                );
            }
        }
    }
}

#[tokio::test]
async fn unknown_session_refuses_every_request_naming_a_session() {
    let server = Server::default().await;
    let session = three_messages(&server).await;
    let fault = "fault=unknown-session";

    let (status, frame) = server
        .get_json(&format!("/rt/poll?{}&{fault}", session.query()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(frame["code"], "unknown_session");

    let (body, _) = sse(&server, &session, "unknown-session", b"\n\n").await;
    let events = sse_data(&body);
    let refusal: Value = serde_json::from_slice(&events[0]).expect("JSON");
    assert_eq!(
        (refusal["t"].as_str(), refusal["code"].as_str()),
        (Some("x"), Some("unknown_session"))
    );

    let (body, _) = iframe(&server, &session, "unknown-session", b"</script>").await;
    assert!(String::from_utf8_lossy(&body).contains("unknown_session"));

    let url = server.ws_url(&format!("/rt/ws?{}&{fault}", session.query()));
    let mut ws = ws_connect(&url, None).await.expect("upgrade");
    assert!(matches!(ws_next(&mut ws).await, WsFrame::Json(x) if x["code"] == "unknown_session"));
    assert!(
        matches!(ws_next(&mut ws).await, WsFrame::Closed(Some(close)) if u16::from(close.code) == 1008)
    );

    let send = server
        .http
        .post(server.url(&format!("/rt/send?{}&{fault}", session.query())))
        .body(r#"[{"t":"m","c":4,"d":"m4"}]"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(send.status(), StatusCode::NOT_FOUND);

    // Without a session, a new one is created as usual.
    let (status, frames) = server.get_json(&format!("/rt/poll?{fault}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(frames[0]["t"], "o");
    // The session itself is untouched.
    assert_eq!(server.poll(&session, 0).await.len(), 4);
}

#[tokio::test]
async fn fault_on_keeps_faults_to_the_named_endpoints() {
    let server = Server::default().await;
    let session = server.session().await;
    let scoped = "fault=http-error%3D500&fault_on=send";
    assert_eq!(
        server
            .get(&format!("/rt/poll?{}&{scoped}", session.query()))
            .await
            .status(),
        StatusCode::OK
    );
    let send = server
        .http
        .post(server.url(&format!("/rt/send?{}&{scoped}", session.query())))
        .body("[]")
        .send()
        .await
        .expect("POST");
    assert_eq!(send.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        server
            .get("/rt/poll?fault=html-200&fault_on=poll,nope")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn tampering_waits_for_a_second_message() {
    // A connection with a single message gets it intact, whatever the faults.
    let server = Server::default().await;
    let session = server.session().await;
    server.send_texts(&session, 1, 1).await;
    let all = "garbage-frame,bad-frame,seq-repeat,seq-skip,bad-utf8,cut-mid-event";
    let (_, body) = poll_body(&server, &session, all).await;
    let frames: Vec<Value> = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(frames[1..], [json!({"t":"m","s":1,"d":"m1"})]);
}

#[tokio::test]
async fn send_delay_processes_at_once_and_answers_late() {
    let server = Server::default().await;
    let session = server.session().await;
    let started = std::time::Instant::now();
    let post = server
        .http
        .post(server.url(&format!(
            "/rt/send?{}&fault=send-delay%3D400",
            session.query()
        )))
        .body(r#"[{"t":"m","c":1,"d":"early"}]"#)
        .send();
    let (answer, frames) = tokio::join!(post, async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        server.poll(&session, 0).await
    });
    assert_eq!(frames.len(), 2, "processed before the answer: {frames:?}");
    assert_eq!(answer.expect("POST").status(), StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
}

#[tokio::test]
async fn faults_scoped_to_endpoints_with_at() {
    let server = Server::default().await;
    let session = server.session().await;
    let fault = "fault=http-error%3D500%40send%2Bpoll,html-200%40sse";
    assert_eq!(
        server
            .get(&format!("/rt/poll?{}&{fault}", session.query()))
            .await
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let sse = server
        .get(&format!("/rt/sse?{}&{fault}", session.query()))
        .await;
    assert_eq!(sse.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        server
            .get(&format!(
                "/rt/poll?{}&fault=latency%3D1%40nope",
                session.query()
            ))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}
