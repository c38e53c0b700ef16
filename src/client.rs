//! [`RealtimeClient`]: the client for Rust front ends, a typed handle on the JavaScript class
//! ([`crate::js`]) that the npm package exports, so both languages get the same client.

use js_sys::{JsString, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{Error, ErrorCode};
use crate::event::{ClientEvent, ClientState, Data, MessageInfo, Stats};
use crate::js::Class;
use crate::options::{Options, Protocol, TransportKind};

/// A realtime connection to a server, over the best transport that works.
///
/// Dropping the client closes it. See the [crate documentation](crate) for an example.
#[derive(Debug)]
pub struct RealtimeClient {
    class: Class,
}

/// A listener registration; dropping it removes the listener.
#[must_use = "dropping a Subscription removes the listener"]
#[derive(Debug)]
pub struct Subscription {
    class: Class,
    listener: Closure<dyn Fn(JsValue, JsValue, JsValue)>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.class.tap(self.listener.as_ref(), false);
    }
}

impl RealtimeClient {
    /// Creates a client for `url` (absolute, or relative to the page). Connects at once unless
    /// `options.auto_connect` is false.
    ///
    /// # Errors
    /// An [`ErrorCode::InvalidArgument`] error naming the bad URL or option.
    // A constructor taking its options, as builders and struct literals hand them over.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(url: &str, options: Options) -> Result<RealtimeClient, Error> {
        options.validate()?;
        let class = Class::new(&JsValue::from_str(url), &js_options(&options))
            .map_err(|e| error_from_js(&e))?;
        Ok(RealtimeClient { class })
    }

    /// Calls `listener` with every event until the returned [`Subscription`] is dropped.
    pub fn subscribe(&self, listener: impl Fn(&ClientEvent) + 'static) -> Subscription {
        let listener = Closure::<dyn Fn(JsValue, JsValue, JsValue)>::new(
            move |name: JsValue, a: JsValue, b: JsValue| {
                if let Some(event) = client_event(name, a, &b) {
                    listener(&event);
                }
            },
        );
        self.class.tap(listener.as_ref(), true);
        Subscription {
            class: self.class.clone(),
            listener,
        }
    }

    /// Makes transports that need it (raw EventSource) deliver server events named `name`.
    pub fn watch_event(&self, name: &str) {
        self.class.watch(&JsValue::from_str(name));
    }

    /// Connects, if not connected or connecting already. Needed only with `auto_connect: false`
    /// or after [`close`](Self::close).
    pub fn connect(&self) {
        self.class.connect();
    }

    /// Sends a text message. Queued while not open.
    ///
    /// # Errors
    /// [`ErrorCode::QueueFull`] when `max_queued_messages` are waiting; [`ErrorCode::Closed`]
    /// after `close()`; [`ErrorCode::TooLarge`] beyond 1 MiB; [`ErrorCode::InvalidArgument`] when
    /// the raw protocol has no way to send.
    pub fn send_text(&self, text: &JsString) -> Result<(), Error> {
        self.class.send(text).map_err(|e| error_from_js(&e))
    }

    /// Sends a binary message. Queued while not open. Errors as for [`send_text`](Self::send_text).
    pub fn send_binary(&self, bytes: &[u8]) -> Result<(), Error> {
        let bytes = Uint8Array::from(bytes);
        self.class.send(&bytes).map_err(|e| error_from_js(&e))
    }

    /// Emits a named event with a JSON value (session protocol).
    ///
    /// # Errors
    /// As for [`send_text`](Self::send_text), and [`ErrorCode::InvalidArgument`] when `value`
    /// cannot be serialised to JSON, the name is empty, or the raw protocol is in use.
    pub fn emit(&self, event: &str, value: &JsValue) -> Result<(), Error> {
        self.class
            .emit(&JsValue::from_str(event), value)
            .map_err(|e| error_from_js(&e))
    }

    /// Stops for good: releases the transport and emits `close`. `code` defaults to 1000.
    pub fn close(&self, code: Option<u16>, reason: Option<&str>) {
        self.class
            .close(code, &JsValue::from_str(reason.unwrap_or_default()));
    }

    /// The lifecycle state.
    pub fn state(&self) -> ClientState {
        state_of(&self.class.state()).unwrap_or(ClientState::Closed)
    }

    /// The open transport, if any.
    pub fn transport(&self) -> Option<TransportKind> {
        kind_of(&self.class.transport())
    }

    /// The session id (session protocol, once the server issued one).
    pub fn session_id(&self) -> Option<String> {
        self.class.session_id().as_string()
    }

    /// Counters since the client was created.
    pub fn stats(&self) -> Stats {
        let stats = self.class.stats();
        let count = |key: &str| field(&stats, key).as_f64().unwrap_or(0.0) as u64;
        Stats {
            messages_in: count("messagesIn"),
            messages_out: count("messagesOut"),
            bytes_in: count("bytesIn"),
            bytes_out: count("bytesOut"),
            reconnects: count("reconnects"),
            fallbacks: count("fallbacks"),
            upgrades: count("upgrades"),
        }
    }
}

impl Drop for RealtimeClient {
    fn drop(&mut self) {
        self.class.free();
    }
}

/// `options` as the JavaScript options object.
fn js_options(options: &Options) -> JsValue {
    let object = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        // Setting a property of a plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    };
    let transports: js_sys::Array = options
        .transports
        .iter()
        .map(|kind| JsValue::from_str(kind.name()))
        .collect();
    set("transports", transports.into());
    let raw = options.protocol == Protocol::Raw;
    set(
        "protocol",
        JsValue::from_str(if raw { "raw" } else { "session" }),
    );
    // Pairs, not an object: a key may repeat.
    let query: js_sys::Array = options
        .query
        .iter()
        .map(|(key, value)| {
            JsValue::from(js_sys::Array::of2(
                &JsValue::from_str(key),
                &JsValue::from_str(value),
            ))
        })
        .collect();
    set("query", query.into());
    for (key, ms) in [
        ("connectTimeoutMs", options.connect_timeout_ms),
        ("pollIntervalMs", options.poll_interval_ms),
        ("longPollTimeoutMs", options.long_poll_timeout_ms),
        ("heartbeatTimeoutMs", options.heartbeat_timeout_ms),
        ("maxQueuedMessages", options.max_queued_messages),
    ] {
        set(key, ms.into());
    }
    let reconnect = match options.reconnect {
        None => JsValue::FALSE,
        Some(r) => {
            let reconnect = js_sys::Object::new();
            let max = r.max_attempts.map_or(JsValue::NULL, JsValue::from);
            for (key, value) in [
                ("initialDelayMs", r.initial_delay_ms.into()),
                ("maxDelayMs", r.max_delay_ms.into()),
                ("maxAttempts", max),
            ] {
                let _ = Reflect::set(&reconnect, &JsValue::from_str(key), &value);
            }
            reconnect.into()
        }
    };
    set("reconnect", reconnect);
    set("upgrade", options.upgrade.into());
    set("withCredentials", options.with_credentials.into());
    set("autoConnect", options.auto_connect.into());
    if let Some(url) = &options.send_url {
        set("sendUrl", JsValue::from_str(url));
    }
    object.into()
}

/// `object[key]` (`undefined` if it is not an object).
fn field(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn kind_of(value: &JsValue) -> Option<TransportKind> {
    TransportKind::from_name(&value.as_string()?).ok()
}

fn state_of(value: &JsValue) -> Option<ClientState> {
    let name = value.as_string()?;
    [
        ClientState::Connecting,
        ClientState::Open,
        ClientState::Reconnecting,
        ClientState::Closed,
    ]
    .into_iter()
    .find(|state| state.name() == name)
}

/// A JavaScript `Error` of the client (its `code` and `message`) as an [`Error`].
fn error_from_js(error: &JsValue) -> Error {
    let code = field(error, "code").as_string().unwrap_or_default();
    let code = ErrorCode::ALL
        .into_iter()
        .find(|c| c.as_str() == code)
        .unwrap_or(ErrorCode::Protocol);
    Error::new(
        code,
        field(error, "message").as_string().unwrap_or_default(),
    )
}

/// Where a message came from, from the `info` object its listeners get.
fn message_info(info: &JsValue) -> Option<MessageInfo> {
    Some(MessageInfo {
        transport: kind_of(&field(info, "transport"))?,
        seq: field(info, "seq").as_f64().map(|seq| seq as u64),
        id: field(info, "id").as_string(),
        event: field(info, "event").dyn_into::<JsString>().ok(),
    })
}

/// An event as JavaScript listeners get it (its name, then their arguments) as a [`ClientEvent`].
fn client_event(name: JsValue, a: JsValue, b: &JsValue) -> Option<ClientEvent> {
    let name = name.dyn_into::<JsString>().ok()?;
    let number = |key: &str| field(&a, key).as_f64();
    Some(match String::from(&name).as_str() {
        "open" => ClientEvent::Open {
            transport: kind_of(&field(&a, "transport"))?,
        },
        "message" => ClientEvent::Message {
            data: match a.dyn_into::<JsString>() {
                Ok(text) => Data::Text(text),
                Err(bytes) => Data::Binary(bytes.dyn_into().ok()?),
            },
            info: message_info(b)?,
        },
        "close" => ClientEvent::Close {
            code: number("code")? as u16,
            reason: field(&a, "reason").as_string().unwrap_or_default(),
            was_clean: field(&a, "wasClean").as_bool()?,
        },
        "error" => ClientEvent::Error(error_from_js(&a)),
        "transport" => ClientEvent::Transport {
            from: kind_of(&field(&a, "from")),
            to: kind_of(&field(&a, "to"))?,
            reason: field(&a, "reason").as_string().unwrap_or_default(),
        },
        "reconnecting" => ClientEvent::Reconnecting {
            attempt: number("attempt")? as u32,
            delay_ms: number("delayMs")? as u32,
            transport: kind_of(&field(&a, "transport"))?,
        },
        "state" => ClientEvent::State {
            from: state_of(&field(&a, "from"))?,
            to: state_of(&field(&a, "to"))?,
        },
        _ => ClientEvent::Named {
            event: name,
            value: a,
            info: message_info(b)?,
        },
    })
}
