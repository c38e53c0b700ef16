import { join } from "node:path";
import { chromium } from "playwright-core";
import { BENCH, ROOT } from "/work/main/bench/lib/args.mjs";
import { startServer } from "/work/main/bench/lib/proc.mjs";
const [pkg, transport = "streaming", size = "1024", count = "2000", runs = "7"] = process.argv.slice(2);
const server = await startServer(ROOT + "/target/release/realtime-server", ["--addr", "127.0.0.1:0", "--test-hooks", "--static-dir", join(BENCH, "page"), "--pkg-dir", pkg], { cwd: ROOT });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
const page = await browser.newPage();
await page.goto(`${server.url}/index.html`);
await page.waitForFunction(() => window.bench !== undefined);
await page.evaluate(() => window.bench.ready);
await page.evaluate(() => { window.__c = {}; const o = XMLHttpRequest.prototype.open; XMLHttpRequest.prototype.open = function (m, u, ...r) { const k = m + " " + new URL(u, location.href).pathname; window.__c[k] = (window.__c[k] || 0) + 1; return o.call(this, m, u, ...r); }; });
const res = { client: [], raw: [] };
for (let r = 0; r < +runs; r++) for (const impl of ["raw", "client"]) {
  const out = await page.evaluate((x) => window.bench.throughput(x), { impl, transport, count: +count, size: +size });
  console.log(impl, JSON.stringify(await page.evaluate(() => { const c = window.__c; window.__c = {}; return c; })));
  res[impl].push(Math.round(out.msgsPerSec ?? out.rate ?? JSON.stringify(out)));
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(transport, size, "raw", med(res.raw), "client", med(res.client), "ratio", (med(res.client) / med(res.raw)).toFixed(2), JSON.stringify(res));
await browser.close(); server.kill?.(); process.exit(0);
