//! The session protocol over every transport: open, echo order, named events, binary.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::harness::{get, json, to_json, Recorder};

/// A value no transport may mangle: non-ASCII, and markup that would end a `<script>`.
const TRICKY: &str = r#"{"text":"héllo wörld ✓ 日本語 🚀 </script><script>alert(1)</script> <!-- \u2028 & \"q\"","n":[1,2.5,null,true]}"#;

async fn round_trips(transport: &str) {
    let options = format!(r#"{{"transports":["{transport}"],"connectTimeoutMs":8000}}"#);
    let r = Recorder::new("/rt", &options, &["echo"]);
    assert_eq!(
        r.opened().await,
        transport,
        "opened over the wrong transport:\n{}",
        r.dump()
    );
    assert_eq!(
        r.client
            .transport()
            .unchecked_into::<JsValue>()
            .as_string()
            .as_deref(),
        Some(transport)
    );
    assert_eq!(
        r.client
            .state()
            .unchecked_into::<JsValue>()
            .as_string()
            .as_deref(),
        Some("open")
    );
    assert!(
        r.client.session_id().is_some_and(|s| !s.is_empty()),
        "no session id"
    );

    // 50 sends come back exactly once and in order, with increasing server sequence numbers.
    for i in 0..50 {
        r.client
            .send(JsValue::from_str(&format!("msg-{i}")).unchecked_into())
            .expect("send");
    }
    r.wait("50 echoes", 15_000, |r| r.events("message").len() >= 50)
        .await;
    let messages = r.events("message");
    let texts: Vec<String> = messages
        .iter()
        .map(|m| m.a.as_string().unwrap_or_default())
        .collect();
    let expected: Vec<String> = (0..50).map(|i| format!("msg-{i}")).collect();
    assert_eq!(texts, expected, "echoes out of order or altered");
    let seqs: Vec<f64> = messages
        .iter()
        .map(|m| get(&m.b, "seq").as_f64().unwrap_or(-1.0))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] > w[0]),
        "seq not increasing: {seqs:?}"
    );
    assert!(messages
        .iter()
        .all(|m| get(&m.b, "transport").as_string().as_deref() == Some(transport)));

    // A named event with a JSON value that must survive byte for byte.
    let value = json(TRICKY);
    r.client
        .emit("echo".into(), value.clone().unchecked_into())
        .expect("emit");
    r.wait("the echo event", 10_000, |r| !r.events("echo").is_empty())
        .await;
    let echo = &r.events("echo")[0];
    assert_eq!(
        to_json(&echo.a),
        to_json(&value),
        "named event value altered"
    );
    assert_eq!(get(&echo.b, "event").as_string().as_deref(), Some("echo"));

    // Binary: every byte value, there and back, arriving as a Uint8Array.
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    r.client
        .send(Uint8Array::from(bytes.as_slice()).unchecked_into())
        .expect("send binary");
    r.wait("the binary echo", 10_000, |r| {
        r.events("message").len() >= 51
    })
    .await;
    let echoed = r.events("message")[50].a.clone();
    let echoed = echoed
        .dyn_into::<Uint8Array>()
        .unwrap_or_else(|v| panic!("binary arrived as {}", to_json(&v)));
    assert_eq!(echoed.to_vec(), bytes);

    assert!(
        r.error_codes().is_empty(),
        "unexpected errors:\n{}",
        r.dump()
    );
    r.client.close(None, None);
    r.wait("close", 5_000, |r| !r.events("close").is_empty())
        .await;
    assert_eq!(
        get(&r.events("close")[0].a, "wasClean").as_bool(),
        Some(true)
    );
    assert_eq!(
        r.client
            .state()
            .unchecked_into::<JsValue>()
            .as_string()
            .as_deref(),
        Some("closed")
    );
}

#[wasm_bindgen_test]
async fn websocket_round_trips() {
    round_trips("websocket").await;
}

#[wasm_bindgen_test]
async fn eventsource_round_trips() {
    round_trips("eventsource").await;
}

#[wasm_bindgen_test]
async fn streaming_round_trips() {
    round_trips("streaming").await;
}

#[wasm_bindgen_test]
async fn iframe_round_trips() {
    round_trips("iframe").await;
}

#[wasm_bindgen_test]
async fn longpolling_round_trips() {
    round_trips("longpolling").await;
}

#[wasm_bindgen_test]
async fn polling_round_trips() {
    round_trips("polling").await;
}

#[wasm_bindgen_test]
async fn sends_before_open_are_queued_and_delivered() {
    let r = Recorder::new("/rt", r#"{"transports":["websocket"]}"#, &[]);
    for i in 0..5 {
        r.client
            .send(JsValue::from_str(&format!("early-{i}")).unchecked_into())
            .expect("send while connecting");
    }
    r.wait("5 echoes", 10_000, |r| r.events("message").len() >= 5)
        .await;
    let texts: Vec<String> = r
        .events("message")
        .iter()
        .map(|m| m.a.as_string().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        (0..5).map(|i| format!("early-{i}")).collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn a_listener_that_throws_does_not_break_the_client() {
    let r = Recorder::new("/rt", r#"{"transports":["websocket"]}"#, &[]);
    let thrower = js_sys::Function::new_no_args("throw new Error('listener failure')");
    r.client
        .on("message".into(), thrower.unchecked_into())
        .expect("on");
    r.opened().await;
    r.client
        .send(JsValue::from_str("one").unchecked_into())
        .expect("send");
    r.client
        .send(JsValue::from_str("two").unchecked_into())
        .expect("send");
    r.wait("both echoes", 10_000, |r| r.events("message").len() >= 2)
        .await;
}

#[wasm_bindgen_test]
async fn unsubscribe_and_off_remove_listeners() {
    let r = Recorder::new("/rt", r#"{"transports":["websocket"]}"#, &[]);
    let counter = js_sys::Array::new();
    let push = js_sys::Function::new_with_args("a", "this.push(a)").bind0(&counter);
    let unsubscribe: js_sys::Function = r
        .client
        .on("message".into(), push.clone().unchecked_into())
        .expect("on")
        .unchecked_into();
    r.opened().await;
    r.client
        .send(JsValue::from_str("counted").unchecked_into())
        .expect("send");
    r.wait("first echo", 10_000, |r| !r.events("message").is_empty())
        .await;
    unsubscribe.call0(&JsValue::NULL).expect("unsubscribe");
    unsubscribe
        .call0(&JsValue::NULL)
        .expect("a second unsubscribe is harmless");
    r.client
        .send(JsValue::from_str("not counted").unchecked_into())
        .expect("send");
    r.wait("second echo", 10_000, |r| r.events("message").len() >= 2)
        .await;
    assert_eq!(
        counter.length(),
        1,
        "the unsubscribed listener was still called"
    );
}

/// A large message travels on a duplex and on an HTTP transport; one over the limit is refused
/// at `send` with `too_large` instead of being retried forever against the server's cap.
#[wasm_bindgen_test]
async fn large_messages_travel_and_oversized_ones_are_refused() {
    for transport in ["websocket", "longpolling"] {
        let r = Recorder::new("/rt", &format!(r#"{{"transports":["{transport}"]}}"#), &[]);
        r.opened().await;
        let big = "é".repeat(300_000); // 600,000 bytes of UTF-8
        r.client
            .send(JsValue::from_str(&big).unchecked_into())
            .expect("a 600 KB message");
        let huge = vec![7u8; 2 << 20];
        let err = r
            .client
            .send(Uint8Array::from(huge.as_slice()).unchecked_into())
            .expect_err("a 2 MiB message must be refused");
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("too_large"));
        r.wait("the large echo", 20_000, |r| {
            !r.events("message").is_empty()
        })
        .await;
        assert_eq!(
            r.events("message")[0].a.as_string().map(|s| s.len()),
            Some(big.len()),
            "over {transport}"
        );
        assert!(r.error_codes().is_empty(), "{}", r.dump());
    }
}
