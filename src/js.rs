//! The JavaScript API: the class `RealtimeClient` the npm package exports, seen from Rust.
//!
//! The class is written in JavaScript (`src/js/client.js`): its argument checks, listeners, event
//! objects and every browser API it uses take a fraction of the bytes there that the same work
//! takes in wasm (every property read from Rust is an import call, every message a formatted
//! string). It drives the state machine through three exported functions (`src/port.rs`). This
//! module binds the class for Rust ([`JsRealtimeClient`]: the browser tests drive exactly what JavaScript
//! sees, and [`crate::RealtimeClient`] is built on it) and writes its TypeScript declarations (a
//! `typescript_custom_section`); `scripts/finish-pkg.mjs` exports the class from the package and
//! replaces the `any` wasm-bindgen writes for the raw wasm exports with `unknown`, so the package
//! declares no `any`.
//!
//! Everything crossing into the client is checked in JavaScript, so a wrong type or value
//! becomes a JS `Error` naming it, never a panic (a panic in wasm kills every client on the page).

use wasm_bindgen::prelude::*;

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
  /** String pairs appended to every request URL: an object, or `[key, value]` pairs (a key may repeat). */
  query?: Record<string, string> | [string, string][];
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

/**
 * A realtime connection to a server over the best browser transport that works: WebSocket,
 * EventSource, XHR streaming, hidden iframe, long polling or polling, with fallback, reconnect,
 * upgrade and (session protocol) exactly-once, in-order delivery both ways.
 *
 * @example
 * import init, { RealtimeClient } from "realtime-wasm";
 * await init();
 * const client = new RealtimeClient("https://example.com/rt", { transports: ["websocket", "eventsource", "longpolling"] });
 * client.on("open", ({ transport }) => client.send("hello"));
 * client.on("message", (data, info) => console.log(info.transport, info.seq, data));
 * client.on("chat", (value) => console.log("chat", value));
 * client.emit("join", "lobby");
 */
export class RealtimeClient {
  /**
   * Creates a client for `url` (an `http:`/`https:` URL; a relative one resolves against the
   * page) and connects at once unless `autoConnect: false`. Throws an `Error` (`code`
   * `"invalid_argument"`) naming any bad URL or option.
   */
  constructor(url: string, options?: RealtimeClientOptions | null);
  /** Connects (after `close()`, or with `autoConnect: false`); does nothing while connecting or open. */
  connect(): void;
  /**
   * Sends a string, `ArrayBuffer` or `Uint8Array`. Queued while not open (up to
   * `maxQueuedMessages`; beyond it this throws an `Error` with `code` `"queue_full"`). Binary
   * arrives at the server as binary on every transport.
   */
  send(data: string | ArrayBuffer | Uint8Array): void;
  /** Sends the named event `event` with a JSON value (session protocol only). Queued like `send`. */
  emit(event: string, value: JsonValue): void;
  /** Closes for good and emits `close` (`code` default 1000); `connect()` starts again. */
  close(code?: number, reason?: string): void;
  /** Closes (if open) and releases the client for good: every method throws afterwards. */
  free(): void;
  [Symbol.dispose](): void;
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
  /** Counters since the client was created. */
  stats(): RealtimeStats;
  /** `"connecting"`, `"open"`, `"reconnecting"` or `"closed"`. */
  readonly state: ClientStateName;
  /** The open transport's name, or `null`. */
  readonly transport: TransportName | null;
  /** The session id (session protocol, once the server has issued one), or `null`. */
  readonly sessionId: string | null;
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

#[wasm_bindgen(module = "/src/js/client.js")]
extern "C" {
    /// The JavaScript class (`src/js/client.js`).
    #[wasm_bindgen(js_name = RealtimeClient)]
    #[derive(Debug, Clone)]
    pub(crate) type Class;
    #[wasm_bindgen(constructor, catch, js_class = RealtimeClient)]
    fn construct(url: &JsValue, options: &JsValue, exports: &JsValue) -> Result<Class, JsValue>;
    #[wasm_bindgen(method)]
    pub(crate) fn connect(this: &Class);
    #[wasm_bindgen(method, catch)]
    pub(crate) fn send(this: &Class, data: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn emit(this: &Class, event: &JsValue, value: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    pub(crate) fn close(this: &Class, code: Option<u16>, reason: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn free(this: &Class);
    #[wasm_bindgen(method, catch)]
    pub(crate) fn on(this: &Class, event: &JsValue, listener: &JsValue)
        -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(crate) fn off(this: &Class, event: &JsValue, listener: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    pub(crate) fn stats(this: &Class) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn state(this: &Class) -> JsValue;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn transport(this: &Class) -> JsValue;
    #[wasm_bindgen(method, getter = sessionId)]
    pub(crate) fn session_id(this: &Class) -> JsValue;
    #[wasm_bindgen(method)]
    pub(crate) fn watch(this: &Class, name: &JsValue);
    #[wasm_bindgen(method)]
    pub(crate) fn tap(this: &Class, listener: &JsValue, on: bool);
}

impl Class {
    /// `new RealtimeClient(url, options)`, told where this wasm file's exports are (the class in
    /// the npm package finds them in the glue it is part of).
    pub(crate) fn new(url: &JsValue, options: &JsValue) -> Result<Class, JsValue> {
        Class::construct(url, options, &wasm_bindgen::exports())
    }
}

/// A `RealtimeClient` of the JavaScript API, owned by Rust: dropping it frees the client (after a
/// `close` with reason "client dropped", unless it was closed). Its methods are the class's, with
/// the types the TypeScript declarations give them.
#[derive(Debug)]
pub struct JsRealtimeClient {
    class: Class,
    /// False once handed over to JavaScript (`JsValue::from`): then it is JavaScript's to free.
    owned: bool,
}

// The signatures mirror the JavaScript methods, which take their arguments by value.
#[allow(clippy::needless_pass_by_value)]
impl JsRealtimeClient {
    /// `new RealtimeClient(url, options)`: throws (here: `Err`) an `Error` with code
    /// `"invalid_argument"` naming any bad URL or option.
    pub fn new(url: JsValue, options: Option<JsOptions>) -> Result<JsRealtimeClient, JsValue> {
        let options = options.map_or(JsValue::UNDEFINED, Into::into);
        Ok(JsRealtimeClient {
            class: Class::new(&url, &options)?,
            owned: true,
        })
    }

    fn class(&self) -> &Class {
        &self.class
    }

    /// `connect()`.
    pub fn connect(&self) {
        self.class().connect();
    }

    /// `send(data)`.
    pub fn send(&self, data: JsSendData) -> Result<(), JsValue> {
        self.class().send(&data)
    }

    /// `emit(event, value)`.
    pub fn emit(&self, event: JsValue, value: JsJsonValue) -> Result<(), JsValue> {
        self.class().emit(&event, &value)
    }

    /// `close(code, reason)`.
    pub fn close(&self, code: Option<u16>, reason: Option<String>) {
        let reason = reason.map_or(JsValue::UNDEFINED, |r| JsValue::from_str(&r));
        self.class().close(code, &reason);
    }

    /// `on(event, listener)`.
    pub fn on(&self, event: JsValue, listener: JsListener) -> Result<JsUnsubscribe, JsValue> {
        self.class()
            .on(&event, &listener)
            .map(JsCast::unchecked_into)
    }

    /// `off(event, listener)`.
    pub fn off(&self, event: JsValue, listener: JsListener) -> Result<(), JsValue> {
        self.class().off(&event, &listener)
    }

    /// `stats()`.
    pub fn stats(&self) -> JsStats {
        self.class().stats().unchecked_into()
    }

    /// The `state` getter.
    pub fn state(&self) -> JsStateName {
        self.class().state().unchecked_into()
    }

    /// The `transport` getter.
    pub fn transport(&self) -> JsTransportName {
        self.class().transport().unchecked_into()
    }

    /// The `sessionId` getter, `None` for `null`.
    pub fn session_id(&self) -> Option<String> {
        self.class().session_id().as_string()
    }
}

impl Drop for JsRealtimeClient {
    fn drop(&mut self) {
        if self.owned {
            self.class.free();
        }
    }
}

/// The JavaScript object, whose owner JavaScript becomes (it is not freed when this is dropped).
impl From<JsRealtimeClient> for JsValue {
    fn from(mut client: JsRealtimeClient) -> JsValue {
        client.owned = false;
        client.class.clone().into()
    }
}

#[cfg(test)]
mod tests {
    use crate::options::TransportKind;

    /// `client.js` names transports by `TransportKind as u32`.
    #[test]
    fn client_js_lists_the_transports_in_rust_order() {
        for (i, kind) in TransportKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind} is not at its index in ALL");
        }
        let names: Vec<String> = TransportKind::ALL
            .iter()
            .map(|k| format!("\"{}\"", k.name()))
            .collect();
        let line = format!("const KINDS = [{}];", names.join(", "));
        assert!(
            include_str!("js/client.js").contains(&line),
            "src/js/client.js should contain {line}"
        );
    }

    /// `client.js` rejects unknown option keys with its own list.
    #[test]
    fn client_js_knows_every_option() {
        let keys: Vec<String> = crate::options::OPTION_KEYS
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect();
        let line = format!("const OPTIONS = [{}];", keys.join(", "));
        assert!(
            include_str!("js/client.js").contains(&line),
            "src/js/client.js should contain {line}"
        );
    }
}
