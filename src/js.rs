//! The JavaScript surface, exported by the npm package as the class `RealtimeClient`:
//! `new RealtimeClient(url, options)` and its methods, getters and events. Rust code uses
//! [`RealtimeClient`] instead; this module is public so the browser tests can drive exactly what
//! JavaScript sees.
//!
//! Everything crossing the boundary is checked here, so a wrong type or value becomes a JS `Error`
//! naming it, never a panic (a panic in wasm kills every client on the page).
//!
//! The TypeScript declarations are written here too: the types of the options, events and
//! listener arguments (a `typescript_custom_section`), and the typed `on`/`off` overloads, which
//! merge into the generated class declaration. `scripts/finish-pkg.mjs` then replaces the `any`
//! wasm-bindgen writes for the raw wasm exports with `unknown`, so the package declares no `any`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Array, ArrayBuffer, Function, JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::client::{RealtimeClient, Subscription};
use crate::error::Error;
use crate::event::{ClientEvent, MessageInfo};
use crate::options::{Options, Protocol, ReconnectOptions, TransportKind, MAX_MS, OPTION_KEYS};

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
    listeners: Rc<Listeners>,
    _subscription: Subscription,
    /// One function shared by every unsubscribe handle (`on` returns it bound to an id), so no
    /// closure is created, leaked or forgotten per listener.
    unsubscribe: Closure<dyn Fn(f64)>,
}

#[derive(Debug, Default)]
struct Listeners {
    entries: RefCell<Vec<(u32, String, Function)>>,
    next: Cell<u32>,
}

impl Listeners {
    /// Calls every listener of `name`; a listener that throws is reported, not propagated.
    fn dispatch(&self, name: &str, a: &JsValue, b: Option<&JsValue>) {
        let targets: Vec<Function> = self
            .entries
            .borrow()
            .iter()
            .filter(|(_, n, _)| n == name)
            .map(|(_, _, f)| f.clone())
            .collect();
        for f in targets {
            let result = match b {
                Some(b) => f.call2(&JsValue::UNDEFINED, a, b),
                None => f.call1(&JsValue::UNDEFINED, a),
            };
            if let Err(thrown) = result {
                report(&thrown);
            }
        }
    }

    fn remove_id(&self, id: u32) {
        // Dropping a `Function` only releases its slot in the externref table: no JavaScript
        // runs, so nothing can re-enter while the borrow is held.
        self.entries.borrow_mut().retain(|(i, _, _)| *i != id);
    }
}

/// Reports an exception from a listener the way the browser reports one from an event handler.
fn report(thrown: &JsValue) {
    let global = js_sys::global();
    if let Ok(f) =
        Reflect::get(&global, &"reportError".into()).and_then(|f| f.dyn_into::<Function>())
    {
        let _ = f.call1(&global, thrown);
    }
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
        let Some(url) = url.as_string() else {
            return Err(to_js_error(&Error::invalid(format!(
                "url: expected a string, got {}",
                type_name(&url)
            ))));
        };
        let options = parse_options(&options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED))
            .map_err(|e| to_js_error(&e))?;
        let client = RealtimeClient::new(&url, options).map_err(|e| to_js_error(&e))?;
        let listeners = Rc::new(Listeners::default());
        let weak = Rc::downgrade(&listeners);
        let subscription = client.subscribe(move |event| {
            if let Some(listeners) = weak.upgrade() {
                dispatch(&listeners, event);
            }
        });
        let weak: Weak<Listeners> = Rc::downgrade(&listeners);
        let unsubscribe = Closure::<dyn Fn(f64)>::new(move |id: f64| {
            if let Some(listeners) = weak.upgrade() {
                listeners.remove_id(id as u32);
            }
        });
        Ok(JsRealtimeClient {
            client,
            listeners,
            _subscription: subscription,
            unsubscribe,
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
        let data = JsValue::from(data);
        let result = if let Some(text) = data.dyn_ref::<JsString>() {
            self.client.send_text(text)
        } else if let Some(bytes) = data.dyn_ref::<Uint8Array>() {
            self.client.send_binary(&bytes.to_vec())
        } else if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
            self.client.send_binary(&Uint8Array::new(buffer).to_vec())
        } else {
            Err(Error::invalid(format!(
                "send: expected a string, ArrayBuffer or Uint8Array, got {}",
                type_name(&data)
            )))
        };
        result.map_err(|e| to_js_error(&e))
    }

    /// Sends the named event `event` with a JSON value (session protocol only). Queued like `send`.
    pub fn emit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] event: JsValue,
        value: JsJsonValue,
    ) -> Result<(), JsValue> {
        let Some(event) = event.as_string() else {
            return Err(to_js_error(&Error::invalid(format!(
                "emit: the event name must be a string, got {}",
                type_name(&event)
            ))));
        };
        self.client
            .emit(&event, &value.into())
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
        let (name, listener) = check_listener("on", &event, listener.into())?;
        let id = self.listeners.next.get().wrapping_add(1);
        self.listeners.next.set(id);
        if !is_builtin(&name) {
            self.client.watch_event(&name);
        }
        self.listeners
            .entries
            .borrow_mut()
            .push((id, name, listener));
        let unsubscribe: &Function = self.unsubscribe.as_ref().unchecked_ref();
        Ok(unsubscribe
            .bind1(&JsValue::NULL, &JsValue::from(id))
            .unchecked_into())
    }

    /// Removes `listener` from `event`.
    #[wasm_bindgen(skip_typescript)]
    pub fn off(&self, event: JsValue, listener: JsListener) -> Result<(), JsValue> {
        let (name, listener) = check_listener("off", &event, listener.into())?;
        let id = self
            .listeners
            .entries
            .borrow()
            .iter()
            .find(|(_, n, f)| *n == name && JsValue::from(f) == JsValue::from(&listener))
            .map(|(id, _, _)| *id);
        if let Some(id) = id {
            self.listeners.remove_id(id);
        }
        Ok(())
    }

    /// Counters since the client was created.
    pub fn stats(&self) -> JsStats {
        let s = self.client.stats();
        let object = Object::new();
        set(&object, "messagesIn", &(s.messages_in as f64).into());
        set(&object, "messagesOut", &(s.messages_out as f64).into());
        set(&object, "bytesIn", &(s.bytes_in as f64).into());
        set(&object, "bytesOut", &(s.bytes_out as f64).into());
        set(&object, "reconnects", &(s.reconnects as f64).into());
        set(&object, "fallbacks", &(s.fallbacks as f64).into());
        set(&object, "upgrades", &(s.upgrades as f64).into());
        object.unchecked_into()
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

fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "open" | "message" | "close" | "error" | "transport" | "reconnecting" | "state"
    )
}

fn check_listener(
    method: &str,
    event: &JsValue,
    listener: JsValue,
) -> Result<(String, Function), JsValue> {
    let Some(name) = event.as_string().filter(|n| !n.is_empty()) else {
        return Err(to_js_error(&Error::invalid(format!(
            "{method}: the event name must be a non-empty string, got {}",
            type_name(event)
        ))));
    };
    let listener = listener.dyn_into::<Function>().map_err(|other| {
        to_js_error(&Error::invalid(format!(
            "{method}({}): the listener must be a function, got {}",
            quoted(&name),
            type_name(&other)
        )))
    })?;
    Ok((name, listener))
}

/// Turns a client event into the listener arguments of CONTRACT's event table.
fn dispatch(listeners: &Listeners, event: &ClientEvent) {
    match event {
        ClientEvent::Open { transport } => {
            let o = Object::new();
            set(&o, "transport", &transport.name().into());
            listeners.dispatch("open", &o, None);
        }
        ClientEvent::Message { data, info } => {
            listeners.dispatch("message", &data.to_js(), Some(&info_object(info)));
        }
        ClientEvent::Named { event, value, info } => {
            listeners.dispatch(event, value, Some(&info_object(info)));
        }
        ClientEvent::Close {
            code,
            reason,
            was_clean,
        } => {
            let o = Object::new();
            set(&o, "code", &(*code).into());
            set(&o, "reason", &reason.as_str().into());
            set(&o, "wasClean", &(*was_clean).into());
            listeners.dispatch("close", &o, None);
        }
        ClientEvent::Error(error) => listeners.dispatch("error", &to_js_error(error), None),
        ClientEvent::Transport { from, to, reason } => {
            let o = Object::new();
            set(&o, "from", &from.map_or(JsValue::NULL, |k| k.name().into()));
            set(&o, "to", &to.name().into());
            set(&o, "reason", &reason.as_str().into());
            listeners.dispatch("transport", &o, None);
        }
        ClientEvent::Reconnecting {
            attempt,
            delay_ms,
            transport,
        } => {
            let o = Object::new();
            set(&o, "attempt", &(*attempt).into());
            set(&o, "delayMs", &(*delay_ms).into());
            set(&o, "transport", &transport.name().into());
            listeners.dispatch("reconnecting", &o, None);
        }
        ClientEvent::State { from, to } => {
            let o = Object::new();
            set(&o, "from", &from.name().into());
            set(&o, "to", &to.name().into());
            listeners.dispatch("state", &o, None);
        }
    }
}

fn info_object(info: &MessageInfo) -> JsValue {
    let o = Object::new();
    set(&o, "transport", &info.transport.name().into());
    set(
        &o,
        "seq",
        &info.seq.map_or(JsValue::NULL, |s| (s as f64).into()),
    );
    set(
        &o,
        "id",
        &info.id.as_deref().map_or(JsValue::NULL, JsValue::from_str),
    );
    set(
        &o,
        "event",
        &info
            .event
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str),
    );
    o.into()
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// A JS `Error` with the error's message and a `code` property.
fn to_js_error(error: &Error) -> JsValue {
    let e = js_sys::Error::new(error.message());
    set(&e, "code", &error.code().as_str().into());
    e.into()
}

/// A short description of a value's type for error messages.
fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if Array::is_array(value) {
        return "an array".into();
    }
    match value.js_typeof().as_string().as_deref() {
        Some("string") => format!("the string {}", js_text(value)),
        Some("number") => format!("the number {}", js_text(value)),
        Some(other) => other.to_owned(),
        None => "a value".into(),
    }
}

/// JavaScript's own rendering of a number (`Number.prototype.toString`) or string (quoted and
/// escaped by `JSON.stringify`). Rust's `{:?}` and float `Display` would pull the
/// escaping tables and float formatting code into the wasm file for error messages alone.
fn js_text(value: &JsValue) -> String {
    let text = match value.dyn_ref::<js_sys::Number>() {
        Some(number) => number.to_string_with_radix(10),
        None => js_sys::JSON::stringify(value),
    };
    text.ok().and_then(|t| t.as_string()).unwrap_or_default()
}

/// `s` quoted the way JavaScript would write it.
fn quoted(s: &str) -> String {
    js_text(&JsValue::from_str(s))
}

// ---- options ----

/// Reads the options object; every error names the offending key.
fn parse_options(value: &JsValue) -> Result<Options, Error> {
    let mut options = Options::default();
    if value.is_undefined() || value.is_null() {
        return Ok(options);
    }
    if !value.is_object() || Array::is_array(value) {
        return Err(Error::invalid(format!(
            "options: expected an object, got {}",
            type_name(value)
        )));
    }
    let object: &Object = value.unchecked_ref();
    check_keys("options", object, &OPTION_KEYS)?;
    let field = |key: &str| {
        Reflect::get(object, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined())
    };
    if let Some(v) = field("transports") {
        let Some(list) = v.dyn_ref::<Array>() else {
            return Err(Error::invalid(format!(
                "options.transports: expected an array of transport names, got {}",
                type_name(&v)
            )));
        };
        options.transports = list
            .iter()
            .map(|name| match name.as_string() {
                Some(name) => TransportKind::from_name(&name),
                None => Err(Error::invalid(format!(
                    "options.transports: expected transport names, got {}",
                    type_name(&name)
                ))),
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(v) = field("protocol") {
        options.protocol = match v.as_string().as_deref() {
            Some("session") => Protocol::Session,
            Some("raw") => Protocol::Raw,
            _ => {
                return Err(Error::invalid(format!(
                    "options.protocol: expected \"session\" or \"raw\", got {}",
                    type_name(&v)
                )))
            }
        };
    }
    if let Some(v) = field("query") {
        if !v.is_object() || Array::is_array(&v) {
            return Err(Error::invalid(format!(
                "options.query: expected an object of strings, got {}",
                type_name(&v)
            )));
        }
        for entry in Object::entries(v.unchecked_ref()).iter() {
            let entry: Array = entry.unchecked_into();
            let key = entry.get(0).as_string().unwrap_or_default();
            let Some(value) = entry.get(1).as_string() else {
                return Err(Error::invalid(format!(
                    "options.query.{key}: expected a string, got {}",
                    type_name(&entry.get(1))
                )));
            };
            options.query.push((key, value));
        }
    }
    let ms = |key: &str, target: &mut u32| -> Result<(), Error> {
        if let Some(v) = field(key) {
            *target = whole_number(&format!("options.{key}"), &v, MAX_MS)?;
        }
        Ok(())
    };
    ms("connectTimeoutMs", &mut options.connect_timeout_ms)?;
    ms("pollIntervalMs", &mut options.poll_interval_ms)?;
    ms("longPollTimeoutMs", &mut options.long_poll_timeout_ms)?;
    ms("heartbeatTimeoutMs", &mut options.heartbeat_timeout_ms)?;
    ms("maxQueuedMessages", &mut options.max_queued_messages)?;
    if let Some(v) = field("reconnect") {
        options.reconnect = parse_reconnect(&v)?;
    }
    let flag = |key: &str, target: &mut bool| -> Result<(), Error> {
        if let Some(v) = field(key) {
            *target = v.as_bool().ok_or_else(|| {
                Error::invalid(format!(
                    "options.{key}: expected true or false, got {}",
                    type_name(&v)
                ))
            })?;
        }
        Ok(())
    };
    flag("upgrade", &mut options.upgrade)?;
    flag("withCredentials", &mut options.with_credentials)?;
    flag("autoConnect", &mut options.auto_connect)?;
    if let Some(v) = field("sendUrl") {
        let url = v.as_string().ok_or_else(|| {
            Error::invalid(format!(
                "options.sendUrl: expected a URL string, got {}",
                type_name(&v)
            ))
        })?;
        let base = crate::web::page::base_href().unwrap_or_default();
        let resolved = web_sys::Url::new_with_base(&url, &base).map_err(|_| {
            Error::invalid(format!(
                "options.sendUrl: {} is not a valid URL",
                quoted(&url)
            ))
        })?;
        options.send_url = Some(resolved.href());
    }
    options.validate()?;
    Ok(options)
}

fn parse_reconnect(v: &JsValue) -> Result<Option<ReconnectOptions>, Error> {
    if v.as_bool() == Some(false) {
        return Ok(None);
    }
    if v.as_bool() == Some(true) {
        return Ok(Some(ReconnectOptions::default()));
    }
    if !v.is_object() || Array::is_array(v) {
        return Err(Error::invalid(format!(
            "options.reconnect: expected false or {{ initialDelayMs, maxDelayMs, maxAttempts }}, got {}",
            type_name(v)
        )));
    }
    let object: &Object = v.unchecked_ref();
    check_keys(
        "options.reconnect",
        object,
        &["initialDelayMs", "maxDelayMs", "maxAttempts"],
    )?;
    let mut r = ReconnectOptions::default();
    let get = |key: &str| {
        Reflect::get(object, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined())
    };
    if let Some(v) = get("initialDelayMs") {
        r.initial_delay_ms = whole_number("options.reconnect.initialDelayMs", &v, MAX_MS)?;
    }
    if let Some(v) = get("maxDelayMs") {
        r.max_delay_ms = whole_number("options.reconnect.maxDelayMs", &v, MAX_MS)?;
    }
    if let Some(v) = get("maxAttempts") {
        r.max_attempts = if v.is_null() {
            None
        } else {
            Some(whole_number("options.reconnect.maxAttempts", &v, u32::MAX)?)
        };
    }
    Ok(Some(r))
}

fn check_keys(what: &str, object: &Object, allowed: &[&str]) -> Result<(), Error> {
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(Error::invalid(format!(
                "{what}: unknown option {} (known: {})",
                quoted(&key),
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn whole_number(what: &str, v: &JsValue, max: u32) -> Result<u32, Error> {
    match v.as_f64() {
        Some(n) if n.is_finite() && n.fract() == 0.0 && n >= 0.0 && n <= f64::from(max) => {
            Ok(n as u32)
        }
        Some(_) => Err(Error::invalid(format!(
            "{what}: {} is out of range (a whole number from 0 to {max})",
            type_name(v)
        ))),
        None => Err(Error::invalid(format!(
            "{what}: expected a number, got {}",
            type_name(v)
        ))),
    }
}
