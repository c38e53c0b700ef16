// A send burst through the client: N sends of 64 B queued in one go, then the time until the
// server's echoes of all of them arrived. Exercises the outbox (every message held until the
// server acknowledges it) and the allocator under many live allocations freed out of order.
// Used to compare builds of the package (docs/SIZE.md, the allocator):
//
//   node bench/send-burst.mjs [--pkg-dir pkg] [--server-bin target/release/realtime-server]
//                             [--count 20000] [--runs 3]
import { resolve } from "node:path";
import { chromium } from "playwright-core";
import { arg, BENCH, ROOT } from "./lib/args.mjs";
import { startServer } from "./lib/proc.mjs";

const pkg = resolve(ROOT, arg("pkg-dir", "pkg"));
const serverBin = resolve(ROOT, arg("server-bin", "target/release/realtime-server"));
const count = Number(arg("count", 20000));
const runs = Number(arg("runs", 3));

const server = await startServer(serverBin, ["--addr", "127.0.0.1:0", "--static-dir", resolve(BENCH, "page"), "--pkg-dir", pkg], { cwd: ROOT });
const browser = await chromium.launch({ executablePath: process.env.RT_CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.bench !== undefined);
  await page.evaluate(() => window.bench.ready);
  for (const transport of ["websocket", "longpolling"]) {
    const results = [];
    for (let run = 0; run < runs; run++) {
      results.push(
        await page.evaluate(
          async ({ transport, count }) => {
            const { RealtimeClient } = await import("/pkg/realtime_wasm.js");
            const client = new RealtimeClient("/rt", { transports: [transport], upgrade: false, maxQueuedMessages: count });
            await new Promise((open) => client.on("open", open));
            let got = 0;
            const all = new Promise((done) => client.on("message", () => ++got === count && done()));
            const payload = "x".repeat(60);
            const t0 = performance.now();
            for (let i = 0; i < count; i++) client.send(`${payload}${i % 10000}`.slice(0, 64));
            const queued = performance.now() - t0;
            await all;
            const total = performance.now() - t0;
            client.close();
            return { queued, total };
          },
          { transport, count },
        ),
      );
    }
    const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
    const q = median(results.map((r) => r.queued));
    const t = median(results.map((r) => r.total));
    console.log(`${transport}: ${count} sends queued in ${q.toFixed(0)} ms (median of ${runs}), all echoed after ${t.toFixed(0)} ms`);
  }
} finally {
  await browser.close();
  await server.stop();
}
