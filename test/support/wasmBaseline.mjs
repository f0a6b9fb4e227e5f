// Loaded with `--import` into every Node process the tests start (NODE_OPTIONS, set by test/support/wasmTier.ts):
// WebAssembly compiled by V8's baseline compiler only (Liftoff). PGlite's PostgreSQL is a large WASM module, and a
// short-lived process (a CLI command, a docs block, a test file) spent most of its start recompiling hot parts of it
// with the optimizing compiler (TurboFan) for queries it then runs a few of: a `trellis run` costs about 40% less CPU
// this way. Only the compiler tier changes, not what runs.
import { setFlagsFromString } from "node:v8"

setFlagsFromString("--liftoff-only")
