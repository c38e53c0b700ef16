//! `/rt/iframe`: script chunks, escaping, the origin check.

use reqwest::StatusCode;

use crate::harness::{BodyReader, Server};

#[tokio::test]
async fn frames_are_escaped_script_chunks_posted_to_the_origin() {
    let server = Server::default().await;
    let session = server.session().await;
    let nasty = "</script><script>alert(1)</script><!-- & \u{2028}\u{2029}";
    server
        .send(
            &session,
            serde_json::json!([{"t": "m", "c": 1, "d": nasty}]),
        )
        .await;
    let origin = "http://localhost:5173";
    let response = server
        .get(&format!(
            "/rt/iframe?{}&origin={}",
            session.query(),
            "http%3A%2F%2Flocalhost%3A5173"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(response.headers().get("x-content-type-options").is_none());
    let mut body = BodyReader::new(response);
    body.until("alert").await;
    let text = &body.text;
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(
        text.find("<script>").expect("script") >= 2048,
        "a 2 KiB prelude comes first"
    );
    assert!(text.contains(&format!(
        r#"parent.postMessage("{{\"t\":\"o\",\"sid\":\"{}\""#,
        session.sid
    )));
    assert!(text.contains(&format!(r#","{origin}")</script>"#)));
    assert!(text.contains(r#"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e\u003c!-- \u0026 \u2028\u2029"#));
    assert_eq!(
        text.matches("</script>").count(),
        text.matches("<script>").count()
    );
    assert!(!text.contains('\u{2028}'));
}

#[tokio::test]
async fn the_origin_must_be_allowed() {
    let server = Server::default().await;
    assert_eq!(
        server
            .get("/rt/iframe?origin=http%3A%2F%2Fevil.test")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server.get("/rt/iframe").await.status(),
        StatusCode::BAD_REQUEST
    );
}
