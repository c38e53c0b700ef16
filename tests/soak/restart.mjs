// Soak test (issue 6, item 7): a server restart under 200 connected clients.
//
//   node tests/soak/restart.mjs [--clients N]        (scripts/soak.sh runs it as its last step)
//
// Starts target/release/realtime-server on a fixed free loopback port (building it, and pkg/, if
// missing), opens ONE headless Chromium page at the server's `/`, and there creates N (default 200)
// RealtimeClients (`transports: ["websocket"]`, default reconnect options) that record every event
// with a timestamp. Once all are open, each sends a numbered message every 100 ms; the server is
// killed (SIGKILL), the clients keep sending for 1 s while it is down (sends queue), a new server is
// started on the same port, and the test waits until every client is open again and every message
// it sent (before, during and after the restart) came back exactly once and in order.
//
// Reports the reconnect time (kill to each client's next `open`: min/median/p90/max), the
// `reconnecting` events, the `error` events by code (a new server means new sessions), and the
// messages sent/echoed per client. Exit 1 on any loss, duplicate or reordering, or after 60 s
// whatever happens. The line to quote starts `restart: RESULT`.
// Logs: target/test-logs/soak-restart-server-{1,2}.log.
//
// It found one loss (about 1 run in 3, one message of ~34,000), since fixed: the server wrote the
// upstream `a` frame before the echo it caused, so a SIGKILL between the two left the client with
// the ack (its outbox dropped the message) and the echo gone with the dead server's memory. The
// ack now follows the echoes (server/src/downstream.rs, `pending_ack`).
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, launchBrowser, watchPage } from "../e2e/lib.mjs";

const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const CLIENTS = flag("--clients", 200);
const SEND_EVERY_MS = 100;
const BEFORE_KILL_MS = 1000; // sending with the first server up
const DOWN_MS = 1000; // sending while no server runs
const AFTER_OPEN_MS = 1000; // sending once every client is open again
const DEADLINE_MS = 60000;

const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
const BIN = join(TARGET, "release", "realtime-server");
const LOG_DIR = join(TARGET, "test-logs");
mkdirSync(LOG_DIR, { recursive: true });

const log = (line) => console.log(`[restart] ${line}`);
let browser;
let server;

async function cleanup() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  await browser?.close().catch(() => {});
}
const deadline = setTimeout(async () => {
  console.log(`restart: RESULT FAILED: not done after ${DEADLINE_MS / 1000} s`);
  await cleanup();
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

if (!existsSync(BIN)) {
  log("building realtime-server (release)");
  execFileSync("cargo", ["build", "--release", "-p", "realtime-server", "--bin", "realtime-server"], { cwd: ROOT, stdio: "inherit" });
}
if (!existsSync(join(ROOT, "pkg", "realtime_wasm.js"))) {
  log("building pkg/");
  execFileSync("bash", ["scripts/build-pkg.sh"], { cwd: ROOT, stdio: "inherit" });
}

/** A port that is free now (the OS picks it; both servers then bind it explicitly). */
async function freePort() {
  const probe = createServer();
  await new Promise((ok, fail) => probe.once("error", fail).listen(0, "127.0.0.1", ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  return port;
}

/** Starts realtime-server on 127.0.0.1:port; resolves once it printed `listening on http://...`. */
function startServer(port, n) {
  const child = spawn(BIN, ["--addr", `127.0.0.1:${port}`, "--static-dir", "www", "--pkg-dir", "pkg"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const file = createWriteStream(join(LOG_DIR, `soak-restart-server-${n}.log`));
  child.stderr.pipe(file);
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`server ${n} printed no 'listening on' within 10 s`)), 10000);
    child.stdout.on("data", (chunk) => {
      file.write(chunk);
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match && timer) {
        clearTimeout(timer);
        ok({ child, url: match[1].replace(/\/$/, "") });
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`server ${n} exited (${code ?? signal}) before listening`));
    });
  });
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
async function until(what, check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

async function main() {
  const port = await freePort();
  const first = await startServer(port, 1);
  server = first.child;
  log(`server 1 (pid ${server.pid}) at ${first.url}`);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const problems = watchPage(page);
  await page.goto(`${first.url}/`);
  await page.evaluate(async (count) => {
    const module = await import("/pkg/realtime_wasm.js");
    await module.default();
    const url = new URL("/rt", location.href).href;
    window.clients = [];
    for (let i = 0; i < count; i += 1) {
      const client = new module.RealtimeClient(url, { transports: ["websocket"] });
      const rec = { client, events: [], sent: [], received: [], sendErrors: [] };
      const note = (type, detail) => rec.events.push({ t: Date.now(), type, ...detail });
      client.on("open", (e) => note("open", { transport: e.transport, sid: client.sessionId }));
      client.on("close", (e) => note("close", { code: e.code }));
      client.on("error", (e) => note("error", { code: e.code, message: e.message }));
      client.on("reconnecting", (e) => note("reconnecting", { attempt: e.attempt, delayMs: e.delayMs }));
      client.on("state", (e) => note("state", { from: e.from, to: e.to }));
      client.on("message", (data) => rec.received.push(typeof data === "string" ? data : `binary:${data.length}`));
      window.clients.push(rec);
    }
    window.sending = null;
    window.startSending = () => {
      window.sending = setInterval(() => {
        window.clients.forEach((rec, i) => {
          const text = `${i}:${rec.sent.length + 1}`;
          try {
            rec.client.send(text);
            rec.sent.push(text);
          } catch (error) {
            rec.sendErrors.push(`${error.code}: ${error.message}`);
          }
        });
      }, 100);
    };
    window.stopSending = () => clearInterval(window.sending);
    window.summary = () =>
      window.clients.map((rec) => ({ state: rec.client.state, sent: rec.sent.length, received: rec.received.length, sendErrors: rec.sendErrors.length }));
  }, CLIENTS);

  const openCount = () => page.evaluate(() => window.clients.filter((rec) => rec.client.state === "open").length);
  const t0 = Date.now();
  await until(`all ${CLIENTS} clients open`, async () => (await openCount()) === CLIENTS, 20000);
  log(`${CLIENTS} clients open in ${Date.now() - t0} ms; sending every ${SEND_EVERY_MS} ms`);

  await page.evaluate(() => window.startSending());
  await sleep(BEFORE_KILL_MS);
  const killAt = Date.now();
  server.kill("SIGKILL");
  await new Promise((ok) => (server.exitCode !== null || server.signalCode !== null ? ok() : server.once("exit", ok)));
  log(`server 1 killed (SIGKILL); clients keep sending for ${DOWN_MS} ms`);
  await sleep(DOWN_MS);
  const second = await startServer(port, 2);
  server = second.child;
  const restartedAt = Date.now();
  log(`server 2 (pid ${server.pid}) at ${second.url}, ${restartedAt - killAt} ms after the kill`);

  const reopened = () =>
    page.evaluate((since) => window.clients.filter((rec) => rec.client.state === "open" && rec.events.some((e) => e.type === "open" && e.t >= since)).length, killAt);
  await until("every client open again", async () => (await reopened()) === CLIENTS, 40000);
  log(`every client open again ${Date.now() - killAt} ms after the kill`);
  await sleep(AFTER_OPEN_MS);
  await page.evaluate(() => window.stopSending());
  const allEchoed = () => page.evaluate(() => window.clients.every((rec) => rec.received.length >= rec.sent.length));
  await until("every message echoed", allEchoed, 15000).catch((error) => log(`${error.message}; checking what arrived`));
  await sleep(500); // a duplicate arriving late would show now

  const results = await page.evaluate(() =>
    window.clients.map((rec) => ({ events: rec.events, sent: rec.sent, received: rec.received, sendErrors: rec.sendErrors, stats: rec.client.stats() })),
  );

  // ---- analysis --------------------------------------------------------------------------------
  const reconnectMs = [];
  let reconnecting = 0;
  const reconnectingPerClient = [];
  const firstDelayMs = []; // the backoff (with jitter) the client chose for its first attempt after the kill
  const openAfterDelayMs = []; // time from the kill to open, less the chosen delays: the browser's and servers' share
  const errors = {};
  let losses = 0;
  let duplicates = 0;
  let reordered = 0;
  let sendErrors = 0;
  const failures = [];
  results.forEach((rec, i) => {
    const after = rec.events.filter((e) => e.t >= killAt);
    const open = after.find((e) => e.type === "open");
    if (open) reconnectMs.push(open.t - killAt);
    const waits = after.filter((e) => e.type === "reconnecting" && (!open || e.t <= open.t));
    if (waits.length) firstDelayMs.push(waits[0].delayMs);
    if (open) openAfterDelayMs.push(open.t - killAt - waits.reduce((sum, e) => sum + e.delayMs, 0));
    const r = after.filter((e) => e.type === "reconnecting").length;
    reconnecting += r;
    reconnectingPerClient.push(r);
    for (const e of rec.events.filter((e) => e.type === "error")) errors[e.code] = (errors[e.code] ?? 0) + 1;
    sendErrors += rec.sendErrors.length;
    const counts = new Map();
    for (const m of rec.received) counts.set(m, (counts.get(m) ?? 0) + 1);
    const lost = rec.sent.filter((m) => !counts.has(m));
    const dup = [...counts].filter(([, n]) => n > 1);
    const foreign = rec.received.filter((m) => !rec.sent.includes(m));
    const inOrder = rec.received.every((m, k) => k === 0 || Number(m.split(":")[1]) > Number(rec.received[k - 1].split(":")[1]));
    losses += lost.length;
    duplicates += dup.reduce((sum, [, n]) => sum + n - 1, 0);
    if (!inOrder) reordered += 1;
    if (lost.length || dup.length || foreign.length || !inOrder) {
      failures.push(`client ${i}: sent ${rec.sent.length}, received ${rec.received.length}, lost [${lost.slice(0, 5)}${lost.length > 5 ? ", ..." : ""}], duplicated [${dup.slice(0, 5).map(([m, n]) => `${m}x${n}`)}], foreign ${foreign.length}, in order ${inOrder}`);
    }
  });
  reconnectMs.sort((a, b) => a - b);
  reconnectingPerClient.sort((a, b) => a - b);
  firstDelayMs.sort((a, b) => a - b);
  openAfterDelayMs.sort((a, b) => a - b);
  const spread = (xs) => `min ${xs[0]}, median ${quantile(xs, 0.5)}, p90 ${quantile(xs, 0.9)}, max ${xs.at(-1)}`;
  const sent = results.map((rec) => rec.sent.length).sort((a, b) => a - b);
  const received = results.map((rec) => rec.received.length).sort((a, b) => a - b);
  const sessions = results.map((rec) => new Set(rec.events.filter((e) => e.type === "open").map((e) => e.sid)).size);
  const newSessions = sessions.filter((n) => n > 1).length;

  log(`reconnect time from the kill to the next open (ms), ${reconnectMs.length}/${CLIENTS} clients: min ${reconnectMs[0]}, median ${quantile(reconnectMs, 0.5)}, p90 ${quantile(reconnectMs, 0.9)}, max ${reconnectMs.at(-1)} (server down ${restartedAt - killAt} ms)`);
  const buckets = new Map();
  for (const ms of reconnectMs) {
    const b = Math.floor(ms / 250) * 250;
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  log(`  histogram (250 ms buckets): ${[...buckets].map(([b, n]) => `${b}-${b + 249}: ${n}`).join(", ")}`);
  log(`reconnecting events: ${reconnecting} in all, per client min ${reconnectingPerClient[0]}, median ${quantile(reconnectingPerClient, 0.5)}, max ${reconnectingPerClient.at(-1)}`);
  log(`  first backoff delay chosen after the kill (delayMs of the first reconnecting, jitter): ${spread(firstDelayMs)}`);
  log(`  kill-to-open less all backoff delays (connection attempts, browser handshake throttling): ${spread(openAfterDelayMs)}`);
  log(`error events by code: ${JSON.stringify(errors)}; clients on a new session: ${newSessions}/${CLIENTS}`);
  log(`messages per client: sent min ${sent[0]} / max ${sent.at(-1)} (total ${sent.reduce((a, b) => a + b, 0)}), echoed min ${received[0]} / max ${received.at(-1)} (total ${received.reduce((a, b) => a + b, 0)}); send errors ${sendErrors}`);
  for (const line of failures.slice(0, 10)) log(`  ${line}`);
  if (problems.length) log(`page problems: ${problems.slice(0, 5).join(" | ")}`);

  const ok = reconnectMs.length === CLIENTS && losses === 0 && duplicates === 0 && reordered === 0 && sendErrors === 0;
  console.log(
    `restart: RESULT ${ok ? "ok" : "FAILED"}: ${CLIENTS} clients, reconnect ms min/median/p90/max ${reconnectMs[0]}/${quantile(reconnectMs, 0.5)}/${quantile(reconnectMs, 0.9)}/${reconnectMs.at(-1)}, ` +
      `reconnecting events ${reconnecting}, gap errors ${errors.gap ?? 0}, new sessions ${newSessions}, sent ${sent.reduce((a, b) => a + b, 0)}, ` +
      `echoed ${received.reduce((a, b) => a + b, 0)}, lost ${losses}, duplicated ${duplicates}, out of order ${reordered}`,
  );
  return ok;
}

let ok = false;
try {
  ok = await main();
} catch (error) {
  console.log(`restart: RESULT FAILED: ${error.message}`);
}
await cleanup();
process.exit(ok ? 0 : 1);
