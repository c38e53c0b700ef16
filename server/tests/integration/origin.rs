//! The origin policy: `403` for foreign origins (HTTP and WebSocket), CORS for allowed ones.

use realtime_server::Config;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::harness::{config, ws_connect, ws_json, EventReader, Server, Session};

fn vary_lists_origin(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("Origin")))
}

#[tokio::test]
async fn a_foreign_origin_is_refused_on_every_endpoint() {
    let server = Server::default().await;
    for path in ["/rt/poll", "/rt/sse", "/raw/time"] {
        let response = server
            .http
            .get(server.url(path))
            .header("origin", "http://evil.test")
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(vary_lists_origin(&response));
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    let response = server
        .http
        .post(server.url("/raw/send"))
        .header("origin", "http://evil.test")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    for path in ["/rt/ws", "/raw/ws"] {
        match ws_connect(&server.ws_url(path), Some("http://evil.test")).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 403, "{path}"),
            other => panic!("{path}: expected 403, got {other:?}"),
        }
    }
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/rt/send"))
        .header("origin", "http://evil.test")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn loopback_origins_get_credentialed_cors_answers() {
    let server = Server::default().await;
    let origin = "http://127.0.0.1:5173";
    let response = server
        .http
        .get(server.url("/rt/poll"))
        .header("origin", origin)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], origin);
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    assert!(vary_lists_origin(&response));
    for content_type in ["text/plain", "application/json"] {
        let preflight = server
            .http
            .request(reqwest::Method::OPTIONS, server.url("/rt/send"))
            .header("origin", "http://localhost:3000")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .expect("OPTIONS");
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT, "{content_type}");
        let headers = preflight.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://localhost:3000"
        );
        assert!(headers["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("POST"));
        assert_eq!(headers["access-control-allow-headers"], "content-type");
        assert_eq!(headers["access-control-allow-credentials"], "true");
    }
    ws_connect(&server.ws_url("/rt/ws"), Some("http://[::1]:8000"))
        .await
        .expect("loopback WebSocket");
}

#[tokio::test]
async fn allow_origin_replaces_the_loopback_default() {
    let server = Server::start(realtime_server::Config {
        allowed_origins: vec!["https://app.test".into()],
        ..config()
    })
    .await;
    let get = |origin: &'static str| {
        server
            .http
            .get(server.url("/rt/poll"))
            .header("origin", origin)
            .send()
    };
    let allowed = get("https://app.test").await.expect("GET");
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.test"
    );
    assert_eq!(
        get("http://localhost:3000").await.expect("GET").status(),
        StatusCode::FORBIDDEN
    );
    ws_connect(&server.ws_url("/rt/ws"), Some("https://app.test"))
        .await
        .expect("allowed WebSocket");
    // The server's own origin is never foreign (the demo page posting to its own server).
    let own = server.base.clone();
    let response = server
        .http
        .get(server.url("/rt/poll"))
        .header("origin", own)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    let _: Config = config();
}

#[tokio::test]
async fn a_foreign_origin_causes_nothing_even_with_the_session_secret() {
    let server = Server::default().await;
    let mut events = EventReader::new(server.get("/rt/sse").await);
    let session = Session::from_open(&events.frame().await);
    let evil = "http://evil.test";
    // Cross-site request forgery with a stolen session: the frames are not processed.
    let response = server
        .http
        .post(server.url(&format!("/rt/send?{}", session.query())))
        .header("origin", evil)
        .header("cookie", "sid=whatever")
        .body(json!([{"t": "m", "c": 1, "d": "forged"}]).to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    // Cross-site WebSocket hijacking: refused before the upgrade, so the session's stream is
    // not superseded and nothing is acknowledged.
    let url = server.ws_url(&format!("/rt/ws?{}&after=0", session.query()));
    match ws_connect(&url, Some(evil)).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    for path in [
        "/rt/poll",
        "/rt/sse",
        "/rt/iframe?origin=http%3A%2F%2Flocalhost",
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let response = server
            .http
            .get(server.url(&format!("{path}{sep}{}", session.query())))
            .header("origin", evil)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    server.send_texts(&session, 1, 1).await;
    let message = events.frame().await;
    assert_eq!(
        message,
        json!({"t": "m", "s": 1, "d": "m1"}),
        "the stream carries on, and the forged message never was"
    );
}

#[tokio::test]
async fn cors_never_answers_a_literal_star_with_credentials() {
    let server = Server::start(Config {
        allowed_origins: vec!["*".into()],
        ..config()
    })
    .await;
    for origin in ["https://anywhere.test", "http://localhost:1"] {
        let response = server
            .http
            .get(server.url("/rt/poll"))
            .header("origin", origin)
            .send()
            .await
            .expect("GET");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], origin);
        assert_eq!(headers["access-control-allow-credentials"], "true");
        assert!(vary_lists_origin(&response));
    }
    // Without `Origin` there is nothing to echo: no CORS headers at all, but still `Vary`.
    let response = server.get("/rt/poll").await;
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert!(vary_lists_origin(&response));
}

/// The refusal for a wrong `token` on `path`: `bad_token`, but a probe without any token is
/// malformed (`protocol`).
fn refusal(token: &str, path: &str) -> (StatusCode, &'static serde_json::Value) {
    static BAD_TOKEN: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(|| json!("bad_token"));
    static PROTOCOL: std::sync::LazyLock<serde_json::Value> =
        std::sync::LazyLock::new(|| json!("protocol"));
    if token.is_empty() && path.contains("probe=1") {
        (StatusCode::BAD_REQUEST, &PROTOCOL)
    } else {
        (StatusCode::FORBIDDEN, &BAD_TOKEN)
    }
}

#[tokio::test]
async fn a_session_cannot_be_resumed_or_sent_to_without_its_token() {
    let server = Server::default().await;
    let mut events = EventReader::new(server.get("/rt/sse").await);
    let session = Session::from_open(&events.frame().await);
    let wrong = "0".repeat(32);
    for token in [
        String::new(),
        wrong.clone(),
        session.token[..31].to_string(),
    ] {
        let query = format!("sid={}&token={token}", session.sid);
        // HTTP transports: `403` with the `x` frame.
        for path in [
            format!("/rt/poll?{query}"),
            format!("/rt/poll?{query}&wait=1000"),
            format!("/rt/poll?{query}&probe=1"),
        ] {
            let (status, x) = server.get_json(&path).await;
            assert_eq!((status, &x["code"]), refusal(&token, &path), "{path}");
        }
        let response = server
            .http
            .post(server.url(&format!("/rt/send?{query}")))
            .body(json!([{"t": "m", "c": 1, "d": "intruder"}]).to_string())
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // Streams: the `x` frame, then the end.
        for path in [
            format!("/rt/sse?{query}"),
            format!("/rt/sse?{query}&probe=1"),
        ] {
            let mut refused = EventReader::new(server.get(&path).await);
            assert_eq!(
                &refused.frame().await["code"],
                refusal(&token, &path).1,
                "{path}"
            );
            assert_eq!(refused.next().await, None);
        }
        let iframe = server
            .get(&format!("/rt/iframe?{query}&origin=http%3A%2F%2Flocalhost"))
            .await
            .text()
            .await
            .expect("body");
        assert!(iframe.contains("bad_token"), "{iframe}");
        let mut ws = ws_connect(&server.ws_url(&format!("/rt/ws?{query}")), None)
            .await
            .expect("upgrade");
        assert_eq!(ws_json(&mut ws).await["code"], "bad_token");
    }
    // None of it touched the session: its stream was not superseded and nothing was processed.
    server.send_texts(&session, 1, 1).await;
    assert_eq!(events.frame().await, json!({"t": "m", "s": 1, "d": "m1"}));
}
