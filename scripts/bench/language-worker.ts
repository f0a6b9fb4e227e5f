/** One size of the language benchmark, in its own process; prints one JSON line. */
import { performance } from "node:perf_hooks"
import { countNodes } from "../../src/ir/count.js"
import { compileSource } from "../../src/language/index.js"
import { normalize } from "../../src/normalize/index.js"
import { validate } from "../../src/validate/index.js"
import { generateProgram } from "./generate.js"

const size = Number(process.argv[2] ?? "1000")
const source = generateProgram(size)
const gc = (globalThis as { gc?: () => void }).gc
let peak = 0
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().heapUsed)
}

// Warm up the code paths on a small program first, so JIT time is not counted as per-node cost.
for (let i = 0; i < 3; i++) {
  const warm = compileSource(generateProgram(700))
  if (warm.program !== undefined) normalize(warm.program)
}
gc?.()
const base = process.memoryUsage().heapUsed

const t0 = performance.now()
const compiled = compileSource(source)
sample()
const t1 = performance.now()
if (compiled.program === undefined || compiled.syntaxErrors.length > 0) {
  throw new Error(`generated program does not parse: ${compiled.syntaxErrors[0]?.message}`)
}
const violations = validate(compiled.program, { sourceMap: compiled.sourceMap })
sample()
const t2 = performance.now()
if (violations.length > 0) throw new Error(`generated program is invalid: ${violations[0]?.message}`)
normalize(compiled.program)
sample()
const t3 = performance.now()

const nodes = countNodes(compiled.program)
console.log(JSON.stringify({
  size,
  nodes,
  sourceChars: source.length,
  parseMs: t1 - t0,
  validateMs: t2 - t1,
  normalizeMs: t3 - t2,
  totalMs: t3 - t0,
  usPerNode: ((t3 - t0) * 1000) / nodes,
  peakHeapMB: (peak - base) / 2 ** 20,
  maxRssMB: process.resourceUsage().maxRSS / 1024
}))
