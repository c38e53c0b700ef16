// Where does the time go? Runs one browser benchmark case under the Chromium CPU profiler and
// prints the functions with the most self time, grouped by script (the wasm module, its JS glue,
// the bench page, the browser's own work). For the optimisation work behind the benchmarks.
//
//   node bench/profile.mjs [--case flood64/websocket] [--impl client|raw] [--count N] [--size B]
//                          [--server-bin target/release/realtime-server] [--pkg-dir pkg]
//
// Writes the whole profile to bench/results/tmp/<case>-<impl>.cpuprofile (open it in Chromium's
// DevTools, Performance panel). wasm functions show by name only if the wasm file keeps its name
// section (a release build through wasm-opt does not: build with wasm-pack --profiling for names).
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { arg, BENCH, ROOT } from "./lib/args.mjs";
import { startServer } from "./lib/proc.mjs";

const caseId = arg("case", "flood64/websocket");
const impl = arg("impl", "client");
const [kind, transport] = caseId.split("/");
const count = Number(arg("count", kind === "big1k" ? 2000 : 50000));
const size = Number(arg("size", kind === "big1k" ? 1024 : 64));
const serverBin = resolve(ROOT, arg("server-bin", "target/release/realtime-server"));
const pkg = resolve(ROOT, arg("pkg-dir", "pkg"));

const server = await startServer(serverBin, ["--addr", "127.0.0.1:0", "--test-hooks", "--static-dir", join(BENCH, "page"), "--pkg-dir", pkg], { cwd: ROOT });
const browser = await chromium.launch({
  executablePath: process.env.RT_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.bench !== undefined);
  await page.evaluate(() => window.bench.ready);
  const a = { impl, transport, count, size, ...(transport === "polling" ? { pollIntervalMs: 0 } : {}) };
  // One warm-up run, so the profile shows the steady state rather than compilation.
  await page.evaluate((x) => window.bench.throughput(x), { ...a, count: Math.min(count, 5000) });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  const result = await page.evaluate((x) => window.bench.throughput(x), a);
  const { profile } = await cdp.send("Profiler.stop");
  console.log(`${caseId} ${impl}: ${result.error ?? `${result.rate.toFixed(0)} msg/s`}`);

  // Self time per node, from the samples and their time deltas.
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((s, x) => s + x, 0);
  const fnKey = (n) => {
    const f = n.callFrame;
    const file = f.url ? f.url.replace(/^.*\//, "") : "(browser)";
    return `${f.functionName || "(anonymous)"} @ ${file}${f.lineNumber >= 0 && f.url ? `:${f.lineNumber + 1}` : ""}`;
  };
  const scriptKey = (n) => {
    const u = n.callFrame.url;
    if (!u) return n.callFrame.functionName.startsWith("(") ? n.callFrame.functionName : "(browser/native)";
    if (u.includes(".wasm") || n.callFrame.functionName.startsWith("$") || /wasm-function/.test(n.callFrame.functionName)) return "wasm";
    return u.replace(/^.*\//, "");
  };
  const group = (keyOf) => {
    const m = new Map();
    for (const [id, us] of self) {
      const k = keyOf(byId.get(id));
      m.set(k, (m.get(k) ?? 0) + us);
    }
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  };
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  console.log(`\nself time by script (${(total / 1000).toFixed(0)} ms sampled):`);
  for (const [k, us] of group(scriptKey).slice(0, 12)) console.log(`  ${pct(us)}  ${k}`);
  console.log("\ntop functions by self time:");
  for (const [k, us] of group(fnKey).slice(0, 25)) console.log(`  ${pct(us)}  ${k}`);
  const out = join(ROOT, "bench/results/tmp");
  mkdirSync(out, { recursive: true });
  const file = join(out, `${caseId.replace("/", "-")}-${impl}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`\nprofile: ${file}`);
} finally {
  await browser.close();
  await server.stop();
}
