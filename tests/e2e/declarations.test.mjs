// The npm package's metadata and TypeScript declarations: package.json has what a registry and a
// bundler need, realtime_wasm.d.ts has no `any`, and `tsc --strict` accepts correct use of the
// client and rejects wrong use (tests/e2e/types/usage.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OUT_DIR, PKG_DIR } from "./lib.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const read = (name) => readFileSync(join(PKG_DIR, name), "utf8");
/** The declarations without comments, so words like "any" in prose do not count. */
const code = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");

test("package.json describes an ES-module package for pages and bundlers", () => {
  const pkg = JSON.parse(read("package.json"));
  assert.equal(pkg.name, "realtime-wasm");
  assert.match(pkg.version, /^\d+\.\d+\.\d+/);
  for (const field of ["description", "license", "repository", "keywords"]) assert.ok(pkg[field], `package.json has ${field}`);
  assert.ok(pkg.keywords.length >= 3);
  assert.equal(pkg.type, "module");
  assert.equal(pkg.types, "realtime_wasm.d.ts");
  assert.equal(pkg.module, "realtime_wasm.js");
  assert.deepEqual(pkg.exports["."], { types: "./realtime_wasm.d.ts", default: "./realtime_wasm.js" });
  assert.equal(pkg.exports["./realtime_wasm_bg.wasm"], "./realtime_wasm_bg.wasm");
  for (const file of ["realtime_wasm.js", "realtime_wasm.d.ts", "realtime_wasm_bg.wasm"]) {
    assert.ok(pkg.files.includes(file), `files lists ${file}`);
    assert.ok(existsSync(join(PKG_DIR, file)), `${file} exists`);
  }
  // The web target finds its wasm next to itself, which bundlers understand without a plugin.
  assert.match(read("realtime_wasm.js"), /new URL\('realtime_wasm_bg\.wasm', import\.meta\.url\)/);
});

test("the declarations contain no any", () => {
  for (const file of ["realtime_wasm.d.ts", "realtime_wasm_bg.wasm.d.ts"]) {
    const lines = code(read(file)).split("\n").filter((line) => /\bany\b/.test(line));
    assert.deepEqual(lines, [], `${file} declares any`);
  }
});

test("the class is declared with the typed options, events and overloads", () => {
  const dts = code(read("realtime_wasm.d.ts"));
  for (const expected of [
    "constructor(url: string, options?: RealtimeClientOptions | null);",
    "on<K extends keyof RealtimeEventMap>(event: K, listener: RealtimeEventMap[K]): Unsubscribe;",
    "on(event: string, listener: NamedEventListener): Unsubscribe;",
    "off<K extends keyof RealtimeEventMap>(event: K, listener: RealtimeEventMap[K]): void;",
    "emit(event: string, value: JsonValue): void;",
    "send(data: string | ArrayBuffer | Uint8Array): void;",
    "stats(): RealtimeStats;",
    "readonly state: ClientStateName;",
    "readonly transport: TransportName | null;",
    "readonly sessionId: string | null;",
    "export interface RealtimeEventMap",
    "export interface RealtimeClientOptions",
  ]) {
    assert.ok(dts.includes(expected), `realtime_wasm.d.ts declares ${expected}`);
  }
  assert.doesNotMatch(dts, /\bFunction\b/, "listeners are typed, not Function");
});

test("tsc --noEmit --strict accepts correct use and rejects wrong use", () => {
  // The committed tsconfig maps realtime-wasm to pkg/; this one maps it to the package under test.
  const config = join(OUT_DIR, "tsconfig.usage.json");
  writeFileSync(config, JSON.stringify({
    extends: join(HERE, "types/tsconfig.json"),
    compilerOptions: { paths: { "realtime-wasm": [join(PKG_DIR, "realtime_wasm.d.ts")] } },
    files: [join(HERE, "types/usage.ts")],
  }, null, 2));
  const tsc = join(HERE, "node_modules/.bin/tsc");
  try {
    execFileSync(tsc, ["--noEmit", "--strict", "-p", config], { encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    assert.fail(`tsc reported errors:\n${error.stdout}${error.stderr}`);
  }
});
