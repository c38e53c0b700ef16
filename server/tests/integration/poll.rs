//! `/rt/poll` and `/rt/send`: sessions, resume, dedupe, gaps, long polls, rooms, expiry.

use std::time::{Duration, Instant};

use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{config, Server};

#[tokio::test]
async fn a_first_poll_creates_a_session() {
    let server = Server::default().await;
    let response = server.get("/rt/poll").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store, no-transform");
    let frames: Value =
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    let open = &frames[0];
    assert_eq!(frames.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (
            open["t"].as_str(),
            open["hb"].as_u64(),
            open["ack"].as_u64()
        ),
        (Some("o"), Some(30_000), Some(0))
    );
    let token = open["token"].as_str().expect("token");
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    let other = server.session().await;
    assert_ne!(other.token, token);
}

#[tokio::test]
async fn send_echoes_and_poll_resumes_after() {
    let server = Server::default().await;
    let session = server.session().await;
    let (status, ack) = server
        .send(
            &session,
            json!([
                {"t": "m", "c": 1, "d": "hello"},
                {"t": "e", "c": 2, "e": "echo", "v": {"a": [1, "x"]}},
                {"t": "m", "c": 3, "b": "AAEC/w=="},
            ]),
        )
        .await;
    assert_eq!((status, ack), (StatusCode::OK, json!({"t": "a", "a": 3})));
    let frames = server.poll(&session, 0).await;
    assert_eq!(frames[0]["t"], "o");
    assert_eq!(frames[0]["ack"], 3);
    assert_eq!(frames[1], json!({"t": "m", "s": 1, "d": "hello"}));
    assert_eq!(
        frames[2],
        json!({"t": "e", "s": 2, "e": "echo", "v": {"a": [1, "x"]}})
    );
    assert_eq!(frames[3], json!({"t": "m", "s": 3, "b": "AAEC/w=="}));
    let frames = server.poll(&session, 2).await;
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1]["s"], 3);
    assert_eq!(server.poll(&session, 3).await.len(), 1);
}

#[tokio::test]
async fn upstream_is_deduplicated() {
    let server = Server::default().await;
    let session = server.session().await;
    server.send_texts(&session, 1, 2).await;
    let (_, ack) = server
        .send(
            &session,
            json!([{"t": "m", "c": 2, "d": "m2"}, {"t": "m", "c": 3, "d": "m3"}]),
        )
        .await;
    assert_eq!(ack["a"], 3);
    let (_, ack) = server
        .send(&session, json!([{"t": "m", "c": 5, "d": "past a hole"}]))
        .await;
    assert_eq!(ack["a"], 3);
    let texts: Vec<Value> = server
        .poll(&session, 0)
        .await
        .into_iter()
        .skip(1)
        .map(|f| f["d"].clone())
        .collect();
    assert_eq!(texts, [json!("m1"), json!("m2"), json!("m3")]);
}

#[tokio::test]
async fn refusals_carry_x_frames() {
    let server = Server::default().await;
    let session = server.session().await;
    let (status, x) = server
        .get_json(&format!(
            "/rt/poll?sid={}&token=00000000000000000000000000000000",
            session.sid
        ))
        .await;
    assert_eq!(
        (status, &x["t"], &x["code"]),
        (StatusCode::FORBIDDEN, &json!("x"), &json!("bad_token"))
    );
    let (status, x) = server.get_json("/rt/poll?sid=nope&token=00").await;
    assert_eq!(
        (status, &x["code"]),
        (StatusCode::NOT_FOUND, &json!("unknown_session"))
    );
    let (status, x) = server.get_json("/rt/poll?after=many").await;
    assert_eq!(
        (status, &x["code"]),
        (StatusCode::BAD_REQUEST, &json!("protocol"))
    );
    let response = server
        .http
        .post(server.url(&format!("/rt/send?{}", session.query())))
        .body("[{")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let x: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    assert_eq!(x["code"], "protocol");
    let response = server
        .http
        .post(server.url("/rt/send"))
        .body("[]")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_long_poll_is_answered_when_a_message_arrives() {
    let server = Server::default().await;
    let session = server.session().await;
    let started = Instant::now();
    let poll = {
        let url = server.url(&format!("/rt/poll?{}&wait=5000", session.query()));
        let http = server.http.clone();
        tokio::spawn(async move {
            http.get(url)
                .send()
                .await
                .expect("GET")
                .text()
                .await
                .expect("body")
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.send_texts(&session, 1, 1).await;
    let frames: Value = serde_json::from_str(&poll.await.expect("poll")).expect("JSON");
    assert_eq!(frames[1]["d"], "m1");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_long_poll_with_nothing_pending_times_out_with_an_empty_array() {
    let server = Server::default().await;
    let session = server.session().await;
    let started = Instant::now();
    let (status, frames) = server
        .get_json(&format!("/rt/poll?{}&wait=150", session.query()))
        .await;
    assert_eq!((status, frames), (StatusCode::OK, json!([])));
    assert!(started.elapsed() >= Duration::from_millis(150));
}

/// Spawns a long poll (`wait` ms) for `session`, returning its status and body.
fn spawn_long_poll(
    server: &Server,
    session: &crate::harness::Session,
    wait: u64,
) -> tokio::task::JoinHandle<(StatusCode, String)> {
    let url = server.url(&format!("/rt/poll?{}&wait={wait}", session.query()));
    let http = server.http.clone();
    tokio::spawn(async move {
        let response = http.get(url).send().await.expect("GET");
        (response.status(), response.text().await.expect("body"))
    })
}

#[tokio::test]
async fn a_short_poll_supersedes_a_held_one() {
    let server = Server::default().await;
    let session = server.session().await;
    let started = Instant::now();
    let first = spawn_long_poll(&server, &session, 5000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A reopened polling transport starts without `wait`: it takes over at once.
    let (status, second) = server
        .get_json(&format!("/rt/poll?{}", session.query()))
        .await;
    assert_eq!((status, &second[0]["t"]), (StatusCode::OK, &json!("o")));
    let (status, first) = first.await.expect("first");
    assert_eq!((status, first.as_str()), (StatusCode::OK, "[]"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_second_concurrent_long_poll_is_refused_and_the_held_one_goes_on() {
    let server = Server::default().await;
    let session = server.session().await;
    let first = spawn_long_poll(&server, &session, 5000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let (status, x) = server
        .get_json(&format!("/rt/poll?{}&wait=5000", session.query()))
        .await;
    assert_eq!(
        (status, &x["t"], &x["code"]),
        (StatusCode::CONFLICT, &json!("x"), &json!("conflict")),
        "{x}"
    );
    // Refused after the grace period, not held for its whole `wait`.
    assert!(started.elapsed() < Duration::from_secs(3));
    // The held poll was neither superseded nor answered: it gets the next message.
    assert!(!first.is_finished());
    server.send_texts(&session, 1, 1).await;
    let (status, body) = first.await.expect("first");
    assert_eq!(status, StatusCode::OK);
    let frames: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(frames[1]["d"], "m1", "{frames}");
}

#[tokio::test]
async fn a_long_poll_retried_after_its_client_closed_the_held_one_is_accepted() {
    let server = Server::default().await;
    let session = server.session().await;
    // The client gives up on a held poll (its timeout retry) and closes the request...
    let abandoned = spawn_long_poll(&server, &session, 5000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    abandoned.abort();
    // ...and polls again at once: not a conflict, held as usual.
    let second = spawn_long_poll(&server, &session, 5000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "held, not refused");
    server.send_texts(&session, 1, 1).await;
    let (status, body) = second.await.expect("second");
    assert_eq!(status, StatusCode::OK, "{body}");
    let frames: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(frames[1]["d"], "m1", "{frames}");
}

#[tokio::test]
async fn falling_behind_the_window_yields_a_gap_frame() {
    let server = Server::start(Config {
        replay_window: 5,
        ..config()
    })
    .await;
    let session = server.session().await;
    // Five fill the window, five wait, the last two push the first two out.
    server.send_texts(&session, 1, 12).await;
    let frames = server.poll(&session, 0).await;
    assert_eq!(frames[1], json!({"t": "g", "from": 1, "to": 2}));
    let seqs: Vec<u64> = frames[2..]
        .iter()
        .map(|f| f["s"].as_u64().expect("s"))
        .collect();
    assert_eq!(seqs, [3, 4, 5, 6, 7]);
    let seqs: Vec<u64> = server.poll(&session, 7).await[1..]
        .iter()
        .map(|f| f["s"].as_u64().expect("s"))
        .collect();
    assert_eq!(seqs, [8, 9, 10, 11, 12]);
}

#[tokio::test]
async fn a_burst_larger_than_the_window_follows_the_acks_without_a_gap() {
    let server = Server::start(Config {
        replay_window: 10,
        ..config()
    })
    .await;
    let session = server.session().await;
    server
        .send(
            &session,
            json!([{"t": "e", "c": 1, "e": "burst", "v": {"count": 35, "size": 3}}]),
        )
        .await;
    let mut after = 0;
    let mut seen = Vec::new();
    while seen.len() < 35 {
        let frames = server.poll(&session, after).await;
        assert!(frames.len() > 1, "the burst stalled at {after}");
        for frame in &frames[1..] {
            assert_eq!(
                (&frame["t"], &frame["e"], &frame["v"]["pad"]),
                (&json!("e"), &json!("burst"), &json!("xxx"))
            );
            seen.push(frame["v"]["n"].as_u64().expect("n"));
            after = frame["s"].as_u64().expect("s");
        }
    }
    assert_eq!(seen, (1..=35).collect::<Vec<_>>());
}

#[tokio::test]
async fn rooms_deliver_to_every_member() {
    let server = Server::default().await;
    let (a, b, c) = (
        server.session().await,
        server.session().await,
        server.session().await,
    );
    server
        .send(&a, json!([{"t": "e", "c": 1, "e": "join", "v": "lobby"}]))
        .await;
    server
        .send(&b, json!([{"t": "e", "c": 1, "e": "join", "v": "lobby"}]))
        .await;
    let publish = json!({"room": "lobby", "event": "chat", "data": {"text": "hi"}});
    server
        .send(
            &c,
            json!([{"t": "e", "c": 1, "e": "publish", "v": publish}]),
        )
        .await;
    for member in [&a, &b] {
        let frames = server.poll(member, 0).await;
        assert_eq!(
            frames[1],
            json!({"t": "e", "s": 1, "e": "chat", "v": {"text": "hi"}})
        );
    }
    assert_eq!(server.poll(&c, 0).await.len(), 1);
    server
        .send(&b, json!([{"t": "e", "c": 2, "e": "leave", "v": "lobby"}]))
        .await;
    server
        .send(
            &a,
            json!([{"t": "e", "c": 2, "e": "publish", "v": publish}]),
        )
        .await;
    assert_eq!(server.poll(&a, 1).await.len(), 2);
    assert_eq!(server.poll(&b, 1).await.len(), 1);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let server = Server::start(Config {
        session_idle: Duration::from_millis(200),
        ..config()
    })
    .await;
    let session = server.session().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, x) = server
        .get_json(&format!("/rt/poll?{}", session.query()))
        .await;
    assert_eq!(
        (status, &x["code"]),
        (StatusCode::NOT_FOUND, &json!("unknown_session"))
    );
}

#[tokio::test]
async fn a_long_poll_after_another_transport_opens_at_once() {
    let server = Server::default().await;
    let mut ws = crate::harness::ws_connect(&server.ws_url("/rt/ws"), None)
        .await
        .expect("connect");
    let session = crate::harness::Session::from_open(&crate::harness::ws_json(&mut ws).await);
    drop(ws);
    let started = Instant::now();
    let (status, frames) = server
        .get_json(&format!("/rt/poll?{}&wait=5000", session.query()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (frames[0]["t"].as_str(), frames[0]["sid"].as_str()),
        (Some("o"), Some(session.sid.as_str()))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The next one continues the polling connection: held until wait runs out.
    let (_, frames) = server
        .get_json(&format!("/rt/poll?{}&wait=100", session.query()))
        .await;
    assert_eq!(frames, json!([]));
}

#[tokio::test]
async fn echoed_values_keep_their_key_order() {
    let server = Server::default().await;
    let session = server.session().await;
    let body = r#"[{"t":"e","c":1,"e":"echo","v":{"z":1,"a":{"y":2,"b":3}}}]"#;
    let url = server.url(&format!("/rt/send?{}", session.query()));
    server.http.post(url).body(body).send().await.expect("POST");
    let text = server
        .get(&format!("/rt/poll?{}", session.query()))
        .await
        .text()
        .await
        .expect("body");
    assert!(text.contains(r#""v":{"z":1,"a":{"y":2,"b":3}}"#), "{text}");
}
