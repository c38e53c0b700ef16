// Shared pieces of the end-to-end tests: where things are, a headless Chromium, a static file
// server, and a check that a screenshot shows something.
import { createServer } from "node:http";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The npm package under test (scripts/e2e.sh passes RT_PKG_DIR; default pkg/). */
export const PKG_DIR = resolve(ROOT, process.env.RT_PKG_DIR ?? "pkg");
/** Screenshots and other artifacts. */
export const OUT_DIR = resolve(ROOT, process.env.RT_E2E_OUT ?? "target/e2e");
mkdirSync(OUT_DIR, { recursive: true });

/** The running realtime-server (`--test-hooks`, serving www/ and pkg/), e.g. http://127.0.0.1:4321. */
export function serverUrl() {
  const url = process.env.RT_SERVER;
  if (!url) throw new Error("RT_SERVER is not set: run the e2e tests through scripts/e2e.sh");
  return url.replace(/\/$/, "");
}

/** Headless Chromium from the system (playwright's own browser download is not used). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.RT_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A new page of `browser` on the demo at the server's root, once the demo has loaded the package. */
export async function openDemoPage(browser) {
  const page = await browser.newPage();
  await page.goto(`${serverUrl()}/`);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}

/**
 * Collects the page's uncaught exceptions and console errors, so a test can assert the page ran
 * cleanly. The browser's own network messages ("Failed to load resource", "WebSocket connection
 * to ... failed") are not problems: refused and dropped connections are what fault tests cause.
 */
export function watchPage(page) {
  const problems = [];
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    const text = message.text();
    const network = /^Failed to load resource|^WebSocket connection to .* failed|net::ERR_/.test(text);
    if (message.type() === "error" && !network) problems.push(`console.error: ${text}`);
  });
  return problems;
}

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Serves `dir` on 127.0.0.1 at a free port; resolves to `{ url, close }`. */
export async function serveStatic(dir) {
  const root = resolve(dir);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://x").pathname);
    let file = resolve(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, "index.html");
      const body = readFileSync(file);
      response.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

/**
 * Measures a PNG screenshot in the browser itself (no image library needed): how many distinct
 * colours it has and what share of its pixels differ from the most common colour. A blank or
 * failed render is one flat colour.
 */
export async function measureScreenshot(browser, png) {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async (dataUrl) => {
      const image = new Image();
      image.src = dataUrl;
      await image.decode();
      const canvas = new OffscreenCanvas(image.width, image.height);
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      const { data } = context.getImageData(0, 0, image.width, image.height);
      const counts = new Map();
      let pixels = 0;
      // Every other pixel of every other row is plenty, and four times faster.
      for (let y = 0; y < image.height; y += 2) {
        for (let x = 0; x < image.width; x += 2) {
          const i = (y * image.width + x) * 4;
          // 4 bits per channel: anti-aliasing noise does not count as content.
          const key = ((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4);
          counts.set(key, (counts.get(key) ?? 0) + 1);
          pixels += 1;
        }
      }
      const background = Math.max(...counts.values());
      return { width: image.width, height: image.height, colours: counts.size, contentShare: 1 - background / pixels };
    }, `data:image/png;base64,${png.toString("base64")}`);
  } finally {
    await page.close();
  }
}

/** Polls `check` (sync or async) until it returns a truthy value or `timeoutMs` passes. */
export async function eventually(what, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
