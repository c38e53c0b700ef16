#!/usr/bin/env node
// Finishes the npm package wasm-pack wrote (`node scripts/finish-pkg.mjs [PKG_DIR]`, default pkg/;
// scripts/build-pkg.sh runs it after every build). Idempotent.
//
// One package for plain pages and bundlers: wasm-pack's `--target web` output is a standard ES
// module that finds its wasm file with `new URL("realtime_wasm_bg.wasm", import.meta.url)`, which
// browsers resolve as is and Vite, webpack 5, Rollup, esbuild and Parcel turn into an asset. What
// the generated package.json lacks for bundlers and Node-style resolvers is added here:
// `exports` (with `types` first), `module`, `sideEffects: false` (the module only defines things
// until `init()` is called), and the files a consumer needs.
//
// The declarations: wasm-bindgen types the raw wasm exports in `InitOutput` (and in
// realtime_wasm_bg.wasm.d.ts) with `any` for JS values passed through the externref table. Nobody
// calls those; `unknown` says the same without switching type checking off for whoever does.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "pkg";
const file = (name) => join(dir, name);

// ---- package.json -------------------------------------------------------------------------------
const pkgPath = file("package.json");
const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
if (pkg.name !== "realtime-wasm") throw new Error(`${pkgPath}: unexpected name ${pkg.name}`);
const files = new Set(pkg.files ?? []);
for (const name of [
  "realtime_wasm.js",
  "realtime_wasm.d.ts",
  "realtime_wasm_bg.wasm",
  "realtime_wasm_bg.wasm.d.ts",
  "README.md",
  "LICENSE-MIT",
  "LICENSE-APACHE",
]) {
  if (existsSync(file(name))) files.add(name);
}
const finished = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license,
  repository: pkg.repository,
  homepage: pkg.homepage ?? (pkg.repository?.url ? `${pkg.repository.url.replace(/\.git$/, "")}#readme` : undefined),
  bugs: pkg.repository?.url ? { url: `${pkg.repository.url.replace(/\.git$/, "")}/issues` } : undefined,
  keywords: pkg.keywords,
  type: "module",
  main: "realtime_wasm.js",
  module: "realtime_wasm.js",
  types: "realtime_wasm.d.ts",
  exports: {
    ".": { types: "./realtime_wasm.d.ts", default: "./realtime_wasm.js" },
    "./realtime_wasm_bg.wasm": "./realtime_wasm_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects: false,
  files: [...files],
};
writeFileSync(pkgPath, `${JSON.stringify(finished, null, 2)}\n`);

// ---- declarations: no `any` ---------------------------------------------------------------------
const anyToUnknown = (text) => text.replace(/\bany\b(?=[\s,;)|\]])/g, "unknown");
// Only inside `export interface InitOutput { ... }` of realtime_wasm.d.ts: the rest is ours.
const dtsPath = file("realtime_wasm.d.ts");
const dts = readFileSync(dtsPath, "utf8").replace(
  /(export interface InitOutput \{)([\s\S]*?)(\n\})/,
  (_, open, body, close) => open + anyToUnknown(body) + close,
);
writeFileSync(dtsPath, dts);
const bgPath = file("realtime_wasm_bg.wasm.d.ts");
if (existsSync(bgPath)) writeFileSync(bgPath, anyToUnknown(readFileSync(bgPath, "utf8")));

console.log(`[finish-pkg] ${pkgPath}: exports, module, sideEffects, files; declarations without any`);
