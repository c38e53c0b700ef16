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
//
// The class: `RealtimeClient` is written in JavaScript (src/js/client.js) and drives the state
// machine through the wasm file's three exports (`rt_new`, `rt_i`, `rt_free`: src/port.rs), all
// wasm-bindgen exports. This script puts the class into the glue and exports it from there, and
// keeps the three functions to the module: without this step the package has no class.
//
// Size (what a plain page downloads is the glue and the wasm file, gzipped):
//  1. the JS snippets of src/js/ (wasm-bindgen copies them to snippets/ and the glue imports
//     them) are inlined into the glue: one request and one module less;
//  2. the names of the wasm file's imports and exports become one to three letters, in the wasm
//     file and the glue at once (wasm-bindgen writes `__wbg_<what>_<16 hex digits>`, and hashes do
//     not compress);
//  3. wasm-bindgen's loader (`init`, `initSync`) gives way to a compact one that takes the same
//     arguments (a URL, Request, Response, bytes or WebAssembly.Module, or a promise of one; the
//     `{ module_or_path }` / `{ module }` objects) without the deprecation warnings and the
//     fallbacks for engines older than every browser the package supports: a third of the glue;
//  4. the glue loses its comments (its JSDoc repeats the .d.ts, which is what editors read) and,
//     when terser is available (RT_TERSER_DIR or the tools dir scripts/build-pkg.sh installs it
//     into), is minified.
// Each step checks the layout it expects and otherwise leaves the files as they were: the package
// then only stays larger.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = process.argv[2] ?? "pkg";
const file = (name) => join(dir, name);
const say = (text) => console.log(`[finish-pkg] ${text}`);

// ---- the glue: snippets inlined, import and export names shortened, comments dropped, minified ----
const wasmPath = file("realtime_wasm_bg.wasm");
const jsPath = file("realtime_wasm.js");
const dtsPath = file("realtime_wasm.d.ts");
const bgDtsPath = file("realtime_wasm_bg.wasm.d.ts");
const MODULE = "./realtime_wasm_bg.js";
/** The wasm exports src/js/client.js calls by name (src/port.rs): never renamed. */
const MACHINE_EXPORTS = ["rt_new", "rt_i", "rt_free"];

/**
 * The loader the glue ends with instead of wasm-bindgen's (from `let wasmModule, wasmInstance,
 * wasm;` on). It keeps `wasm` (the exports, which the class uses) and `__wbg_get_imports()`.
 */
const LOADER = `let wasm, loading;

const instantiated = ({ instance }) => (wasm = instance.exports);

function initSync(module) {
  if (wasm) return wasm;
  if (module?.constructor === Object) ({ module } = module);
  if (!(module instanceof WebAssembly.Module)) module = new WebAssembly.Module(module);
  return instantiated({ instance: new WebAssembly.Instance(module, __wbg_get_imports()) });
}

async function load(source) {
  if (source?.constructor === Object) ({ module_or_path: source } = source);
  source = await (source ?? new URL('realtime_wasm_bg.wasm', import.meta.url));
  if (typeof source == "string" || source instanceof URL || source instanceof Request) source = await fetch(source);
  const imports = __wbg_get_imports();
  if (source instanceof Response) {
    if (!source.ok) throw new Error(\`failed to fetch Wasm: \${source.status} \${source.url}\`);
    if (source.headers.get("Content-Type") == "application/wasm") return instantiated(await WebAssembly.instantiateStreaming(source, imports));
    source = await source.arrayBuffer();
  }
  const result = await WebAssembly.instantiate(source, imports);
  return instantiated(result instanceof WebAssembly.Instance ? { instance: result } : result);
}

function __wbg_init(source) {
  return wasm ? Promise.resolve(wasm) : (loading ??= load(source).catch((e) => {
    loading = undefined;
    throw e;
  }));
}

export { initSync, __wbg_init as default };
`;
let wasm = readFileSync(wasmPath);
let js = readFileSync(jsPath, "utf8");
let dts = readFileSync(dtsPath, "utf8");
let bgDts = existsSync(bgDtsPath) ? readFileSync(bgDtsPath, "utf8") : null;
const before = { wasm: wasm.length, js: js.length };

const withClass = addClass(js);
if (typeof withClass !== "string") js = withClass.js;
else if (withClass !== "added already") {
  console.error(`[finish-pkg] ERROR: the RealtimeClient class could not be added to the glue: ${withClass}`);
  process.exit(1);
}
say("RealtimeClient (src/js/client.js) in the glue and exported; rt_new, rt_i, rt_free kept to the module");

const loader = compactLoader(js);
if (typeof loader === "string") say(`wasm-bindgen's loader kept: ${loader}`);
else {
  js = loader.js;
  say("wasm-bindgen's loader replaced by the compact one");
}

const snippets = inlineSnippets(js);
let inlined = new Map();
if (typeof snippets === "string") say(`snippets kept as files: ${snippets}`);
else if (snippets) {
  ({ js, inlined } = snippets);
  say(`${inlined.size} snippet module(s) inlined into the glue`);
}

const imports = minifyImports(wasm, js, inlined);
if (typeof imports === "string") {
  say(`import names kept: ${imports}`);
  if (inlined.size > 0) {
    // The glue still refers to the snippets' namespaces by their module names: keep the files.
    js = readFileSync(jsPath, "utf8");
    inlined = new Map();
    say("snippets kept as files: the imports were not renamed");
  }
} else {
  ({ wasm, js } = imports);
  say(`${imports.count} import names shortened`);
}

const exports = minifyExports(wasm, js, dts, bgDts);
if (typeof exports === "string") say(`export names kept: ${exports}`);
else {
  ({ wasm, js, dts, bgDts } = exports);
  say(`${exports.count} export names shortened`);
}

const stripped = stripComments(js);
if (stripped === null) say("glue comments kept: a multi-line template literal makes line-based stripping unsafe");
else js = stripped;

const minified = await minify(js);
if (typeof minified === "string") say(`glue not minified: ${minified}`);
else {
  js = minified.code;
  say("glue minified (terser)");
}

writeFileSync(wasmPath, wasm);
writeFileSync(jsPath, js);
writeFileSync(dtsPath, dts);
if (bgDts !== null) writeFileSync(bgDtsPath, bgDts);
// Snippets the glue does not import (all inlined, or src/js/client.js, which wasm-bindgen copies
// for the Rust API's binding of the class) would only be shipped for nothing.
if (!js.includes("./snippets/")) rmSync(file("snippets"), { recursive: true, force: true });
say(`wasm ${before.wasm} -> ${wasm.length} B, glue ${before.js} -> ${js.length} B (before gzip)`);

// ---- package.json -------------------------------------------------------------------------------
const pkgPath = file("package.json");
const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
if (pkg.name !== "realtime-wasm") throw new Error(`${pkgPath}: unexpected name ${pkg.name}`);
const files = new Set((pkg.files ?? []).filter((name) => existsSync(file(name))));
for (const name of [
  "realtime_wasm.js",
  "realtime_wasm.d.ts",
  "realtime_wasm_bg.wasm",
  "realtime_wasm_bg.wasm.d.ts",
  "snippets",
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
writeFileSync(
  dtsPath,
  readFileSync(dtsPath, "utf8").replace(
    /(export interface InitOutput \{)([\s\S]*?)(\n\})/,
    (_, open, body, close) => open + anyToUnknown(body) + close,
  ),
);
if (existsSync(bgDtsPath)) writeFileSync(bgDtsPath, anyToUnknown(readFileSync(bgDtsPath, "utf8")));
say(`${pkgPath}: exports, module, sideEffects, files; declarations without any`);

// ---- the steps ------------------------------------------------------------------------------------

/**
 * `{ js }`: the glue with the compact loader (LOADER) in place of wasm-bindgen's, or a string
 * saying why not: only wasm-bindgen's loader of the expected shape is replaced (no start function,
 * nothing else done when instantiated).
 */
function compactLoader(glue) {
  if (glue.includes("const instantiated = ")) return "replaced already";
  const start = glue.indexOf("\nlet wasmModule, wasmInstance, wasm;\n");
  const exports = "export { initSync, __wbg_init as default };\n";
  const end = glue.indexOf(exports);
  if (start < 0 || end < start) return "not wasm-bindgen's loader of the expected shape";
  const old = glue.slice(start, end);
  const finalize = "function __wbg_finalize_init(instance, module) {\n    wasmInstance = instance;\n    wasm = instance.exports;\n    wasmModule = module;\n    return wasm;\n}";
  if (!old.includes(finalize) || old.includes("__wbindgen_start")) return "the wasm file needs more than its exports set (a start function, caches)";
  for (const name of ["__wbg_load", "initSync", "__wbg_init", "__wbg_init_once"]) {
    if (!old.includes(`function ${name}(`)) return `no ${name} in wasm-bindgen's loader`;
  }
  if (glue.slice(0, start).match(/\bwasm(?:Module|Instance)\b/)) return "wasmModule or wasmInstance used outside the loader";
  return { js: `${glue.slice(0, start + 1)}${LOADER}${glue.slice(end + exports.length)}` };
}

/** Top-level names a module declares (functions, classes, consts, lets, vars). */
function declaredNames(code) {
  return [...code.matchAll(/^(?:export )?(?:async )?(?:function\*?|class|const|let|var) ([^=;(]+)/gm)].flatMap((m) =>
    m[1].split(",").map((name) => name.trim().split(/\s/)[0]).filter(Boolean),
  );
}

/**
 * `{ js }`: the glue with src/js/client.js at its top (its `export`s dropped), exporting its
 * `RealtimeClient`, and the machine's functions no longer exported (the class calls the wasm
 * exports themselves: `wasm.rt_i`); a string saying why not otherwise.
 */
function addClass(glue) {
  if (/^export \{ RealtimeClient \};$/m.test(glue)) return "added already";
  const source = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "js", "client.js");
  if (!existsSync(source)) return `${source} missing`;
  const text = readFileSync(source, "utf8");
  if (/^\s*import\b|^export (?:default|\{|\*)/m.test(text)) return "src/js/client.js is not a plain module";
  for (const name of MACHINE_EXPORTS) {
    if (!new RegExp(`^export function ${name}\\(`, "m").test(glue)) return `no \`export function ${name}\` in the glue`;
  }
  const glueNames = new Set(declaredNames(glue));
  const clash = declaredNames(text).find((name) => glueNames.has(name));
  if (clash) return `src/js/client.js declares ${clash}, as the glue does`;
  const newline = glue.indexOf("\n") + 1;
  let out = `${glue.slice(0, newline)}${text.replace(/^export /gm, "").trim()}\n${glue.slice(newline)}`;
  for (const name of MACHINE_EXPORTS) out = out.replace(new RegExp(`^export function ${name}\\(`, "m"), `function ${name}(`);
  return { js: `${out.trimEnd()}\nexport { RealtimeClient };\n` };
}

/**
 * The glue with the snippet modules it imports (`import { a, b } from './snippets/...'` and
 * `import * as importN from "./snippets/..."`) inlined at its top, as
 * `{ js, inlined: Map<specifier, exported names> }`; null when there are none, or a string saying
 * why not. A snippet must be a plain module: no imports, only `export function|const|class NAME`
 * declarations, and no top-level name the glue declares too.
 */
function inlineSnippets(glue) {
  const named = [...glue.matchAll(/^import \{[^}]*\} from '(\.\/snippets\/[^']+)';\n/gm)];
  const star = [...glue.matchAll(/^import \* as (import\d+) from "(\.\/snippets\/[^"]+)";?\n/gm)];
  const specifiers = new Set([...named.map((m) => m[1]), ...star.map((m) => m[2])]);
  if (specifiers.size === 0) return null;
  const declared = (code) =>
    [...code.matchAll(/^(?:export )?(?:async )?(?:function\*?|class|const|let|var) ([^=;(]+)/gm)].flatMap((m) =>
      m[1].split(",").map((name) => name.trim().split(/\s/)[0]).filter(Boolean),
    );
  const glueNames = new Set(declared(glue));
  const inlined = new Map();
  let code = "";
  for (const specifier of specifiers) {
    const path = file(specifier);
    if (!existsSync(path)) return `${specifier} missing`;
    const text = readFileSync(path, "utf8");
    if (/^\s*import\b|^export (?:default|\{|\*)/m.test(text)) return `${specifier} is not a plain module`;
    const exported = [...text.matchAll(/^export (?:async )?(?:function\*?|class|const|let) ([\w$]+)/gm)].map((m) => m[1]);
    const clash = declared(text).find((name) => glueNames.has(name));
    if (clash) return `${specifier} declares ${clash}, as the glue does`;
    inlined.set(specifier, new Set(exported));
    code += `${text.replace(/^export /gm, "").trim()}\n`;
  }
  let out = glue;
  for (const m of named) out = out.replace(m[0], "");
  for (const m of star) out = out.replace(m[0], `const ${m[1]} = { ${[...inlined.get(m[2])].join(", ")} };\n`);
  // After the first line (`/* @ts-self-types=... */`), before everything else.
  const newline = out.indexOf("\n") + 1;
  out = `${out.slice(0, newline)}${code}${out.slice(newline)}`;
  return { js: out, inlined };
}

// wasm binary helpers
function readU32(bytes, at) {
  let value = 0;
  let shift = 0;
  for (let i = at; ; i += 1) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    shift += 7;
    if (bytes[i] < 0x80) return [value, i + 1 - at];
  }
}
function u32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}
function wasmName(text) {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([u32(bytes.length), bytes]);
}
/** The section with `id`: `{ start, body, end }`, or null. */
function findSection(bytes, id) {
  let at = 8;
  while (at < bytes.length) {
    const [size, n] = readU32(bytes, at + 1);
    if (bytes[at] === id) return { start: at, body: at + 1 + n, end: at + 1 + n + size };
    at += 1 + n + size;
  }
  return null;
}
function replaceSection(bytes, section, body) {
  return Buffer.concat([bytes.subarray(0, section.start), Buffer.from([bytes[section.start]]), u32(body.length), body, bytes.subarray(section.end)]);
}
/** a..z, then a0..z9, aa..: JS identifiers, never a keyword of two letters or more here. */
function shortName(i) {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let text = letters[i % 26];
  for (let rest = Math.floor(i / 26); rest > 0; rest = Math.floor(rest / 36)) text += "0123456789abcdefghijklmnopqrstuvwxyz"[rest % 36];
  return text;
}
function escapeRegExp(text) {
  return text.replace(/[$.*+?^()[\]{}|\\]/g, "\\$&");
}

/**
 * Renames every import to module `w` and a short field: imports of wasm-bindgen's module are keys
 * of the glue's `import0` object (renamed there), imports straight from an inlined snippet get a
 * key of their own in `import0`. Returns `{ wasm, js, count }` or a string saying why not.
 */
function minifyImports(bytes, glue, inlinedModules) {
  if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes.readUInt32LE(4) !== 1) return "not a wasm 1 module";
  const moduleKey = JSON.stringify(MODULE);
  if (glue.includes(`"w": import0`)) return "already shortened";
  if (glue.split(`${moduleKey}: import0`).length !== 2) return `no ${moduleKey}: import0 in the glue`;
  const objectStart = "const import0 = {\n        __proto__: null,\n";
  if (glue.split(objectStart).length !== 2) return "no import0 object in the glue";
  const section = findSection(bytes, 2);
  if (!section) return "no import section";
  let p = section.body;
  const [count, cn] = readU32(bytes, p);
  p += cn;
  const entries = [u32(count)];
  const renamed = new Map(); // import0 key -> short name
  const added = []; // `short: snippetFunction` entries for import0
  let short = 0;
  for (let i = 0; i < count; i += 1) {
    const [mlen, mn] = readU32(bytes, p);
    const module = bytes.subarray(p + mn, p + mn + mlen).toString("utf8");
    p += mn + mlen;
    const [flen, fn] = readU32(bytes, p);
    const field = bytes.subarray(p + fn, p + fn + flen).toString("utf8");
    p += fn + flen;
    const descStart = p;
    const kind = bytes[p];
    p += 1;
    const limits = () => {
      const flags = bytes[p];
      p += 1;
      p += readU32(bytes, p)[1];
      if (flags & 1) p += readU32(bytes, p)[1];
    };
    if (kind === 0) p += readU32(bytes, p)[1]; // function: type index
    else if (kind === 1) {
      p += 1; // table: reference type
      limits();
    } else if (kind === 2) limits(); // memory
    else if (kind === 3) p += 2; // global: value type, mutability
    else if (kind === 4) p += 1 + readU32(bytes, p + 1)[1]; // tag: attribute, type index
    else return `import kind ${kind} unknown`;
    const desc = bytes.subarray(descStart, p);
    const to = shortName(short);
    short += 1;
    if (module === MODULE) {
      // The key must occur exactly once in the glue, as a key of the import object.
      const uses = glue.match(new RegExp(`\\b${escapeRegExp(field)}\\b`, "g"))?.length ?? 0;
      if (uses !== 1 || !glue.includes(`\n        ${field}: function(`)) return `${field} is used ${uses} times in the glue`;
      renamed.set(field, to);
    } else if (inlinedModules.get(module)?.has(field)) {
      added.push(`        ${to}: ${field},\n`);
    } else {
      return module === "w" ? "already shortened" : `an import from another module (${module})`;
    }
    entries.push(wasmName("w"), wasmName(to), desc);
  }
  if (p !== section.end) return "the import section did not parse to its end";
  let out = glue.replace(`${moduleKey}: import0`, `"w": import0`).replace(objectStart, objectStart + added.join(""));
  for (const [from, to] of renamed) out = out.replace(`\n        ${from}: function(`, `\n        ${to}: function(`);
  // The inlined snippets' namespaces are no module of the wasm file any more.
  for (const specifier of inlinedModules.keys()) {
    const entry = new RegExp(`\\n *${escapeRegExp(JSON.stringify(specifier))}: (import\\d+),`);
    const match = out.match(entry);
    if (match) out = out.replace(match[0], "").replace(new RegExp(`^const ${match[1]} = \\{[^}]*\\};\\n`, "m"), "");
  }
  return { wasm: replaceSection(bytes, section, Buffer.concat(entries)), js: out, count };
}

/**
 * Renames the wasm file's exports (but `memory` and `__wbindgen_start`, which wasm-bindgen's own
 * tools expect) to short names, in the wasm file, the glue (`wasm.NAME`) and the declarations of
 * `InitOutput`. Returns `{ wasm, js, dts, bgDts, count }` or a string saying why not.
 */
function minifyExports(bytes, glue, types, bgTypes) {
  const KEEP = new Set(["memory", "__wbindgen_start", ...MACHINE_EXPORTS]);
  const section = findSection(bytes, 7);
  if (!section) return "no export section";
  let p = section.body;
  const [count, cn] = readU32(bytes, p);
  p += cn;
  const entries = [u32(count)];
  const names = [];
  for (let i = 0; i < count; i += 1) {
    const [len, n] = readU32(bytes, p);
    const name = bytes.subarray(p + n, p + n + len).toString("utf8");
    p += n + len;
    const descStart = p;
    p += 1; // kind
    p += readU32(bytes, p)[1]; // index
    names.push([name, bytes.subarray(descStart, p)]);
  }
  if (p !== section.end) return "the export section did not parse to its end";
  const renamed = names.filter(([name]) => !KEEP.has(name));
  if (renamed.every(([name]) => name.length <= 3)) return "already shortened";
  let out = glue;
  let outTypes = types;
  let outBg = bgTypes;
  let short = 0;
  for (const [name, desc] of names) {
    let to = name;
    if (!KEEP.has(name)) {
      do to = shortName(short++);
      while (names.some(([other]) => other === to));
      const word = escapeRegExp(name);
      out = out.replace(new RegExp(`\\bwasm\\.${word}\\b`, "g"), `wasm.${to}`);
      outTypes = outTypes.replace(new RegExp(`(\\n    readonly )${word}:`), `$1${to}:`);
      if (outBg !== null) outBg = outBg.replace(new RegExp(`(\\nexport const )${word}:`), `$1${to}:`);
    }
    entries.push(wasmName(to), desc);
  }
  return { wasm: replaceSection(bytes, section, Buffer.concat(entries)), js: out, dts: outTypes, bgDts: outBg, count: renamed.length };
}

/** `js` without its whole-line `/** ... *\/` blocks and `//` lines, or null if that is unsafe. */
function stripComments(code) {
  const lines = code.split("\n");
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

/** The glue minified by terser (names inside the module, whitespace), or a string saying why not. */
async function minify(code) {
  // Minified before (a second run of this script): leave it, so the script stays idempotent.
  if (code.trim().split("\n").length <= 2) return "minified already";
  const toolsDir =
    process.env.RT_TERSER_DIR ??
    process.env.RT_TOOLS_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "realtime-wasm", "tools");
  let terser;
  try {
    terser = createRequire(join(toolsDir, "package.json"))("terser");
  } catch {
    return `no terser in ${toolsDir}/node_modules (scripts/build-pkg.sh installs it)`;
  }
  const banner = code.match(/^\/\* @ts-self-types="[^"]*" \*\/\n/)?.[0] ?? "";
  const result = await terser.minify(code, {
    module: true,
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    // The class keeps its name (`client.constructor.name`, stack traces, devtools).
    keep_classnames: true,
    format: { preamble: banner.trim() || undefined },
  });
  if (!result.code) return "terser returned nothing";
  // The wasm file's URL keeps wasm-bindgen's spelling, which bundlers look for (and the e2e test).
  const url = code.match(/new URL\('[^']+\.wasm', import\.meta\.url\)/)?.[0];
  const minifiedUrl = /new URL\((["'])[^"']+\.wasm\1,import\.meta\.url\)/;
  if (url && !minifiedUrl.test(result.code)) return "the wasm file's URL changed shape";
  return { code: `${(url ? result.code.replace(minifiedUrl, url) : result.code).trim()}\n` };
}
