// The JavaScript half of the client: the `RealtimeClient` class the npm package exports, and its
// hands. Every decision is the state machine's, in Rust (src/machine/), reached through one
// exported function of numbers (`rt_i`, src/port.rs): this module checks the constructor's
// arguments, keeps the listeners, opens and releases transports, keeps timers, reads frames,
// holds what the machine does not (payloads, the session id and token, the words of every
// message), tells the machine what happened (`#input`) and performs the commands it answers with
// (`#run`).
//
// Nothing here decides about fallback, retry, ordering or delivery: a frame is read, reported,
// and delivered only when the machine says so. Each transport is a small function returning an
// object with `close()`, which removes its listeners, aborts its requests and clears its timers,
// so nothing it opened reports after it was released.
//
// scripts/finish-pkg.mjs inlines this module into the package's glue and exports the class from
// there: no imports here, and no top-level name the glue declares. In that module `wasm` holds
// the wasm file's exports (`rt_new`, `rt_i`, `rt_free`); elsewhere (Rust's `JsRealtimeClient::new`,
// the browser tests) they are passed to the constructor.

// Transport kinds, in `TransportKind` order (a test in src/js.rs checks it).
const KINDS = ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"];
const STATES = ["connecting", "open", "reconnecting", "closed"];
const CODES = ["invalid_argument", "connect_failed", "transport_failed", "gap", "protocol", "queue_full", "http", "too_large", "closed"];
const BUILTIN = ["open", "message", "close", "error", "transport", "reconnecting", "state"];
// What the machine is told (`op` in src/port.rs).
const OPENED = 0, RAW = 1, MSG = 2, OPEN = 3, ACK = 4, BEAT = 5, GAP = 6, RECYCLE = 7, REFUSED = 8, ENDED = 9,
  BAD = 10, RX = 11, CLOSED = 12, TIMER = 13, WAKE = 14, POSTED = 15, POST_FAILED = 16, PROBE_OK = 17,
  PROBE_FAILED = 18, AFTER = 19, SEND = 20, CONNECT = 21, AUTO = 22, CLOSE = 23, READ = 24, NEXT = 25, ARG = 26,
  CONFIGURE = 27, CONFIGURE_MORE = 28, SEED = 29;
// The attempt of frames that arrive in an upstream POST's answer (`machine::SESSION`).
const SESSION = 4294967295;
// The largest message (bytes as sent), `MAX_MESSAGE_BYTES` in src/machine/mod.rs.
const MAX_MESSAGE = 1032192;
// How much longer than the server's hold a long poll is waited for (`LONG_POLL_GRACE_MS`).
const LONG_POLL_GRACE = 10000;

/** An `Error` with a `code` property, as every error of the client is. */
const fail = (message, code) => Object.assign(new Error(message), { code });
const whole = (v) => Number.isSafeInteger(v) && v >= 0;
const num = (v) => (whole(v) ? v : 0);
const str = (v) => (typeof v == "string" ? v : "");
const describe = (v) =>
  v === null ? "null"
    : Array.isArray(v) ? "an array"
      : typeof v == "string" ? `the string ${JSON.stringify(v)}`
        : typeof v == "number" ? `the number ${v}`
          : typeof v;
/** UTF-8 bytes of `text`, exactly only where it could matter for the size limit. */
const utf8 = (text) => (text.length * 3 <= MAX_MESSAGE ? text.length : new TextEncoder().encode(text).length);

/** Standard base64 with padding to bytes, or undefined if `text` is not that. */
function unbase64(text) {
  if (typeof text != "string" || text.length % 4 || /[^A-Za-z0-9+/=]|=[^=]|={3}/.test(text)) return;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {}
}
const base64 = (bytes) => {
  let s = "";
  for (let i = 0; i < bytes.length; i += 32768) s += String.fromCharCode(...bytes.subarray(i, i + 32768));
  return btoa(s);
};

/** Calls `listener(...args)`; a listener that throws is reported, never propagated into the client. */
function call(listener, ...args) {
  try {
    listener(...args);
  } catch (e) {
    if (typeof reportError == "function") reportError(e);
  }
}

/** Sets `t[slot]` to a timeout of `ms` calling `f` (clearing the one there); `ms` < 0 only clears. */
function timeout(t, slot, ms, f) {
  clearTimeout(t[slot]);
  t[slot] = ms < 0 ? undefined : setTimeout(f, ms);
}

/**
 * An XMLHttpRequest: `on(2)` when the headers arrived, `on(3)` for more of the body, `on(4)` once
 * complete (any status), `on(0)` if it failed without a response. `close()` stops it silently.
 */
function request(method, url, body, credentials, on) {
  const x = new XMLHttpRequest();
  let live = 1, headers = 0;
  // Called for `readystatechange` and `progress` alike: the body grows between the two, and a
  // `progress` comes after completion too, so the end is reported once, then nothing.
  const changed = () => {
    const state = x.readyState;
    if (!live || state < 2) return;
    if (state == 4 && !x.status) return (live = 0), on(0, x);
    if (!headers && ((headers = 1), on(2, x), !live)) return;
    if (state == 3) on(3, x);
    else if (state == 4) (live = 0), on(4, x);
  };
  x.open(method, url);
  x.withCredentials = credentials;
  // text/plain keeps a POST a "simple" cross-origin request: no preflight round trip.
  if (body != null) x.setRequestHeader("Content-Type", "text/plain;charset=UTF-8");
  x.onreadystatechange = x.onprogress = changed;
  x.send(body);
  return {
    close() {
      // Listeners off first: abort() fires readystatechange synchronously.
      live = 0;
      x.onreadystatechange = x.onprogress = null;
      if (x.readyState != 4) x.abort();
    },
  };
}

/** A failed HTTP answer's reason and its `Retry-After` in ms (seconds only; a date is ignored). */
const http = (what, x) => [`${what} answered HTTP ${x.status}`, 1000 * (+x.getResponseHeader("Retry-After") >>> 0) || 0];

/**
 * An event-stream parser by the HTML standard's rules: what an EventSource would dispatch, down
 * to the corner cases (a byte-order mark, CR, LF and CRLF line ends split across chunks, an `id`
 * with U+0000). Returns `feed(text)`, which calls `emit(data, type, lastEventId)` per event.
 */
export function eventStream(emit) {
  // The line begun in an earlier chunk; the event's type, data lines joined with LF (undefined
  // before the first: no data, no event), and last id; a CR ended the last chunk; at the start
  // of the stream, where a byte-order mark is stripped.
  let rest = "", type = "", data, id = "", cr = 0, start = 1;
  const read = (line) => {
    if (!line) {
      if (data !== undefined) emit(data, type || "message", id);
      data = undefined;
      type = "";
      return;
    }
    const colon = line.indexOf(":");
    if (!colon) return;
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] == " " ? 2 : 1));
    if (field == "data") data = data === undefined ? value : `${data}\n${value}`;
    else if (field == "event") type = value;
    else if (field == "id" && !value.includes("\0")) id = value;
  };
  return (text) => {
    // Nothing to read, and the state (a CR waiting for its LF) stays as it is.
    if (!text) return;
    if (start) {
      start = 0;
      if (text[0] == "\uFEFF") text = text.slice(1);
    }
    let i = cr && text[0] == "\n" ? 1 : 0, r = -1, n = -1;
    cr = 0;
    // The next CR and LF from `i` (the length: none), each looked for again only once passed:
    // one scan of the chunk, by indexOf (a regular expression's exec is several times slower).
    const next = (c) => ((c = text.indexOf(c, i)) < 0 ? text.length : c);
    for (;;) {
      if (r < i) r = next("\r");
      if (n < i) n = next("\n");
      let j = r < n ? r : n;
      if (j == text.length) return void (rest += text.slice(i));
      const whole = rest + text.slice(i, j);
      rest = "";
      if (j == r) {
        // A CR at the end of the chunk may be the first half of a CRLF.
        if (j + 1 == text.length) cr = 1;
        else if (n == j + 1) j++;
      }
      i = j + 1;
      read(whole);
    }
  };
}

// ---- the constructor's arguments ----

const OPTIONS = ["transports", "protocol", "query", "connectTimeoutMs", "pollIntervalMs", "longPollTimeoutMs", "heartbeatTimeoutMs", "reconnect", "upgrade", "withCredentials", "sendUrl", "maxQueuedMessages", "autoConnect"];
const RECONNECT = ["initialDelayMs", "maxDelayMs", "maxAttempts"];
// The default order (`TransportKind::DEFAULT_ORDER`): every transport but the opt-in iframe.
const DEFAULT_ORDER = [0, 1, 2, 4, 5];
// The longest timeout or delay accepted (`MAX_MS` in src/options.rs): one day.
const MAX_MS = 86400000;

const refuse = (message) => {
  throw fail(message, "invalid_argument");
};
/** Throws `WHAT: expected EXPECTED, got VALUE`. */
const wrong = (what, expected, value) => refuse(`${what}: expected ${expected}, got ${describe(value)}`);
const isObject = (v) => typeof v == "object" && v !== null && !Array.isArray(v);

/** `url` resolved against the page and checked (http: or https:), without its fragment. */
export function checkUrl(url) {
  if (typeof url != "string") wrong("url", "a string", url);
  let parsed;
  try {
    parsed = new URL(url, globalThis.location?.href);
  } catch {
    refuse(`url: ${JSON.stringify(url)} is not a valid URL`);
  }
  if (!/^https?:$/.test(parsed.protocol)) {
    refuse(`url: ${JSON.stringify(url)} must be an http: or https: URL (got ${parsed.protocol}; WebSocket URLs are derived from it)`);
  }
  parsed.hash = "";
  return parsed.href;
}

/**
 * The settings of `new RealtimeClient(url, options)`, checked: every wrong type, value or
 * combination throws an `Error` with code `invalid_argument` naming the offending input (Rust's
 * typed `Options` are checked by `Options::validate`, src/options.rs, in the same words).
 * `built`: the transports this build carries, a bit each.
 */
function settings(url, options, built) {
  url = checkUrl(url);
  const o = options ?? {};
  // Reads `object[key]` (`what` names it): `fallback` when absent, else it must pass `ok`.
  const read = (what, object, keys) => {
    if (!isObject(object)) wrong(what, "an object", object);
    for (const key in object) if (!keys.includes(key)) refuse(`${what}: unknown option ${JSON.stringify(key)} (known: ${keys.join(", ")})`);
    return (key, fallback, ok, expected, min = 0, max = MAX_MS) => {
      const v = object[key], name = `${what}.${key}`;
      if (v === undefined) return fallback;
      if (!ok(v)) wrong(name, expected, v);
      if (typeof v == "number" && !(Number.isInteger(v) && v >= min && v <= max)) refuse(`${name}: ${describe(v)} is out of range (a whole number from ${min} to ${max})`);
      return v;
    };
  };
  const get = read("options", o, OPTIONS);
  const number = (v) => typeof v == "number", flag = (v) => typeof v == "boolean";
  const names = get("transports", undefined, Array.isArray, "an array of transport names");
  const transports = names ? [] : DEFAULT_ORDER.filter((kind) => built >> kind & 1);
  if (names && !names.length) refuse("options.transports: must name at least one transport");
  for (const name of names ?? []) {
    const kind = KINDS.indexOf(name);
    if (typeof name != "string") wrong("options.transports", "transport names", name);
    if (kind < 0) refuse(`options.transports: unknown transport "${name}" (expected one of ${KINDS.join(", ")})`);
    if (transports.includes(kind)) refuse(`options.transports: ${name} is listed twice`);
    if (!(built >> kind & 1)) refuse(`options.transports: ${name} is not in this build (cargo feature "${kind > 3 ? "polling" : name}")`);
    transports.push(kind);
  }
  const raw = get("protocol", "session", (v) => v == "session" || v == "raw", '"session" or "raw"') == "raw";
  // An object of strings, or [key, value] pairs (a key may repeat).
  let query = get("query", {}, (v) => typeof v == "object" && v !== null, "an object of strings");
  query = Array.isArray(query) ? query.map((pair) => (Array.isArray(pair) ? pair : wrong("options.query", "[key, value] pairs", pair))) : Object.entries(query);
  for (const [key, value] of query) if (typeof value != "string") wrong(`options.query.${key}`, "a string", value);
  let reconnect = get("reconnect", true, (v) => flag(v) || isObject(v), "false or { initialDelayMs, maxDelayMs, maxAttempts }");
  if (reconnect) {
    const r = read("options.reconnect", reconnect === true ? {} : reconnect, RECONNECT);
    reconnect = {
      initialDelayMs: r("initialDelayMs", 500, number, "a number"),
      maxDelayMs: r("maxDelayMs", 15000, number, "a number"),
      maxAttempts: r("maxAttempts", undefined, (v) => v === null || number(v), "a number or null", 0, 4294967295) ?? null,
    };
    if (reconnect.maxDelayMs < reconnect.initialDelayMs) refuse("options.reconnect.maxDelayMs: must not be less than initialDelayMs");
  }
  let sendUrl = get("sendUrl", undefined, (v) => typeof v == "string", "a URL string");
  if (sendUrl !== undefined) {
    if (!raw) refuse('options.sendUrl: only used with protocol "raw"');
    try {
      sendUrl = new URL(sendUrl, globalThis.location?.href).href;
    } catch {
      refuse(`options.sendUrl: ${JSON.stringify(sendUrl)} is not a valid URL`);
    }
  }
  return {
    url,
    origin: new URL(url).origin,
    transports,
    raw,
    query,
    reconnect,
    sendUrl,
    // The least of each: a pause may be zero, a timeout or a queue may not.
    connectTimeoutMs: get("connectTimeoutMs", 5000, number, "a number", 1),
    pollIntervalMs: get("pollIntervalMs", 1000, number, "a number"),
    longPollTimeoutMs: get("longPollTimeoutMs", 25000, number, "a number", 1),
    heartbeatTimeoutMs: get("heartbeatTimeoutMs", 35000, number, "a number", 1),
    maxQueuedMessages: get("maxQueuedMessages", 1000, number, "a number", 1),
    upgrade: get("upgrade", true, flag, "true or false"),
    withCredentials: get("withCredentials", false, flag, "true or false"),
    autoConnect: get("autoConnect", true, flag, "true or false"),
  };
}

// ---- transports: (settings, makeUrl, sink) -> { close(), send?(data), watch?(name) } ----
// `makeUrl()` is the URL of a request with the current resume point. A sink: open(), text(data,
// event, id), bin(bytes), close(reason, retryAfterMs, http).

function websocket(s, makeUrl, on) {
  const ws = new WebSocket(makeUrl());
  ws.binaryType = "arraybuffer";
  ws.onopen = () => on.open();
  ws.onmessage = ({ data }) => (typeof data == "string" ? on.text(data) : on.bin(new Uint8Array(data)));
  // `error` is always followed by `close`, which carries the code: listen to that alone.
  ws.onclose = ({ code, reason }) => on.close(`websocket closed (${code}${reason ? ` ${reason}` : ""})`);
  return {
    send: (data) => ws.send(data),
    close() {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState < 2) ws.close(1000);
    },
  };
}

function eventsource(s, makeUrl, on, names) {
  const es = new EventSource(makeUrl(), { withCredentials: s.withCredentials });
  let live = 1;
  const watched = new Set();
  // Raw event streams: a listener per event name the page listens for (EventSource has no
  // "any event"); ids are passed on. Session frames carry their own sequence numbers.
  const watch = (name) => {
    if (watched.has(name)) return;
    watched.add(name);
    es.addEventListener(name, (e) => live && typeof e.data == "string" &&
      on.text(e.data, name == "message" ? undefined : name, (s.raw && e.lastEventId) || undefined));
  };
  es.onopen = () => live && on.open();
  // The browser would reconnect on its own, but with the URL it first had: the machine decides
  // about reconnection (and resumes with current parameters), so stop here. CONNECTING: the stream
  // dropped; CLOSED: the browser gave up (an HTTP error status or a wrong content type).
  es.onerror = () => {
    const dropped = es.readyState == 0;
    es.close();
    if (live) on.close(dropped ? "event stream dropped" : "event stream refused");
  };
  watch("message");
  if (s.raw) names.forEach(watch);
  return {
    watch,
    close() {
      live = 0;
      es.close();
    },
  };
}

function streaming(s, makeUrl, on) {
  // The body is read as it grows, from where the last read ended: as an event stream, or, raw
  // protocol with another content type, line by line (the partial last line kept for later).
  let offset = 0, feed, rest;
  const read = (x, last) => {
    const chunk = x.responseText.slice(offset);
    offset += chunk.length;
    if (feed) feed(chunk);
    else if (rest != null) {
      const lines = (rest + chunk).split(/\r?\n/);
      rest = last ? "" : lines.pop();
      for (const line of lines) if (line) on.text(line);
    }
  };
  const req = request("GET", makeUrl(), null, s.withCredentials, (state, x) => {
    if (state == 2) {
      if (x.status < 200 || x.status > 299) return on.close(...http("stream", x), 1);
      const type = x.getResponseHeader("Content-Type");
      const stream = /^text\/event-stream/.test(type);
      // A captive portal's or proxy's page, not the server's stream.
      if (!s.raw && !stream) return on.close(`stream answered ${type || "no content type"}, not an event stream`, 0, 1);
      if (stream) feed = eventStream((data, type, id) => on.text(data, type == "message" ? undefined : type, id || undefined));
      else rest = "";
      if (s.raw) on.open();
    } else if (state == 3) read(x);
    else if (state == 4) {
      read(x, 1);
      on.close("stream ended");
    } else on.close("stream request failed");
  });
  return { close: req.close };
}

let callbacks = 0;

function iframe(s, makeUrl, on) {
  const doc = globalThis.document;
  if (!doc) throw Error("needs a page with a document");
  const frame = doc.createElement("iframe");
  frame.setAttribute("aria-hidden", "true");
  frame.tabIndex = -1;
  frame.style.display = "none";
  // The frame's messages and its `load` reach the page by different paths (with site isolation,
  // from another process), so the last messages may arrive after `load`: its end is reported once
  // it loaded and nothing arrived for a moment. Raw: a message arriving after the end is lost;
  // session: it is only sent again by the resume, so a long wait would delay every reconnect.
  const grace = s.raw ? 500 : 50;
  let url = makeUrl(), live = 1, loaded = 0, timer, name, listener;
  const activity = () => {
    if (!loaded) return;
    clearTimeout(timer);
    timer = setTimeout(() => live && on.close("iframe stream ended"), grace);
  };
  if (s.raw) {
    // The seeds' style: the scripts call `parent[NAME](data)`.
    let opened = 0;
    name = `__realtimeWasmIframe${++callbacks}`;
    globalThis[name] = (data) => {
      if (!live) return;
      if (!opened++) on.open();
      on.text(typeof data == "string" ? data : JSON.stringify(data) ?? "");
      activity();
    };
    url += `${url.includes("?") ? "&" : "?"}callback=${name}`;
  } else {
    // Only messages from this transport's own frame, from the server's origin.
    listener = ({ origin, source, data }) => {
      if (live && origin === s.origin && source === frame.contentWindow && typeof data == "string") {
        on.text(data);
        activity();
      }
    };
    addEventListener("message", listener);
  }
  frame.onload = () => {
    loaded = 1;
    activity();
  };
  frame.src = url;
  (doc.body ?? doc.documentElement).append(frame);
  return {
    close() {
      live = 0;
      removeEventListener("message", listener);
      clearTimeout(timer);
      frame.onload = null;
      // Stop the load before removing the frame, so the browser drops the connection now.
      frame.src = "about:blank";
      frame.remove();
      if (name) delete globalThis[name];
    },
  };
}

/** Long polling (`long`) or short polling: a loop of GETs, each URL with the current resume point. */
function polling(s, long, makeUrl, on) {
  let live = 1, opened = 0, req, timer;
  const stop = (reason, retryAfter, status) => {
    clearTimeout(timer);
    req?.close();
    if (live) on.close(reason, retryAfter, status);
  };
  const poll = () => {
    let url = makeUrl();
    // The first poll of a session attempt is answered at once (it opens the transport); only
    // the later ones ask the server to hold them.
    if (long && !s.raw && opened) url += `${url.includes("?") ? "&" : "?"}wait=${s.longPollTimeoutMs}`;
    try {
      req = request("GET", url, null, s.withCredentials, (state, x) => {
        if (state == 0) return stop("poll request failed");
        if (state != 4) return;
        clearTimeout(timer);
        const body = x.responseText;
        if (x.status < 200 || x.status > 299) {
          // The session protocol's refusals carry an `x` frame in the body (unknown session, bad
          // token), which the machine must see to start over.
          if (!s.raw && body[0] == "{") on.text(body);
          return stop(...http("poll", x), 1);
        }
        if (!opened++ && s.raw) on.open();
        // Raw protocol: an empty answer (204) is "no message".
        if (!(s.raw && (x.status == 204 || !body))) on.text(body);
        if (!live) return;
        if (long) poll();
        else timer = setTimeout(poll, s.pollIntervalMs);
      });
    } catch (e) {
      return stop(`${url}: ${e.message}`);
    }
    // A long poll held longer than the server may hold it is abandoned and asked again ("timeout
    // retry"), not counted as a failure: some proxies swallow held requests silently.
    if (long) timer = setTimeout(() => (req.close(), poll()), s.longPollTimeoutMs + LONG_POLL_GRACE);
  };
  poll();
  return {
    close() {
      live = 0;
      stop();
    },
  };
}

const OPENERS = [
  websocket,
  eventsource,
  streaming,
  iframe,
  (s, makeUrl, on) => polling(s, true, makeUrl, on),
  (s, makeUrl, on) => polling(s, false, makeUrl, on),
];

// ---- the client ----

// Frees the machine of a client collected without `free()` (a closed one: an open one is held by
// its transport's listeners).
const machines = globalThis.FinalizationRegistry && new FinalizationRegistry(([x, port]) => x.rt_free(port));

/**
 * A realtime connection to a server over the best browser transport that works (the npm
 * package's `RealtimeClient`; its declarations are in src/js.rs). `exports`: the wasm file's
 * exports, given by Rust; in the package, those of the glue it is part of.
 */
export class RealtimeClient {
  #x; // the wasm file's exports
  #m; // the number of this client's machine
  #s; // the checked settings
  // Listeners: [name, listener]; name null: every event (Rust's `subscribe`). Replaced, never
  // changed in place, so an event goes to the listeners there were when it fired, uncopied.
  #l = [];
  #names = []; // named events listened for (raw event streams deliver only those)
  #queue = []; // payloads of the outbox, in the machine's order
  #t = []; // timers, by slot
  #texts = []; // recent failure texts, by number & 15
  #n = 0; // the number of the last text
  #c; // the transport held: { a: attempt, k: kind, t: transport }
  #pr; // the upgrade probe held, the same way
  #up; // the POST in flight
  #ended = 0; // the POST's answer ended the session
  #running = 0; // commands are being performed
  #sid; // the session's id and token
  #token;
  #closeReason = "";
  #wake = () => this.#input(WAKE);
  #visible = () => globalThis.document.visibilityState == "visible" && this.#wake();

  constructor(url, options, exports) {
    // `wasm`: the exports in the glue scripts/finish-pkg.mjs inlines this module into.
    const x = (this.#x = exports ?? wasm);
    this.#m = x.rt_new();
    let s;
    try {
      s = settings(url, options, this.#ask(READ, 9));
    } catch (e) {
      x.rt_free(this.#m);
      throw e;
    }
    machines?.register(this, [x, this.#m], this);
    this.#s = s;
    const r = s.reconnect || {}, limit = r.maxAttempts != null;
    const flags = s.raw | s.upgrade << 1 | !!s.reconnect << 2 | limit << 3 | (s.sendUrl != null) << 4;
    const order = s.transports.reduce((order, kind, i) => order | (kind + 1) << 3 * i, 0);
    this.#ask(CONFIGURE, flags, order, s.connectTimeoutMs, s.pollIntervalMs, s.longPollTimeoutMs);
    this.#ask(CONFIGURE_MORE, s.maxQueuedMessages, limit ? r.maxAttempts : 0, s.heartbeatTimeoutMs, r.initialDelayMs, r.maxDelayMs);
    this.#ask(SEED, 0, 0, Math.random() * 2 ** 53);
    if (s.autoConnect) this.#input(AUTO);
  }

  // ---- what the user calls ----

  /** Connects (after `close()`, or with `autoConnect: false`); nothing while connecting or open. */
  connect() {
    this.#input(CONNECT);
  }

  /** Closes for good and emits `close` (`code` default 1000); `connect()` starts again. */
  close(code = 1000, reason = "") {
    this.#closeReason = reason;
    this.#input(CLOSE, code);
  }

  /** Closes (a `close` with reason "client dropped" unless closed already) and frees the machine. */
  free() {
    if (this.#m === undefined) return;
    this.#input(CLOSE, 1000, 1);
    this.#release(0);
    this.#release(1);
    this.#abortPost();
    this.#page(0);
    this.#t.forEach(clearTimeout);
    machines?.unregister(this);
    this.#x.rt_free(this.#m);
    this.#m = undefined;
  }

  [Symbol.dispose]() {
    this.free();
  }

  /** Adds `listener` for `name`; returns a function that removes it. */
  on(name, listener) {
    check("on", name, listener);
    const entry = [name, listener];
    this.#l = [...this.#l, entry];
    this.watch(name);
    return () => (this.#l = this.#l.filter((e) => e !== entry));
  }

  /** Removes the first registration of `listener` for `name`. */
  off(name, listener) {
    check("off", name, listener);
    const i = this.#l.findIndex(([n, f]) => n === name && f === listener);
    if (i >= 0) this.#l = this.#l.filter((_, j) => j != i);
  }

  /** Sends a string, `ArrayBuffer` or `Uint8Array` (binary is copied: the caller may reuse it). */
  send(data) {
    if (typeof data == "string") return this.#enqueue({ d: data }, data.length, utf8(data));
    let bytes;
    if (data instanceof Uint8Array) bytes = data.slice();
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data.slice(0));
    else wrong("send", "a string, ArrayBuffer or Uint8Array", data);
    this.#enqueue({ b: bytes }, bytes.length, bytes.length);
  }

  /** Sends the named event `name` with a JSON value (session protocol). */
  emit(name, value) {
    if (typeof name != "string") refuse(`emit: the event name must be a string, got ${describe(name)}`);
    if (this.#s.raw) refuse('emit: named events need the session protocol; with protocol "raw" use send');
    if (!name) refuse("emit: the event name must not be empty");
    let json;
    try {
      json = JSON.stringify(value);
    } catch {}
    if (typeof json != "string") refuse(`emit(${JSON.stringify(name)}): the value cannot be serialised to JSON`);
    this.#enqueue({ e: name, v: json }, name.length + json.length, utf8(name) + utf8(json));
  }

  /** Counters since the client was created. */
  stats() {
    const [messagesIn, messagesOut, bytesIn, bytesOut, reconnects, fallbacks, upgrades] = [2, 3, 4, 5, 6, 7, 8].map((k) => this.#ask(READ, k));
    return { messagesIn, messagesOut, bytesIn, bytesOut, reconnects, fallbacks, upgrades };
  }

  get state() {
    return STATES[this.#ask(READ, 0)];
  }

  get transport() {
    return KINDS[this.#ask(READ, 1)] ?? null;
  }

  get sessionId() {
    return this.#sid ?? null;
  }

  /** Makes transports that need it (raw EventSource) deliver server events named `name`. */
  watch(name) {
    if (BUILTIN.includes(name) || this.#names.includes(name)) return;
    this.#names.push(name);
    if (this.#s.raw) this.#c?.t?.watch?.(name);
  }

  /** Adds (`on`) or removes a listener of every event, called with the event's name first (Rust's `subscribe`). */
  tap(listener, on) {
    if (on) this.#l = [...this.#l, [null, listener]];
    else this.#l = this.#l.filter(([, f]) => f !== listener);
  }

  #enqueue(item, size, bytes) {
    // In the queue before the machine hears of it: the command sending it may come at once.
    this.#queue.push(item);
    const refused = this.#input(SEND, 0, size, bytes);
    if (!refused) return;
    this.#queue.pop();
    throw [
      ,
      fail("the client is closed; call connect() first", "closed"),
      fail('send: protocol "raw" sends over WebSocket or to options.sendUrl, and neither is set', "invalid_argument"),
      fail(`send: the message is ${bytes} bytes; the limit is ${MAX_MESSAGE}`, "too_large"),
      fail(`send: ${this.#s.maxQueuedMessages} messages are already queued (options.maxQueuedMessages)`, "queue_full"),
    ][refused];
  }

  // ---- the machine ----

  /** Tells the machine what happened, performs what it asks, and returns its answer. */
  #input(op, a, b, c, d, e) {
    const answer = this.#ask(op, a, b, c, d, e);
    this.#run();
    return answer;
  }

  /**
   * Whether to deliver a message of attempt `a` (`op` MSG or RAW): the machine says so, and the
   * attempt is still the one held once the commands it asked for ran (a listener of an error
   * reported before the message may have closed the client).
   */
  #message(op, a, bytes, seq) {
    const answer = this.#ask(op, a, bytes, seq);
    if (answer & 2) this.#run();
    return answer & 1 && this.#c?.a === a;
  }

  /**
   * The machine's answer to `op`. The wasm function takes numbers as WebAssembly does: `a` and
   * `b` as 32-bit integers (absent: 0), `c` to `e` as doubles (true: 1; absent must be 0, not NaN).
   */
  #ask(op, a, b, c = 0, d = 0, e = 0) {
    if (this.#m === undefined) throw fail("the client was freed", "closed");
    return this.#x.rt_i(this.#m, op, a, b, c, d, e);
  }

  /**
   * Performs the machine's commands (`cmd` in src/port.rs) until there are none, unless a loop
   * further up the stack is doing it already: a command may call a listener, and a listener may
   * call the client, whose input queues more commands for the loop that is running.
   */
  #run() {
    if (this.#running || this.#m === undefined) return;
    this.#running = 1;
    const arg = (k) => this.#ask(ARG, k);
    try {
      for (let op; (op = this.#ask(NEXT)) >= 0; ) {
        const a = arg(0), b = arg(1);
        if (op == 0 || op == 2) this.#open(a, b, op == 2);
        else if (op == 1 || op == 3) this.#release(op == 3);
        else if (op == 4) timeout(this.#t, a, b, () => this.#input(TIMER, a));
        else if (op == 5 || op == 6) this.#out(a, b, arg(2), arg(3), op == 6);
        else if (op == 7) this.#abortPost();
        else if (op == 8) this.#queue.splice(0, a);
        else if (op == 9) this.#sid = this.#token = undefined;
        else if (op == 10) this.#page(a);
        else this.#event(a, b, ...[2, 3, 4, 5, 6, 7, 8].map(arg));
      }
    } finally {
      this.#running = 0;
    }
  }

  /** Opens a transport of `kind` for attempt `a` (or upgrade probe `a`). */
  #open(a, kind, probe) {
    this.#release(probe);
    let url;
    const makeUrl = () => (url = this.#endpoint(kind, probe));
    const on = probe ? this.#probeSink(a) : this.#sink(a);
    const held = { a, k: kind };
    if (probe) this.#pr = held;
    else this.#c = held;
    try {
      held.t = OPENERS[kind](this.#s, makeUrl, on, this.#names);
    } catch (e) {
      // Reported from a task, as any other failure: never from inside a command.
      const reason = `${kind == 3 ? "iframe" : url}: ${e?.message ?? e}`;
      queueMicrotask(() => on.close(reason));
    }
  }

  #release(probe) {
    const held = probe ? this.#pr : this.#c;
    if (probe) this.#pr = undefined;
    else this.#c = undefined;
    held?.t?.close();
  }

  /**
   * Sends queue items `from..from + count`, numbered from `first`, after an acknowledgement of
   * server messages up to `ack` (< 0: none): over the WebSocket, or by one POST (`post`).
   */
  #out(ack, from, count, first, post) {
    const raw = this.#s.raw, items = this.#queue.slice(from, from + count);
    if (post) return this.#post(ack, items, first);
    const ws = this.#c?.t;
    try {
      if (ack >= 0) ws.send(`{"t":"a","a":${ack}}`);
      items.forEach((item, i) => ws.send(raw ? item.d ?? item.b : frame(first + i, item, 1)));
      // The raw protocol has no acknowledgements: handed to the socket is done.
      if (raw) this.#queue.splice(0, count);
    } catch {
      // The socket is closing: its close event reconnects, and the queue keeps everything the
      // server has not acknowledged.
    }
  }

  #post(ack, items, first) {
    const raw = this.#s.raw;
    let url, body;
    if (raw) {
      url = this.#s.sendUrl;
      const { d, b } = items[0];
      body = b ? base64(b) : d;
    } else {
      const frames = items.map((item, i) => frame(first + i, item));
      if (ack >= 0) frames.unshift(`{"t":"a","a":${ack}}`);
      body = `[${frames}]`;
      url = this.#endpoint(-1);
    }
    // `ended`: the answer ended the session (an `x` frame, reported with the frames).
    const failed = (reason, retryAfter) => {
      this.#up = undefined;
      this.#input(POST_FAILED, 0, this.#why(reason), retryAfter, this.#ended);
    };
    const done = (state, x) => {
      if (state < 4) return state || failed("send request failed");
      const text = x.responseText;
      this.#up = undefined;
      this.#ended = 0;
      if (x.status > 199 && x.status < 300) {
        if (!raw && text) this.#frames(SESSION, text, text.length);
        return this.#input(POSTED);
      }
      // A refusal of the session protocol says why in an `x` frame (unknown session, bad token):
      // handled like one arriving downstream (a new session, the outbox sent again).
      if (!raw && text[0] == "{" && text.includes('"x"')) this.#frames(SESSION, text, text.length);
      failed(...http("send", x));
    };
    try {
      this.#up = request("POST", url, body, this.#s.withCredentials, done);
    } catch (e) {
      queueMicrotask(() => failed(`${url}: ${e.message}`));
    }
  }

  #abortPost() {
    this.#up?.close();
    this.#up = undefined;
  }

  /** Watches for the network coming back and the page becoming visible (or stops: `on` false). */
  #page(on) {
    const doc = globalThis.document;
    removeEventListener("online", this.#wake);
    doc?.removeEventListener("visibilitychange", this.#visible);
    if (!on) return;
    addEventListener("online", this.#wake);
    doc?.addEventListener("visibilitychange", this.#visible);
  }

  // ---- events ----

  #fire(name, a, b) {
    for (const [n, f] of this.#l) {
      if (n === name) call(f, a, b);
      else if (n === null) call(f, name, a, b);
    }
  }

  /** A message or named event to its listeners. */
  #deliver(name, data, seq, id, named) {
    this.#fire(name, data, { transport: KINDS[this.#c?.k], seq, id: id ?? null, event: named ?? null });
  }

  /**
   * The machine's events: `kind` 0 open, 1 state, 2 transport, 3 reconnecting, 4 error, 5 close,
   * with numbers `x`, `y`, `z` and a reason (`why` with `wa`, `wb`; `prefix` with `pa`).
   */
  #event(kind, x, y, z, why, wa, wb, prefix, pa) {
    const reason = this.#reason(why, wa, wb, prefix, pa);
    this.#fire(
      ["open", "state", "transport", "reconnecting", "error", "close"][kind],
      kind == 0 ? { transport: KINDS[x] }
        : kind == 1 ? { from: STATES[x], to: STATES[y] }
          : kind == 2 ? { from: KINDS[x] ?? null, to: KINDS[y], reason }
            : kind == 3 ? { attempt: x, delayMs: y, transport: KINDS[z] }
              : kind == 4 ? fail(reason, CODES[x])
                : { code: x, reason, wasClean: !!y },
    );
  }

  /** The words of a reason (`Why` and `Prefix` in src/machine/command.rs, in their order; events are rare, so all are written and one is taken). */
  #reason(why, a, b, prefix, pa) {
    const kind = KINDS[a];
    const text = [
      this.#texts[a & 15],
      `${kind} did not open within ${b} ms`,
      `${kind} silent for ${b} ms (heartbeat timeout)`,
      "the server acknowledged messages never sent",
      `server messages ${a} to ${b} were skipped; fetching them again`,
      `server messages ${a} to ${b} were lost`,
      `the sequence went back to ${a} on one connection`,
      "the server replaced the session; messages in flight may have been lost",
      `${kind} dropped 3 times in a row before delivering anything`,
      `upgrade: ${kind} is reachable`,
      "the server refused a new session",
      `${this.#closeReason}`,
      "client dropped",
    ][why];
    return [text, `no transport could connect (last: ${KINDS[pa]}: ${text})`, `gave up after ${pa} attempts: ${text}`, `upstream POST failed: ${text}`][prefix];
  }

  /** Keeps `text` among the recent texts; returns its number, for the machine to name it by. */
  #why(text) {
    this.#texts[++this.#n & 15] = text;
    return this.#n;
  }

  // ---- what arrives ----

  /** The URL of a request of transport `kind` (-1: the upstream POST). */
  #endpoint(kind, probe) {
    const s = this.#s, url = new URL(s.url), params = url.searchParams;
    for (const [key, value] of s.query) params.append(key, value);
    if (!s.raw) {
      url.pathname = url.pathname.replace(/\/+$/, "") + ["/send", "/ws", "/sse", "/sse", "/iframe", "/poll", "/poll"][kind + 1];
      if (this.#sid) {
        params.append("sid", this.#sid);
        params.append("token", this.#token);
        if (kind >= 0) params.append("after", this.#ask(AFTER));
      }
      if (kind == 3) params.append("origin", location.origin);
      if (probe) params.append("probe", 1);
    }
    if (!kind) url.protocol = url.protocol == "https:" ? "wss:" : "ws:";
    return url.href;
  }

  /** Where the transport of attempt `a` reports. */
  #sink(a) {
    const live = () => this.#c?.a === a;
    return {
      open: () => live() && this.#input(OPENED, a),
      text: (data, event, id) => {
        if (!live()) return;
        if (!this.#s.raw) return this.#frames(a, data, data.length);
        if (this.#message(RAW, a, data.length)) this.#deliver(event ?? "message", data, null, id, event);
      },
      bin: (bytes) => {
        if (!live()) return;
        if (this.#s.raw) return this.#message(RAW, a, bytes.length) && this.#deliver("message", bytes, null);
        if (bytes.length < 8) return this.#bad(a, bytes.length, "binary frame shorter than its sequence number");
        const view = new DataView(bytes.buffer, bytes.byteOffset);
        const seq = view.getUint32(0) * 4294967296 + view.getUint32(4);
        if (this.#message(MSG, a, bytes.length, seq)) this.#deliver("message", bytes.subarray(8), seq);
      },
      close: (reason, retryAfter, status) => live() && this.#input(CLOSED, a, this.#why(reason), retryAfter, status),
    };
  }

  /** Where upgrade probe `id` reports: its open frame of this session means it works, an `x` that it does not. */
  #probeSink(id) {
    const live = () => this.#pr?.a === id;
    const text = (data) => {
      let frames;
      try {
        frames = [].concat(JSON.parse(data));
      } catch {
        return;
      }
      if (frames.some((f) => f?.t == "o" && f.sid === this.#sid)) this.#input(PROBE_OK, id);
      else if (frames.some((f) => f?.t == "x")) this.#input(PROBE_FAILED, id);
    };
    return {
      open() {},
      bin() {},
      text: (data) => live() && text(data),
      close: () => live() && this.#input(PROBE_FAILED, id),
    };
  }

  /** Text of the session protocol: one frame, or a poll answer's array of them. */
  #frames(a, data, bytes) {
    // The server escapes U+FFFD in its frames, so a raw one means the browser replaced bytes
    // that were not UTF-8: the frame is corrupt, whatever it parses to.
    if (data.includes("\uFFFD")) return this.#bad(a, bytes, "a frame arrived corrupted (invalid UTF-8)");
    let frames;
    try {
      frames = JSON.parse(data);
    } catch {
      return this.#bad(a, bytes, "a frame is not valid JSON");
    }
    if (!Array.isArray(frames)) return this.#read(a, frames, bytes);
    if (!frames.length) return this.#input(RX, a, bytes);
    for (const frame of frames) {
      if (a != SESSION && this.#c?.a !== a) return;
      this.#read(a, frame, bytes);
      bytes = 0;
    }
  }

  #bad(a, bytes, reason) {
    this.#input(BAD, a, bytes, this.#why(reason));
  }

  /** One session frame (docs/PROTOCOL.md, "Frames"): read, reported, delivered if the machine says so. */
  #read(a, f, bytes) {
    const t = f?.t, s = f?.s;
    if (t == "m" || t == "e") {
      if (!whole(s)) return this.#bad(a, bytes, "a message frame has no sequence number");
      let data = f.d, name;
      if (t == "e") {
        name = f.e;
        if (typeof name != "string") return this.#bad(a, bytes, "an event frame has no name");
        data = f.v === undefined ? null : f.v;
      } else if (typeof data != "string" && (data = unbase64(f.b)) === undefined) {
        return this.#bad(a, bytes, "a message frame has neither text nor valid base64");
      }
      if (this.#message(MSG, a, bytes, s)) this.#deliver(name ?? "message", data, s, null, name);
    } else if (t == "o") {
      const { sid, token } = f;
      if (typeof sid != "string" || typeof token != "string") return this.#bad(a, bytes, "open frame without a session");
      const same = sid === this.#sid;
      this.#sid = sid;
      this.#token = token;
      this.#input(OPEN, a, bytes, same, num(f.ack), num(f.hb));
    } else if (t == "a") this.#input(ACK, a, bytes, num(f.a));
    else if (t == "h") this.#input(BEAT, a, bytes, whole(s) ? s : -1);
    else if (t == "g") {
      const from = num(f.from);
      this.#input(GAP, a, bytes, from, whole(f.to) ? f.to : from);
    } else if (t == "r") this.#input(RECYCLE, a, bytes);
    else if (t == "x") {
      const code = str(f.code);
      const end = code == "unknown_session" || code == "bad_token";
      this.#ended |= end;
      const what = end ? "ended the session" : "refused the connection";
      this.#input(end ? ENDED : REFUSED, a, bytes, this.#why(`the server ${what} (${code}): ${str(f.reason)}`));
    } else if (typeof t != "string") this.#bad(a, bytes, "a frame has no type");
    // Unknown frame types are ignored, so servers can add them; they still show the connection lives.
    else this.#input(RX, a, bytes);
  }
}

/** Checks `on`/`off` arguments. */
function check(method, name, listener) {
  if (typeof name != "string" || !name) refuse(`${method}: the event name must be a non-empty string, got ${describe(name)}`);
  if (typeof listener != "function") refuse(`${method}(${JSON.stringify(name)}): the listener must be a function, got ${describe(listener)}`);
}

/** An upstream frame of outbox item `c` (`binary`: a binary message as a WebSocket frame of its own). */
function frame(c, { d, b, e, v }, binary) {
  if (b && binary) {
    const framed = new Uint8Array(b.length + 8);
    const view = new DataView(framed.buffer);
    view.setUint32(0, c / 4294967296);
    view.setUint32(4, c >>> 0);
    framed.set(b, 8);
    return framed;
  }
  return e !== undefined ? `{"t":"e","c":${c},"e":${JSON.stringify(e)},"v":${v}}`
    : b ? `{"t":"m","c":${c},"b":"${base64(b)}"}`
      : `{"t":"m","c":${c},"d":${JSON.stringify(d)}}`;
}
