//! Only the iframe documents are HTML: every other answer under `/rt` and `/raw/` (data, streams,
//! refusals and errors alike) has a non-HTML content type and `X-Content-Type-Options: nosniff`,
//! so no browser can be talked into reading a payload as a document or a script.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::harness::Server;

#[tokio::test]
async fn every_transport_answer_but_the_iframes_is_non_html_and_nosniff() {
    let server = Server::start(realtime_server::Config {
        raw_tick: Duration::from_millis(10),
        max_post_body: 64,
        ..crate::harness::config()
    })
    .await;
    let session = server.session().await;
    let q = session.query();
    let big = "x".repeat(100);
    let requests: Vec<(Method, String, Option<&str>, Option<&str>)> = vec![
        (Method::GET, "/rt/poll".into(), None, None),
        (Method::GET, format!("/rt/poll?{q}&wait=1"), None, None),
        (Method::GET, format!("/rt/poll?{q}&probe=1"), None, None),
        (Method::GET, "/rt/poll?sid=nope&token=x".into(), None, None),
        (Method::GET, "/rt/poll?after=x".into(), None, None),
        (Method::GET, format!("/rt/sse?{q}"), None, None),
        (Method::GET, "/rt/sse?sid=nope&token=x".into(), None, None),
        (Method::GET, "/rt/ws".into(), None, None),
        (Method::POST, format!("/rt/send?{q}"), Some("[]"), None),
        (Method::POST, format!("/rt/send?{q}"), Some("[{"), None),
        (
            Method::POST,
            format!("/rt/send?{q}"),
            Some(big.as_str()),
            None,
        ),
        (Method::GET, "/rt/iframe".into(), None, None),
        (Method::GET, "/rt/iframe?origin=*".into(), None, None),
        (
            Method::GET,
            "/rt/iframe?origin=http%3A%2F%2Fevil.test".into(),
            None,
            None,
        ),
        (
            Method::GET,
            "/rt/poll?fault=http-error%3D500".into(),
            None,
            None,
        ),
        (Method::GET, "/rt/poll?fault=nonsense".into(), None, None),
        (Method::POST, "/rt/_hooks/lift?key=k".into(), Some(""), None),
        (
            Method::GET,
            "/rt/poll".into(),
            None,
            Some("http://evil.test"),
        ),
        (
            Method::OPTIONS,
            "/rt/send".into(),
            None,
            Some("http://localhost"),
        ),
        (Method::GET, "/raw/time".into(), None, None),
        (Method::GET, "/raw/longpoll".into(), None, None),
        (Method::GET, "/raw/sse".into(), None, None),
        (Method::GET, "/raw/stream".into(), None, None),
        (Method::GET, "/raw/iframe?callback=a(1)".into(), None, None),
        (Method::GET, "/raw/ws".into(), None, None),
        (Method::POST, "/raw/send".into(), Some("x"), None),
        (Method::POST, "/raw/send".into(), Some(big.as_str()), None),
    ];
    for (method, path, body, origin) in requests {
        let mut request = server.http.request(method.clone(), server.url(&path));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        if let Some(origin) = origin {
            request = request
                .header("origin", origin)
                .header("access-control-request-method", "POST");
        }
        let response = request.send().await.expect("request");
        let what = format!("{method} {path} -> {}", response.status());
        let headers = response.headers();
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        assert!(!content_type.contains("html"), "{what}: {content_type}");
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{what}"
        );
    }
    // The two HTML documents.
    for path in [
        format!("/rt/iframe?{q}&origin=http%3A%2F%2Flocalhost"),
        "/raw/iframe?callback=cb".into(),
    ] {
        let response = server.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
    }
}
