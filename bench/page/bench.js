// The benchmark page: two implementations of the same job, run side by side in one page load.
//
//   impl "client": RealtimeClient from /pkg/ (the package under test), one transport at a time.
//   impl "raw":    a plain-JS consumer of the same /rt endpoints, written directly against the
//                  browser API of that transport (WebSocket, EventSource, XMLHttpRequest, iframe +
//                  postMessage), parsing the session protocol's JSON frames itself and acknowledging
//                  like the client does (every 64 messages or after 1 s). It is the floor: what the
//                  same server stream costs with no library in between.
//
// bench/run.mjs calls window.bench.* through playwright. Every function resolves to a plain JSON
// object; a failure resolves to { error } rather than throwing, so one bad case does not end a run.
import init, { RealtimeClient } from "/pkg/realtime_wasm.js";

const params = new URLSearchParams(location.search);
/** The /rt endpoint of the implementation under test (this page's origin: same-origin). */
const BASE = `${location.origin}/rt`;
/** Where the latency sender publishes: the server itself, never through the byte-counting proxy. */
const DIRECT = `${params.get("direct") ?? location.origin}/rt`;

const now = () => performance.now();
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const ACK_EVERY = 64;
const ACK_INTERVAL_MS = 1000;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function queryString(pairs) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(pairs)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

// ---- the raw implementation: plain JS against the browser API ---------------------------------

/** One session of the session protocol over one transport, written the way a careful page would. */
class RawSession {
  constructor(base, transport, { query = {}, pollIntervalMs = 1000, longPollWaitMs = 25000 } = {}) {
    this.base = base;
    this.transport = transport;
    this.query = query;
    this.pollIntervalMs = pollIntervalMs;
    this.longPollWaitMs = longPollWaitMs;
    this.sid = null;
    this.token = null;
    this.after = 0; // highest s received
    this.acked = 0;
    this.lastAckAt = now();
    this.c = 0; // upstream sequence
    this.handlers = new Map();
    this.closed = false;
    this.attempt = 0;
    this.reconnects = 0;
    this.gaps = 0;
    this.outq = [];
    this.inflight = false;
    this.pendingAck = 0;
    this.conn = null;
    this.onLost = null; // bench hook: called when a connection is lost (not recycled)
    this.opened = new Promise((ok, fail) => {
      this.resolveOpen = ok;
      this.rejectOpen = fail;
    });
    this.ackTimer = setInterval(() => this.ackIfDue(true), ACK_INTERVAL_MS);
  }

  static async open(base, transport, options) {
    const session = new RawSession(base, transport, options);
    session.connect();
    await session.opened;
    return session;
  }

  on(name, fn) {
    this.handlers.set(name, fn);
  }

  params(extra = {}) {
    return { ...this.query, sid: this.sid ?? undefined, token: this.token ?? undefined, after: this.after || undefined, ...extra };
  }

  // One JSON frame, whatever transport carried it.
  frame(f) {
    switch (f.t) {
      case "o":
        this.sid = f.sid;
        this.token = f.token;
        this.resolveOpen();
        break;
      case "e":
      case "m":
        if (f.s <= this.after) return; // a replayed duplicate
        this.after = f.s;
        if (f.t === "e") this.handlers.get(f.e)?.(f.v, f.s);
        else this.handlers.get("message")?.(f.d, f.s);
        break;
      case "g":
        this.gaps++;
        this.after = Math.max(this.after, f.to);
        break;
      case "r":
        this.recycle();
        break;
      case "x":
        this.rejectOpen(new Error(`x frame: ${f.code}`));
        break;
      default: // a, h
        break;
    }
  }

  // After a batch of frames: acknowledge every 64 messages, or after 1 s (the client's policy).
  ackIfDue(timer = false) {
    if (this.closed || this.after === this.acked) return;
    if (this.transport === "longpolling" || this.transport === "polling") return; // `after` acks
    if (!timer && this.after - this.acked < ACK_EVERY && now() - this.lastAckAt < ACK_INTERVAL_MS) return;
    this.acked = this.after;
    this.lastAckAt = now();
    if (this.transport === "websocket") {
      if (this.conn?.readyState === WebSocket.OPEN) this.conn.send(`{"t":"a","a":${this.after}}`);
    } else {
      this.pendingAck = this.after;
      this.pump();
    }
  }

  emit(name, value) {
    const frame = { t: "e", c: ++this.c, e: name, v: value };
    if (this.transport === "websocket") this.conn.send(JSON.stringify(frame));
    else {
      this.outq.push(frame);
      this.pump();
    }
  }

  // HTTP upstream: one POST in flight, carrying everything queued (plus the latest ack).
  pump() {
    if (this.inflight || this.closed || !this.sid) return;
    const frames = this.outq.splice(0);
    if (this.pendingAck) {
      frames.push({ t: "a", a: this.pendingAck });
      this.pendingAck = 0;
    }
    if (!frames.length) return;
    this.inflight = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${this.base}/send${queryString({ ...this.query, sid: this.sid, token: this.token })}`);
    xhr.setRequestHeader("Content-Type", "text/plain");
    xhr.onloadend = () => {
      this.inflight = false;
      this.pump();
    };
    xhr.send(JSON.stringify(frames));
  }

  connect() {
    const attempt = ++this.attempt;
    const live = () => attempt === this.attempt && !this.closed;
    const lost = () => {
      if (!live()) return;
      this.reconnects++;
      this.onLost?.();
      this.connect();
    };
    switch (this.transport) {
      case "websocket": {
        const url = `${this.base.replace(/^http/, "ws")}/ws${queryString(this.params())}`;
        const ws = new WebSocket(url);
        this.conn = ws;
        ws.onmessage = (e) => {
          if (!live() || typeof e.data !== "string") return;
          this.frame(JSON.parse(e.data));
          this.ackIfDue();
        };
        ws.onclose = () => {
          if (!this.sid) this.rejectOpen(new Error("websocket closed before open"));
          else lost();
        };
        break;
      }
      case "eventsource": {
        const es = new EventSource(`${this.base}/sse${queryString(this.params())}`);
        this.conn = es;
        es.onmessage = (e) => {
          if (!live()) return;
          this.frame(JSON.parse(e.data));
          this.ackIfDue();
        };
        es.onerror = () => {
          es.close();
          if (!this.sid) this.rejectOpen(new Error("eventsource failed before open"));
          else lost();
        };
        break;
      }
      case "streaming": {
        const xhr = new XMLHttpRequest();
        this.conn = xhr;
        let pos = 0;
        const parse = () => {
          if (!live()) return;
          const text = xhr.responseText;
          let end;
          // WHATWG event stream, as this server writes it: blocks end with a blank line; we need
          // only the data lines (ids are the frames' own `s`).
          while ((end = text.indexOf("\n\n", pos)) !== -1) {
            const block = text.slice(pos, end);
            pos = end + 2;
            let data = null;
            for (const line of block.split("\n")) {
              if (line.startsWith("data:")) {
                const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
                data = data === null ? value : `${data}\n${value}`;
              }
            }
            if (data !== null) this.frame(JSON.parse(data));
            if (!live()) return;
          }
          this.ackIfDue();
        };
        xhr.open("GET", `${this.base}/sse${queryString(this.params())}`);
        xhr.onprogress = parse;
        xhr.onloadend = () => {
          parse();
          if (!this.sid) this.rejectOpen(new Error("stream ended before open"));
          else lost();
        };
        xhr.send();
        break;
      }
      case "iframe": {
        const frame = document.createElement("iframe");
        frame.style.display = "none";
        const serverOrigin = new URL(this.base).origin;
        const onMessage = (e) => {
          if (!live() || e.source !== frame.contentWindow || e.origin !== serverOrigin) return;
          this.frame(JSON.parse(e.data));
          this.ackIfDue();
        };
        window.addEventListener("message", onMessage);
        frame.src = `${this.base}/iframe${queryString(this.params({ origin: location.origin }))}`;
        // The document ends when the server drops or recycles it: a drop shows as its load event.
        frame.onload = () => setTimeout(lost, 50);
        this.conn = {
          close() {
            window.removeEventListener("message", onMessage);
            frame.remove();
          },
        };
        document.body.append(frame);
        break;
      }
      case "longpolling":
      case "polling": {
        const longPoll = this.transport === "longpolling" && this.sid !== null;
        const xhr = new XMLHttpRequest();
        this.conn = xhr;
        const extra = longPoll ? { wait: this.longPollWaitMs } : {};
        xhr.open("GET", `${this.base}/poll${queryString(this.params(extra))}`);
        xhr.onloadend = () => {
          if (!live()) return;
          if (xhr.status !== 200) {
            if (!this.sid) this.rejectOpen(new Error(`poll answered ${xhr.status}`));
            else setTimeout(() => live() && this.connect(), 100);
            return;
          }
          for (const f of JSON.parse(xhr.responseText)) this.frame(f);
          if (!live()) return;
          this.pump();
          if (this.transport === "longpolling") this.connect();
          else setTimeout(() => live() && this.connect(), this.pollIntervalMs);
        };
        xhr.send();
        break;
      }
      default:
        throw new Error(`unknown transport ${this.transport}`);
    }
  }

  // `r`: the server ends this response on purpose; reopen at once, same session.
  recycle() {
    this.dropConn();
    this.connect();
  }

  dropConn() {
    const c = this.conn;
    this.conn = null;
    this.attempt++;
    if (!c) return;
    if (c instanceof XMLHttpRequest) c.abort();
    else c.close();
  }

  open() {
    return this.opened;
  }

  close() {
    this.closed = true;
    clearInterval(this.ackTimer);
    this.dropConn();
  }
}

/** Plain-JS fallback, for the fallback baseline: WebSocket first; if it has not delivered its open
 * frame within `timeoutMs` (or fails first), EventSource. */
class RawFallback {
  constructor(base, { query = {}, timeoutMs = 2000 } = {}) {
    this.handlers = [];
    this.queue = [];
    this.session = null;
    this.transport = null;
    this.opened = this.start(base, query, timeoutMs);
  }

  async start(base, query, timeoutMs) {
    const ws = new RawSession(base, "websocket", { query });
    ws.connect();
    try {
      await withTimeout(ws.opened, timeoutMs, "websocket");
      this.use(ws, "websocket");
    } catch {
      ws.close();
      const es = new RawSession(base, "eventsource", { query });
      es.connect();
      await es.opened;
      this.use(es, "eventsource");
    }
  }

  use(session, transport) {
    this.session = session;
    this.transport = transport;
    for (const [name, fn] of this.handlers) session.on(name, fn);
    for (const [name, value] of this.queue) session.emit(name, value);
  }

  on(name, fn) {
    this.handlers.push([name, fn]);
    this.session?.on(name, fn);
  }

  emit(name, value) {
    if (this.session) this.session.emit(name, value);
    else this.queue.push([name, value]);
  }

  open() {
    return this.opened;
  }

  close() {
    this.session?.close();
  }
}

// ---- the package under test ----------------------------------------------------------------------

class ClientImpl {
  constructor(base, transport, { query = {}, pollIntervalMs, transports, connectTimeoutMs } = {}) {
    const options = { transports: transports ?? [transport], query, upgrade: false };
    if (pollIntervalMs !== undefined) options.pollIntervalMs = pollIntervalMs;
    if (connectTimeoutMs !== undefined) options.connectTimeoutMs = connectTimeoutMs;
    this.client = new RealtimeClient(base, options);
    this.errors = [];
    this.client.on("error", (e) => this.errors.push(e.code ?? String(e)));
    this.opened = new Promise((ok) => this.client.on("open", ok));
  }

  on(name, fn) {
    this.client.on(name, (value, info) => fn(value, info.seq));
  }

  emit(name, value) {
    this.client.emit(name, value);
  }

  open() {
    return this.opened;
  }

  close() {
    this.client.close();
  }

  get transport() {
    return this.client.transport;
  }
}

function make(impl, transport, options = {}, base = BASE) {
  if (impl === "client") return new ClientImpl(base, transport, options);
  const session = new RawSession(base, transport, options);
  session.connect();
  return session;
}

// ---- the proxy meter (bench/run.mjs exposes these when the page runs behind the counting proxy) ---

async function meterReset() {
  if (window.proxyReset) await window.proxyReset();
}
async function meterRead() {
  return window.proxyRead ? await window.proxyRead() : null;
}

function summary(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1], min: sorted[0] };
}

// ---- the benchmarks --------------------------------------------------------------------------------

/** Receive throughput: `count` named events of `size` bytes of padding, as fast as they come. */
async function throughput({ impl, transport, count, size = 64, query = {}, pollIntervalMs, meter = false, timeoutMs = 120000 }) {
  const s = make(impl, transport, { query, pollIntervalMs });
  try {
    await withTimeout(s.open(), 15000, "open");
    let got = 0;
    let last = 0;
    let disorder = 0;
    const done = new Promise((ok) => {
      s.on("burst", (v) => {
        got++;
        if (v.n !== last + 1) disorder++;
        last = v.n;
        if (v.n === count) ok();
      });
    });
    if (meter) await meterReset();
    const t0 = now();
    s.emit("burst", { count, size });
    await withTimeout(done, timeoutMs, `burst of ${count}`);
    const ms = now() - t0;
    const bytes = meter ? await meterRead() : undefined;
    return { ms, rate: count / (ms / 1000), got, disorder, bytes, errors: s.errors };
  } catch (e) {
    return { error: String(e.message ?? e) };
  } finally {
    s.close();
  }
}

/** One-way latency at a steady rate: a plain WebSocket session in this page publishes timestamped
 * events to a room (straight to the server) that the implementation under test has joined; the
 * receiver subtracts the send time (same page, same clock). */
async function latency({ impl, transport, rate = 200, count = 400, warmup = 20, pollIntervalMs, meter = false }) {
  const room = `lat-${Math.random().toString(36).slice(2)}`;
  const s = make(impl, transport, { pollIntervalMs });
  let sender;
  try {
    await withTimeout(s.open(), 15000, "open");
    sender = await withTimeout(RawSession.open(DIRECT, "websocket"), 15000, "sender open");
    // join, then an echo: upstream is in order, so once the echo is back the join is in effect.
    const synced = new Promise((ok) => s.on("echo", ok));
    s.emit("join", room);
    s.emit("echo", "sync");
    await withTimeout(synced, 15000, "join");
    const samples = [];
    let got = 0;
    const done = new Promise((ok) => {
      s.on("lat", (v) => {
        const ms = now() - v.t;
        got++;
        if (v.i >= warmup) samples.push(ms);
        if (v.i === count - 1) ok();
      });
    });
    if (meter) await meterReset();
    const interval = 1000 / rate;
    const pad = "x".repeat(24);
    const start = now();
    let i = 0;
    await new Promise((ok) => {
      const tick = () => {
        const due = Math.min(count, Math.floor((now() - start) / interval) + 1);
        while (i < due) {
          sender.emit("publish", { room, event: "lat", data: { i, t: now(), pad } });
          i++;
        }
        if (i >= count) ok();
        else setTimeout(tick, Math.max(0, start + i * interval - now()));
      };
      tick();
    });
    const sentMs = now() - start;
    await withTimeout(done, 15000 + (pollIntervalMs ?? 1000) * 2, "paced messages");
    const bytes = meter ? await meterRead() : undefined;
    return { ...summary(samples), got, sentRate: count / (sentMs / 1000), bytes, errors: s.errors };
  } catch (e) {
    return { error: String(e.message ?? e) };
  } finally {
    s.close();
    sender?.close();
  }
}

/** Time from construction to the first message (an echo of an emit queued at once), with the
 * WebSocket refused, hung or dropped on open: websocket then eventsource, 2 s connect timeout. */
async function fallback({ impl, fault }) {
  const query = fault ? { fault } : {};
  const t0 = now();
  let s;
  try {
    s =
      impl === "client"
        ? new ClientImpl(BASE, null, { transports: ["websocket", "eventsource"], query, connectTimeoutMs: 2000 })
        : new RawFallback(BASE, { query, timeoutMs: 2000 });
    const first = new Promise((ok) => s.on("echo", ok));
    s.emit("echo", "first");
    await withTimeout(first, 30000, "first message");
    return { ms: now() - t0, transport: s.transport };
  } catch (e) {
    return { error: String(e.message ?? e) };
  } finally {
    s?.close();
  }
}

/** Time to resume after a drop: a burst through `drop-every=N` (the server cuts the connection
 * after every N messages, abruptly). Each sample runs from the last message before the cut to the
 * first new message after it. */
async function resume({ impl, transport, dropEvery = 200, count = 2000 }) {
  const query = { fault: `drop-every=${dropEvery}` };
  const s = make(impl, transport, { query });
  try {
    await withTimeout(s.open(), 15000, "open");
    const samples = [];
    let lastAt = 0;
    let cut = false;
    const markCut = () => {
      cut = true;
    };
    if (impl === "client") {
      s.client.on("state", ({ to }) => {
        if (to === "reconnecting") markCut();
      });
    } else {
      s.onLost = markCut;
    }
    let got = 0;
    const done = new Promise((ok) => {
      s.on("burst", (v) => {
        const t = now();
        got++;
        if (cut) {
          samples.push(t - lastAt);
          cut = false;
        }
        lastAt = t;
        if (v.n === count) ok();
      });
    });
    const t0 = now();
    s.emit("burst", { count, size: 64 });
    await withTimeout(done, 60000, "burst through drops");
    return { ...summary(samples), totalMs: now() - t0, got, errors: s.errors };
  } catch (e) {
    return { error: String(e.message ?? e) };
  } finally {
    s.close();
  }
}

/** A fixed piece of CPU work (parse and re-serialise 100,000 small frames): its time, taken at
 * the start of every run, shows how much CPU the page got (other load on the machine slows it). */
function calibrate() {
  const t0 = now();
  let sum = 0;
  for (let i = 0; i < 100000; i++) {
    const f = JSON.parse(`{"t":"e","s":${i},"e":"burst","v":{"n":${i},"pad":"xxxxxxxxxxxxxxxx"}}`);
    sum += JSON.stringify(f.v).length;
  }
  return { ms: now() - t0, sum };
}

const ready = init().then(() => true);
window.bench = { ready, throughput, latency, fallback, resume, calibrate, RealtimeClient, RawSession };
