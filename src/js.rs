//! The JavaScript surface, exported by the npm package as the class `RealtimeClient`:
//! `new RealtimeClient(url, options)` and its methods, getters and events. Rust code uses
//! [`RealtimeClient`] instead; this module is public so the browser tests can drive exactly what
//! JavaScript sees.
//!
//! Everything crossing the boundary is checked, so a wrong type or value becomes a JS `Error`
//! naming it, never a panic (a panic in wasm kills every client on the page). The checks, the
//! listener registry and the event objects are plain JavaScript (`src/js/surface.js`, imported
//! below): the same work in wasm took several times the bytes.
//!
//! The TypeScript declarations are written here too: the types of the options, events and
//! listener arguments (a `typescript_custom_section`), and the typed `on`/`off` overloads, which
//! merge into the generated class declaration. `scripts/finish-pkg.mjs` then replaces the `any`
//! wasm-bindgen writes for the raw wasm exports with `unknown`, so the package declares no `any`.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::client::{RealtimeClient, Subscription};
use crate::error::Error;
use crate::event::{ClientEvent, MessageInfo};
use crate::options::{Options, Protocol, ReconnectOptions, TransportKind};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A transport name, in the order of preference you choose. */
export type TransportName = "websocket" | "eventsource" | "streaming" | "iframe" | "longpolling" | "polling";
/** The client's lifecycle state. */
export type ClientStateName = "connecting" | "open" | "reconnecting" | "closed";
/** A JSON value as sent by `emit` and received by named-event listeners. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Options for `new RealtimeClient(url, options)`; every key is optional. */
export interface RealtimeClientOptions {
  /** Transports in fallback order. Default `["websocket","eventsource","streaming","longpolling","polling"]`. */
  transports?: TransportName[];
  /** `"session"` (default): resume, acks, exactly-once; `"raw"`: `url` is any plain endpoint. */
  protocol?: "session" | "raw";
  /** String pairs appended to every request URL. */
  query?: Record<string, string>;
  /** A transport that has not opened by then has failed. Default 5000. */
  connectTimeoutMs?: number;
  /** Pause between short polls. Default 1000. */
  pollIntervalMs?: number;
  /** How long the server may hold a long poll. Default 25000. */
  longPollTimeoutMs?: number;
  /** Silence after which an open transport is considered dead. Default 35000. */
  heartbeatTimeoutMs?: number;
  /** Reconnection backoff, or `false` to disable reconnection. */
  reconnect?: false | { initialDelayMs?: number; maxDelayMs?: number; maxAttempts?: number | null };
  /** After falling back, keep probing better transports. Default true. */
  upgrade?: boolean;
  /** Cookies on cross-origin HTTP transports. Default false. */
  withCredentials?: boolean;
  /** Raw protocol only: where HTTP transports POST what `send` sends. */
  sendUrl?: string;
  /** Sends kept while not open (and until acknowledged); beyond it `send` throws. Default 1000. */
  maxQueuedMessages?: number;
  /** Connect in the constructor. Default true. */
  autoConnect?: boolean;
}

/** Where a message came from. */
export interface MessageInfo {
  transport: TransportName;
  /** The server's sequence number (session protocol), else null. */
  seq: number | null;
  /** The event stream's last event id (raw event streams), else null. */
  id: string | null;
  /** The event name for named events, else null. */
  event: string | null;
}

/** An `Error` with a machine-readable code. */
export interface RealtimeError extends Error {
  code: "invalid_argument" | "connect_failed" | "transport_failed" | "gap" | "protocol" | "queue_full" | "http" | "too_large" | "closed";
}

/** Counters since the client was created. */
export interface RealtimeStats {
  messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number;
  reconnects: number; fallbacks: number; upgrades: number;
}

/** Listener signatures of the built-in events. */
export interface RealtimeEventMap {
  open: (event: { transport: TransportName }) => void;
  message: (data: string | Uint8Array, info: MessageInfo) => void;
  close: (event: { code: number; reason: string; wasClean: boolean }) => void;
  error: (error: RealtimeError) => void;
  transport: (event: { from: TransportName | null; to: TransportName; reason: string }) => void;
  reconnecting: (event: { attempt: number; delayMs: number; transport: TransportName }) => void;
  state: (event: { from: ClientStateName; to: ClientStateName }) => void;
}

/** A named server event's listener: the parsed JSON value (raw protocol: the string received). */
export type NamedEventListener = (value: JsonValue, info: MessageInfo) => void;

/** The function `on` returns: call it to remove the listener it added. */
export type Unsubscribe = () => void;

// Merged into the generated `class RealtimeClient`: typed listener registration.
export interface RealtimeClient {
  /**
   * Adds a listener for a built-in event (`open`, `message`, `close`, `error`, `transport`,
   * `reconnecting`, `state`) and returns a function that removes it.
   *
   * @example
   * const off = client.on("message", (data, info) => console.log(info.seq, data));
   * off();
   */
  on<K extends keyof RealtimeEventMap>(event: K, listener: RealtimeEventMap[K]): Unsubscribe;
  /**
   * Adds a listener for a named server event (anything the server `emit`s) and returns a function
   * that removes it. The listener gets the event's JSON value and where it came from.
   *
   * @example
   * client.on("chat", (value, info) => console.log(info.event, value));
   */
  on(event: string, listener: NamedEventListener): Unsubscribe;
  /** Removes a listener added with `on` (the same function for the same event). */
  off<K extends keyof RealtimeEventMap>(event: K, listener: RealtimeEventMap[K]): void;
  /** Removes a named-event listener added with `on`. */
  off(event: string, listener: NamedEventListener): void;
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "RealtimeClientOptions")]
    /// The options object (`RealtimeClientOptions`).
    pub type JsOptions;
    #[wasm_bindgen(typescript_type = "string | ArrayBuffer | Uint8Array")]
    /// What `send` accepts.
    pub type JsSendData;
    #[wasm_bindgen(typescript_type = "JsonValue")]
    /// A JSON value.
    pub type JsJsonValue;
    #[wasm_bindgen(typescript_type = "RealtimeStats")]
    /// What `stats()` returns.
    pub type JsStats;
    #[wasm_bindgen(typescript_type = "ClientStateName")]
    /// A state name.
    pub type JsStateName;
    #[wasm_bindgen(typescript_type = "TransportName | null")]
    /// A transport name or `null`.
    pub type JsTransportName;
    #[wasm_bindgen(typescript_type = "Unsubscribe")]
    /// The function `on` returns.
    pub type JsUnsubscribe;
    #[wasm_bindgen(typescript_type = "Function")]
    /// A listener function.
    pub type JsListener;
}

/// A realtime connection to a server over the best browser transport that works: WebSocket,
/// EventSource, XHR streaming, hidden iframe, long polling or polling, with fallback, reconnect,
/// upgrade and (session protocol) exactly-once, in-order delivery both ways.
///
/// ```js
/// import init, { RealtimeClient } from "realtime-wasm";
/// await init();
/// const client = new RealtimeClient("https://example.com/rt", { transports: ["websocket", "eventsource", "longpolling"] });
/// client.on("open", ({ transport }) => client.send("hello"));
/// client.on("message", (data, info) => console.log(info.transport, info.seq, data));
/// client.on("chat", (value) => console.log("chat", value));
/// client.emit("join", "lobby");
/// ```
///
/// From Rust, use [`crate::RealtimeClient`]; this type is the JavaScript class.
#[wasm_bindgen(js_name = RealtimeClient)]
#[derive(Debug)]
pub struct JsRealtimeClient {
    client: RealtimeClient,
    /// The listeners: a JavaScript array of `[name, listener]` (see `src/js/surface.js`).
    listeners: Array,
    _subscription: Subscription,
}

// The JavaScript half of this module.
#[wasm_bindgen(module = "/src/js/surface.js")]
extern "C" {
    /// An `Error` with `message` and a `code` property.
    fn error(message: &str, code: &str) -> JsValue;
    /// An `invalid_argument` error: `what` followed by a description of `value`'s type.
    fn invalid(what: &str, value: &JsValue) -> JsValue;
    /// Checks the constructor's arguments, writes the options into `n` (which holds the defaults)
    /// and returns `[sendUrl, query key, query value, ...]`.
    #[wasm_bindgen(catch)]
    fn options(url: &JsValue, options: &JsValue, n: &mut [u32]) -> Result<Array, JsValue>;
    #[wasm_bindgen(catch, js_name = on)]
    fn add_listener(
        listeners: &Array,
        name: &JsValue,
        listener: &JsValue,
    ) -> Result<JsUnsubscribe, JsValue>;
    #[wasm_bindgen(catch, js_name = off)]
    fn remove_listener(
        listeners: &Array,
        name: &JsValue,
        listener: &JsValue,
    ) -> Result<(), JsValue>;
    /// `name` if it names a server event rather than a built-in one.
    fn named(name: &JsValue) -> Option<String>;
    /// Calls the listeners of `name` with `value`.
    fn fire(listeners: &Array, name: &str, value: &JsValue);
    /// Calls the listeners of `name` with `(data, info)`: `transport` indexes
    /// [`TransportKind::ALL`], `seq` < 0 is none, `named` says `name` is a server event's.
    fn message(
        listeners: &Array,
        name: &JsValue,
        data: &JsValue,
        transport: u32,
        seq: f64,
        id: Option<&str>,
        named: bool,
    );
    /// Builds the object of a built-in event and calls its listeners.
    #[wasm_bindgen(js_name = event)]
    fn built_in(listeners: &Array, kind: u32, a: Option<&str>, b: &str, c: &str, x: u32, y: u32);
    #[wasm_bindgen(js_name = stats)]
    fn stats_object(
        messages_in: f64,
        messages_out: f64,
        bytes_in: f64,
        bytes_out: f64,
        reconnects: f64,
        fallbacks: f64,
        upgrades: f64,
    ) -> JsStats;
    /// `send`'s argument as bytes, `None` for a string; throws for anything else.
    #[wasm_bindgen(catch)]
    fn binary(data: &JsValue) -> Result<Option<Uint8Array>, JsValue>;
}

// wasm-bindgen exports receive owned values from JavaScript.
#[allow(clippy::needless_pass_by_value)]
#[wasm_bindgen(js_class = RealtimeClient)]
impl JsRealtimeClient {
    /// Creates a client for `url` (an `http:`/`https:` URL; a relative one resolves against the
    /// page) and connects at once unless `autoConnect: false`. Throws an `Error` (`code`
    /// `"invalid_argument"`) naming any bad URL or option.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue,
        options: Option<JsOptions>,
    ) -> Result<JsRealtimeClient, JsValue> {
        let (url, options) = parse_options(&url, &options.map_or(JsValue::UNDEFINED, Into::into))?;
        let client = RealtimeClient::new(&url, options).map_err(|e| to_js_error(&e))?;
        let listeners = Array::new();
        let target = listeners.clone();
        let subscription = client.subscribe(move |event| dispatch(&target, event));
        Ok(JsRealtimeClient {
            client,
            listeners,
            _subscription: subscription,
        })
    }

    /// Connects (after `close()`, or with `autoConnect: false`); does nothing while connecting or
    /// open.
    pub fn connect(&self) {
        self.client.connect();
    }

    /// Sends a string, `ArrayBuffer` or `Uint8Array`. Queued while not open (up to
    /// `maxQueuedMessages`; beyond it this throws an `Error` with `code` `"queue_full"`). Binary
    /// arrives at the server as binary on every transport.
    pub fn send(&self, data: JsSendData) -> Result<(), JsValue> {
        match binary(&data)? {
            Some(bytes) => self.client.send_binary(&bytes.to_vec()),
            None => self.client.send_text(data.unchecked_ref()),
        }
        .map_err(|e| to_js_error(&e))
    }

    /// Sends the named event `event` with a JSON value (session protocol only). Queued like `send`.
    pub fn emit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] event: JsValue,
        value: JsJsonValue,
    ) -> Result<(), JsValue> {
        let Some(event) = event.as_string() else {
            return Err(invalid(
                "emit: the event name must be a string, got ",
                &event,
            ));
        };
        self.client
            .emit(&event, &value)
            .map_err(|e| to_js_error(&e))
    }

    /// Closes for good and emits `close` (`code` default 1000); `connect()` starts again.
    pub fn close(&self, code: Option<u16>, reason: Option<String>) {
        self.client.close(code, reason.as_deref());
    }

    /// Adds `listener` for `event`; returns a function that removes it. (Its TypeScript overloads
    /// are in the custom section above.)
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, event: JsValue, listener: JsListener) -> Result<JsUnsubscribe, JsValue> {
        let unsubscribe = add_listener(&self.listeners, &event, &listener)?;
        if let Some(name) = named(&event) {
            self.client.watch_event(&name);
        }
        Ok(unsubscribe)
    }

    /// Removes `listener` from `event`.
    #[wasm_bindgen(skip_typescript)]
    pub fn off(&self, event: JsValue, listener: JsListener) -> Result<(), JsValue> {
        remove_listener(&self.listeners, &event, &listener)
    }

    /// Counters since the client was created.
    pub fn stats(&self) -> JsStats {
        let s = self.client.stats();
        stats_object(
            s.messages_in as f64,
            s.messages_out as f64,
            s.bytes_in as f64,
            s.bytes_out as f64,
            s.reconnects as f64,
            s.fallbacks as f64,
            s.upgrades as f64,
        )
    }

    /// `"connecting"`, `"open"`, `"reconnecting"` or `"closed"`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsStateName {
        JsValue::from_str(self.client.state().name()).unchecked_into()
    }

    /// The open transport's name, or `null`.
    #[wasm_bindgen(getter)]
    pub fn transport(&self) -> JsTransportName {
        self.client
            .transport()
            .map_or(JsValue::NULL, |k| k.name().into())
            .unchecked_into()
    }

    /// The session id (session protocol, once the server has issued one), or `null`.
    #[wasm_bindgen(getter = sessionId, unchecked_return_type = "string | null")]
    pub fn session_id_js(&self) -> JsValue {
        self.client
            .session_id()
            .map_or(JsValue::NULL, |id| JsValue::from_str(&id))
    }
}

impl JsRealtimeClient {
    /// The session id, or `None` (what the `sessionId` getter returns as `null`).
    pub fn session_id(&self) -> Option<String> {
        self.client.session_id()
    }
}

/// Turns a client event into the listener arguments of CONTRACT's event table.
fn dispatch(listeners: &Array, event: &ClientEvent) {
    let info = |name: &JsValue, data: &JsValue, info: &MessageInfo| {
        message(
            listeners,
            name,
            data,
            info.transport as u32,
            info.seq.map_or(-1.0, |s| s as f64),
            info.id.as_deref(),
            info.event.is_some(),
        );
    };
    match event {
        ClientEvent::Message { data, info: i } => {
            MESSAGE.with(|name| info(name, &data.to_js(), i));
        }
        ClientEvent::Named {
            event,
            value,
            info: i,
        } => info(event, value, i),
        ClientEvent::Error(error) => fire(listeners, "error", &to_js_error(error)),
        ClientEvent::Open { transport } => {
            built_in(listeners, 0, Some(transport.name()), "", "", 0, 0)
        }
        ClientEvent::Close {
            code,
            reason,
            was_clean,
        } => built_in(
            listeners,
            1,
            Some(reason),
            "",
            "",
            (*code).into(),
            (*was_clean).into(),
        ),
        ClientEvent::Transport { from, to, reason } => built_in(
            listeners,
            2,
            from.map(TransportKind::name),
            to.name(),
            reason,
            0,
            0,
        ),
        ClientEvent::Reconnecting {
            attempt,
            delay_ms,
            transport,
        } => built_in(
            listeners,
            3,
            Some(transport.name()),
            "",
            "",
            *attempt,
            *delay_ms,
        ),
        ClientEvent::State { from, to } => {
            built_in(listeners, 4, Some(from.name()), to.name(), "", 0, 0)
        }
    }
}

thread_local! {
    /// The name of unnamed messages' event, made once rather than for every message.
    static MESSAGE: JsValue = JsValue::from_str("message");
}

/// A JS `Error` with the error's message and a `code` property.
fn to_js_error(e: &Error) -> JsValue {
    error(e.message(), e.code().as_str())
}

// ---- options ----

/// Where each option sits in the numbers `surface.js`'s `options` fills in.
const RAW: usize = 0;
const CONNECT_TIMEOUT: usize = 1;
const POLL_INTERVAL: usize = 2;
const LONG_POLL_TIMEOUT: usize = 3;
const HEARTBEAT_TIMEOUT: usize = 4;
const MAX_QUEUED: usize = 5;
const UPGRADE: usize = 6;
const WITH_CREDENTIALS: usize = 7;
const AUTO_CONNECT: usize = 8;
const RECONNECT: usize = 9;
const INITIAL_DELAY: usize = 10;
const MAX_DELAY: usize = 11;
const HAS_MAX_ATTEMPTS: usize = 12;
const MAX_ATTEMPTS: usize = 13;
const TRANSPORT_COUNT: usize = 14;
const TRANSPORTS: usize = 15;
/// `TRANSPORT_COUNT` when the option was not given.
const NOT_GIVEN: u32 = 99;

/// Reads the URL and the options object through `surface.js`, which checks them (every error
/// names the offending input) and fills in the numbers; `RealtimeClient::new` then checks the
/// combinations (`Options::validate`).
fn parse_options(url: &JsValue, value: &JsValue) -> Result<(String, Options), JsValue> {
    let defaults = Options::default();
    let r = defaults.reconnect.unwrap_or_default();
    let mut n = [0u32; TRANSPORTS + TransportKind::ALL.len()];
    n[RAW] = u32::from(defaults.protocol == Protocol::Raw);
    n[CONNECT_TIMEOUT] = defaults.connect_timeout_ms;
    n[POLL_INTERVAL] = defaults.poll_interval_ms;
    n[LONG_POLL_TIMEOUT] = defaults.long_poll_timeout_ms;
    n[HEARTBEAT_TIMEOUT] = defaults.heartbeat_timeout_ms;
    n[MAX_QUEUED] = defaults.max_queued_messages;
    n[UPGRADE] = defaults.upgrade.into();
    n[WITH_CREDENTIALS] = defaults.with_credentials.into();
    n[AUTO_CONNECT] = defaults.auto_connect.into();
    n[RECONNECT] = defaults.reconnect.is_some().into();
    n[INITIAL_DELAY] = r.initial_delay_ms;
    n[MAX_DELAY] = r.max_delay_ms;
    n[HAS_MAX_ATTEMPTS] = r.max_attempts.is_some().into();
    n[MAX_ATTEMPTS] = r.max_attempts.unwrap_or_default();
    n[TRANSPORT_COUNT] = NOT_GIVEN;
    let strings = options(url, value, &mut n)?;
    let transports = match n[TRANSPORT_COUNT] {
        NOT_GIVEN => defaults.transports,
        count => n[TRANSPORTS..TRANSPORTS + count as usize]
            .iter()
            .map(|&i| TransportKind::ALL[i as usize])
            .collect(),
    };
    let query = (1..strings.length())
        .step_by(2)
        .map(|i| {
            let text = |i| strings.get(i).as_string().unwrap_or_default();
            (text(i), text(i + 1))
        })
        .collect();
    let options = Options {
        transports,
        protocol: if n[RAW] == 1 {
            Protocol::Raw
        } else {
            Protocol::Session
        },
        query,
        connect_timeout_ms: n[CONNECT_TIMEOUT],
        poll_interval_ms: n[POLL_INTERVAL],
        long_poll_timeout_ms: n[LONG_POLL_TIMEOUT],
        heartbeat_timeout_ms: n[HEARTBEAT_TIMEOUT],
        reconnect: (n[RECONNECT] == 1).then_some(ReconnectOptions {
            initial_delay_ms: n[INITIAL_DELAY],
            max_delay_ms: n[MAX_DELAY],
            max_attempts: (n[HAS_MAX_ATTEMPTS] == 1).then_some(n[MAX_ATTEMPTS]),
        }),
        upgrade: n[UPGRADE] == 1,
        with_credentials: n[WITH_CREDENTIALS] == 1,
        send_url: strings.get(0).as_string(),
        max_queued_messages: n[MAX_QUEUED],
        auto_connect: n[AUTO_CONNECT] == 1,
    };
    Ok((url.as_string().unwrap_or_default(), options))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `surface.js` writes transports as indices into `TransportKind::ALL`, and reads them as
    /// `TransportKind as u32`.
    #[test]
    fn surface_js_lists_the_transports_in_rust_order() {
        for (i, kind) in TransportKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind} is not at its index in ALL");
        }
        let names: Vec<String> = TransportKind::ALL
            .iter()
            .map(|k| format!("\"{}\"", k.name()))
            .collect();
        let line = format!("const TRANSPORTS = [{}];", names.join(", "));
        assert!(
            include_str!("js/surface.js").contains(&line),
            "src/js/surface.js should contain {line}"
        );
    }

    /// `surface.js` rejects unknown option keys with its own list.
    #[test]
    fn surface_js_knows_every_option() {
        let keys: Vec<String> = crate::options::OPTION_KEYS
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect();
        let line = format!("const OPTIONS = [{}];", keys.join(", "));
        assert!(
            include_str!("js/surface.js").contains(&line),
            "src/js/surface.js should contain {line}"
        );
    }
}
