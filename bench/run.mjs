// The benchmark driver (scripts/bench.sh runs it): realtime-server + headless Chromium + load
// clients, writing bench/results/<date>.json, then BENCHMARKS.md through bench/report.mjs.
//
//   node bench/run.mjs --server-bin target/release/realtime-server [--runs 5] [--quick]
//                      [--phases browser,bytes,server,size] [--out bench/results]
//
// Phases:
//   browser  in one page load, for each run: every (benchmark x transport), RealtimeClient and the
//            plain-JS baseline back to back, their order alternating between runs
//   bytes    the same page loaded through a byte-counting proxy: bytes on the wire per message
//   server   fresh realtime-server / socket.io processes: RSS per idle session, broadcast fan-out
//   size     gzip -9 of pkg/ beside the peers' minified browser bundles
import { spawnSync, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { chromium } from "playwright-core";
import { arg, BENCH, ROOT } from "./lib/args.mjs";
import { startProxy } from "./lib/proxy.mjs";
import { startServer, rssBytes, loadavg } from "./lib/proc.mjs";
import { idleSessions, fanout } from "./lib/load.mjs";
import { writeReport } from "./report.mjs";

// ---- arguments ------------------------------------------------------------------------------------
const quick = arg("quick", false) === true;
// Nine: with five, the medians of two full runs on a 2-core machine differed by up to 15 %.
const RUNS = Number(arg("runs", quick ? 1 : 9));
const PHASES = String(arg("phases", "browser,bytes,server,size")).split(",");
const OUT = resolve(ROOT, arg("out", quick ? "bench/results/tmp" : "bench/results"));
const SERVER_BIN = resolve(ROOT, arg("server-bin", "target/release/realtime-server"));
const PKG = resolve(ROOT, arg("pkg-dir", "pkg"));
const CHROMIUM = process.env.RT_CHROMIUM ?? "/usr/bin/chromium";
// --only REGEX: run only the browser/bytes cases whose id matches (for working on one benchmark).
const ONLY = arg("only", null);
const only = (cases) => (ONLY ? cases.filter((c) => new RegExp(ONLY).test(c.id)) : cases);

const TRANSPORTS = ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"];
// The counts: the issue's, unless --quick.
const C = quick
  ? { flood: 5000, big: 500, latCount: 100, lpCount: 100, resumeCount: 400, resumeEvery: 100, memN: [200], fanN: 200, fanK: 50, fanRounds: 2 }
  : { flood: 50000, big: 2000, latCount: 300, lpCount: 300, resumeCount: 1000, resumeEvery: 200, memN: [1000, 5000], fanN: 1000, fanK: 200, fanRounds: 5 };
const LAT_RATE = 200;
// Samples per run of the throughput cases that take under two seconds (each implementation, back
// to back): every 2,000 × 1 KiB case, and the 50,000 × 64 B floods but WebSocket's and the
// iframe's (several seconds each). A short sample is decided by a few scheduling slices of a
// 2-core machine shared by the browser and the server; three per run steady a run's median.
const REPEAT = quick ? 1 : 3;
const SLOW_FLOODS = new Set(["websocket", "iframe"]);
// Short polling: the throughput runs poll back to back (pollIntervalMs 0), to measure the
// transport rather than the pause; latency runs keep the default 1000 ms pause.
const POLL_TP_INTERVAL = 0;

const log = (...a) => console.log("[bench]", ...a);

// ---- the case list ----------------------------------------------------------------------------------
function browserCases() {
  const cases = [];
  for (const t of TRANSPORTS) {
    const poll = t === "polling" ? { pollIntervalMs: POLL_TP_INTERVAL } : {};
    const repeat = SLOW_FLOODS.has(t) ? 1 : REPEAT;
    cases.push({ id: `flood64/${t}`, fn: "throughput", transport: t, repeat, args: { transport: t, count: C.flood, size: 64, ...poll } });
  }
  for (const t of TRANSPORTS) {
    const poll = t === "polling" ? { pollIntervalMs: POLL_TP_INTERVAL } : {};
    // Tens of milliseconds each, so the browser's progress-event cadence (about 50 ms for XHR
    // streaming) decides a sample's figure.
    cases.push({ id: `big1k/${t}`, fn: "throughput", transport: t, repeat: REPEAT, args: { transport: t, count: C.big, size: 1024, ...poll } });
  }
  for (const t of TRANSPORTS) {
    cases.push({ id: `latency/${t}`, fn: "latency", transport: t, args: { transport: t, rate: LAT_RATE, count: C.latCount } });
  }
  cases.push({
    id: "lpcycles/longpolling",
    fn: "throughput",
    transport: "longpolling",
    args: { transport: "longpolling", count: C.lpCount, size: 0, query: { fault: "drop-every=1" } },
  });
  for (const fault of [null, "ws-refuse", "ws-hang", "ws-drop-open"]) {
    cases.push({ id: `fallback/${fault ?? "none"}`, fn: "fallback", transport: null, args: { fault } });
  }
  for (const t of ["websocket", "eventsource", "streaming", "iframe"]) {
    cases.push({ id: `resume/${t}`, fn: "resume", transport: t, args: { transport: t, dropEvery: C.resumeEvery, count: C.resumeCount } });
  }
  return cases;
}

function byteCases() {
  const cases = [];
  for (const t of TRANSPORTS) {
    const poll = t === "polling" ? { pollIntervalMs: POLL_TP_INTERVAL } : {};
    cases.push({ id: `bytes-flood/${t}`, fn: "throughput", transport: t, args: { transport: t, count: 2000, size: 64, meter: true, ...poll } });
  }
  for (const t of TRANSPORTS) {
    cases.push({ id: `bytes-paced/${t}`, fn: "latency", transport: t, args: { transport: t, rate: LAT_RATE, count: C.latCount, meter: true } });
  }
  return cases;
}

// ---- the browser -------------------------------------------------------------------------------------
async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
}

async function openBenchPage(browser, url, problems, expose = {}) {
  const page = await browser.newPage();
  for (const [name, fn] of Object.entries(expose)) await page.exposeFunction(name, fn);
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("console", (m) => {
    const text = m.text();
    if (m.type() === "error" && !/^Failed to load resource|^WebSocket connection to .* failed|net::ERR_|EventSource/.test(text)) {
      problems.push(`console.error: ${text}`);
    }
  });
  await page.goto(url);
  await page.waitForFunction(() => window.bench !== undefined, null, { timeout: 30000 });
  await page.evaluate(() => window.bench.ready);
  return page;
}

async function runCase(page, c, impl) {
  const started = Date.now();
  const load = loadavg();
  let result;
  try {
    result = await Promise.race([
      page.evaluate(([fn, a]) => window.bench[fn](a), [c.fn, { ...c.args, impl }]),
      new Promise((_, fail) => setTimeout(() => fail(new Error("driver timeout (180 s)")), 180000)),
    ]);
  } catch (e) {
    result = { error: String(e.message ?? e).split("\n")[0] };
  }
  return { ...result, load1: load?.[0], wallMs: Date.now() - started };
}

async function browserPhase(serverUrl, cases, runs, { pageUrl, label, expose } = {}) {
  const browser = await launch();
  const problems = [];
  const results = {};
  const runInfo = [];
  try {
    const p = await openBenchPage(browser, pageUrl ?? `${serverUrl}/index.html`, problems, expose);
    for (let r = 0; r < runs; r++) {
      const t0 = Date.now();
      const loadStart = loadavg();
      const calibration = (await p.evaluate(() => window.bench.calibrate())).ms;
      // Alternate which implementation goes first, so neither always gets the warmer turn.
      const order = r % 2 === 0 ? ["raw", "client"] : ["client", "raw"];
      for (const c of cases) {
        for (let k = 0; k < (c.repeat ?? 1); k++) {
          for (const impl of order) {
            const res = await runCase(p, c, impl);
            ((results[c.id] ??= { raw: [], client: [] })[impl]).push({ run: r + 1, ...res });
            const brief = res.error ? `ERROR ${res.error}` : summarize(c, res);
            log(`${label} run ${r + 1}/${runs} ${c.id} ${impl}: ${brief}`);
          }
        }
      }
      runInfo.push({ run: r + 1, loadStart, loadEnd: loadavg(), calibrationMs: calibration, ms: Date.now() - t0 });
    }
    await p.close();
  } finally {
    await browser.close();
  }
  return { results, runs: runInfo, problems };
}

function summarize(c, r) {
  const f = (x, d = 0) => (typeof x === "number" ? x.toFixed(d) : String(x));
  let s;
  if (c.fn === "throughput") s = `${f(r.rate)} msg/s (${f(r.ms)} ms, got ${r.got})`;
  else if (c.fn === "latency") s = `p50 ${f(r.p50, 2)} p99 ${f(r.p99, 2)} max ${f(r.max, 2)} ms (n ${r.n})`;
  else if (c.fn === "fallback") s = `${f(r.ms)} ms via ${r.transport}`;
  else if (c.fn === "resume") s = `p50 ${f(r.p50, 1)} ms max ${f(r.max, 1)} (n ${r.n}, total ${f(r.totalMs)} ms)`;
  if (r.bytes) s += ` bytes down ${r.bytes.down} up ${r.bytes.up} answers ${JSON.stringify(r.bytes.answers)}`;
  return s;
}

// ---- size -----------------------------------------------------------------------------------------------
function gzip9(file) {
  const out = execFileSync("gzip", ["-9", "-c", file], { maxBuffer: 64 << 20 });
  return out.length;
}

// Builds with fewer transports (cargo features), made by scripts/bench.sh: one directory each,
// named after its feature set (`websocket+polling`).
const FEATURE_PKGS = join(ROOT, "target", "pkg-features");

function sizePhase() {
  const ourRow = (name, dir) => {
    const files = ["realtime_wasm_bg.wasm", "realtime_wasm.js"].map((f) => join(dir, f));
    return {
      name,
      version: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version,
      files: files.map((f) => relative(ROOT, f)),
      raw: files.reduce((s, f) => s + readFileSync(f).length, 0),
      gzip: files.reduce((s, f) => s + gzip9(f), 0),
      parts: files.map((f) => ({ file: relative(ROOT, f), raw: readFileSync(f).length, gzip: gzip9(f) })),
    };
  };
  const rows = [ourRow("realtime-wasm", PKG)];
  for (const set of existsSync(FEATURE_PKGS) ? readdirSync(FEATURE_PKGS).sort() : []) {
    rows.push({ ...ourRow(`realtime-wasm, ${set.replaceAll("+", " + ")} only`, join(FEATURE_PKGS, set)), features: set.split("+") });
  }
  const peers = [
    ["socket.io-client", "dist/socket.io.min.js"],
    ["engine.io-client", "dist/engine.io.min.js"],
    ["sockjs-client", "dist/sockjs.min.js"],
    ["@microsoft/signalr", "dist/browser/signalr.min.js"],
    ["centrifuge", "dist/centrifuge.js"],
  ];
  for (const [name, file] of peers) {
    const dir = join(BENCH, "node_modules", name);
    const path = join(dir, file);
    const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
    rows.push({ name, version, files: [`bench/node_modules/${name}/${file}`], raw: readFileSync(path).length, gzip: gzip9(path) });
  }
  return rows;
}

// ---- server figures --------------------------------------------------------------------------------
async function startRealtime() {
  return startServer(SERVER_BIN, ["--addr", "127.0.0.1:0", "--test-hooks", "--static-dir", join(BENCH, "page"), "--pkg-dir", PKG], {
    cwd: ROOT,
    name: "realtime-server",
  });
}
async function startSocketIo() {
  return startServer(process.execPath, [join(BENCH, "sio-server.mjs"), "--addr", "127.0.0.1:0"], { cwd: BENCH, name: "socket.io server" });
}

async function serverPhase() {
  const memory = [];
  const plans = [
    ["realtime-server", "websocket"],
    ["realtime-server", "sse"],
    ["realtime-server", "longpolling"],
    ["socket.io", "websocket"],
    ["socket.io", "longpolling"],
  ];
  for (const [flavour, kind] of plans) {
    for (const n of C.memN) {
      const server = flavour === "socket.io" ? await startSocketIo() : await startRealtime();
      try {
        const r = await idleSessions({ flavour, server, kind, n, rss: rssBytes });
        memory.push({ server: flavour, transport: kind, ...r, load1: loadavg()?.[0] });
        log(`memory ${flavour} ${kind} n=${n}: ${(r.perSession / 1024).toFixed(1)} KiB/session (RSS ${(r.before / 1048576).toFixed(1)} -> ${(r.after / 1048576).toFixed(1)} MiB, opened in ${r.openMs} ms)`);
      } catch (e) {
        memory.push({ server: flavour, transport: kind, n, error: String(e.message ?? e).split("\n")[0] });
        log(`memory ${flavour} ${kind} n=${n}: ERROR ${e.message}`);
      } finally {
        await server.stop();
      }
    }
  }
  const fan = [];
  for (const flavour of ["realtime-server", "socket.io"]) {
    const server = flavour === "socket.io" ? await startSocketIo() : await startRealtime();
    try {
      const r = await fanout({ flavour, server, n: C.fanN, k: C.fanK, rounds: C.fanRounds });
      fan.push({ server: flavour, ...r, load1: loadavg()?.[0] });
      log(`fan-out ${flavour}: ${r.rounds.map((x) => x.rate.toFixed(0)).join(", ")} msg/s`);
    } catch (e) {
      fan.push({ server: flavour, n: C.fanN, k: C.fanK, error: String(e.message ?? e).split("\n")[0] });
      log(`fan-out ${flavour}: ERROR ${e.message}`);
    } finally {
      await server.stop();
    }
  }
  return { memory, fanout: fan };
}

// ---- meta ---------------------------------------------------------------------------------------------------
function meta() {
  const git = (...a) => spawnSync("git", a, { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const chromiumVersion = spawnSync(CHROMIUM, ["--version"], { encoding: "utf8" }).stdout.trim();
  return {
    date: new Date().toISOString(),
    commit: git("rev-parse", "HEAD"),
    commitSubject: git("log", "-1", "--format=%s"),
    dirty: git("status", "--porcelain", "--", "src", "server", "Cargo.toml", "Cargo.lock") !== "",
    node: process.version,
    chromium: chromiumVersion,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    runs: RUNS,
    quick,
    counts: C,
    // Samples per run of each throughput case (cases without an entry: one).
    repeats: Object.fromEntries(browserCases().filter((c) => (c.repeat ?? 1) > 1).map((c) => [c.id, c.repeat])),
    latencyRate: LAT_RATE,
    pollThroughputIntervalMs: POLL_TP_INTERVAL,
    loadAtStart: loadavg(),
  };
}

// ---- main ---------------------------------------------------------------------------------------------------
async function main() {
  if (!existsSync(SERVER_BIN)) throw new Error(`no server binary at ${SERVER_BIN}`);
  const started = Date.now();
  const out = { meta: meta(), phases: {} };
  log(`commit ${out.meta.commit.slice(0, 10)}${out.meta.dirty ? " (dirty)" : ""}, ${RUNS} runs, phases ${PHASES.join(",")}${quick ? " (quick counts)" : ""}`);

  if (PHASES.includes("size")) {
    out.size = sizePhase();
    for (const r of out.size) log(`size ${r.name}@${r.version}: ${r.gzip} B gzip -9 (${r.raw} B raw)`);
  }

  if (PHASES.includes("browser") || PHASES.includes("bytes")) {
    const server = await startRealtime();
    log(`realtime-server at ${server.url} (pid ${server.pid})`);
    try {
      if (PHASES.includes("browser")) {
        const t0 = Date.now();
        const b = await browserPhase(server.url, only(browserCases()), RUNS, { label: "browser" });
        out.browser = b.results;
        out.runs = b.runs;
        out.problems = b.problems;
        out.phases.browserMs = Date.now() - t0;
      }
      if (PHASES.includes("bytes")) {
        const t0 = Date.now();
        const proxy = await startProxy(server.host, server.port);
        try {
          const pageUrl = `http://127.0.0.1:${proxy.port}/index.html?direct=${encodeURIComponent(server.url)}`;
          const expose = { proxyReset: () => proxy.reset(), proxyRead: () => proxy.read() };
          const b = await browserPhase(server.url, only(byteCases()), quick ? 1 : 2, { label: "bytes", pageUrl, expose });
          out.bytes = b.results;
          out.bytesProblems = b.problems;
        } finally {
          await proxy.close();
        }
        out.phases.bytesMs = Date.now() - t0;
      }
    } finally {
      await server.stop();
    }
  }

  if (PHASES.includes("server")) {
    const t0 = Date.now();
    out.server = await serverPhase();
    out.phases.serverMs = Date.now() - t0;
  }

  out.meta.loadAtEnd = loadavg();
  out.meta.totalMs = Date.now() - started;
  mkdirSync(OUT, { recursive: true });
  const stamp = out.meta.date.replace(/[:]/g, "-").replace(/\.\d+Z$/, "Z");
  const file = join(OUT, `${stamp}${quick ? "-quick" : ""}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  log(`results: ${relative(ROOT, file)} (${(out.meta.totalMs / 1000).toFixed(0)} s)`);
  if (!quick && !ONLY && PHASES.length === 4) {
    const md = writeReport(file, { root: ROOT });
    log(`report: ${md.map((f) => relative(ROOT, f)).join(", ")}`);
  } else {
    log(`partial or quick run: BENCHMARKS.md not rewritten (node bench/report.mjs ${relative(ROOT, file)} --md /tmp/BENCHMARKS.md writes one)`);
  }
}

main().then(
  // Load-client sockets and timers may linger; the run is over.
  () => process.exit(0),
).catch((e) => {
  console.error("[bench] FAILED:", e);
  process.exit(1);
});
