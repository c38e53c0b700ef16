// Turns a results file of bench/run.mjs into BENCHMARKS.md (tables, targets) and an SVG chart.
//   node bench/report.mjs bench/results/<date>.json [--md BENCHMARKS.md]
// run.mjs calls writeReport itself after a full run.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TRANSPORTS = ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"];
const TARGET_THROUGHPUT = 0.9;
const TARGET_LATENCY_MS = 0.2;
const SOCKET_IO_GZIP = 14763;

// ---- numbers -----------------------------------------------------------------------------------
function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
function stats(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x));
  if (!v.length) return null;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}
function fmt(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
/** `x` with two decimals and its sign (none for zero, which never shows as -0.00). */
function signed(x) {
  const v = Math.abs(x) < 0.005 ? 0 : x;
  return `${v > 0 ? "+" : ""}${v.toFixed(2)}`;
}
function fmtStats(s, digits = 0) {
  if (!s) return "failed";
  if (s.n === 1) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} <sub>${fmt(s.min, digits)}–${fmt(s.max, digits)}</sub>`;
}
function ratio(a, b, digits = 2) {
  if (a === null || b === null || a === undefined || b === undefined || !b) return "–";
  return `${(a / b).toFixed(digits)}×`;
}
const ok = (a) => (a ? "**met**" : "**missed**");
/** `x` as the tables print it (two decimals): a target is judged on the figure shown, so a Δ of
 * 20.6 − 20.4 ms (0.20000000000000284 in floating point) is +0.20 and meets "at most +0.2 ms". */
const shown = (x) => Math.round(x * 100) / 100;

/** Per-implementation values of `field` over the runs of case `id`, as stats. */
function caseStats(results, id, impl, field) {
  const runs = results?.[id]?.[impl] ?? [];
  return stats(runs.filter((r) => !r.error).map((r) => (typeof field === "function" ? field(r) : r[field])));
}
/**
 * Client ÷ raw of `field`, paired by run: in each run, the median of the client's samples over the
 * median of the raw API's (the two ran back to back in one page), then stats over the runs.
 */
function pairedRatios(results, id, field) {
  const byRun = (impl) => {
    const m = new Map();
    for (const r of results?.[id]?.[impl] ?? []) {
      if (!r.error && Number.isFinite(r[field])) m.set(r.run, [...(m.get(r.run) ?? []), r[field]]);
    }
    return m;
  };
  const raw = byRun("raw");
  const ratios = [...byRun("client")].filter(([run]) => raw.has(run)).map(([run, xs]) => median(xs) / median(raw.get(run)));
  return stats(ratios);
}
function errorsOf(results, id, impl) {
  return (results?.[id]?.[impl] ?? []).filter((r) => r.error).map((r) => r.error);
}

// ---- the chart ------------------------------------------------------------------------------------
function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

/** Horizontal grouped bars: for each transport, RealtimeClient / raw for two series, with a target line. */
function chartSvg(groups, { title, series, target, maxRatio = 1.5 }) {
  const rowH = 18;
  const groupGap = 14;
  const left = 110;
  const width = 640;
  const plotW = width - left - 70;
  const top = 44;
  const height = top + groups.length * (series.length * rowH + groupGap) + 40;
  const x = (r) => left + (Math.min(r, maxRatio) / maxRatio) * plotW;
  const colours = ["#3b6fb6", "#e0913a", "#5a9e5a"];
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">\n`;
  s += `<rect width="100%" height="100%" fill="#fff"/>\n`;
  s += `<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>\n`;
  series.forEach((name, i) => {
    const lx = left + i * 170;
    s += `<rect x="${lx}" y="26" width="10" height="10" fill="${colours[i]}"/><text x="${lx + 14}" y="35">${esc(name)}</text>\n`;
  });
  for (let t = 0; t <= maxRatio + 1e-9; t += 0.25) {
    s += `<line x1="${x(t)}" x2="${x(t)}" y1="${top - 4}" y2="${height - 30}" stroke="#ddd"/>`;
    s += `<text x="${x(t)}" y="${height - 16}" text-anchor="middle" fill="#555">${t.toFixed(2)}×</text>\n`;
  }
  s += `<line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${height - 30}" stroke="#888"/>\n`;
  if (target) {
    s += `<line x1="${x(target)}" x2="${x(target)}" y1="${top - 4}" y2="${height - 30}" stroke="#c33" stroke-dasharray="4 3"/>`;
    s += `<text x="${x(target) + 3}" y="${top + 2}" fill="#c33" font-size="10">target ${target}×</text>\n`;
  }
  let y = top;
  for (const g of groups) {
    s += `<text x="${left - 8}" y="${y + (series.length * rowH) / 2 + 4}" text-anchor="end">${esc(g.label)}</text>\n`;
    g.values.forEach((v, i) => {
      if (v !== null && Number.isFinite(v)) {
        s += `<rect x="${left}" y="${y + 2}" width="${Math.max(1, x(v) - left)}" height="${rowH - 4}" fill="${colours[i]}"/>`;
        s += `<text x="${x(v) + 4}" y="${y + rowH - 5}" fill="#333">${v.toFixed(2)}×${v > maxRatio ? " →" : ""}</text>\n`;
      } else {
        s += `<text x="${left + 4}" y="${y + rowH - 5}" fill="#c33">failed</text>\n`;
      }
      y += rowH;
    });
    y += groupGap;
  }
  s += `<text x="${left}" y="${height - 2}" fill="#555" font-size="10">RealtimeClient ÷ plain JS on the browser API, median of the per-run ratios; 1× = as fast as the raw API</text>\n`;
  return `${s}</svg>\n`;
}

// ---- the report -----------------------------------------------------------------------------------
export function writeReport(resultsFile, { root = ROOT, md = join(root, "BENCHMARKS.md") } = {}) {
  const R = JSON.parse(readFileSync(resultsFile, "utf8"));
  const B = R.browser ?? {};
  const Y = R.bytes ?? {};
  const M = R.meta;
  const rel = (f) => relative(dirname(md), f);
  const lines = [];
  const p = (...l) => lines.push(...l);
  const targets = [];

  p(
    "# Benchmarks",
    "",
    `Generated by \`bash scripts/bench.sh\` from [\`${relative(root, resultsFile)}\`](${rel(resultsFile)}) — do not edit by hand.`,
    "",
    `- **When / what**: ${M.date}, commit \`${M.commit.slice(0, 10)}\`${M.dirty ? " with uncommitted changes in src/ or server/" : ""} (${esc(M.commitSubject ?? "")})`,
    `- **Machine**: ${M.cores} cores (${M.cpu}), ${M.memGiB} GiB; ${M.chromium}; Node ${M.node}; loopback only`,
    `- **Runs**: ${M.runs} (browser benchmarks: every case for both implementations in one page load, back to back, the order alternating between runs); cells show the median and <sub>min–max</sub> over the runs (over all samples where a case takes several per run)`,
    `- **Load** (1-min loadavg at the start of each run): ${(R.runs ?? []).map((r) => r.loadStart?.[0]?.toFixed(2)).join(", ") || "–"}; CPU calibration (fixed JS work in the page, ms, lower is more CPU for us): ${(R.runs ?? []).map((r) => fmt(r.calibrationMs)).join(", ") || "–"}. The machine has ${M.cores} cores; a load above that means the figures were taken while something else ran and are noisier.`,
    `- **Total time**: ${fmt(M.totalMs / 1000)} s`,
    "",
    "**raw** = plain JavaScript on the browser API of that transport (`WebSocket`, `EventSource`, `XMLHttpRequest` readyState-3",
    "streaming, hidden `<iframe>` + `postMessage`, XHR long/short polls) consuming the same `/rt` endpoints of the same",
    "`realtime-server`, parsing the session protocol's JSON frames itself and acknowledging like the client (every 64",
    "messages or after 1 s; one POST in flight). **client** = `RealtimeClient` from `pkg/` with `transports: [that one]`.",
    "Ratios are client ÷ raw: above 1× is better for throughput, below 1× is better for latency, bytes and time.",
    "",
  );

  // ---- targets (filled in below, printed first) ----
  const targetsAt = lines.length;

  // ---- throughput ----
  const tpRows = (prefix, label, size) => {
    p(`### ${label}`, "", "| transport | samples per run | raw msg/s | client msg/s | client ÷ raw (paired by run) | client MB/s |", "|---|---:|---:|---:|---:|---:|");
    const ratios = {};
    for (const t of TRANSPORTS) {
      const id = `${prefix}/${t}`;
      const raw = caseStats(B, id, "raw", "rate");
      const cl = caseStats(B, id, "client", "rate");
      const paired = pairedRatios(B, id, "rate");
      ratios[t] = paired?.median ?? null;
      const mbs = cl ? (cl.median * (size + 40)) / 1e6 : null;
      const per = M.repeats?.[id] ?? (prefix === "big1k" ? (M.bigRepeat ?? 1) : 1);
      p(`| ${t} | ${per} | ${fmtStats(raw)} | ${fmtStats(cl)} | ${paired ? (paired.n === 1 ? `${fmt(paired.median, 2)}×` : `${fmt(paired.median, 2)}× <sub>${fmt(paired.min, 2)}–${fmt(paired.max, 2)}</sub>`) : "–"} | ${fmt(mbs, 1)} |`);
    }
    const errs = TRANSPORTS.flatMap((t) => ["raw", "client"].flatMap((i) => errorsOf(B, `${prefix}/${t}`, i).map((e) => `${t} ${i}: ${e}`)));
    if (errs.length) p("", `Failures: ${errs.map(esc).join("; ")}`);
    p("");
    return ratios;
  };
  p("## Receive throughput", "");
  p(
    `Time from \`emit("burst", {count, size})\` to the last of the \`count\` named events \`burst\` (\`{n, pad}\`) arriving at a listener,`,
    `on an open connection. Short polling polls back to back here (\`pollIntervalMs: ${M.pollThroughputIntervalMs}\`); MB/s counts the payload plus about 40 B of frame.`,
    "",
    "The msg/s cells are the median and <sub>min–max</sub> over every sample. **client ÷ raw** is paired by run, like the",
    "latency Δ below: in each run the median of the client's samples over the median of the raw API's, taken back to back",
    "in one page; the cell shows the median of those per-run ratios and their <sub>min–max</sub>. On a 2-core machine shared by",
    "the browser and the server, a run's conditions move both figures together, which pairing cancels.",
    "",
  );
  const r64 = tpRows("flood64", `${fmt(M.counts.flood)} × 64 B`, 64);
  const r1k = tpRows("big1k", `${fmt(M.counts.big)} × 1 KiB`, 1024);
  p(`![RealtimeClient ÷ raw throughput](${rel(join(dirname(resultsFile), `${basename(resultsFile, ".json")}.svg`))})`, "");
  for (const t of ["websocket", "eventsource", "streaming"]) {
    const worst = Math.min(r64[t] ?? 0, r1k[t] ?? 0);
    targets.push([`throughput ≥ ${TARGET_THROUGHPUT}× raw: ${t}`, `64 B ${r64[t]?.toFixed(2) ?? "–"}×, 1 KiB ${r1k[t]?.toFixed(2) ?? "–"}×`, shown(worst) >= TARGET_THROUGHPUT]);
  }

  // ---- latency ----
  p("## One-way latency at 200 messages/s", "");
  p(
    `A plain WebSocket session in the same page publishes \`{i, t: performance.now()}\` to a room at ${M.latencyRate} messages/s`,
    `(straight to the server); the implementation under test has joined the room and subtracts \`t\` on arrival (same page,`,
    `same clock). ${fmt(M.counts.latCount)} messages per run, the first 20 left out as warm-up. The time includes the publisher's`,
    "upstream hop, the same for both. Short polling keeps its default 1000 ms pause here. Chromium's `performance.now()`",
    "is coarsened to 0.1 ms on this (not cross-origin-isolated) page.",
    "",
    "Δ p50 is the median over the runs of (client p50 − raw p50) within a run: the two run back to back in one page, so this",
    "pairs each figure with the one taken under the same conditions. For streaming the p50 itself is set by how often the",
    "browser reports XHR progress (about every 50 ms), which moves a run's p50 by several milliseconds either way.",
    "",
    "| transport | raw p50 | raw p99 | raw max | client p50 | client p99 | client max | Δ p50 (ms) | p50 client ÷ raw |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  const latDelta = {};
  for (const t of TRANSPORTS) {
    const id = `latency/${t}`;
    const g = (impl, f) => caseStats(B, id, impl, f);
    const [r50, r99, rmax, c50, c99, cmax] = [g("raw", "p50"), g("raw", "p99"), g("raw", "max"), g("client", "p50"), g("client", "p99"), g("client", "max")];
    // Paired by run: each run measures both, back to back.
    const byRun = (impl) => new Map((B?.[id]?.[impl] ?? []).filter((r) => !r.error && typeof r.p50 === "number").map((r) => [r.run, r.p50]));
    const rawByRun = byRun("raw");
    const diffs = [...byRun("client")].filter(([run]) => rawByRun.has(run)).map(([run, c]) => c - rawByRun.get(run));
    latDelta[t] = diffs.length ? stats(diffs).median : null;
    p(`| ${t} | ${fmtStats(r50, 2)} | ${fmtStats(r99, 1)} | ${fmtStats(rmax, 1)} | ${fmtStats(c50, 2)} | ${fmtStats(c99, 1)} | ${fmtStats(cmax, 1)} | ${latDelta[t] === null ? "–" : signed(latDelta[t])} | ${ratio(c50?.median, r50?.median)} |`);
  }
  p("");
  // Short polling's latency is its 1000 ms pause: the +0.2 ms target is about the push transports.
  for (const t of TRANSPORTS.filter((x) => x !== "polling")) {
    if (latDelta[t] === null) continue;
    targets.push([`p50 latency ≤ raw + ${TARGET_LATENCY_MS} ms: ${t}`, `${signed(latDelta[t])} ms`, shown(latDelta[t]) <= TARGET_LATENCY_MS]);
  }

  // ---- bytes ----
  p("## Bytes on the wire per message", "");
  p(
    "Counted by a TCP proxy in `bench/lib/proxy.mjs` between Chromium and realtime-server (the page is loaded through it):",
    "TCP payload in both directions — request and status lines, headers, bodies, chunked and WebSocket framing — from the",
    "moment the connection is open to the last message (the latency publisher is not behind the proxy). *Flood*: a burst of",
    "2,000 × 64 B; *paced*: the latency run (200 messages/s, 24-byte payload + index + timestamp). `polls` and `POSTs` are",
    "the answers seen (to GET /rt/poll and POST /rt/send; medians over the runs); `msgs/poll` = messages per poll answer.",
    "Short polling polls back to back in the flood (`pollIntervalMs: 0`) and with its default 1000 ms pause when paced.",
    "",
    "| transport | mode | raw B/msg (down + up) | client B/msg (down + up) | client ÷ raw | raw polls / POSTs | client polls / POSTs | raw msgs/poll | client msgs/poll |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  const lpBatch = {};
  for (const mode of ["flood", "paced"]) {
    for (const t of TRANSPORTS) {
      const id = `bytes-${mode}/${t}`;
      const n = mode === "flood" ? 2000 : M.counts.latCount;
      const per = (impl, f) => caseStats(Y, id, impl, (r) => (r.bytes ? f(r.bytes) / n : NaN));
      const tot = (b) => b.down + b.up;
      const raw = per("raw", tot);
      const cl = per("client", tot);
      const rd = per("raw", (b) => b.down);
      const cd = per("client", (b) => b.down);
      const reqs = (impl) => {
        const runs = (Y[id]?.[impl] ?? []).filter((r) => r.bytes);
        // Answers, not requests: a poll sent just before the count started still brings messages.
        const count = (r, k) => (r.bytes.answers ?? r.bytes.requests)[k] ?? 0;
        const polls = median(runs.map((r) => count(r, "GET /rt/poll")));
        const posts = median(runs.map((r) => count(r, "POST /rt/send")));
        return { polls, posts };
      };
      const rq = reqs("raw");
      const cq = reqs("client");
      const mpp = (q) => (q.polls ? n / q.polls : null);
      if (t === "longpolling") lpBatch[mode] = { raw: mpp(rq), client: mpp(cq), rawPolls: rq.polls, clientPolls: cq.polls };
      const split = (a, d) => (a ? `${fmt(a.median, 1)} (${fmt(d?.median, 1)} + ${fmt(a.median - (d?.median ?? 0), 1)})` : "failed");
      const isPoll = t === "longpolling" || t === "polling";
      p(`| ${t} | ${mode} | ${split(raw, rd)} | ${split(cl, cd)} | ${ratio(cl?.median, raw?.median)} | ${fmt(rq.polls)} / ${fmt(rq.posts)} | ${fmt(cq.polls)} / ${fmt(cq.posts)} | ${isPoll ? fmt(mpp(rq), 1) : "–"} | ${isPoll ? fmt(mpp(cq), 1) : "–"} |`);
    }
  }
  p("");

  // ---- long polling cycles ----
  p("## Long polling: cycles per second, one message per answer", "");
  p(
    "A burst through the `drop-every=1` test hook, which makes every `/rt/poll` answer carry at most one message: each",
    "message costs one full request/answer cycle. Messages (= cycles) per second:",
    "",
    "| | raw | client | client ÷ raw |",
    "|---|---:|---:|---:|",
  );
  {
    const raw = caseStats(B, "lpcycles/longpolling", "raw", "rate");
    const cl = caseStats(B, "lpcycles/longpolling", "client", "rate");
    p(`| cycles/s (${fmt(M.counts.lpCount)} messages) | ${fmtStats(raw)} | ${fmtStats(cl)} | ${ratio(cl?.median, raw?.median)} |`, "");
    const f = lpBatch.flood;
    if (f) {
      // The server answers a long poll with everything pending (within its batch limits): a client
      // that batches as well needs no more answers than the raw loop (one more for timing).
      const met = f.clientPolls !== null && f.rawPolls !== null && f.clientPolls <= f.rawPolls + 1;
      targets.push(["long polling batches every pending message", `flood of 2,000: ${fmt(f.clientPolls)} poll answer${f.clientPolls === 1 ? "" : "s"} (${fmt(f.client, 1)} msgs/answer) vs raw ${fmt(f.rawPolls)} (${fmt(f.raw, 1)}); long-poll flood throughput ${r64.longpolling?.toFixed(2) ?? "–"}× raw`, met]);
    }
  }

  // ---- fallback and recovery ----
  p("## Fallback and recovery", "");
  p(
    "**Time to the first message**: from `new RealtimeClient(url, {transports: [\"websocket\", \"eventsource\"], connectTimeoutMs: 2000})`",
    "with an `emit(\"echo\")` queued at once, to the echo's arrival, with the WebSocket faulted through the test hooks",
    "(`query: {fault}`). The baseline is a plain-JS fallback: WebSocket, and EventSource if the WebSocket has not delivered",
    "its open frame within 2 s or fails first.",
    "",
    "| WebSocket | raw fallback (ms) | client (ms) | client ÷ raw | client ended on |",
    "|---|---:|---:|---:|---|",
  );
  for (const f of ["none", "ws-refuse", "ws-hang", "ws-drop-open"]) {
    const id = `fallback/${f}`;
    const raw = caseStats(B, id, "raw", "ms");
    const cl = caseStats(B, id, "client", "ms");
    const via = [...new Set((B[id]?.client ?? []).map((r) => r.transport ?? r.error))].join(", ");
    p(`| ${f === "none" ? "healthy" : `\`${f}\``} | ${fmtStats(raw)} | ${fmtStats(cl)} | ${ratio(cl?.median, raw?.median)} | ${esc(via)} |`);
  }
  p(
    "",
    `**Time to resume after a drop**: a burst of ${fmt(M.counts.resumeCount)} through \`drop-every=${M.counts.resumeEvery}\` (the server cuts the`,
    "connection abruptly after every N messages). Each sample runs from the last message before a cut to the first new",
    "message after it (the client's cut is seen as its `state` event to `reconnecting`). The raw baseline reconnects at once",
    "with its `sid`, `token` and `after`.",
    "",
    "| transport | raw p50 (ms) | raw max | client p50 (ms) | client max | client ÷ raw (p50) |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const t of ["websocket", "eventsource", "streaming", "iframe"]) {
    const id = `resume/${t}`;
    const g = (i, f) => caseStats(B, id, i, f);
    p(`| ${t} | ${fmtStats(g("raw", "p50"), 1)} | ${fmtStats(g("raw", "max"), 1)} | ${fmtStats(g("client", "p50"), 1)} | ${fmtStats(g("client", "max"), 1)} | ${ratio(g("client", "p50")?.median, g("raw", "p50")?.median)} |`);
  }
  p("");

  // ---- size ----
  if (R.size) {
    p("## Size", "");
    p(
      "gzip -9 of what a browser downloads: for realtime-wasm `pkg/realtime_wasm_bg.wasm` + `pkg/realtime_wasm.js`, each",
      "compressed on its own and added; for the peers their minified browser bundle from npm (installed into",
      "`bench/node_modules` by the bench command). The rows \"... only\" are builds with fewer transports (cargo",
      "features; `RT_FEATURES=websocket,polling bash scripts/build-pkg.sh`), which scripts/bench.sh builds into",
      "`target/pkg-features/`; the full build is the npm package.",
      "",
      "| library | version | file(s) | raw B | gzip -9 B | realtime-wasm ÷ it |",
      "|---|---|---|---:|---:|---:|",
    );
    const ours = R.size.find((r) => r.name === "realtime-wasm");
    for (const r of R.size) {
      const files = r.parts ? r.parts.map((x) => `\`${basename(x.file)}\` ${fmt(x.gzip)}`).join(" + ") : `\`${r.files[0].replace("bench/node_modules/", "")}\``;
      p(`| ${r.name} | ${r.version} | ${files} | ${fmt(r.raw)} | ${fmt(r.gzip)} | ${r === ours ? "1×" : ratio(ours.gzip, r.gzip)} |`);
    }
    p("");
    const sio = R.size.find((r) => r.name === "socket.io-client")?.gzip ?? SOCKET_IO_GZIP;
    // socket.io-client carries WebSocket and long polling: the build with the same pair, if measured.
    const pair = R.size.find((r) => r.features?.join("+") === "websocket+polling");
    const pairText = pair ? `; the websocket + polling build ${fmt(pair.gzip)} B (${(pair.gzip / sio).toFixed(2)}×)` : "";
    targets.push([
      "package < socket.io-client's gzip size",
      `${fmt(ours.gzip)} B vs ${fmt(sio)} B (${(ours.gzip / sio).toFixed(2)}×, ${fmt(Math.abs(ours.gzip - sio))} B ${ours.gzip < sio ? "under" : "over"})${pairText}`,
      ours.gzip < sio,
    ]);
  }

  // ---- server ----
  if (R.server) {
    p("## Server", "");
    p(
      "Fresh server processes on loopback; load clients in `bench/lib/load.mjs` (the `ws` package and `node:http`, no client",
      "library) speak each server's wire protocol. **Memory**: one warm-up session, VmRSS (`/proc/PID/status`), then N idle",
      "sessions (WebSocket: open socket after the open frame; SSE: open event stream; long polling: a held poll), 1.5 s to",
      "settle, VmRSS again; per session = difference ÷ N. The socket.io server is `bench/sio-server.mjs` (npm `socket.io`,",
      "defaults); it has no SSE transport.",
      "",
      "| transport | sessions | realtime-server KiB/session | socket.io KiB/session | realtime ÷ socket.io | realtime-server RSS before → after (MiB) | socket.io RSS before → after (MiB) |",
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    const mem = R.server.memory;
    const find = (s, t, n) => mem.find((m) => m.server === s && m.transport === t && m.n === n);
    const mib = (m) => (m && !m.error ? `${fmt(m.before / 1048576, 1)} → ${fmt(m.after / 1048576, 1)}` : m?.error ? "failed" : "–");
    for (const t of ["websocket", "sse", "longpolling"]) {
      for (const n of [...new Set(mem.map((m) => m.n))]) {
        const a = find("realtime-server", t, n);
        const b = find("socket.io", t, n);
        const ka = a && !a.error ? a.perSession / 1024 : null;
        const kb = b && !b.error ? b.perSession / 1024 : null;
        p(`| ${t} | ${fmt(n)} | ${fmt(ka, 1)} | ${b ? fmt(kb, 1) : "n/a"} | ${ratio(ka, kb)} | ${mib(a)} | ${b ? mib(b) : "n/a"} |`);
      }
    }
    p("");
    const fan = R.server.fanout;
    const fs = (s) => {
      const f = fan.find((x) => x.server === s);
      return f && !f.error ? stats(f.rounds.map((r) => r.rate)) : null;
    };
    const fr = fs("realtime-server");
    const fsio = fs("socket.io");
    const f0 = fan[0] ?? {};
    p(
      `**Broadcast fan-out**: ${fmt(f0.n)} WebSocket sessions join one room; a publisher session sends ${fmt(f0.k)} publishes as`,
      "fast as its socket takes them; figure = sessions × messages ÷ time from the first publish to the last delivery",
      `(${fan[0]?.rounds?.length ?? 0} rounds; the load client, in one Node process, shares the 2 cores with the server).`,
      "",
      "| | realtime-server | socket.io | realtime ÷ socket.io |",
      "|---|---:|---:|---:|",
      `| messages delivered/s | ${fmtStats(fr)} | ${fmtStats(fsio)} | ${ratio(fr?.median, fsio?.median)} |`,
      "",
    );
  }

  // ---- problems ----
  const problems = [...(R.problems ?? []), ...(R.bytesProblems ?? [])];
  if (problems.length) p("## Page errors seen", "", ...[...new Set(problems)].slice(0, 20).map((x) => `- ${esc(x)}`), "");

  // ---- targets table, inserted at the top ----
  const tt = [
    "## Targets (issue 5)",
    "",
    "| target | measured | |",
    "|---|---|---|",
    ...targets.map(([what, measured, met]) => `| ${what} | ${measured} | ${ok(met)} |`),
    "",
  ];
  lines.splice(targetsAt, 0, ...tt);

  // ---- chart ----
  const svgFile = join(dirname(resultsFile), `${basename(resultsFile, ".json")}.svg`);
  const svg = chartSvg(
    TRANSPORTS.map((t) => ({ label: t, values: [r64[t], r1k[t]] })),
    { title: "Receive throughput, RealtimeClient ÷ raw browser API", series: [`${fmt(M.counts.flood)} × 64 B`, `${fmt(M.counts.big)} × 1 KiB`], target: TARGET_THROUGHPUT },
  );
  writeFileSync(svgFile, svg);
  writeFileSync(md, `${lines.join("\n")}\n`);
  return [md, svgFile];
}

// ---- command line ---------------------------------------------------------------------------------
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node bench/report.mjs RESULTS.json [--md BENCHMARKS.md]");
    process.exit(2);
  }
  const i = process.argv.indexOf("--md");
  const md = i > 0 ? resolve(process.argv[i + 1]) : join(ROOT, "BENCHMARKS.md");
  const written = writeReport(resolve(file), { md });
  console.log(`[report] wrote ${written.join(", ")}`);
}
