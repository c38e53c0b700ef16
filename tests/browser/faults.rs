//! Fallback, reconnection, upgrade and exactly-once delivery under the server's injected faults
//! (`realtime-server --test-hooks`; see docs/PROTOCOL.md, "Test hooks").

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::harness::{get, hook, server, to_json, unique_key, Recorder};

/// Fast reconnects, so drop tests spend their time delivering, not waiting.
const FAST: &str = r#""reconnect":{"initialDelayMs":10,"maxDelayMs":200},"pollIntervalMs":0"#;

/// Records how long the first message took, for the README's figures.
fn report_time(label: &str, started: f64) {
    web_sys::console::log_1(
        &format!(
            "[timing] {label}: first message after {} ms",
            (js_sys::Date::now() - started) as u64
        )
        .into(),
    );
}

/// Opens with `fault` on every request and expects to land on `expected`, having left `first`.
async fn lands_on(fault: &str, extra: &str, expected: &str, first: &str) {
    let started = js_sys::Date::now();
    let options = format!(r#"{{"query":{{"fault":"{fault}"}}{extra}}}"#);
    let r = Recorder::new("/rt", &options, &[]);
    r.client
        .send(JsValue::from_str("first").unchecked_into())
        .expect("send while connecting");
    r.wait("the first echo", 30_000, |r| {
        !r.events("message").is_empty()
    })
    .await;
    report_time(fault, started);
    assert_eq!(r.opened().await, expected, "{}", r.dump());
    let moves = r.events("transport");
    assert_eq!(
        get(&moves[0].a, "from").as_string().as_deref(),
        Some(first),
        "{}",
        r.dump()
    );
    let reason = get(&moves[0].a, "reason").as_string().unwrap_or_default();
    assert!(!reason.is_empty(), "a fallback must say why");
    assert_eq!(
        get(&moves.last().expect("a move").a, "to")
            .as_string()
            .as_deref(),
        Some(expected)
    );
    assert_eq!(
        r.events("message")[0].a.as_string().as_deref(),
        Some("first")
    );
    let stats = r.client.stats();
    assert!(
        get(&stats, "fallbacks").as_f64().unwrap_or(0.0) >= 1.0,
        "stats: {}",
        to_json(&stats)
    );
}

#[wasm_bindgen_test]
async fn websocket_refused_lands_on_eventsource() {
    lands_on("ws-refuse", "", "eventsource", "websocket").await;
}

#[wasm_bindgen_test]
async fn websocket_hung_lands_on_eventsource() {
    lands_on(
        "ws-hang",
        r#","connectTimeoutMs":2000"#,
        "eventsource",
        "websocket",
    )
    .await;
}

#[wasm_bindgen_test]
async fn websocket_dropped_on_open_lands_on_eventsource() {
    lands_on("ws-drop-open", "", "eventsource", "websocket").await;
}

#[wasm_bindgen_test]
async fn eventsource_refused_falls_back_to_streaming() {
    let extra = r#","transports":["eventsource","streaming","longpolling"]"#;
    lands_on("sse-refuse", extra, "longpolling", "eventsource").await;
    lands_on("eventsource-refuse", extra, "streaming", "eventsource").await;
}

#[wasm_bindgen_test]
async fn websocket_and_sse_refused_and_buffered_streaming_land_on_longpolling() {
    let extra = r#","connectTimeoutMs":2000"#;
    lands_on(
        "ws-refuse,eventsource-refuse,stream-buffer",
        extra,
        "longpolling",
        "websocket",
    )
    .await;
}

#[wasm_bindgen_test]
async fn http_errors_fall_back_to_websocket_and_are_reported() {
    let extra = r#","transports":["longpolling","websocket"]"#;
    let options = format!(r#"{{"query":{{"fault":"http-error=503"}}{extra}}}"#);
    let r = Recorder::new("/rt", &options, &[]);
    assert_eq!(r.opened().await, "websocket", "{}", r.dump());
    let reason = get(&r.events("transport")[0].a, "reason")
        .as_string()
        .unwrap_or_default();
    assert!(
        reason.contains("503"),
        "the fallback reason should name the status: {reason}"
    );
}

#[wasm_bindgen_test]
async fn latency_delays_but_delivers() {
    let r = Recorder::new(
        "/rt",
        r#"{"transports":["websocket"],"query":{"fault":"latency=300"}}"#,
        &[],
    );
    r.opened().await;
    let sent = js_sys::Date::now();
    r.client
        .send(JsValue::from_str("slow").unchecked_into())
        .expect("send");
    r.wait("the echo", 10_000, |r| !r.events("message").is_empty())
        .await;
    let took = js_sys::Date::now() - sent;
    assert!(
        took >= 290.0,
        "an echo under latency=300 came back after {took} ms"
    );
}

/// A 1,000-event burst with the connection dropped every 50 messages arrives exactly once and in
/// order.
async fn burst_survives_drops(transport: &str) {
    let options =
        format!(r#"{{"transports":["{transport}"],"query":{{"fault":"drop-every=50"}},{FAST}}}"#);
    let r = Recorder::new("/rt", &options, &["burst"]);
    r.opened().await;
    r.client
        .emit(
            "burst".into(),
            crate::harness::json(r#"{"count":1000}"#).unchecked_into(),
        )
        .expect("emit");
    r.wait("1000 burst events", 60_000, |r| {
        r.events("burst").len() >= 1000
    })
    .await;
    gloo_timers::future::TimeoutFuture::new(300).await; // room for a stray duplicate to show up
    let ns: Vec<u32> = r
        .events("burst")
        .iter()
        .map(|e| get(&e.a, "n").as_f64().unwrap_or(0.0) as u32)
        .collect();
    assert_eq!(
        ns,
        (1..=1000).collect::<Vec<_>>(),
        "burst not exactly once in order over {transport}"
    );
    let reconnects = get(&r.client.stats(), "reconnects").as_f64().unwrap_or(0.0);
    // Every poll is a connection of its own: there a drop cuts an answer short, not a connection.
    if !transport.ends_with("polling") {
        assert!(
            reconnects >= 10.0,
            "{transport}: only {reconnects} reconnects, the drops did not happen"
        );
    }
    assert!(!r.error_codes().iter().any(|c| c == "gap"), "{}", r.dump());
    // A connection that delivered before it dropped is retried as a first attempt (at once, no
    // backoff building up; a reconnect that fails to open may count up from there), and the
    // transport is never demoted.
    let mut delivered = false;
    for e in r.all() {
        match e.name.as_str() {
            "open" => delivered = false,
            "burst" => delivered = true,
            "reconnecting" => {
                let attempt = get(&e.a, "attempt").as_f64().unwrap_or(0.0);
                assert!(
                    !delivered || attempt == 1.0,
                    "{transport}: a connection that delivered counted as a failed attempt \
                     (attempt {attempt} at {:.0} ms)\n{}",
                    e.at,
                    r.dump()
                );
                delivered = false;
            }
            _ => {}
        }
    }
    assert!(r.events("transport").is_empty(), "{}", r.dump());
    web_sys::console::log_1(
        &format!("[drops] {transport} burst: 1000 delivered, {reconnects} reconnects").into(),
    );
}

/// 300 sends while the connection is dropped every 20 messages: each echoed exactly once, in
/// order.
async fn sends_survive_drops(transport: &str) {
    let options =
        format!(r#"{{"transports":["{transport}"],"query":{{"fault":"drop-every=20"}},{FAST}}}"#);
    let r = Recorder::new("/rt", &options, &[]);
    r.opened().await;
    for i in 0..300 {
        r.client
            .send(JsValue::from_str(&format!("s{i}")).unchecked_into())
            .expect("send");
        if i % 30 == 29 {
            gloo_timers::future::TimeoutFuture::new(20).await; // sends keep coming across drops
        }
    }
    r.wait("300 echoes", 60_000, |r| r.events("message").len() >= 300)
        .await;
    gloo_timers::future::TimeoutFuture::new(300).await;
    let texts: Vec<String> = r
        .events("message")
        .iter()
        .map(|m| m.a.as_string().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        (0..300).map(|i| format!("s{i}")).collect::<Vec<_>>(),
        "over {transport}"
    );
    let reconnects = get(&r.client.stats(), "reconnects").as_f64().unwrap_or(0.0);
    if !transport.ends_with("polling") {
        assert!(
            reconnects >= 5.0,
            "{transport}: only {reconnects} reconnects"
        );
    }
    web_sys::console::log_1(
        &format!("[drops] {transport} sends: 300 echoed, {reconnects} reconnects").into(),
    );
}

macro_rules! drop_tests {
    ($($burst:ident, $sends:ident, $transport:literal;)*) => {$(
        #[wasm_bindgen_test]
        async fn $burst() {
            burst_survives_drops($transport).await;
        }
        #[wasm_bindgen_test]
        async fn $sends() {
            sends_survive_drops($transport).await;
        }
    )*};
}

drop_tests! {
    websocket_burst_survives_drops, websocket_sends_survive_drops, "websocket";
    eventsource_burst_survives_drops, eventsource_sends_survive_drops, "eventsource";
    streaming_burst_survives_drops, streaming_sends_survive_drops, "streaming";
    iframe_burst_survives_drops, iframe_sends_survive_drops, "iframe";
    longpolling_burst_survives_drops, longpolling_sends_survive_drops, "longpolling";
    polling_burst_survives_drops, polling_sends_survive_drops, "polling";
}

#[wasm_bindgen_test]
async fn upgrades_from_longpolling_to_websocket_without_loss() {
    let key = unique_key("k");
    let options = format!(
        r#"{{"transports":["websocket","longpolling"],"query":{{"fault":"ws-refuse","fault_key":"{key}"}},{FAST}}}"#
    );
    let r = Recorder::new("/rt", &options, &["burst"]);
    assert_eq!(r.opened().await, "longpolling", "{}", r.dump());
    r.client
        .emit(
            "burst".into(),
            crate::harness::json(r#"{"count":500,"size":100}"#).unchecked_into(),
        )
        .expect("emit");
    for i in 0..100 {
        r.client
            .send(JsValue::from_str(&format!("u{i}")).unchecked_into())
            .expect("send");
    }
    hook("lift", &key).await;
    // Keep both directions busy across the switch.
    for i in 100..200 {
        r.client
            .send(JsValue::from_str(&format!("u{i}")).unchecked_into())
            .expect("send");
        if i % 10 == 0 {
            gloo_timers::future::TimeoutFuture::new(50).await;
        }
    }
    r.wait("the upgrade", 20_000, |r| {
        r.events("transport")
            .iter()
            .any(|e| get(&e.a, "to").as_string().as_deref() == Some("websocket"))
    })
    .await;
    r.client
        .emit(
            "burst".into(),
            crate::harness::json(r#"{"count":500}"#).unchecked_into(),
        )
        .expect("emit");
    r.wait("both bursts", 20_000, |r| r.events("burst").len() >= 1000)
        .await;
    r.wait("200 echoes", 20_000, |r| r.events("message").len() >= 200)
        .await;
    gloo_timers::future::TimeoutFuture::new(300).await;
    let ns: Vec<u32> = r
        .events("burst")
        .iter()
        .map(|e| get(&e.a, "n").as_f64().unwrap_or(0.0) as u32)
        .collect();
    let expected: Vec<u32> = (1..=500).chain(1..=500).collect();
    assert_eq!(
        ns, expected,
        "burst events lost, repeated or reordered across the upgrade"
    );
    let texts: Vec<String> = r
        .events("message")
        .iter()
        .map(|m| m.a.as_string().unwrap_or_default())
        .collect();
    assert_eq!(texts, (0..200).map(|i| format!("u{i}")).collect::<Vec<_>>());
    assert_eq!(
        r.client
            .transport()
            .unchecked_into::<JsValue>()
            .as_string()
            .as_deref(),
        Some("websocket")
    );
    assert_eq!(get(&r.client.stats(), "upgrades").as_f64(), Some(1.0));
    let upgrade = r
        .events("transport")
        .into_iter()
        .last()
        .expect("a transport event");
    assert_eq!(
        get(&upgrade.a, "from").as_string().as_deref(),
        Some("longpolling")
    );
}

#[wasm_bindgen_test]
async fn upgrade_false_stays_on_the_fallback() {
    let key = unique_key("k");
    let options = format!(
        r#"{{"transports":["websocket","longpolling"],"upgrade":false,"query":{{"fault":"ws-refuse","fault_key":"{key}"}}}}"#
    );
    let r = Recorder::new("/rt", &options, &[]);
    assert_eq!(r.opened().await, "longpolling");
    hook("lift", &key).await;
    gloo_timers::future::TimeoutFuture::new(5_000).await;
    assert_eq!(
        r.client
            .transport()
            .unchecked_into::<JsValue>()
            .as_string()
            .as_deref(),
        Some("longpolling")
    );
    assert_eq!(r.events("transport").len(), 1, "{}", r.dump());
}

#[wasm_bindgen_test]
async fn gives_up_after_max_attempts_and_closes() {
    let options = r#"{"transports":["websocket"],"query":{"fault":"ws-refuse"},"reconnect":{"initialDelayMs":10,"maxDelayMs":20,"maxAttempts":2}}"#;
    let r = Recorder::new("/rt", options, &[]);
    r.wait("close", 10_000, |r| !r.events("close").is_empty())
        .await;
    let close = &r.events("close")[0].a;
    assert_eq!(get(close, "wasClean").as_bool(), Some(false));
    assert_eq!(r.events("reconnecting").len(), 2, "{}", r.dump());
    assert!(
        r.error_codes().iter().all(|c| c == "connect_failed"),
        "{}",
        r.dump()
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

/// Listeners call back into the client exactly as a page would: `send` and `close` from inside a
/// `message` listener, through the JavaScript object.
#[wasm_bindgen_test]
async fn a_listener_may_send_and_close_from_inside_a_callback() {
    use js_sys::{Function, Reflect};
    use realtime_wasm::js::{JsOptions, JsRealtimeClient};
    let options = crate::harness::json(r#"{"transports":["websocket"]}"#);
    let client = JsRealtimeClient::new(
        format!("{}/rt", server()).into(),
        Some(options.unchecked_into::<JsOptions>()),
    )
    .expect("constructor");
    let object: JsValue = client.into();
    let method = |name: &str| -> Function {
        Reflect::get(&object, &name.into())
            .expect(name)
            .unchecked_into()
    };
    let log = js_sys::Array::new();
    let ping_pong = Function::new_with_args(
        "data",
        "this.log.push(data); if (data.length < 10) this.client.send(data + 'x'); else this.client.close(4000, 'done');",
    );
    let context = js_sys::Object::new();
    Reflect::set(&context, &"log".into(), &log).expect("set");
    Reflect::set(&context, &"client".into(), &object).expect("set");
    let closes = js_sys::Array::new();
    let on_close = Function::new_with_args("e", "this.push(e)").bind0(&closes);
    method("on")
        .call2(&object, &"message".into(), &ping_pong.bind0(&context))
        .expect("on message");
    method("on")
        .call2(&object, &"close".into(), &on_close)
        .expect("on close");
    method("send").call1(&object, &"x".into()).expect("send");
    let start = js_sys::Date::now();
    while closes.length() == 0 && js_sys::Date::now() - start < 10_000.0 {
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
    assert_eq!(
        closes.length(),
        1,
        "close was not emitted exactly once; messages: {}",
        to_json(&log)
    );
    assert_eq!(get(&closes.get(0), "code").as_f64(), Some(4000.0));
    assert_eq!(log.length(), 10, "{}", to_json(&log));
    assert_eq!(
        Reflect::get(&object, &"state".into())
            .ok()
            .and_then(|s| s.as_string())
            .as_deref(),
        Some("closed")
    );
    // Calls after close report the closed client instead of misbehaving.
    let err = method("send")
        .call1(&object, &"late".into())
        .expect_err("send after close");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("closed"));
}

/// A connection that stays open but goes silent (no messages, no heartbeats) is found dead by the
/// heartbeat deadline and replaced, and nothing is lost or repeated.
#[wasm_bindgen_test]
async fn a_silent_connection_is_found_dead_by_its_heartbeat_deadline() {
    let options = format!(
        r#"{{"transports":["websocket"],"heartbeatTimeoutMs":1000,"query":{{"fault":"stall-after=3,heartbeat=300"}},{FAST}}}"#
    );
    let r = Recorder::new("/rt", &options, &["burst"]);
    r.opened().await;
    r.client
        .emit(
            "burst".into(),
            crate::harness::json(r#"{"count":7}"#).unchecked_into(),
        )
        .expect("emit");
    r.wait("7 burst events", 20_000, |r| r.events("burst").len() >= 7)
        .await;
    let ns: Vec<u32> = r
        .events("burst")
        .iter()
        .map(|e| get(&e.a, "n").as_f64().unwrap_or(0.0) as u32)
        .collect();
    assert_eq!(ns, (1..=7).collect::<Vec<_>>());
    let dead = r
        .events("error")
        .iter()
        .filter(|e| crate::harness::error_message(&e.a).contains("heartbeat timeout"))
        .count();
    assert!(
        dead >= 2,
        "the stalls were not detected by the heartbeat deadline:\n{}",
        r.dump()
    );
}

/// Coming back online retries at once instead of waiting out the backoff.
#[wasm_bindgen_test]
async fn going_online_retries_at_once() {
    let key = unique_key("k");
    let options = format!(
        r#"{{"transports":["websocket"],"reconnect":{{"initialDelayMs":30000,"maxDelayMs":30000}},"query":{{"fault":"ws-refuse","fault_key":"{key}"}}}}"#
    );
    let r = Recorder::new("/rt", &options, &[]);
    r.wait("a reconnect scheduled", 10_000, |r| {
        !r.events("reconnecting").is_empty()
    })
    .await;
    hook("lift", &key).await;
    let window = web_sys::window().expect("window");
    window
        .dispatch_event(&web_sys::Event::new("online").expect("event"))
        .expect("dispatch");
    r.wait("open right after online", 3_000, |r| {
        !r.events("open").is_empty()
    })
    .await;
}
