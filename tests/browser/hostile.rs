//! Bad input from the network (issue 6, item 2): what a broken server or proxy sends, injected by
//! the server's hostile test hooks (docs/PROTOCOL.md, "Test hooks"). Each case must give a
//! classified `error` (and a reconnect or fallback where that is right), and never a corrupted,
//! lost or repeated message: bursts arrive as `n` = 1..=N exactly once in order, sends come back
//! exactly once in order.
//!
//! The frame-tampering faults act once per connection, at its second message, so over a stream a
//! client that reconnects after each one resumes one message further on. A poll answer is
//! all-or-nothing when it is not JSON (`garbage-frame`, `cut-mid-event`) or was damaged on the
//! way (`bad-utf8`), so there the fault is lifted (`fault_key`) once the client has reported it.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::harness::{get, hook, json, unique_key, Recorder};

/// Fast reconnects: the tampering faults cost one reconnect per message.
const FAST: &str = r#""reconnect":{"initialDelayMs":10,"maxDelayMs":200},"pollIntervalMs":0"#;

/// Messages in a burst.
const BURST: u32 = 20;

async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Client options: `transports`, the `query` (fault and any other parameters, as JSON members
/// without braces) and anything `extra` (a leading comma and members).
fn options(transports: &[&str], query: &str, extra: &str) -> String {
    let transports = transports
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(r#"{{"transports":[{transports}],"query":{{{query}}},{FAST}{extra}}}"#)
}

fn burst_ns(r: &Recorder) -> Vec<u32> {
    r.events("burst")
        .iter()
        .map(|e| get(&e.a, "n").as_f64().unwrap_or(0.0) as u32)
        .collect()
}

fn texts(r: &Recorder) -> Vec<String> {
    r.events("message")
        .iter()
        .map(|m| m.a.as_string().unwrap_or_else(|| "<not a string>".into()))
        .collect()
}

fn emit_burst(r: &Recorder, count: u32, size: u32) {
    r.client
        .emit(
            "burst".into(),
            json(&format!(r#"{{"count":{count},"size":{size}}}"#)).unchecked_into(),
        )
        .expect("emit");
}

fn send(r: &Recorder, text: &str) {
    r.client
        .send(JsValue::from_str(text).unchecked_into())
        .expect("send");
}

fn has_error(r: &Recorder, codes: &[&str]) -> bool {
    r.error_codes().iter().any(|c| codes.contains(&c.as_str()))
}

/// Waits for an `error` with one of `codes`.
async fn error_with(r: &Recorder, codes: &[&str], timeout_ms: u32) {
    r.wait(&format!("an error with code {codes:?}"), timeout_ms, |r| {
        has_error(r, codes)
    })
    .await;
}

/// Waits until the burst's last message (`n` = `count`) arrived, then a moment more for a stray
/// repeat to show up.
async fn burst_done(r: &Recorder, count: u32, timeout_ms: u32) {
    r.wait(&format!("burst event n = {count}"), timeout_ms, |r| {
        burst_ns(r).contains(&count)
    })
    .await;
    sleep(300).await;
}

/// Waits until `count` messages arrived, then a moment more for a stray repeat.
async fn messages_done(r: &Recorder, count: usize, timeout_ms: u32) {
    r.wait(&format!("{count} messages"), timeout_ms, |r| {
        r.events("message").len() >= count
    })
    .await;
    sleep(300).await;
}

/// How the client is expected to take a fault.
#[derive(Clone, Copy)]
struct Expect {
    /// The `error` code(s) it must report (any one of them).
    codes: &'static [&'static str],
    /// Lift the fault once it was reported (a poll answer that is not JSON, or damaged, carries
    /// nothing, so the client cannot get further while it lasts).
    lift: bool,
}

const PROTOCOL: Expect = Expect {
    codes: &["protocol"],
    lift: false,
};
const PROTOCOL_THEN_LIFT: Expect = Expect {
    codes: &["protocol"],
    lift: true,
};
const DROPPED: Expect = Expect {
    codes: &["transport_failed"],
    lift: false,
};
const NO_ERROR: Expect = Expect {
    codes: &[],
    lift: false,
};

/// A 20-message burst over `transport` with `fault`: delivered as n = 1..=20, exactly once, in
/// order, with `expect`'s error reported and no `gap`.
async fn burst_through(transport: &str, fault: &str, expect: Expect) -> Recorder {
    let key = unique_key("h");
    let query = format!(r#""fault":"{fault}","fault_key":"{key}""#);
    let r = Recorder::new("/rt", &options(&[transport], &query, ""), &["burst"]);
    r.opened().await;
    emit_burst(&r, BURST, 0);
    if !expect.codes.is_empty() {
        error_with(&r, expect.codes, 20_000).await;
    }
    if expect.lift {
        hook("lift", &key).await;
    }
    burst_done(&r, BURST, 60_000).await;
    assert_eq!(
        burst_ns(&r),
        (1..=BURST).collect::<Vec<_>>(),
        "{fault} over {transport}: burst not exactly once in order\n{}",
        r.dump()
    );
    assert!(
        !has_error(&r, &["gap"]),
        "{fault} over {transport}: nothing was lost, yet a gap was reported\n{}",
        r.dump()
    );
    r
}

/// Ten sends over `transport` with `fault`: echoed exactly once, in order, intact, with
/// `expect`'s error reported.
async fn sends_through(transport: &str, fault: &str, expect: Expect) -> Recorder {
    let key = unique_key("h");
    let query = format!(r#""fault":"{fault}","fault_key":"{key}""#);
    let r = Recorder::new("/rt", &options(&[transport], &query, ""), &[]);
    r.opened().await;
    for i in 1..=10 {
        send(&r, &format!("t{i}"));
    }
    if !expect.codes.is_empty() {
        error_with(&r, expect.codes, 20_000).await;
    }
    if expect.lift {
        hook("lift", &key).await;
    }
    messages_done(&r, 10, 60_000).await;
    assert_eq!(
        texts(&r),
        (1..=10).map(|i| format!("t{i}")).collect::<Vec<_>>(),
        "{fault} over {transport}: echoes not exactly once, in order and intact\n{}",
        r.dump()
    );
    r
}

// ---------------------------------------------------------------------------------------------
// Frames that are not JSON, or JSON that is not a frame.

macro_rules! burst_tests {
    ($fault:literal: $($name:ident, $transport:literal, $expect:expr;)*) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            burst_through($transport, $fault, $expect).await;
        }
    )*};
}

burst_tests! { "garbage-frame":
    garbage_frame_over_websocket, "websocket", PROTOCOL;
    garbage_frame_over_eventsource, "eventsource", PROTOCOL;
    garbage_frame_over_streaming, "streaming", PROTOCOL;
    garbage_frame_over_iframe, "iframe", PROTOCOL;
    garbage_frame_over_longpolling, "longpolling", PROTOCOL_THEN_LIFT;
    garbage_frame_over_polling, "polling", PROTOCOL_THEN_LIFT;
}

/// Every kind of `bad-frame` over `transport`.
async fn bad_frames_through(transport: &str) {
    for kind in ["no-t", "no-s", "bad-s", "bad-b64", "not-object"] {
        burst_through(transport, &format!("bad-frame={kind}"), PROTOCOL).await;
    }
}

#[wasm_bindgen_test]
async fn bad_frames_over_websocket() {
    bad_frames_through("websocket").await;
}

#[wasm_bindgen_test]
async fn bad_frames_over_longpolling() {
    bad_frames_through("longpolling").await;
}

// A message frame without a sequence number, the case a lenient client would deliver.
burst_tests! { "bad-frame=no-s":
    frame_without_seq_over_eventsource, "eventsource", PROTOCOL;
    frame_without_seq_over_streaming, "streaming", PROTOCOL;
    frame_without_seq_over_iframe, "iframe", PROTOCOL;
    frame_without_seq_over_polling, "polling", PROTOCOL;
}

// ---------------------------------------------------------------------------------------------
// A stream that ends in the middle of an event (not WebSocket: `drop-every` covers it).

burst_tests! { "cut-mid-event":
    cut_mid_event_over_eventsource, "eventsource", DROPPED;
    cut_mid_event_over_streaming, "streaming", DROPPED;
    cut_mid_event_over_iframe, "iframe", DROPPED;
    cut_mid_event_over_longpolling, "longpolling", PROTOCOL_THEN_LIFT;
    cut_mid_event_over_polling, "polling", PROTOCOL_THEN_LIFT;
}

// ---------------------------------------------------------------------------------------------
// An event stream whose lines end with CR LF from its second write on, as a proxy rewriting line
// ends would send it: a valid stream whose line ends change midway, across chunks.

burst_tests! { "crlf":
    crlf_lines_over_eventsource, "eventsource", NO_ERROR;
    crlf_lines_over_streaming, "streaming", NO_ERROR;
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers that jump back or skip.

burst_tests! { "seq-repeat":
    seq_repeat_delivers_once_over_websocket, "websocket", NO_ERROR;
    seq_repeat_delivers_once_over_eventsource, "eventsource", NO_ERROR;
    seq_repeat_delivers_once_over_streaming, "streaming", NO_ERROR;
    seq_repeat_delivers_once_over_iframe, "iframe", NO_ERROR;
    seq_repeat_delivers_once_over_longpolling, "longpolling", NO_ERROR;
    seq_repeat_delivers_once_over_polling, "polling", NO_ERROR;
}

/// Within one connection the server never repeats a number; one that jumps back is a broken
/// server (or proxy) and must be reported, though dropping it keeps delivery exactly-once.
#[wasm_bindgen_test]
async fn seq_repeat_is_reported() {
    for transport in ["websocket", "eventsource", "longpolling"] {
        let r = burst_through(transport, "seq-repeat", NO_ERROR).await;
        assert!(
            has_error(&r, &["protocol"]),
            "seq-repeat over {transport}: no protocol error\n{}",
            r.dump()
        );
    }
}

/// `seq-skip` leaves out the second message of each connection (the server still has it): the
/// client reports a protocol error, drops the connection and resumes from the last message it has,
/// so every message arrives exactly once, in order, and nothing is reported lost. The last message
/// is skipped too (it is the second of the last connection), which only the heartbeats' `s` shows.
async fn seq_skip_through(transport: &str) {
    let r = burst_through(transport, "seq-skip,heartbeat=200", PROTOCOL).await;
    assert!(
        r.events("error").iter().any(|e| get(&e.a, "message")
            .as_string()
            .is_some_and(|m| m.contains("skipped"))),
        "seq-skip over {transport}: the skip was not reported\n{}",
        r.dump()
    );
}

macro_rules! skip_tests {
    ($($name:ident, $transport:literal;)*) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            seq_skip_through($transport).await;
        }
    )*};
}

skip_tests! {
    seq_skip_is_fetched_again_over_websocket, "websocket";
    seq_skip_is_fetched_again_over_eventsource, "eventsource";
    seq_skip_is_fetched_again_over_streaming, "streaming";
    seq_skip_is_fetched_again_over_iframe, "iframe";
    seq_skip_is_fetched_again_over_longpolling, "longpolling";
    seq_skip_is_fetched_again_over_polling, "polling";
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8 (not WebSocket: a browser fails a WebSocket with bad UTF-8 itself). The server
// puts a 0xFF byte in the text of each connection's second message; decoders turn it into U+FFFD,
// which frames never carry raw (PROTOCOL.md, "Frames"), so the client can tell.

macro_rules! utf8_tests {
    ($($name:ident, $transport:literal, $expect:expr;)*) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            sends_through($transport, "bad-utf8", $expect).await;
        }
    )*};
}

utf8_tests! {
    bad_utf8_over_eventsource, "eventsource", PROTOCOL;
    bad_utf8_over_streaming, "streaming", PROTOCOL;
    bad_utf8_over_iframe, "iframe", PROTOCOL;
    bad_utf8_over_longpolling, "longpolling", PROTOCOL_THEN_LIFT;
    bad_utf8_over_polling, "polling", PROTOCOL_THEN_LIFT;
}

/// A message that says U+FFFD (escaped on the wire) is not damage: it arrives as sent.
#[wasm_bindgen_test]
async fn a_replacement_character_sent_on_purpose_arrives_intact() {
    for transport in ["websocket", "eventsource", "longpolling"] {
        let r = Recorder::new("/rt", &options(&[transport], "", ""), &[]);
        r.opened().await;
        send(&r, "a\u{FFFD}b");
        messages_done(&r, 1, 10_000).await;
        assert_eq!(texts(&r), ["a\u{FFFD}b"], "over {transport}\n{}", r.dump());
        assert!(r.error_codes().is_empty(), "{}", r.dump());
    }
}

// ---------------------------------------------------------------------------------------------
// An HTML page with status 200 where a transport expected data (a captive portal, a proxy).

/// With `html-200` on every HTTP request, `transport` fails to open and the client falls back
/// to WebSocket, where a send comes back once. A transport that can see the answer (XHR) must
/// also report it as an `error` (`http` or `protocol`).
async fn html_page_falls_back(transport: &str, xhr: bool) {
    let r = Recorder::new(
        "/rt",
        &options(&[transport, "websocket"], r#""fault":"html-200""#, ""),
        &[],
    );
    send(&r, "first");
    messages_done(&r, 1, 20_000).await;
    assert_eq!(r.opened().await, "websocket", "{}", r.dump());
    assert_eq!(texts(&r), ["first"], "{}", r.dump());
    let moves = r.events("transport");
    assert_eq!(
        get(&moves[0].a, "from").as_string().as_deref(),
        Some(transport),
        "{}",
        r.dump()
    );
    let reason = get(&moves[0].a, "reason").as_string().unwrap_or_default();
    assert!(!reason.is_empty(), "a fallback must say why");
    if xhr {
        assert!(
            has_error(&r, &["http", "protocol"]),
            "html-200 over {transport}: the page was not reported as an error\n{}",
            r.dump()
        );
    }
}

#[wasm_bindgen_test]
async fn html_page_on_eventsource_falls_back() {
    html_page_falls_back("eventsource", false).await;
}

#[wasm_bindgen_test]
async fn html_page_on_streaming_falls_back() {
    html_page_falls_back("streaming", true).await;
}

#[wasm_bindgen_test]
async fn html_page_on_iframe_falls_back() {
    html_page_falls_back("iframe", false).await;
}

#[wasm_bindgen_test]
async fn html_page_on_longpolling_falls_back() {
    html_page_falls_back("longpolling", true).await;
}

#[wasm_bindgen_test]
async fn html_page_on_polling_falls_back() {
    html_page_falls_back("polling", true).await;
}

/// An open `transport` starts getting HTML pages (on every endpoint it uses, or only on `/send`
/// with `fault_on`): it reports them, recovers when they stop, and every send comes back once.
async fn html_pages_mid_session(transport: &str, fault_on: &str) {
    let key = unique_key("h");
    hook("lift", &key).await;
    let query = format!(r#""fault":"html-200","fault_key":"{key}"{fault_on}"#);
    let r = Recorder::new("/rt", &options(&[transport, "websocket"], &query, ""), &[]);
    assert_eq!(r.opened().await, transport, "{}", r.dump());
    for i in 1..=3 {
        send(&r, &format!("t{i}"));
    }
    messages_done(&r, 3, 10_000).await;
    hook("arm", &key).await;
    for i in 4..=6 {
        send(&r, &format!("t{i}"));
    }
    error_with(&r, &["http", "protocol"], 20_000).await;
    sleep(500).await;
    hook("lift", &key).await;
    messages_done(&r, 6, 30_000).await;
    assert_eq!(
        texts(&r),
        (1..=6).map(|i| format!("t{i}")).collect::<Vec<_>>(),
        "html-200 mid-session over {transport}\n{}",
        r.dump()
    );
}

#[wasm_bindgen_test]
async fn html_pages_mid_session_over_longpolling() {
    html_pages_mid_session("longpolling", "").await;
}

#[wasm_bindgen_test]
async fn html_pages_mid_session_over_polling() {
    html_pages_mid_session("polling", "").await;
}

#[wasm_bindgen_test]
async fn html_page_answering_send_over_eventsource() {
    html_pages_mid_session("eventsource", r#","fault_on":"send""#).await;
}

// ---------------------------------------------------------------------------------------------
// 429 / 503 with Retry-After, and a 500 without it.

/// The `delayMs` of every `reconnecting` event so far.
fn reconnect_delays(r: &Recorder) -> Vec<f64> {
    r.events("reconnecting")
        .iter()
        .map(|e| get(&e.a, "delayMs").as_f64().unwrap_or(-1.0))
        .collect()
}

/// `transport` refused with `code` (and `Retry-After: 1`) for its first 1.5 s: each retry
/// waits at least the second the server asked for, though the backoff alone would be 10 ms,
/// and the client opens once the refusals stop.
async fn retry_after_holds_back(transport: &str, code: u16) {
    let until = js_sys::Date::now() as u64 + 1500;
    let query = format!(r#""fault":"http-error={code}","fault_until":"{until}""#);
    let r = Recorder::new("/rt", &options(&[transport], &query, ""), &[]);
    send(&r, "after");
    messages_done(&r, 1, 20_000).await;
    assert_eq!(texts(&r), ["after"], "{}", r.dump());
    let delays = reconnect_delays(&r);
    assert!(
        !delays.is_empty() && delays.iter().all(|&d| d >= 1000.0),
        "{code} with Retry-After: 1 over {transport}: reconnect delays {delays:?}\n{}",
        r.dump()
    );
    assert!(has_error(&r, &["connect_failed", "http"]), "{}", r.dump());
}

#[wasm_bindgen_test]
async fn retry_after_429_holds_back_longpolling() {
    retry_after_holds_back("longpolling", 429).await;
}

#[wasm_bindgen_test]
async fn retry_after_503_holds_back_streaming() {
    retry_after_holds_back("streaming", 503).await;
}

#[wasm_bindgen_test]
async fn retry_after_429_holds_back_polling() {
    retry_after_holds_back("polling", 429).await;
}

/// An open long-polling transport answered `429` + `Retry-After: 1`: an `http` error, a
/// reconnect no sooner than asked, and nothing lost or repeated once it recovers.
#[wasm_bindgen_test]
async fn retry_after_429_mid_session_over_longpolling() {
    let key = unique_key("h");
    hook("lift", &key).await;
    // Polls only: the held poll is answered by the echo of t2, and the next one is refused.
    let query = format!(r#""fault":"http-error=429","fault_on":"poll","fault_key":"{key}""#);
    let r = Recorder::new("/rt", &options(&["longpolling"], &query, ""), &[]);
    r.opened().await;
    send(&r, "t1");
    messages_done(&r, 1, 10_000).await;
    hook("arm", &key).await;
    send(&r, "t2");
    r.wait("two reconnects", 20_000, |r| {
        r.events("reconnecting").len() >= 2
    })
    .await;
    hook("lift", &key).await;
    send(&r, "t3");
    messages_done(&r, 3, 20_000).await;
    assert_eq!(texts(&r), ["t1", "t2", "t3"], "{}", r.dump());
    assert!(has_error(&r, &["http"]), "{}", r.dump());
    let delays = reconnect_delays(&r);
    assert!(
        delays.iter().all(|&d| d >= 1000.0),
        "Retry-After: 1 not honoured: reconnect delays {delays:?}\n{}",
        r.dump()
    );
}

/// `POST /send` answered `503` + `Retry-After: 3` (downstream fine): reported as `http`, retried
/// no sooner than asked, delivered once.
#[wasm_bindgen_test]
async fn retry_after_on_send_holds_back_the_upload() {
    let until = js_sys::Date::now() as u64 + 1000;
    let query = format!(
        r#""fault":"http-error=503,retry-after=3","fault_on":"send","fault_until":"{until}""#
    );
    let r = Recorder::new("/rt", &options(&["eventsource"], &query, ""), &[]);
    r.opened().await;
    send(&r, "late");
    error_with(&r, &["http"], 10_000).await;
    let refused = js_sys::Date::now();
    messages_done(&r, 1, 20_000).await;
    let waited = js_sys::Date::now() - refused;
    assert_eq!(texts(&r), ["late"], "{}", r.dump());
    assert!(
        waited >= 2700.0,
        "the upload was retried {waited} ms after a Retry-After: 3"
    );
}

/// A `500` without `Retry-After` is reported as `http` and retried with the ordinary backoff.
#[wasm_bindgen_test]
async fn server_error_without_retry_after_uses_the_backoff() {
    let until = js_sys::Date::now() as u64 + 800;
    let query = format!(r#""fault":"http-error=500","fault_until":"{until}""#);
    let r = Recorder::new("/rt", &options(&["longpolling"], &query, ""), &[]);
    send(&r, "x");
    messages_done(&r, 1, 20_000).await;
    assert_eq!(texts(&r), ["x"], "{}", r.dump());
    let delays = reconnect_delays(&r);
    assert!(
        !delays.is_empty() && delays.iter().all(|&d| d <= 200.0),
        "no Retry-After, yet delays {delays:?}\n{}",
        r.dump()
    );
}

// ---------------------------------------------------------------------------------------------
// An unknown session.

/// A stream that drops after 10 of 20 burst messages cannot resume (the server answers
/// `unknown_session`): the 10 it got arrive once, the loss is reported as `gap`, a new session
/// starts and works. The `emit` that asked for the burst was processed by the lost session, and
/// the answer to its POST (HTTP transports) is held back until after the drop: the new session
/// must not get it again (the burst would start over, in every new session).
async fn session_lost_on_resume(transport: &str) {
    let query = r#""fault":"unknown-session@ws+sse+iframe,drop-every=10,send-delay=1000@send""#;
    let r = Recorder::new("/rt", &options(&[transport], query, ""), &["burst"]);
    r.opened().await;
    let first = r.client.session_id();
    emit_burst(&r, BURST, 0);
    error_with(&r, &["gap"], 20_000).await;
    r.wait("a new session", 20_000, |r| {
        r.client
            .session_id()
            .is_some_and(|s| Some(&s) != first.as_ref())
    })
    .await;
    send(&r, "after");
    messages_done(&r, 1, 20_000).await;
    assert_eq!(
        burst_ns(&r),
        (1..=10).collect::<Vec<_>>(),
        "over {transport}\n{}",
        r.dump()
    );
    assert_eq!(texts(&r), ["after"], "over {transport}\n{}", r.dump());
}

#[wasm_bindgen_test]
async fn unknown_session_on_resume_over_websocket() {
    session_lost_on_resume("websocket").await;
}

#[wasm_bindgen_test]
async fn unknown_session_on_resume_over_eventsource() {
    session_lost_on_resume("eventsource").await;
}

#[wasm_bindgen_test]
async fn unknown_session_on_resume_over_iframe() {
    session_lost_on_resume("iframe").await;
}

/// Every poll naming a session is refused for 1.5 s, so the client keeps starting sessions,
/// reporting each loss as `gap`. What it sent meanwhile was processed by sessions it then lost
/// (their echoes are lost with them: reported, never repeated); once the refusals stop it works.
async fn sessions_refused_while_polling(transport: &str) {
    let until = js_sys::Date::now() + 1500.0;
    let query = format!(
        r#""fault":"unknown-session","fault_on":"poll","fault_until":"{}""#,
        until as u64
    );
    let r = Recorder::new("/rt", &options(&[transport], &query, ""), &[]);
    for i in 1..=5 {
        send(&r, &format!("t{i}"));
    }
    error_with(&r, &["gap"], 10_000).await;
    sleep((until - js_sys::Date::now()).max(0.0) as u32 + 300).await;
    for i in 1..=5 {
        send(&r, &format!("u{i}"));
    }
    r.wait("u5", 20_000, |r| texts(r).iter().any(|t| t == "u5"))
        .await;
    sleep(300).await;
    let texts = texts(&r);
    let expected: Vec<String> = (1..=5)
        .map(|i| format!("t{i}"))
        .chain((1..=5).map(|i| format!("u{i}")))
        .collect();
    let mut rest = expected.iter();
    assert!(
        texts.iter().all(|t| rest.any(|e| e == t)),
        "over {transport}: echoes repeated, reordered or foreign: {texts:?}\n{}",
        r.dump()
    );
    assert!(
        (1..=5).all(|i| texts.contains(&format!("u{i}"))),
        "over {transport}: sends after the refusals stopped were lost: {texts:?}\n{}",
        r.dump()
    );
}

#[wasm_bindgen_test]
async fn unknown_session_while_longpolling() {
    sessions_refused_while_polling("longpolling").await;
}

#[wasm_bindgen_test]
async fn unknown_session_while_polling() {
    sessions_refused_while_polling("polling").await;
}

/// `POST /send` answered `404` with the `x` frame `unknown_session` while the event stream runs:
/// the server says the session is gone, which the client must report as such (not as a
/// retryable HTTP failure) and act on.
#[wasm_bindgen_test]
async fn unknown_session_answering_send() {
    let until = js_sys::Date::now() as u64 + 2500;
    let query = format!(r#""fault":"unknown-session","fault_on":"send","fault_until":"{until}""#);
    let r = Recorder::new("/rt", &options(&["eventsource"], &query, ""), &[]);
    r.opened().await;
    for i in 1..=3 {
        send(&r, &format!("t{i}"));
    }
    messages_done(&r, 3, 20_000).await;
    assert_eq!(texts(&r), ["t1", "t2", "t3"], "{}", r.dump());
    assert!(
        has_error(&r, &["gap"]),
        "the lost session was not reported\n{}",
        r.dump()
    );
}

// ---------------------------------------------------------------------------------------------
// Oversized messages.

/// Three 1 MiB events (four times an event stream's byte budget, sixteen times a batch) arrive
/// whole, once, in order.
async fn big_messages_arrive_whole(transport: &str) {
    const SIZE: u32 = 1024 * 1024;
    let r = Recorder::new("/rt", &options(&[transport], "", ""), &["burst"]);
    r.opened().await;
    emit_burst(&r, 3, SIZE);
    burst_done(&r, 3, 60_000).await;
    assert_eq!(burst_ns(&r), [1, 2, 3], "over {transport}");
    for event in r.events("burst") {
        let pad = get(&event.a, "pad").as_string().unwrap_or_default();
        assert!(
            pad.len() == SIZE as usize && pad.bytes().all(|b| b == b'x'),
            "over {transport}: a pad of {} bytes",
            pad.len()
        );
    }
    assert!(
        r.error_codes().is_empty(),
        "over {transport}: {:?}",
        r.error_codes()
    );
}

macro_rules! big_tests {
    ($($name:ident, $transport:literal;)*) => {$(
        #[wasm_bindgen_test]
        async fn $name() {
            big_messages_arrive_whole($transport).await;
        }
    )*};
}

big_tests! {
    big_messages_over_websocket, "websocket";
    big_messages_over_eventsource, "eventsource";
    big_messages_over_streaming, "streaming";
    big_messages_over_iframe, "iframe";
    big_messages_over_longpolling, "longpolling";
    big_messages_over_polling, "polling";
}

/// A send larger than the server accepts (WebSocket: over 1 MiB, answered by a close; POST: over
/// the body limit, answered `413`) would be refused by the network every time: the client must
/// refuse it at `send` (`too_large`), or report it and not retry it forever; either way what is
/// sent after it gets through.
async fn oversized_send(transport: &str, size: usize) {
    let r = Recorder::new("/rt", &options(&[transport], "", ""), &[]);
    r.opened().await;
    let refused = r
        .client
        .send(JsValue::from_str(&"x".repeat(size)).unchecked_into());
    send(&r, "small");
    match refused {
        Err(error) => assert_eq!(
            get(&error, "code").as_string().as_deref(),
            Some("too_large"),
            "{transport}"
        ),
        Ok(()) => {
            error_with(
                &r,
                &["http", "transport_failed", "protocol", "too_large"],
                10_000,
            )
            .await;
            sleep(8_000).await;
            let reconnects = r.events("reconnecting").len();
            assert!(
                reconnects <= 3,
                "{transport}: {reconnects} reconnects in 8 s for one oversized send\n{}",
                r.dump()
            );
        }
    }
    r.wait("the small echo", 20_000, |r| {
        texts(r).contains(&"small".to_owned())
    })
    .await;
}

#[wasm_bindgen_test]
async fn oversized_send_over_websocket() {
    oversized_send("websocket", 2 * 1024 * 1024).await;
}

#[wasm_bindgen_test]
async fn oversized_send_over_eventsource() {
    oversized_send("eventsource", 5 * 1024 * 1024).await;
}
