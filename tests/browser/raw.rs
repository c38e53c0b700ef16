//! The raw protocol against every `/raw/` endpoint of the server.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::harness::{get, server, to_json, Recorder};

fn raw(path: &str, transport: &str, extra: &str) -> Recorder {
    let options =
        format!(r#"{{"protocol":"raw","transports":["{transport}"],"pollIntervalMs":200{extra}}}"#);
    Recorder::new(path, &options, &["tick"])
}

#[wasm_bindgen_test]
async fn raw_polling_reads_time() {
    let r = raw("/raw/time", "polling", "");
    assert_eq!(r.opened().await, "polling");
    r.wait("two polls", 10_000, |r| r.events("message").len() >= 2)
        .await;
    let first = r.events("message")[0].a.as_string().unwrap_or_default();
    assert!(!first.trim().is_empty(), "empty time body");
    assert!(
        get(&r.events("message")[0].b, "seq").is_null(),
        "raw messages have no seq"
    );
}

#[wasm_bindgen_test]
async fn raw_longpolling_waits_for_ticks() {
    let r = raw("/raw/longpoll", "longpolling", "");
    r.wait("two long-poll answers", 10_000, |r| {
        r.events("message").len() >= 2
    })
    .await;
    assert_eq!(
        get(&r.events("message")[0].b, "transport")
            .as_string()
            .as_deref(),
        Some("longpolling")
    );
}

#[wasm_bindgen_test]
async fn raw_eventsource_delivers_named_events_with_ids() {
    let r = raw("/raw/sse", "eventsource", "");
    r.wait("two ticks", 10_000, |r| r.events("tick").len() >= 2)
        .await;
    let tick = &r.events("tick")[1];
    assert!(tick.a.is_string(), "raw data must stay a string");
    assert!(
        get(&tick.b, "id")
            .as_string()
            .is_some_and(|id| !id.is_empty()),
        "tick without id"
    );
    assert_eq!(get(&tick.b, "event").as_string().as_deref(), Some("tick"));
}

#[wasm_bindgen_test]
async fn raw_streaming_parses_event_streams() {
    let r = raw("/raw/sse", "streaming", "");
    r.wait("two ticks", 10_000, |r| r.events("tick").len() >= 2)
        .await;
    assert!(get(&r.events("tick")[0].b, "id").as_string().is_some());
}

#[wasm_bindgen_test]
async fn raw_streaming_splits_plain_lines() {
    let r = raw("/raw/stream", "streaming", "");
    r.wait("two lines", 10_000, |r| r.events("message").len() >= 2)
        .await;
    let lines: Vec<String> = r
        .events("message")
        .iter()
        .map(|m| m.a.as_string().unwrap_or_default())
        .collect();
    assert!(
        lines.iter().all(|l| !l.is_empty() && !l.contains('\n')),
        "{lines:?}"
    );
}

/// `parent[NAME](data)` only reaches a same-origin page, so this runs the npm package inside a
/// fixture page the server itself serves, which reports back by `postMessage`.
#[wasm_bindgen_test]
async fn raw_iframe_calls_back() {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let frame = document.create_element("iframe").expect("iframe");
    let _ = frame.set_attribute("src", &format!("{}/raw-iframe-fixture.html", server()));
    let report: Rc<RefCell<Option<JsValue>>> = Rc::default();
    let sink = report.clone();
    let window = web_sys::window().expect("window");
    let _listener = gloo_events::EventListener::new(&window, "message", move |event| {
        let data = event.unchecked_ref::<web_sys::MessageEvent>().data();
        if get(&data, "kind").as_string().as_deref() == Some("raw-iframe") {
            *sink.borrow_mut() = Some(data);
        }
    });
    document
        .body()
        .expect("body")
        .append_child(&frame)
        .expect("append");
    let start = js_sys::Date::now();
    while report.borrow().is_none() && js_sys::Date::now() - start < 15_000.0 {
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    frame.remove();
    let report = report
        .borrow()
        .clone()
        .expect("the fixture page reported nothing within 15 s");
    assert!(
        get(&report, "error").is_undefined(),
        "fixture failed: {}",
        to_json(&report)
    );
    let received: js_sys::Array = get(&report, "received").unchecked_into();
    assert_eq!(received.length(), 2, "{}", to_json(&report));
    for item in received.iter() {
        assert_eq!(
            get(&item, "transport").as_string().as_deref(),
            Some("iframe")
        );
        assert!(
            get(&item, "data")
                .as_string()
                .is_some_and(|d| !d.is_empty()),
            "{}",
            to_json(&report)
        );
    }
    assert_eq!(
        get(&report, "callbacksLeft").as_f64(),
        Some(0.0),
        "close() left its callback on window"
    );
}

#[wasm_bindgen_test]
async fn raw_websocket_echoes_text_and_binary() {
    let r = raw("/raw/ws", "websocket", "");
    assert_eq!(r.opened().await, "websocket");
    r.client
        .send(JsValue::from_str("ping ✓").unchecked_into())
        .expect("send");
    r.client
        .send(Uint8Array::from(&[1u8, 2, 3][..]).unchecked_into())
        .expect("send binary");
    r.wait("two echoes", 10_000, |r| r.events("message").len() >= 2)
        .await;
    let messages = r.events("message");
    assert_eq!(messages[0].a.as_string().as_deref(), Some("ping ✓"));
    let bytes = messages[1]
        .a
        .clone()
        .dyn_into::<Uint8Array>()
        .expect("binary echo is a Uint8Array");
    assert_eq!(bytes.to_vec(), vec![1, 2, 3]);
}

#[wasm_bindgen_test]
async fn raw_http_send_posts_to_send_url() {
    let ok = raw(
        "/raw/time",
        "polling",
        &format!(r#","sendUrl":"{}/raw/send""#, server()),
    );
    ok.opened().await;
    ok.client
        .send(JsValue::from_str("hello").unchecked_into())
        .expect("send");
    // The control: the same send to a URL that answers 404 must report an http error, so the
    // silence of the first client below means the POST really succeeded.
    let bad = raw(
        "/raw/time",
        "polling",
        &format!(r#","sendUrl":"{}/raw/no-such-endpoint""#, server()),
    );
    bad.opened().await;
    bad.client
        .send(JsValue::from_str("hello").unchecked_into())
        .expect("send");
    bad.wait("an http error", 10_000, |r| {
        r.error_codes().iter().any(|c| c == "http")
    })
    .await;
    assert!(
        ok.error_codes().is_empty(),
        "POST to /raw/send failed:\n{}",
        ok.dump()
    );
}
