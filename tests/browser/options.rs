//! Bad URLs and options throw an `Error` that names the bad input; nothing panics.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use realtime_wasm::js::{JsOptions, JsRealtimeClient};

use crate::harness::{error_message, get, json, server};

fn construct(url: JsValue, options: JsValue) -> Result<JsRealtimeClient, JsValue> {
    JsRealtimeClient::new(url, Some(options.unchecked_into::<JsOptions>()))
}

fn expect_error(url: JsValue, options: &str, needle: &str) {
    let options = if options.is_empty() {
        JsValue::UNDEFINED
    } else {
        json(options)
    };
    match construct(url, options.clone()) {
        Ok(client) => {
            client.close(None, None);
            panic!("options {options:?} were accepted; expected an error mentioning {needle:?}");
        }
        Err(error) => {
            assert!(error.is_instance_of::<js_sys::Error>(), "threw a non-Error");
            let message = error_message(&error);
            assert!(
                message.contains(needle),
                "{message:?} does not mention {needle:?}"
            );
            assert_eq!(
                get(&error, "code").as_string().as_deref(),
                Some("invalid_argument")
            );
        }
    }
}

#[wasm_bindgen_test]
fn bad_urls_are_named() {
    let options = r#"{"autoConnect":false}"#;
    expect_error(JsValue::from(42), options, "url: expected a string");
    expect_error(JsValue::NULL, options, "url: expected a string");
    expect_error("ftp://example.com/rt".into(), options, "ftp:");
    expect_error("http://[::1".into(), options, "not a valid URL");
    expect_error("ws://127.0.0.1/rt".into(), options, "http: or https:");
}

#[wasm_bindgen_test]
fn bad_options_are_named() {
    let url = || JsValue::from_str(&format!("{}/rt", server()));
    let cases = [
        (
            r#"{"transport":["websocket"]}"#,
            "unknown option \"transport\"",
        ),
        (r#"{"transports":"websocket"}"#, "options.transports"),
        (
            r#"{"transports":["websocket","smoke-signals"]}"#,
            "smoke-signals",
        ),
        (r#"{"transports":[]}"#, "at least one"),
        (r#"{"transports":[1]}"#, "options.transports"),
        (r#"{"protocol":"http"}"#, "options.protocol"),
        (r#"{"query":"a=b"}"#, "options.query"),
        (r#"{"query":{"a":1}}"#, "options.query.a"),
        (r#"{"connectTimeoutMs":-5}"#, "options.connectTimeoutMs"),
        (r#"{"connectTimeoutMs":"5000"}"#, "options.connectTimeoutMs"),
        (r#"{"connectTimeoutMs":0}"#, "options.connectTimeoutMs"),
        (r#"{"pollIntervalMs":1.5}"#, "options.pollIntervalMs"),
        (r#"{"longPollTimeoutMs":1e12}"#, "options.longPollTimeoutMs"),
        (
            r#"{"heartbeatTimeoutMs":null}"#,
            "options.heartbeatTimeoutMs",
        ),
        (r#"{"reconnect":"yes"}"#, "options.reconnect"),
        (
            r#"{"reconnect":{"initialDelay":5}}"#,
            "unknown option \"initialDelay\"",
        ),
        (
            r#"{"reconnect":{"initialDelayMs":1000,"maxDelayMs":10}}"#,
            "maxDelayMs",
        ),
        (
            r#"{"reconnect":{"maxAttempts":-1}}"#,
            "options.reconnect.maxAttempts",
        ),
        (r#"{"upgrade":"no"}"#, "options.upgrade"),
        (r#"{"withCredentials":1}"#, "options.withCredentials"),
        (r#"{"autoConnect":"false"}"#, "options.autoConnect"),
        (r#"{"maxQueuedMessages":0}"#, "options.maxQueuedMessages"),
        (r#"{"sendUrl":"/raw/send"}"#, "options.sendUrl"),
        (r#"{"protocol":"raw","sendUrl":42}"#, "options.sendUrl"),
        ("[]", "options: expected an object"),
        ("\"fast\"", "options: expected an object"),
    ];
    for (options, needle) in cases {
        expect_error(url(), options, needle);
    }
}

#[wasm_bindgen_test]
fn good_options_are_accepted() {
    let client = construct(
        format!("{}/rt", server()).into(),
        json(
            r#"{"transports":["polling","iframe"],"protocol":"session","query":{"ticket":"abc"},
            "connectTimeoutMs":100,"pollIntervalMs":0,"longPollTimeoutMs":1000,"heartbeatTimeoutMs":2000,
            "reconnect":{"initialDelayMs":10,"maxDelayMs":20,"maxAttempts":null},"upgrade":false,
            "withCredentials":true,"maxQueuedMessages":5,"autoConnect":false}"#,
        ),
    )
    .unwrap_or_else(|e| panic!("rejected: {}", error_message(&e)));
    assert_eq!(
        client
            .state()
            .unchecked_into::<JsValue>()
            .as_string()
            .as_deref(),
        Some("closed")
    );
    assert!(client.transport().unchecked_into::<JsValue>().is_null());
    // With autoConnect off the client is closed until connect(), and send says so.
    let err = client
        .send(JsValue::from_str("x").unchecked_into())
        .expect_err("send on a closed client");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("closed"));
}

#[wasm_bindgen_test]
fn send_rejects_unsupported_types_and_full_queues() {
    let client = construct(
        format!("{}/rt", server()).into(),
        json(r#"{"transports":["websocket"],"maxQueuedMessages":2,"connectTimeoutMs":100000}"#),
    )
    .unwrap_or_else(|e| panic!("rejected: {}", error_message(&e)));
    let err = client
        .send(JsValue::from(12).unchecked_into())
        .expect_err("a number is not sendable");
    assert!(
        error_message(&err).contains("send: expected a string"),
        "{}",
        error_message(&err)
    );
    let err = client
        .emit(JsValue::from(1), JsValue::NULL.unchecked_into())
        .expect_err("numeric event name");
    assert!(
        error_message(&err).contains("event name"),
        "{}",
        error_message(&err)
    );
    client
        .send(JsValue::from_str("a").unchecked_into())
        .expect("first fits");
    client
        .send(JsValue::from_str("b").unchecked_into())
        .expect("second fits");
    let err = client
        .send(JsValue::from_str("c").unchecked_into())
        .expect_err("third overflows");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("queue_full"));
    client.close(None, None);
}

/// Every call after `close()` either works or throws an `Error` saying the client is closed; a
/// second `close()` emits nothing; `connect()` brings the same client back.
#[wasm_bindgen_test]
async fn calls_after_close_are_reported_and_connect_revives() {
    use crate::harness::Recorder;
    let r = Recorder::new("/rt", r#"{"transports":["websocket"]}"#, &["echo"]);
    r.opened().await;
    r.client.close(Some(4001), Some("bye".into()));
    r.client.close(None, None);
    assert_eq!(
        r.events("close").len(),
        1,
        "a second close() emitted again:\n{}",
        r.dump()
    );
    assert_eq!(get(&r.events("close")[0].a, "code").as_f64(), Some(4001.0));
    let err = r
        .client
        .send(JsValue::from_str("x").unchecked_into())
        .expect_err("send after close");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("closed"));
    let err = r
        .client
        .emit("echo".into(), JsValue::from(1).unchecked_into())
        .expect_err("emit after close");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("closed"));
    assert!(r.client.transport().unchecked_into::<JsValue>().is_null());
    let stats = r.client.stats();
    assert!(get(&stats, "messagesIn").as_f64().is_some());
    // The same client connects again and works.
    r.client.connect();
    r.client
        .send(JsValue::from_str("again").unchecked_into())
        .expect("send after connect()");
    r.wait("the echo after reconnecting", 10_000, |r| {
        !r.events("message").is_empty()
    })
    .await;
    assert_eq!(
        r.events("message")[0].a.as_string().as_deref(),
        Some("again")
    );
    assert_eq!(r.events("open").len(), 2, "{}", r.dump());
}
