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

#[tokio::test]
async fn the_origin_must_be_one_origin_even_when_all_are_allowed() {
    let server = Server::start(realtime_server::Config {
        allowed_origins: vec!["*".into()],
        ..crate::harness::config()
    })
    .await;
    for bad in ["*", "http%3A%2F%2Flocalhost%2Fpath", "localhost", "null"] {
        let status = server
            .get(&format!("/rt/iframe?origin={bad}"))
            .await
            .status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let ok = server
        .get("/rt/iframe?origin=https%3A%2F%2Fany.test")
        .await
        .status();
    assert_eq!(ok, StatusCode::OK);
}

/// Every `<script>` element of an iframe document, as the HTML parser would split them: the
/// text from `<script>` to the first `</script` after it.
fn scripts(document: &str) -> Vec<&str> {
    let lower = document.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script>") {
        let body = at + start + "<script>".len();
        let end = body + lower[body..].find("</script").expect("a closed script");
        out.push(&document[body..end]);
        at = end;
    }
    out
}

#[tokio::test]
async fn hostile_payloads_cannot_end_a_script_or_open_a_comment() {
    let server = Server::default().await;
    let session = server.session().await;
    let nasty = "</script><!--<script>alert(1)</SCRIPT ><!-- -->\u{2028}";
    let frames = serde_json::json!([
        {"t": "m", "c": 1, "d": nasty},
        {"t": "e", "c": 2, "e": "echo", "v": {nasty: [nasty]}},
        {"t": "e", "c": 3, "e": "join", "v": "r"},
        {"t": "e", "c": 4, "e": "publish", "v": {"room": "r", "event": nasty, "data": nasty}},
    ]);
    assert_eq!(server.send(&session, frames).await.0, StatusCode::OK);
    let response = server
        .get(&format!(
            "/rt/iframe?{}&origin=http%3A%2F%2Flocalhost",
            session.query()
        ))
        .await;
    let mut body = BodyReader::new(response);
    // The `o` frame and the three messages.
    body.until(r#"\"s\":3"#).await;
    body.until("</script>\n").await;
    let document = body.text.clone();
    let scripts = scripts(&document);
    assert!(scripts.len() >= 4, "{document}");
    for script in &scripts {
        assert!(
            script.starts_with("parent.postMessage(\"")
                && script.ends_with("\",\"http://localhost\")"),
            "one call, nothing else: {script}"
        );
        assert!(!script.contains('<') && !script.contains('>'), "{script}");
        assert!(!script.contains('\u{2028}'), "{script}");
    }
    // The prelude's comment is closed before the first script, and none opens after it.
    let first = document.find("<script>").expect("a script");
    assert_eq!(document[..first].matches("<!--").count(), 1);
    assert!(document[..first].contains("-->"));
    assert!(!document[first..].contains("<!--"));
}
