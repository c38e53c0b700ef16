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

// ---- README: links that work on the registry's page -------------------------------------------------
// The README is the repository's; its relative links (docs/PROTOCOL.md, examples/vite) point into
// the repository, which the package does not contain.
const readmePath = file("README.md");
const repoUrl = pkg.repository?.url?.replace(/^git\+/, "").replace(/\.git$/, "");
if (existsSync(readmePath) && repoUrl) {
  const readme = readFileSync(readmePath, "utf8");
  writeFileSync(readmePath, readme.replace(/\]\((?!https?:|#|mailto:)([^)\s]+)\)/g, `](${repoUrl}/blob/HEAD/$1)`));
}

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

// ---- shorter import names ----------------------------------------------------------------------
// wasm-bindgen names each JS function the wasm file imports after what it wraps plus a 16-digit
// hash (`__wbg_new_with_event_source_init_dict_7410b8675673bfe5`), and the name is written twice:
// in the wasm import section and as a key of the glue's import object. Hashes do not compress,
// so the names cost several KB of the gzipped package. They are renamed here to short ones (`a`,
// `b`, ... in a module `w`), in both files at once. Any surprise in the glue's layout leaves both
// files as they are: the package then only stays larger.
const wasmPath = file("realtime_wasm_bg.wasm");
const jsPath = file("realtime_wasm.js");
const MODULE = "./realtime_wasm_bg.js";
const before = readFileSync(wasmPath).length + readFileSync(jsPath).length;
const renamed = minifyImports(readFileSync(wasmPath), readFileSync(jsPath, "utf8"));
if (typeof renamed === "string") {
  console.log(`[finish-pkg] import names kept: ${renamed}`);
} else {
  writeFileSync(wasmPath, renamed.wasm);
  writeFileSync(jsPath, renamed.js);
  const after = renamed.wasm.length + renamed.js.length;
  console.log(`[finish-pkg] ${renamed.count} import names shortened (${before - after} B less before gzip)`);
}

// ---- the glue without its comments -------------------------------------------------------------
// The JSDoc in realtime_wasm.js repeats what realtime_wasm.d.ts says (editors read the .d.ts, for
// JavaScript too), and wasm-bindgen's own `//` notes are for its developers: plain pages would
// download both. Only whole-line comments go; `/* @ts-self-types */` (a single-line `/*`) stays.
const glue = readFileSync(jsPath, "utf8");
const stripped = stripComments(glue);
if (stripped === null) {
  console.log("[finish-pkg] glue comments kept: a multi-line template literal makes line-based stripping unsafe");
} else if (stripped !== glue) {
  writeFileSync(jsPath, stripped);
  console.log(`[finish-pkg] glue comments removed (${glue.length - stripped.length} B)`);
}

console.log(`[finish-pkg] ${pkgPath}: exports, module, sideEffects, files; declarations without any`);

/** `js` without its whole-line `/** ... *\/` blocks and `//` lines, or null if that is unsafe. */
function stripComments(js) {
  const lines = js.split("\n");
  const out = [];
  let inBlock = false;
  for (const line of lines) {
    const text = line.trim();
    if (inBlock) {
      if (text.endsWith("*/")) inBlock = false;
      continue;
    }
    if (text.startsWith("/**")) {
      inBlock = !text.endsWith("*/");
      continue;
    }
    if (text.startsWith("//")) continue;
    // A backtick count that is odd means a template literal spans lines: stop, change nothing.
    if ((line.match(/`/g)?.length ?? 0) % 2 === 1) return null;
    out.push(line);
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

/** Returns `{ wasm, js, count }` with the imports renamed, or a string saying why not. */
function minifyImports(wasm, js) {
  if (wasm.readUInt32LE(0) !== 0x6d736100 || wasm.readUInt32LE(4) !== 1) return "not a wasm 1 module";
  const moduleKey = JSON.stringify(MODULE);
  if (js.includes(`"w": import0`)) return "already shortened";
  if (js.split(`${moduleKey}: import0`).length !== 2) return `no ${moduleKey}: import0 in the glue`;
  const readU32 = (at) => {
    let value = 0;
    let shift = 0;
    for (let i = at; ; i += 1) {
      value += (wasm[i] & 0x7f) * 2 ** shift;
      shift += 7;
      if (wasm[i] < 0x80) return [value, i + 1 - at];
    }
  };
  const u32 = (value) => {
    const out = [];
    do {
      let byte = value & 0x7f;
      value = Math.floor(value / 128);
      if (value > 0) byte |= 0x80;
      out.push(byte);
    } while (value > 0);
    return Buffer.from(out);
  };
  const name = (text) => {
    const bytes = Buffer.from(text, "utf8");
    return Buffer.concat([u32(bytes.length), bytes]);
  };
  // Find the import section (id 2).
  let at = 8;
  let section = null;
  while (at < wasm.length) {
    const id = wasm[at];
    const [size, n] = readU32(at + 1);
    if (id === 2) section = { start: at, body: at + 1 + n, end: at + 1 + n + size };
    at += 1 + n + size;
  }
  if (!section) return "no import section";
  // Rewrite each import: new module and field names, the descriptor bytes copied as they are.
  let p = section.body;
  const [count, cn] = readU32(p);
  p += cn;
  const entries = [u32(count)];
  let short = 0;
  const names = new Map();
  const shortName = (i) => {
    // a..z, then a0..z9, aa..: JS identifiers, never a keyword of two letters or more here.
    const letters = "abcdefghijklmnopqrstuvwxyz";
    let text = letters[i % 26];
    for (let rest = Math.floor(i / 26); rest > 0; rest = Math.floor(rest / 36)) text += "0123456789abcdefghijklmnopqrstuvwxyz"[rest % 36];
    return text;
  };
  for (let i = 0; i < count; i += 1) {
    const [mlen, mn] = readU32(p);
    const module = wasm.subarray(p + mn, p + mn + mlen).toString("utf8");
    p += mn + mlen;
    const [flen, fn] = readU32(p);
    const field = wasm.subarray(p + fn, p + fn + flen).toString("utf8");
    p += fn + flen;
    const descStart = p;
    const kind = wasm[p];
    p += 1;
    const limits = () => {
      const flags = wasm[p];
      p += 1;
      p += readU32(p)[1];
      if (flags & 1) p += readU32(p)[1];
    };
    if (kind === 0) p += readU32(p)[1]; // function: type index
    else if (kind === 1) {
      p += 1; // table: reference type
      limits();
    } else if (kind === 2) limits(); // memory
    else if (kind === 3) p += 2; // global: value type, mutability
    else if (kind === 4) p += 1 + readU32(p + 1)[1]; // tag: attribute, type index
    else return `import kind ${kind} unknown`;
    const desc = wasm.subarray(descStart, p);
    if (module !== MODULE) return module === "w" ? "already shortened" : `an import from another module (${module})`;
    // The key must occur exactly once in the glue, as a key of the import object.
    const pattern = new RegExp(`\\b${field.replace(/\$/g, "\\$")}\\b`, "g");
    const uses = js.match(pattern)?.length ?? 0;
    if (uses !== 1 || !js.includes(`\n        ${field}: function(`)) return `${field} is used ${uses} times in the glue`;
    const renamedTo = shortName(short);
    short += 1;
    names.set(field, renamedTo);
    entries.push(name("w"), name(renamedTo), desc);
  }
  if (p !== section.end) return "the import section did not parse to its end";
  const body = Buffer.concat(entries);
  const out = Buffer.concat([
    wasm.subarray(0, section.start),
    Buffer.from([2]),
    u32(body.length),
    body,
    wasm.subarray(section.end),
  ]);
  let glue = js.replace(`${moduleKey}: import0`, `"w": import0`);
  for (const [from, to] of names) glue = glue.replace(`\n        ${from}: function(`, `\n        ${to}: function(`);
  return { wasm: out, js: glue, count: names.size };
}
