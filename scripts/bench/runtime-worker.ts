/**
 * One cell of the runtime benchmark (workload × size × executor), in its own
 * process so peak heap is per cell; prints one JSON line.
 * Usage: runtime-worker.ts <W1|W2|W3|W4> <size> <executor> [reps], executor one of
 * `trellis` (tool handler `Effect.async` on a timer in W4, `Effect.succeed` in W1–W3),
 * `trellis-run` (a `run` handler: an async function), `trellis-epromise` (an `Effect.promise` handler),
 * `trellis-expr`, `trellis-discard` (drops events instead of keeping them: the scheduler alone), `effect`, `promise`.
 */
import { Effect, Either, Layer, ManagedRuntime, Schema } from "effect"
import { performance } from "node:perf_hooks"
import * as Runtime from "../../src/runtime/runtime.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import { EventLog, EventSink } from "../../src/trace/events.js"
import {
  chain,
  effectExecutor,
  ioBound,
  layered,
  promiseExecutor,
  toExprProgram,
  toProgram,
  waitEffect,
  wide
} from "./runtime-workloads.js"
import type { Dag } from "./runtime-workloads.js"

const [workload = "W1", sizeText = "10000", executor = "trellis", repsText = "7"] = process.argv.slice(2)
const size = Number(sizeText)
const reps = Number(repsText)
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)

const dagOf = (w: string, n: number): Dag => {
  switch (w) {
    case "W1":
      return wide(n)
    case "W2":
      return chain(n)
    case "W3": {
      const width = Math.round(Math.sqrt(n))
      return layered(Math.round(n / width), width)
    }
    default:
      return ioBound()
  }
}

const Deps = Schema.Struct({ deps: Schema.Array(Schema.Unknown) })
/** A no-op tool: returns null at once. */
const noop = make({
  name: "bench.noop",
  description: "no-op",
  input: Deps,
  output: Schema.Null,
  idempotent: true,
  handler: () => Effect.succeed(null)
})
/** Waits 5 ms of real time, on the same timer primitive as the Promise executor. */
const wait = make({
  name: "bench.wait",
  description: "waits 5 ms",
  input: Deps,
  output: Schema.Null,
  idempotent: true,
  handler: () => waitEffect(5)
})
/** Resolves after `ms` of real time (a microtask when 0), on the same timer primitive as the Promise executor. */
const after = (ms: number): Promise<null> =>
  ms === 0 ? Promise.resolve(null) : new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))
/** The way most users write an I/O tool: an async function (W1–W3: resolves at once; W4: waits 5 ms). */
const runTool = (name: string, ms: number) =>
  make({
    name,
    description: "an async function",
    input: Deps,
    output: Schema.Null,
    idempotent: true,
    run: () => after(ms)
  })
/** The other usual way: an Effect built with `Effect.promise` (W1–W3: resolves at once; W4: waits 5 ms). */
const promiseTool = (name: string, ms: number) =>
  make({
    name,
    description: "Effect.promise",
    input: Deps,
    output: Schema.Null,
    idempotent: true,
    handler: () => Effect.promise(() => after(ms))
  })
const registry = Layer.succeed(
  ToolRegistry,
  Either.getOrThrow(makeRegistry([
    ...builtinTools,
    ...[
      noop,
      wait,
      runTool("bench.run", 0),
      runTool("bench.runWait", 5),
      promiseTool("bench.epromise", 0),
      promiseTool("bench.epromiseWait", 5)
    ]
      .map((t) => t as unknown as AnyTool)
  ]))
)

/** The tool of a Trellis executor on a DAG. */
const toolFor = (ex: string, dag: Dag): string => {
  const io = dag.waitMs > 0
  switch (ex) {
    case "trellis-run":
      return io ? "bench.runWait" : "bench.run"
    case "trellis-epromise":
      return io ? "bench.epromiseWait" : "bench.epromise"
    default:
      return io ? "bench.wait" : "bench.noop"
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const main = async () => {
  const dag = dagOf(workload, size)
  const nodes = dag.deps.length
  let planMs: number | undefined
  let events: number | undefined
  let runOnce: () => Promise<void>

  if (executor.startsWith("trellis")) {
    const program = executor === "trellis-expr" ? toExprProgram(dag) : toProgram(dag, toolFor(executor, dag))
    const p0 = performance.now()
    const plan = Effect.runSync(Runtime.prepare(program))
    planMs = performance.now() - p0
    let k = 0
    runOnce = async () => {
      // A fresh in-memory event log per run: every event of the run is kept in memory.
      const rt = ManagedRuntime.make(
        executor === "trellis-discard"
          ? Layer.mergeAll(Runtime.layerServices, EventSink.layerDiscard, registry)
          : Layer.merge(Runtime.layerServices, registry)
      )
      await rt.runtime()
      const runId = `run-${k++}`
      const t0 = performance.now()
      await rt.runPromise(Runtime.run(plan, {}, { runId, concurrency: dag.concurrency }))
      lastMs = performance.now() - t0
      events = (await rt.runPromise(Effect.flatMap(EventLog, (log) => log.events(runId)))).length
      sampleHeap()
      await rt.dispose()
    }
  } else if (executor === "effect") {
    runOnce = async () => {
      const t0 = performance.now()
      await Effect.runPromise(effectExecutor(dag))
      lastMs = performance.now() - t0
      sampleHeap()
    }
  } else {
    runOnce = async () => {
      const t0 = performance.now()
      await promiseExecutor(dag)
      lastMs = performance.now() - t0
      sampleHeap()
    }
  }

  let lastMs = 0
  let peak = 0
  let base = 0
  const sampleHeap = () => {
    peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  }
  // W4 runs are few and long: five warm-up runs bring the JIT to steady state (the first two or three
  // runs of a fresh process are 3-7% slower), as for a server that has run programs before.
  const warmups = dag.waitMs > 0 ? 5 : 3
  for (let i = 0; i < warmups; i++) await runOnce()
  // Timed runs back to back, as a server would run them (a forced GC before each run shrinks the
  // young generation and makes the next run pay for growing it again).
  const times: Array<number> = []
  for (let i = 0; i < reps; i++) {
    await runOnce()
    times.push(lastMs)
  }
  // Peak heap: one more run from a collected heap, its growth sampled at the end of the run.
  gc()
  base = process.memoryUsage().heapUsed
  peak = 0
  await runOnce()
  const ms = median(times)
  console.log(JSON.stringify({
    workload,
    executor,
    nodes,
    medianMs: ms,
    usPerNode: (ms * 1000) / nodes,
    runsMs: times.map((t) => Number(t.toFixed(2))),
    peakHeapMB: peak / 2 ** 20,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    ...(planMs === undefined ? {} : { planMs }),
    ...(events === undefined ? {} : { events })
  }))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
