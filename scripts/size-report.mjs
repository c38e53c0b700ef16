#!/usr/bin/env node
// Sums twiggy's item sizes (CSV from `twiggy top -f csv`) by part of the crate; run by
// scripts/size-report.sh. Functions inlined into an export count where they were inlined (the
// constructor's shim holds option parsing and much of RealtimeClient::new, for instance).
import { readFileSync } from "node:fs";

const [csvPath] = process.argv.slice(2);
const rows = readFileSync(csvPath, "utf8").trim().split("\n").slice(1).map((line) => {
  // Name is quoted when it holds commas; the four numbers follow it.
  const match = line.match(/^("(?:[^"]|"")*"|[^,]*),(\d+),/);
  return match ? { name: match[1].replace(/^"|"$/g, "").replace(/""/g, '"'), size: Number(match[2]) } : null;
}).filter(Boolean);

const PARTS = [
  [/function names|data names|^Σ/, null],
  [/^data segment/, "data: strings (error messages, names), tables"],
  [/^realtimeclient|::js::/, "js.rs: the JS surface (options, listeners, event objects) + inlined callees"],
  [/realtime_wasm\[\w+\]::client/, "client/: state machine, fallback, reconnect, upgrade, frames"],
  [/realtime_wasm\[\w+\]::transport/, "transport/: the six transports, uploads"],
  [/realtime_wasm\[\w+\]::(session|sse|base64|backoff|options|event|error)/, "session, sse, base64, backoff, options, errors"],
  [/realtime_wasm\[\w+\]::web/, "web/: XHR and page wrappers"],
  [/lol_alloc|dlmalloc|__rdl|__rust_|raw_vec|RawVec/, "allocator (lol_alloc), Vec/String growth"],
  [/fmt/, "core::fmt (format!, Display, Debug)"],
  [/wasm_bindgen|__wbindgen|__externref|wbg|closure/i, "wasm-bindgen runtime (closures, JS value table)"],
  [/js_sys|web_sys|gloo/, "js-sys, web-sys, gloo"],
  [/./, "core, alloc, std: other"],
];
const totals = new Map();
for (const { name, size } of rows) {
  const part = PARTS.find(([pattern]) => pattern.test(name))[1];
  if (part) totals.set(part, (totals.get(part) ?? 0) + size);
}
const sum = [...totals.values()].reduce((a, b) => a + b, 0);
console.log("\n| part | bytes | share |\n|---|---:|---:|");
for (const [part, size] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`| ${part} | ${size.toLocaleString("en")} | ${Math.round((100 * size) / sum)}% |`);
}
console.log(`| total (names excluded) | ${sum.toLocaleString("en")} | |`);
