//! Browser tests of a build with fewer transports: `scripts/test.sh` runs them on a build with
//! only the `websocket` and `polling` features (`wasm-pack test ... --no-default-features
//! --features websocket,polling --test reduced`). In the full build this file is empty.
#![cfg(all(target_arch = "wasm32", not(feature = "default")))]

#[allow(dead_code)]
#[path = "browser/harness.rs"]
mod harness;

use realtime_wasm::js::{JsOptions, JsRealtimeClient};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use harness::{error_message, get, json, server, Recorder};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The transports this build carries (the test command's choice of features).
const BUILT: [&str; 3] = ["websocket", "longpolling", "polling"];

/// A client of the test server with `options` (JSON), or what the constructor threw.
fn construct(options: &str) -> Result<JsRealtimeClient, JsValue> {
    JsRealtimeClient::new(
        format!("{}/rt", server()).into(),
        Some(json(options).unchecked_into::<JsOptions>()),
    )
}

#[wasm_bindgen_test]
fn a_transport_left_out_of_the_build_is_named_with_its_feature() {
    for (name, feature) in [
        ("eventsource", "eventsource"),
        ("streaming", "streaming"),
        ("iframe", "iframe"),
    ] {
        let options = format!(r#"{{"transports":["websocket","{name}"],"autoConnect":false}}"#);
        let error = construct(&options).map(|_| ()).expect_err(name);
        assert!(
            error.is_instance_of::<js_sys::Error>(),
            "not an Error: {error:?}"
        );
        assert_eq!(
            error_message(&error),
            format!(
                "options.transports: {name} is not in this build (cargo feature \"{feature}\")"
            )
        );
    }
    for name in BUILT {
        let options = format!(r#"{{"transports":["{name}"],"autoConnect":false}}"#);
        construct(&options).unwrap_or_else(|e| panic!("{name} refused: {}", error_message(&e)));
    }
}

#[wasm_bindgen_test]
async fn the_default_order_is_the_built_transports() {
    let r = Recorder::new("/rt", "{}", &[]);
    assert_eq!(r.opened().await, "websocket", "{}", r.dump());
    r.client
        .send(JsValue::from_str("hello").unchecked_into())
        .expect("send");
    r.wait("the echo", 10_000, |r| !r.events("message").is_empty())
        .await;
    assert_eq!(
        r.events("message")[0].a.as_string().as_deref(),
        Some("hello")
    );
}

#[wasm_bindgen_test]
async fn websocket_refused_falls_back_to_longpolling_without_loss() {
    // With eventsource and streaming left out, long polling is next in the default order.
    let r = Recorder::new(
        "/rt",
        r#"{"query":{"fault":"ws-refuse"},"upgrade":false}"#,
        &[],
    );
    for text in ["one", "two", "three"] {
        r.client
            .send(JsValue::from_str(text).unchecked_into())
            .expect("send while connecting");
    }
    r.wait("three echoes", 30_000, |r| r.events("message").len() >= 3)
        .await;
    assert_eq!(r.opened().await, "longpolling", "{}", r.dump());
    let texts: Vec<_> = r
        .events("message")
        .iter()
        .map(|e| e.a.as_string().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["one", "two", "three"], "{}", r.dump());
    let moves = r.events("transport");
    assert_eq!(
        get(&moves[0].a, "from").as_string().as_deref(),
        Some("websocket"),
        "{}",
        r.dump()
    );
    assert_eq!(
        get(&moves[0].a, "to").as_string().as_deref(),
        Some("longpolling"),
        "{}",
        r.dump()
    );
}
