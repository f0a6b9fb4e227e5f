/**
 * Vitest global setup: WebAssembly compiled by V8's baseline compiler only (`--liftoff-only`), in vitest's own
 * process and its worker threads, and, through `NODE_OPTIONS=--import …/wasmBaseline.mjs`, in every forked test
 * worker and every process the tests start (CLI commands, servers, docs blocks). PGlite's PostgreSQL is a large WASM
 * module, and the suite opens it in dozens of short-lived processes: each spent more CPU recompiling hot parts of
 * it with the optimizing compiler than running its few queries (docs/testing.md). Only the compiler tier changes.
 */
import { pathToFileURL } from "node:url"
import { setFlagsFromString } from "node:v8"

export default function setup(): void {
  setFlagsFromString("--liftoff-only")
  const flag = `--import=${pathToFileURL(`${import.meta.dirname}/wasmBaseline.mjs`).href}`
  const options = process.env.NODE_OPTIONS ?? ""
  if (!options.includes(flag)) process.env.NODE_OPTIONS = `${options} ${flag}`.trim()
}
