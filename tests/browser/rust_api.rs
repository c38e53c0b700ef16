//! The Rust API (`realtime_wasm::RealtimeClient`, `subscribe`, `ClientEvent`): the same client as
//! the JavaScript class, seen through typed values.

use std::cell::RefCell;
use std::rc::Rc;

use realtime_wasm::{
    ClientEvent, ClientState, Data, ErrorCode, Options, RealtimeClient, ReconnectOptions,
    TransportKind,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::harness::server;

/// Every event a subscription saw, in order.
type Seen = Rc<RefCell<Vec<ClientEvent>>>;

fn client(options: Options) -> (RealtimeClient, realtime_wasm::Subscription, Seen) {
    let client = RealtimeClient::new(&format!("{}/rt", server()), options)
        .unwrap_or_else(|e| panic!("refused: {e}"));
    let seen: Seen = Rc::default();
    let log = seen.clone();
    let subscription = client.subscribe(move |event| log.borrow_mut().push(event.clone()));
    (client, subscription, seen)
}

/// Waits until `done` holds for what was seen, or fails after `timeout_ms` with it.
async fn wait(seen: &Seen, what: &str, timeout_ms: f64, done: impl Fn(&[ClientEvent]) -> bool) {
    let start = js_sys::Date::now();
    while !done(&seen.borrow()) {
        assert!(
            js_sys::Date::now() - start < timeout_ms,
            "timed out waiting for {what}: {:?}",
            seen.borrow()
        );
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
}

#[wasm_bindgen_test]
async fn typed_events_text_binary_named_and_close() {
    let options = Options {
        transports: vec![TransportKind::WebSocket],
        reconnect: Some(ReconnectOptions {
            max_attempts: Some(3),
            ..ReconnectOptions::default()
        }),
        ..Options::default()
    };
    let (client, _subscription, seen) = client(options);
    client
        .send_text(&"hello".into())
        .expect("send while connecting");
    client.send_binary(&[0, 1, 255]).expect("binary");
    client
        .emit("echo", &js_sys::JSON::parse(r#"{"n":1}"#).expect("json"))
        .expect("emit");
    wait(&seen, "two messages and the echo", 10_000.0, |events| {
        events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Message { .. } | ClientEvent::Named { .. }))
            .count()
            == 3
    })
    .await;
    assert_eq!(client.state(), ClientState::Open);
    assert_eq!(client.transport(), Some(TransportKind::WebSocket));
    assert!(client.session_id().is_some_and(|s| !s.is_empty()));
    let events = seen.borrow().clone();
    assert!(
        matches!(
            events.first(),
            Some(ClientEvent::State {
                from: ClientState::Closed,
                to: ClientState::Connecting
            })
        ),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        ClientEvent::Open {
            transport: TransportKind::WebSocket
        }
    )));
    let mut messages = events.iter().filter_map(|e| match e {
        ClientEvent::Message { data, info } => Some((data.clone(), info.clone())),
        _ => None,
    });
    let (text, info) = messages.next().expect("the text echo");
    assert_eq!(text.as_string().as_deref(), Some("hello"));
    assert_eq!(info.transport, TransportKind::WebSocket);
    assert_eq!(info.seq, Some(1));
    let (bytes, _) = messages.next().expect("the binary echo");
    assert!(matches!(bytes, Data::Binary(_)));
    assert_eq!(bytes.to_bytes(), Some(vec![0, 1, 255]));
    let named = events.iter().find_map(|e| match e {
        ClientEvent::Named { event, value, info } => {
            Some((event.clone(), value.clone(), info.clone()))
        }
        _ => None,
    });
    let (event, value, info) = named.expect("the named echo");
    assert_eq!(String::from(&event), "echo");
    assert_eq!(
        js_sys::JSON::stringify(&value)
            .ok()
            .map(String::from)
            .as_deref(),
        Some(r#"{"n":1}"#)
    );
    assert_eq!(info.event.map(String::from).as_deref(), Some("echo"));
    assert_eq!(client.stats().messages_in, 3);
    assert_eq!(client.stats().messages_out, 3);

    client.close(Some(4000), Some("done"));
    assert_eq!(client.state(), ClientState::Closed);
    let close = seen.borrow().iter().find_map(|e| match e {
        ClientEvent::Close {
            code,
            reason,
            was_clean,
        } => Some((*code, reason.clone(), *was_clean)),
        _ => None,
    });
    assert_eq!(close, Some((4000, "done".to_owned(), true)));
    // Closed: sends are refused with a typed error.
    let err = client
        .send_text(&"late".into())
        .expect_err("send after close");
    assert_eq!(err.code(), ErrorCode::Closed);
}

#[wasm_bindgen_test]
fn bad_options_and_urls_are_typed_errors() {
    let err = RealtimeClient::new("ftp://example.com/rt", Options::default()).expect_err("ftp");
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.message().contains("ftp:"), "{err}");
    let options = Options {
        transports: Vec::new(),
        ..Options::default()
    };
    let err = RealtimeClient::new(&format!("{}/rt", server()), options).expect_err("no transports");
    assert!(err.message().contains("at least one"), "{err}");
    let options = Options {
        auto_connect: false,
        ..Options::default()
    };
    let client = RealtimeClient::new(&format!("{}/rt", server()), options).expect("valid");
    assert_eq!(client.state(), ClientState::Closed);
    let err = client.emit("", &JsValue::NULL).expect_err("an empty name");
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}

#[wasm_bindgen_test]
async fn dropping_the_subscription_stops_the_events_and_dropping_the_client_closes_it() {
    let (client, subscription, seen) = client(Options::default());
    wait(&seen, "open", 10_000.0, |events| {
        events.iter().any(|e| matches!(e, ClientEvent::Open { .. }))
    })
    .await;
    drop(subscription);
    let before = seen.borrow().len();
    client.send_text(&"unheard".into()).expect("send");
    gloo_timers::future::TimeoutFuture::new(300).await;
    assert_eq!(seen.borrow().len(), before, "{:?}", seen.borrow());
    // A second subscription hears the client closing as it is dropped.
    let last: Seen = Rc::default();
    let log = last.clone();
    let _watch = client.subscribe(move |event| log.borrow_mut().push(event.clone()));
    drop(client);
    assert!(
        last.borrow()
            .iter()
            .any(|e| matches!(e, ClientEvent::Close { reason, .. } if reason == "client dropped")),
        "{:?}",
        last.borrow()
    );
}
