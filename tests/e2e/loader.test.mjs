// The package's loader (`init`, the default export, and `initSync`), in a page, with every form of
// argument it takes: scripts/finish-pkg.mjs replaces wasm-bindgen's loader with a compact one,
// and these pin down that it still takes all of them, loads once, and reports a failed fetch.
// Each case imports the glue afresh (a query string makes another module instance), so each
// starts with nothing loaded.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openDemoPage } from "./lib.mjs";

let browser;
let page;

before(async () => {
  browser = await launchBrowser();
  page = await openDemoPage(browser);
});
after(async () => {
  await browser?.close();
});

/**
 * Runs `load(module, wasmUrl)` (returning what `init`/`initSync` returned) on a fresh instance of
 * the glue, then checks the client works on it: the loaded exports and a new client's state.
 */
const loads = (load) =>
  page.evaluate(async (source) => {
    const glue = await import(`/pkg/realtime_wasm.js?instance=${Math.random()}`);
    const wasmUrl = new URL("/pkg/realtime_wasm_bg.wasm", location.href).href;
    // The function travels as text: evaluated here, in the page.
    const exports = await (0, eval)(source)(glue, wasmUrl);
    const client = new glue.RealtimeClient(new URL("/rt", location.href).href, { autoConnect: false });
    const result = { machine: typeof exports?.rt_i, state: client.state };
    client.free();
    return result;
  }, load.toString());

const WORKS = { machine: "function", state: "closed" };

describe("init and initSync", () => {
  test("init() loads the wasm file from beside the module", async () => {
    assert.deepEqual(await loads((glue) => glue.default()), WORKS);
  });

  test("init({ module_or_path }) with a URL string, a URL, a Request", async () => {
    assert.deepEqual(await loads((glue, url) => glue.default({ module_or_path: url })), WORKS);
    assert.deepEqual(await loads((glue, url) => glue.default({ module_or_path: new URL(url) })), WORKS);
    assert.deepEqual(await loads((glue, url) => glue.default({ module_or_path: new Request(url) })), WORKS);
  });

  test("init with the source itself (wasm-bindgen's older form)", async () => {
    assert.deepEqual(await loads((glue, url) => glue.default(url)), WORKS);
  });

  test("init with a Response, a promise of one, bytes, a compiled module", async () => {
    assert.deepEqual(await loads(async (glue, url) => glue.default({ module_or_path: await fetch(url) })), WORKS);
    assert.deepEqual(await loads((glue, url) => glue.default({ module_or_path: fetch(url) })), WORKS);
    assert.deepEqual(await loads(async (glue, url) => glue.default({ module_or_path: await (await fetch(url)).arrayBuffer() })), WORKS);
    assert.deepEqual(
      await loads(async (glue, url) => glue.default({ module_or_path: await WebAssembly.compileStreaming(fetch(url)) })),
      WORKS,
    );
  });

  test("a Response not typed application/wasm is compiled from its bytes", async () => {
    const loaded = await loads(async (glue, url) => {
      const bytes = await (await fetch(url)).arrayBuffer();
      return glue.default({ module_or_path: new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }) });
    });
    assert.deepEqual(loaded, WORKS);
  });

  test("initSync with bytes or a module, alone or as { module }", async () => {
    // Each function runs in the page on its own (it travels as text): no shared helpers.
    assert.deepEqual(await loads(async (glue, url) => glue.initSync({ module: new Uint8Array(await (await fetch(url)).arrayBuffer()) })), WORKS);
    assert.deepEqual(await loads(async (glue, url) => glue.initSync(new Uint8Array(await (await fetch(url)).arrayBuffer()))), WORKS);
    assert.deepEqual(await loads(async (glue, url) => glue.initSync({ module: await WebAssembly.compileStreaming(fetch(url)) })), WORKS);
    assert.deepEqual(await loads(async (glue, url) => glue.initSync(await WebAssembly.compileStreaming(fetch(url)))), WORKS);
  });

  test("loaded once: concurrent and later calls give the same exports", async () => {
    const same = await page.evaluate(async () => {
      const glue = await import(`/pkg/realtime_wasm.js?instance=${Math.random()}`);
      const [a, b] = await Promise.all([glue.default(), glue.default()]);
      const c = await glue.default();
      const d = glue.initSync(new Uint8Array([0]));
      return a === b && b === c && c === d;
    });
    assert.equal(same, true);
  });

  test("a failed fetch rejects with its status, and a later call can still load", async () => {
    const result = await page.evaluate(async () => {
      const glue = await import(`/pkg/realtime_wasm.js?instance=${Math.random()}`);
      let error = "no error";
      try {
        await glue.default({ module_or_path: "/pkg/no-such-file.wasm" });
      } catch (e) {
        error = e.message;
      }
      const exports = await glue.default();
      return { error, machine: typeof exports.rt_i };
    });
    assert.match(result.error, /^failed to fetch Wasm: 404 /);
    assert.equal(result.machine, "function");
  });
});
