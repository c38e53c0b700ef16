// The Vite example (examples/vite) against the package as npm would install it: scripts/e2e.sh
// unpacks `npm pack` of pkg/ into examples/vite/node_modules/realtime-wasm. The example has no
// Vite configuration at all. Its production build (`tsc --noEmit && vite build`) and its dev server
// are each loaded in headless Chromium, talking cross-origin to the running realtime-server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, launchBrowser, serveStatic, serverUrl, watchPage } from "./lib.mjs";

const EXAMPLE = join(ROOT, "examples/vite");
const VITE = join(EXAMPLE, "node_modules/.bin/vite");
let browser;

before(async () => {
  assert.ok(existsSync(VITE), "examples/vite is installed (scripts/e2e.sh runs npm ci there)");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Opens the example at `base` and checks it connects, gets its echo event, and echoes a send. */
async function checkExample(base, transports) {
  const page = await browser.newPage();
  const problems = watchPage(page);
  const query = new URLSearchParams({ server: serverUrl() });
  if (transports) query.set("transports", transports);
  await page.goto(`${base}/?${query}`);
  const expected = transports?.split(",")[0] ?? "websocket";
  await page.waitForFunction(
    (t) => document.getElementById("state").textContent === "open" && document.getElementById("transport").textContent === t,
    expected,
    { timeout: 15000 },
  );
  await page.locator("#log li", { hasText: 'event echo: {"hello":"vite"' }).waitFor({ timeout: 15000 });
  await page.fill("#text", `typed in Vite over ${expected}`);
  await page.click("#form button");
  await page.locator("#log li", { hasText: `over ${expected}: typed in Vite over ${expected}` }).waitFor({ timeout: 15000 });
  assert.deepEqual(problems, []);
  await page.close();
}

describe("vite example", () => {
  test("builds with tsc --strict and vite build, without any Vite configuration", { timeout: 120000 }, () => {
    assert.ok(!["vite.config.js", "vite.config.ts", "vite.config.mjs"].some((f) => existsSync(join(EXAMPLE, f))));
    try {
      execFileSync("npm", ["run", "--silent", "build"], { cwd: EXAMPLE, encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      assert.fail(`npm run build failed:\n${error.stdout}${error.stderr}`);
    }
    const assets = readdirSync(join(EXAMPLE, "dist/assets"));
    const wasm = assets.find((f) => f.endsWith(".wasm"));
    const js = assets.find((f) => f.endsWith(".js"));
    assert.ok(wasm, `the wasm file is emitted as an asset: ${assets}`);
    const size = (f) => gzipSync(readFileSync(join(EXAMPLE, "dist/assets", f)), { level: 9 }).length;
    console.log(`# vite build: ${wasm} ${statSync(join(EXAMPLE, "dist/assets", wasm)).size} B (${size(wasm)} B gzip), ${js} ${size(js)} B gzip (app + minified glue)`);
  });

  test("the production build connects and echoes (WebSocket, then long polling)", { timeout: 60000 }, async () => {
    const site = await serveStatic(join(EXAMPLE, "dist"));
    try {
      await checkExample(site.url);
      await checkExample(site.url, "longpolling");
    } finally {
      await site.close();
    }
  });

  test("the dev server serves it too", { timeout: 60000 }, async () => {
    // --force: re-bundle the dependency, whose files change with every package build.
    const dev = spawn(VITE, ["--host", "127.0.0.1", "--port", "0", "--strictPort", "--force"], { cwd: EXAMPLE, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`vite dev printed no URL:\n${out}`)), 30000);
        const read = (chunk) => {
          out += chunk;
          const match = out.replace(/\x1b\[[0-9;]*m/g, "").match(/http:\/\/127\.0\.0\.1:\d+/);
          if (match) {
            clearTimeout(timer);
            resolve(match[0]);
          }
        };
        dev.stdout.on("data", read);
        dev.stderr.on("data", read);
        dev.on("exit", (code) => reject(new Error(`vite dev exited (${code}):\n${out}`)));
      });
      await checkExample(url, "eventsource");
    } finally {
      dev.kill();
    }
  });
});
