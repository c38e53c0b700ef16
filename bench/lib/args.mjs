// What every bench script starts with: where bench/ and the repository are, and its options
// (`--name value`, or a bare `--flag`).
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The bench/ directory. */
export const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The repository root. */
export const ROOT = resolve(BENCH, "..");

const argv = process.argv.slice(2);

/** The value after `--name`; `true` for a flag given without one; `fallback` when absent. */
export function arg(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = argv[i + 1];
  return value === undefined || value.startsWith("--") ? true : value;
}
