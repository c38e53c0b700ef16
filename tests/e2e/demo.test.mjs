// Drives the demo page (www/, served by realtime-server with --test-hooks) in headless Chromium the
// way a person would: pick a transport, connect, send text and a file, chat between two tabs,
// inject faults and watch the client recover; then screenshots the page and checks it is not blank.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OUT_DIR, eventually, launchBrowser, measureScreenshot, serverUrl, watchPage } from "./lib.mjs";

const TRANSPORTS = ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"];
let browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Opens the demo with URL parameters and waits until the package is loaded. */
async function openDemo(context, query = "", viewport = { width: 1280, height: 900 }) {
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.setViewportSize(viewport);
  await page.goto(`${serverUrl()}/${query}`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 15000 });
  return { page, problems };
}

const text = (page, selector) => page.locator(selector).textContent();
const stats = (page) => page.evaluate(() => window.demoClient.stats());

async function waitOpen(page, transport, timeout = 15000) {
  await page.waitForFunction(
    (t) => document.getElementById("state").textContent === "open" && document.getElementById("transport").textContent === t,
    transport,
    { timeout },
  );
}

/** Waits for a log entry of `kind` whose text contains `needle`; returns its text. */
async function waitLog(page, kind, needle, timeout = 15000) {
  const entry = page.locator(`#log li[data-kind="${kind}"]`, { hasText: needle }).first();
  await entry.waitFor({ timeout });
  return entry.locator(".text").textContent();
}

describe("demo page", () => {
  for (const transport of TRANSPORTS) {
    test(`connects over ${transport}, echoes text, a file and an event`, { timeout: 60000 }, async () => {
      const context = await browser.newContext();
      const { page, problems } = await openDemo(context, `?transports=${transport}`);
      await page.click("#connect");
      await waitOpen(page, transport);
      assert.match(await text(page, "#session"), /^[\w-]{8,}$/, "a session id is shown");

      const message = `hello over ${transport} ✓`;
      await page.fill("#text", message);
      await page.click("#send-form button");
      await waitLog(page, "message", message);
      assert.match(await waitLog(page, "message", message), new RegExp(`via ${transport}`));

      const bytes = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 7) % 256));
      await page.setInputFiles("#file", { name: "bytes.bin", mimeType: "application/octet-stream", buffer: bytes });
      await page.click("#send-file");
      await waitLog(page, "message", "binary, 1500 bytes, identical to the file sent");

      await page.click("#emit-echo");
      await waitLog(page, "event", `echo via ${transport}`);

      const s = await stats(page);
      assert.equal(s.messagesIn, 3, `three messages came back: ${JSON.stringify(s)}`);
      assert.equal(s.messagesOut, 3, `three went out: ${JSON.stringify(s)}`);
      assert.ok(s.bytesIn > 0 && s.bytesOut > 0, JSON.stringify(s));

      await page.click("#close");
      await page.waitForFunction(() => document.getElementById("state").textContent === "closed");
      await waitLog(page, "close", "code 1000");
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  test("the transport list can be reordered and unticked", { timeout: 30000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await openDemo(context);
    await page.uncheck("#t-websocket");
    await page.uncheck("#t-eventsource");
    await page.uncheck("#t-streaming");
    await page.click('[aria-label="move polling up"]'); // polling above longpolling
    await page.click("#connect");
    await waitOpen(page, "polling");
    const created = await waitLog(page, "meta", "new RealtimeClient");
    assert.match(created, /"transports":\["polling","longpolling"\]/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("two tabs chat in a room; screenshots are not blank", { timeout: 60000 }, async () => {
    const context = await browser.newContext();
    const room = `room-${Date.now()}`;
    const alice = await openDemo(context, `?name=alice&room=${room}&connect=1`);
    const bob = await openDemo(context, `?name=bob&room=${room}&transports=eventsource,longpolling&connect=1`);
    await waitOpen(alice.page, "websocket");
    await waitOpen(bob.page, "eventsource");
    for (const { page } of [alice, bob]) {
      await page.click("#join");
      await page.locator("#chat-text").waitFor({ state: "visible" });
      await page.waitForFunction(() => !document.getElementById("chat-text").disabled);
    }

    await alice.page.fill("#chat-text", "hi bob, over a WebSocket");
    await alice.page.click("#chat-send");
    await bob.page.locator("#chat-log li", { hasText: "alice hi bob, over a WebSocket" }).waitFor({ timeout: 15000 });
    await bob.page.fill("#chat-text", "hi alice, over EventSource");
    await bob.page.click("#chat-send");
    await alice.page.locator("#chat-log li", { hasText: "bob hi alice, over EventSource" }).waitFor({ timeout: 15000 });
    // Each sees its own line too (everyone in the room gets it, the sender included).
    await alice.page.locator("#chat-log li.mine", { hasText: "hi bob" }).waitFor();

    await alice.page.fill("#text", "a message for the screenshot");
    await alice.page.click("#send-form button");
    await waitLog(alice.page, "message", "a message for the screenshot");

    const desktop = await alice.page.screenshot({ fullPage: true });
    writeFileSync(join(OUT_DIR, "demo-desktop.png"), desktop);
    const phone = await openDemo(context, `?name=carol&room=${room}&transports=streaming&connect=1`, { width: 390, height: 844 });
    await waitOpen(phone.page, "streaming");
    const mobile = await phone.page.screenshot({ fullPage: true });
    writeFileSync(join(OUT_DIR, "demo-phone.png"), mobile);

    const blankPage = await context.newPage();
    await blankPage.setViewportSize({ width: 1280, height: 900 });
    await blankPage.setContent("<html><body></body></html>");
    const blank = await measureScreenshot(browser, await blankPage.screenshot());
    assert.ok(blank.colours <= 2 && blank.contentShare < 0.01, `a blank page measures as blank: ${JSON.stringify(blank)}`);
    for (const [name, png] of [["desktop", desktop], ["phone", mobile]]) {
      const m = await measureScreenshot(browser, png);
      assert.ok(m.colours >= 12, `${name} screenshot has ${m.colours} colours: ${JSON.stringify(m)}`);
      // The page is mostly background and white cards; text, borders and controls make the rest.
      assert.ok(m.contentShare > 0.02, `${name} screenshot is nearly one colour: ${JSON.stringify(m)}`);
      assert.ok(m.height > 800, `${name} screenshot shows the whole page: ${JSON.stringify(m)}`);
    }
    for (const { problems } of [alice, bob, phone]) assert.deepEqual(problems, []);
    await context.close();
  });

  test("a refused WebSocket falls back to EventSource with the reason shown", { timeout: 30000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await openDemo(context, "?transports=websocket,eventsource&fault=ws-refuse");
    assert.equal(await page.locator("#faults").isVisible(), true, "the fault panel is shown with --test-hooks");
    await page.click("#apply-faults");
    await waitOpen(page, "eventsource");
    const change = await text(page, "#last-change");
    assert.match(change, /→ eventsource: \S/, `the reason is shown: ${change}`);
    await waitLog(page, "transport", "→ eventsource");
    await page.fill("#text", "still delivered");
    await page.click("#send-form button");
    await waitLog(page, "message", "still delivered");
    assert.ok((await stats(page)).fallbacks >= 1);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("lifting the fault moves the client back up to WebSocket", { timeout: 45000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await openDemo(context, "?transports=websocket,eventsource&fault=ws-refuse");
    await page.click("#apply-faults");
    await waitOpen(page, "eventsource");
    await page.click("#lift-faults");
    await waitOpen(page, "websocket", 35000);
    await waitLog(page, "transport", "eventsource → websocket");
    assert.ok((await stats(page)).upgrades >= 1);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("dropped connections reconnect and lose nothing", { timeout: 60000 }, async () => {
    const context = await browser.newContext();
    const { page, problems } = await openDemo(context, "?transports=websocket&fault=drop-every=7");
    await page.click("#apply-faults");
    await waitOpen(page, "websocket");
    await page.fill("#burst-count", "50");
    await page.click("#burst");
    await waitLog(page, "reconnecting", "attempt");
    const final = await eventually("all 50 burst events", async () => {
      const s = await stats(page);
      return s.messagesIn >= 50 && s;
    }, 40000);
    await page.waitForTimeout(500);
    const settled = await stats(page);
    assert.equal(settled.messagesIn, 50, `exactly once: ${JSON.stringify(settled)}`);
    assert.ok(final.reconnects >= 1, JSON.stringify(final));
    await waitLog(page, "event", "burst n=50");
    assert.deepEqual(problems, []);
    await context.close();
  });
});
