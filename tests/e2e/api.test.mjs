// The JavaScript API of the built package, as a page imports it from /pkg/ (the finished package:
// shortened import names, stripped glue): argument errors, listener bookkeeping, getters, binary,
// close. The Rust browser tests cover the same surface through wasm-bindgen-test; these run
// against what is actually published.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openDemoPage } from "./lib.mjs";

let browser;
let page;

before(async () => {
  browser = await launchBrowser();
  page = await openDemoPage(browser);
  await page.evaluate(async () => {
    const module = await import("/pkg/realtime_wasm.js");
    await module.default();
    window.rt = module;
    window.url = new URL("/rt", location.href).href;
  });
});
after(async () => {
  await browser?.close();
});

const run = (fn, arg) => page.evaluate(fn, arg);

describe("package API", () => {
  test("bad arguments throw an Error with code invalid_argument that names them", async () => {
    const errors = await run(() => {
      const attempt = (f) => {
        try {
          f();
          return "no error";
        } catch (e) {
          return `${e instanceof Error} ${e.code} ${e.message}`;
        }
      };
      const { RealtimeClient } = window.rt;
      const client = new RealtimeClient(window.url, { autoConnect: false });
      const result = {
        url: attempt(() => new RealtimeClient(42)),
        scheme: attempt(() => new RealtimeClient("ftp://example.com/rt")),
        key: attempt(() => new RealtimeClient(window.url, { transport: ["websocket"] })),
        transport: attempt(() => new RealtimeClient(window.url, { transports: ["pigeon"] })),
        range: attempt(() => new RealtimeClient(window.url, { connectTimeoutMs: -1 })),
        send: attempt(() => client.send(12)),
        emit: attempt(() => client.emit(1, "x")),
        listener: attempt(() => client.on("message", "not a function")),
      };
      client.free();
      return result;
    });
    assert.match(errors.url, /^true invalid_argument url: expected a string, got the number 42$/);
    assert.match(errors.scheme, /^true invalid_argument .*ftp:/);
    assert.match(errors.key, /^true invalid_argument options: unknown option "transport"/);
    assert.match(errors.transport, /^true invalid_argument .*"pigeon"/);
    assert.match(errors.range, /^true invalid_argument options.connectTimeoutMs: the number -1 is out of range/);
    assert.match(errors.send, /^true invalid_argument send: expected a string, ArrayBuffer or Uint8Array, got the number 12$/);
    assert.match(errors.emit, /^true invalid_argument emit: the event name/);
    assert.match(errors.listener, /^true invalid_argument on\("message"\): the listener must be a function, got the string "not a function"$/);
  });

  test("getters before connecting, then open, echo, binary, unsubscribe, off and close", async () => {
    const result = await run(async () => {
      const { RealtimeClient } = window.rt;
      const client = new RealtimeClient(window.url, { autoConnect: false, transports: ["websocket", "longpolling"] });
      const before = { state: client.state, transport: client.transport, sessionId: client.sessionId };
      const seen = { a: [], b: [], c: [], events: [] };
      const offA = client.on("message", (data) => seen.a.push(data));
      const listenerB = (data) => seen.b.push(data);
      client.on("message", listenerB);
      client.on("message", (data, info) => seen.c.push([typeof data === "string" ? data : Array.from(data), info.transport, info.seq]));
      client.on("state", ({ from, to }) => seen.events.push(`${from}>${to}`));
      const opened = new Promise((resolve) => client.on("open", resolve));
      client.connect();
      const open = await opened;
      const until = async (check) => {
        for (let i = 0; i < 100 && !check(); i += 1) await new Promise((r) => setTimeout(r, 50));
      };
      client.send("one");
      await until(() => seen.c.length === 1);
      offA(); // the function `on` returned
      client.send(new Uint8Array([0, 1, 255]));
      await until(() => seen.c.length === 2);
      client.off("message", listenerB);
      client.send("three");
      await until(() => seen.c.length === 3);
      const during = { state: client.state, transport: client.transport, sessionId: client.sessionId, stats: client.stats() };
      const closed = new Promise((resolve) => client.on("close", resolve));
      client.close();
      const close = await closed;
      const afterClose = { state: client.state, transport: client.transport };
      client.free();
      return { before, open, seen, during, close, afterClose };
    });
    assert.deepEqual(result.before, { state: "closed", transport: null, sessionId: null });
    assert.deepEqual(result.open, { transport: "websocket" });
    assert.deepEqual(result.seen.a, ["one"], "unsubscribed after the first message");
    assert.equal(result.seen.b.length, 2, "removed by off after the second message");
    assert.deepEqual(result.seen.c.map(([data, transport]) => [data, transport]), [["one", "websocket"], [[0, 1, 255], "websocket"], ["three", "websocket"]]);
    assert.deepEqual(result.seen.c.map(([, , seq]) => seq), [1, 2, 3]);
    assert.equal(result.during.state, "open");
    assert.equal(result.during.transport, "websocket");
    assert.match(result.during.sessionId, /^[\w-]{8,}$/);
    for (const key of ["messagesIn", "messagesOut", "bytesIn", "bytesOut", "reconnects", "fallbacks", "upgrades"]) {
      assert.equal(typeof result.during.stats[key], "number", `stats().${key}`);
    }
    assert.equal(result.during.stats.messagesIn, 3);
    assert.deepEqual(result.close, { code: 1000, reason: "", wasClean: true });
    assert.deepEqual(result.afterClose, { state: "closed", transport: null });
    assert.deepEqual(result.seen.events.slice(0, 2), ["closed>connecting", "connecting>open"]);
  });

  test("a listener that throws does not stop the others or the client", async () => {
    const result = await run(async () => {
      const { RealtimeClient } = window.rt;
      const reported = [];
      const onError = (event) => {
        reported.push(event.message);
        event.preventDefault(); // reported, and handled here
      };
      window.addEventListener("error", onError);
      const client = new RealtimeClient(window.url, { transports: ["eventsource"] });
      const got = [];
      client.on("echo", () => {
        throw new Error("listener bug");
      });
      client.on("echo", (value, info) => got.push([value, info.event, info.transport]));
      client.emit("echo", { n: 1 });
      client.emit("echo", [true, null, "x"]);
      for (let i = 0; i < 100 && got.length < 2; i += 1) await new Promise((r) => setTimeout(r, 50));
      const state = client.state;
      client.close();
      client.free();
      window.removeEventListener("error", onError);
      return { got, reported, state };
    });
    assert.deepEqual(result.got, [[{ n: 1 }, "echo", "eventsource"], [[true, null, "x"], "echo", "eventsource"]]);
    assert.equal(result.state, "open");
    assert.equal(result.reported.length, 2, `reportError saw both throws: ${result.reported}`);
    assert.match(result.reported[0], /listener bug/);
  });
});
