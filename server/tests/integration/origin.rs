//! The origin policy: `403` for foreign origins (HTTP and WebSocket), CORS for allowed ones.

use realtime_server::Config;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::harness::{config, ws_connect, Server};

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
