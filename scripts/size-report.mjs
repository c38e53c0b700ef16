#!/usr/bin/env node
// Sums twiggy's item sizes (CSV from `twiggy top -f csv`) by part of the crate; run by
// scripts/size-report.sh. Functions inlined into an export count where they were inlined (`rt_i`
// holds most of the machine's input handling, for instance).
import { readFileSync } from "node:fs";

const [csvPath] = process.argv.slice(2);
const rows = readFileSync(csvPath, "utf8").trim().split("\n").slice(1).map((line) => {
  // Name is quoted when it holds commas; the four numbers follow it.
  const match = line.match(/^("(?:[^"]|"")*"|[^,]*),(\d+),/);
  return match ? { name: match[1].replace(/^"|"$/g, "").replace(/""/g, '"'), size: Number(match[2]) } : null;
}).filter(Boolean);

const PARTS = [
  [/function names|data names|^Σ/, null],
  [/^data segment/, "data: tables, constants"],
  [/^rt_i$/, "rt_i: the machine's inputs (most of the machine, inlined)"],
  [/^rt_new$|^rt_free$|realtime_wasm\[\w+\]::port/, "port.rs: a machine's state made and freed, commands encoded"],
  [/realtime_wasm\[\w+\]::machine/, "machine/: what the inputs call (fallback, reconnect, upgrade, liveness, outbox)"],
  [/realtime_wasm\[\w+\]::(session|backoff|options|event|error)/, "session, backoff"],
  [/lol_alloc|dlmalloc|__rdl|__rust_|raw_vec|RawVec/, "allocator (lol_alloc), Vec growth"],
  [/fmt/, "core::fmt (format!, Display, Debug)"],
  [/wasm_bindgen|__wbindgen|__externref|wbg|closure/i, "wasm-bindgen runtime"],
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
