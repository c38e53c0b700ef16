// The JavaScript half of the npm package's `RealtimeClient` (src/js.rs is the Rust half): checking
// the constructor's arguments, the listener registry, event objects and argument errors. Plain
// JavaScript does these in a fraction of the bytes the same work takes in wasm (every property
// read or write from Rust is an import call, every message a formatted string).
// scripts/finish-pkg.mjs inlines this module into the package's glue.

// The transport names in `TransportKind::ALL` order (a test in src/js.rs checks the order).
const TRANSPORTS = ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"];
const OPTIONS = ["transports", "protocol", "query", "connectTimeoutMs", "pollIntervalMs", "longPollTimeoutMs", "heartbeatTimeoutMs", "reconnect", "upgrade", "withCredentials", "sendUrl", "maxQueuedMessages", "autoConnect"];
const RECONNECT = ["initialDelayMs", "maxDelayMs", "maxAttempts"];
const BUILTIN = ["open", "message", "close", "error", "transport", "reconnecting", "state"];
// The longest timeout or delay accepted (`MAX_MS` in src/options.rs): one day.
const MAX_MS = 86400000;

/** An `Error` with a `code` property, as every error of the client is. */
export function error(message, code) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** A short description of a value's type for error messages: `the number 42`, `an array`, `null`. */
const describe = (v) =>
  v === null ? "null"
    : Array.isArray(v) ? "an array"
      : typeof v == "string" ? `the string ${JSON.stringify(v)}`
        : typeof v == "number" ? `the number ${v}`
          : typeof v;

/** An `invalid_argument` error: `what` followed by a description of `value`. */
export const invalid = (what, value) => error(what + describe(value), "invalid_argument");

const fail = (message) => {
  throw error(message, "invalid_argument");
};
const bad = (what, value) => {
  throw invalid(what, value);
};
const isObject = (v) => typeof v == "object" && v !== null && !Array.isArray(v);
const checkKeys = (what, object, allowed) => {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) fail(`${what}: unknown option ${JSON.stringify(key)} (known: ${allowed.join(", ")})`);
  }
};
const whole = (what, v, max) =>
  typeof v != "number" ? bad(`${what}: expected a number, got `, v)
    : Number.isInteger(v) && v >= 0 && v <= max ? v
      : fail(`${what}: ${describe(v)} is out of range (a whole number from 0 to ${max})`);

/**
 * Checks `url` and `options` and writes the options into `n`, which holds the defaults:
 * [raw, connectTimeoutMs, pollIntervalMs, longPollTimeoutMs, heartbeatTimeoutMs,
 * maxQueuedMessages, upgrade, withCredentials, autoConnect, reconnect, initialDelayMs,
 * maxDelayMs, has maxAttempts, maxAttempts, transport count (99: not given), transports...].
 * Returns [sendUrl, query key, query value, ...]. Throws an `invalid_argument` Error naming the
 * bad input. Combinations (an empty transport list, ranges, ...) are `Options::validate`'s.
 */
export function options(url, o, n) {
  if (typeof url != "string") bad("url: expected a string, got ", url);
  const strings = [undefined];
  if (o == null) return strings;
  if (!isObject(o)) bad("options: expected an object, got ", o);
  checkKeys("options", o, OPTIONS);
  const { transports, protocol, query, reconnect, sendUrl } = o;
  if (transports !== undefined) {
    if (!Array.isArray(transports)) bad("options.transports: expected an array of transport names, got ", transports);
    const list = [];
    for (const name of transports) {
      if (typeof name != "string") bad("options.transports: expected transport names, got ", name);
      const index = TRANSPORTS.indexOf(name);
      if (index < 0) fail(`options.transports: unknown transport "${name}" (expected one of ${TRANSPORTS.join(", ")})`);
      if (list.includes(index)) fail(`options.transports: ${name} is listed twice`);
      list.push(index);
    }
    n[14] = list.length;
    n.set(list, 15);
  }
  if (protocol !== undefined) {
    if (protocol !== "session" && protocol !== "raw") bad('options.protocol: expected "session" or "raw", got ', protocol);
    n[0] = +(protocol == "raw");
  }
  if (query !== undefined) {
    if (!isObject(query)) bad("options.query: expected an object of strings, got ", query);
    for (const [key, value] of Object.entries(query)) {
      if (typeof value != "string") bad(`options.query.${key}: expected a string, got `, value);
      strings.push(key, value);
    }
  }
  ["connectTimeoutMs", "pollIntervalMs", "longPollTimeoutMs", "heartbeatTimeoutMs", "maxQueuedMessages"].forEach((key, i) => {
    if (o[key] !== undefined) n[1 + i] = whole(`options.${key}`, o[key], MAX_MS);
  });
  if (reconnect !== undefined && reconnect !== true) {
    if (reconnect === false) n[9] = 0;
    else {
      if (!isObject(reconnect)) bad("options.reconnect: expected false or { initialDelayMs, maxDelayMs, maxAttempts }, got ", reconnect);
      checkKeys("options.reconnect", reconnect, RECONNECT);
      const { initialDelayMs, maxDelayMs, maxAttempts } = reconnect;
      if (initialDelayMs !== undefined) n[10] = whole("options.reconnect.initialDelayMs", initialDelayMs, MAX_MS);
      if (maxDelayMs !== undefined) n[11] = whole("options.reconnect.maxDelayMs", maxDelayMs, MAX_MS);
      if (maxAttempts !== undefined) {
        n[12] = +(maxAttempts !== null);
        if (maxAttempts !== null) n[13] = whole("options.reconnect.maxAttempts", maxAttempts, 4294967295);
      }
    }
  }
  ["upgrade", "withCredentials", "autoConnect"].forEach((key, i) => {
    const v = o[key];
    if (v !== undefined) n[6 + i] = typeof v == "boolean" ? +v : bad(`options.${key}: expected true or false, got `, v);
  });
  if (sendUrl !== undefined) {
    if (typeof sendUrl != "string") bad("options.sendUrl: expected a URL string, got ", sendUrl);
    try {
      strings[0] = new URL(sendUrl, globalThis.location?.href).href;
    } catch {
      fail(`options.sendUrl: ${JSON.stringify(sendUrl)} is not a valid URL`);
    }
  }
  return strings;
}

// ---- listeners ----

/** Checks `on`/`off` arguments; returns the event name. */
const checkListener = (method, name, listener) => {
  if (typeof name != "string" || !name) bad(`${method}: the event name must be a non-empty string, got `, name);
  if (typeof listener != "function") bad(`${method}(${JSON.stringify(name)}): the listener must be a function, got `, listener);
  return name;
};

/** Adds `listener` for `name` to `registry`; returns its unsubscribe function. */
export function on(registry, name, listener) {
  const entry = [checkListener("on", name, listener), listener];
  registry.push(entry);
  return () => {
    const i = registry.indexOf(entry);
    if (i >= 0) registry.splice(i, 1);
  };
}

/** Removes the first registration of `listener` for `name`. */
export function off(registry, name, listener) {
  checkListener("off", name, listener);
  const i = registry.findIndex(([n, f]) => n === name && f === listener);
  if (i >= 0) registry.splice(i, 1);
}

/** `name` when it is a named server event (not a built-in one), else undefined. */
export const named = (name) => (BUILTIN.includes(name) ? undefined : name);

/**
 * Calls the listeners of `name` registered now with `(a, b)`; one that throws is reported, not
 * propagated.
 */
export function fire(registry, name, a, b) {
  for (const [n, f] of registry.slice()) {
    if (n === name) {
      try {
        f(a, b);
      } catch (e) {
        if (typeof reportError == "function") reportError(e);
      }
    }
  }
}

/**
 * `message` and named events: `(data, { transport, seq, id, event })`. `transport` is an index
 * into TRANSPORTS, `seq` < 0 is none, and `named` says `name` is the server event's name.
 */
export function message(registry, name, data, transport, seq, id, named) {
  fire(registry, name, data, { transport: TRANSPORTS[transport], seq: seq < 0 ? null : seq, id: id ?? null, event: named ? name : null });
}

/**
 * The other events, from what Rust passes: `kind` 0 open, 1 close, 2 transport, 3 reconnecting,
 * 4 state; `a`, `b`, `c` names or reasons, `x`, `y` numbers.
 */
export function event(registry, kind, a, b, c, x, y) {
  fire(registry, ["open", "close", "transport", "reconnecting", "state"][kind], [
    { transport: a },
    { code: x, reason: a, wasClean: !!y },
    { from: a ?? null, to: b, reason: c },
    { attempt: x, delayMs: y, transport: a },
    { from: a, to: b },
  ][kind]);
}

/** What `stats()` returns. */
export const stats = (messagesIn, messagesOut, bytesIn, bytesOut, reconnects, fallbacks, upgrades) =>
  ({ messagesIn, messagesOut, bytesIn, bytesOut, reconnects, fallbacks, upgrades });

/** `send`'s argument: a string stays one (undefined), binary becomes a Uint8Array; else throws. */
export function binary(data) {
  if (typeof data == "string") return;
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  bad("send: expected a string, ArrayBuffer or Uint8Array, got ", data);
}
