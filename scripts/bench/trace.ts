/**
 * Benchmark of traces and the durable store (issue 4, item 6), one process,
 * side by side:
 * - event append throughput (events/s) into the durable event log, on PGlite
 *   and (when TRELLIS_BENCH_DATABASE_URL or TRELLIS_TEST_DATABASE_URL is set)
 *   PostgreSQL, at batch sizes 1, 64 and 512;
 * - replay throughput: a recorded 2,500-node run (W3 layered) replayed with
 *   every tool answered from its record (nodes/s, events/s);
 * - the overhead of full durable tracing on W4 (io-bound, 400 nodes waiting
 *   5 ms, concurrency 16): makespan with events in memory vs. in the durable
 *   store, interleaved repetitions, median ratio (target ≤ 1.10).
 * Writes scripts/bench/results/trace.json.
 */
import { Effect, Either, Layer, ManagedRuntime, Redacted, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import Pg from "pg"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { Store } from "../../src/store/index.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import { EventSink } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"
import { ioBound, layered, toProgram, waitEffect } from "./runtime-workloads.js"

const here = dirname(fileURLToPath(import.meta.url))

const Deps = Schema.Struct({ deps: Schema.Array(Schema.Unknown) })
const noop = make({
  name: "bench.noop",
  description: "no-op",
  input: Deps,
  output: Schema.Null,
  idempotent: true,
  handler: () => Effect.succeed(null)
})
const wait = make({
  name: "bench.wait",
  description: "waits 5 ms",
  input: Deps,
  output: Schema.Null,
  idempotent: true,
  handler: () => waitEffect(5)
})
const registry = Layer.succeed(
  ToolRegistry,
  Either.getOrThrow(makeRegistry([...builtinTools, noop as unknown as AnyTool, wait as unknown as AnyTool]))
)

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** A PostgreSQL URL for the bench: a fresh database, dropped afterwards. */
const freshPg = async (base: string) => {
  const name = `trellis_bench_${Date.now().toString(36)}`
  const admin = new Pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(base)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: async () => {
      const c = new Pg.Client({ connectionString: base })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

/** Synthetic events of one run, shaped like a tool node's. */
const syntheticEvents = (runId: string, n: number): ReadonlyArray<RunEvent> => {
  const out: Array<RunEvent> = []
  for (let seq = 0; seq < n; seq++) {
    const node = `n${Math.floor(seq / 4)}`
    const k = seq % 4
    out.push(
      (k === 0
        ? { runId, seq, at: 1_700_000_000_000 + seq, type: "NodeReady", node, data: { kind: "tool" } }
        : k === 1
        ? { runId, seq, at: 1_700_000_000_000 + seq, type: "NodeStarted", node, data: { kind: "tool" } }
        : k === 2
        ? {
          runId,
          seq,
          at: 1_700_000_000_000 + seq,
          type: "ToolCalled",
          node,
          attempt: 1,
          data: { tool: "bench.noop", argsHash: "00ff00ff00ff00ff" }
        }
        : {
          runId,
          seq,
          at: 1_700_000_000_000 + seq,
          type: "NodeCompleted",
          node,
          data: { outputHash: "00ff00ff00ff00ff" }
        }) as RunEvent
    )
  }
  return out
}

type StoreLayer = Layer.Layer<Store.StoreServices | Store.Client, unknown>

/** Appends `total` events in batches of `batch`; events per second. */
const appendRate = async (store: StoreLayer, batch: number, total: number) => {
  const rt = ManagedRuntime.make(store)
  try {
    await rt.runtime()
    const events = syntheticEvents(`append-${batch}-${Date.now()}`, total)
    const t0 = performance.now()
    await rt.runPromise(Effect.gen(function*() {
      const sink = yield* EventSink
      for (let i = 0; i < events.length; i += batch) yield* sink.append(events.slice(i, i + batch))
    }))
    const ms = performance.now() - t0
    return { batch, events: total, ms: Math.round(ms), eventsPerSecond: Math.round(total / (ms / 1000)) }
  } finally {
    await rt.dispose()
  }
}

/** W4 makespans with events in memory and in the durable store, interleaved. */
const w4Overhead = async (store: StoreLayer, reps: number) => {
  const plan = Effect.runSync(Runtime.prepare(toProgram(ioBound(), "bench.wait")))
  const memory = ManagedRuntime.make(Layer.merge(Runtime.layerServices, registry))
  const durable = ManagedRuntime.make(
    Layer.mergeAll(store, Runtime.ResultCache.layerMemory, Runtime.ToolLimiter.layer, registry)
  )
  await memory.runtime()
  await durable.runtime()
  const mem: Array<number> = []
  const dur: Array<number> = []
  const w4 = ioBound()
  try {
    for (let r = 0; r < reps + 1; r++) {
      const t0 = performance.now()
      await memory.runPromise(Runtime.run(plan, {}, { runId: `m${r}`, concurrency: w4.concurrency }))
      const t1 = performance.now()
      await durable.runPromise(
        Durable.start(plan.program, {}, { runId: `d${r}-${Date.now()}`, concurrency: w4.concurrency })
      )
      const t2 = performance.now()
      // The first repetition warms both up.
      if (r > 0) {
        mem.push(t1 - t0)
        dur.push(t2 - t1)
      }
    }
  } finally {
    await memory.dispose()
    await durable.dispose()
  }
  const m = median(mem)
  const d = median(dur)
  return {
    memoryMs: Math.round(m * 10) / 10,
    durableMs: Math.round(d * 10) / 10,
    ratio: Math.round((d / m) * 1000) / 1000,
    memoryRunsMs: mem.map(Math.round),
    durableRunsMs: dur.map(Math.round)
  }
}

/** Replays a recorded W3 run (every call answered from the record). */
const replayRate = async () => {
  const dag = layered(50, 50)
  const program = toProgram(dag, "bench.noop")
  const rt = ManagedRuntime.make(Layer.mergeAll(Runtime.layerServices, RunStore.layerMemory, registry))
  try {
    const recorded = await rt.runPromise(Effect.gen(function*() {
      const r = yield* Durable.start(program, {}, { runId: "replay-source", seed: 1 })
      return yield* Durable.eventsOf(r.runId)
    }))
    const times: Array<number> = []
    let exact = true
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      const report = await rt.runPromise(Durable.replay({ _tag: "Trace", events: recorded, program }))
      times.push(performance.now() - t0)
      exact &&= report.exact
    }
    const ms = median(times)
    return {
      nodes: dag.deps.length,
      events: recorded.length,
      medianMs: Math.round(ms),
      nodesPerSecond: Math.round(dag.deps.length / (ms / 1000)),
      eventsPerSecond: Math.round(recorded.length / (ms / 1000)),
      exact
    }
  } finally {
    await rt.dispose()
  }
}

/** Runs the whole suite, prints a table, writes the JSON report. */
export const runTraceBench = async (): Promise<Record<string, unknown>> => {
  const backends: Array<{ name: string; layer: () => Promise<{ layer: StoreLayer; done: () => Promise<void> }> }> = [
    {
      name: "pglite",
      layer: async () => {
        const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-bench-"))
        return {
          layer: Store.layerPglite(dir) as StoreLayer,
          done: async () => fs.rmSync(dir, { recursive: true, force: true })
        }
      }
    }
  ]
  const pgBase = process.env.TRELLIS_BENCH_DATABASE_URL ?? process.env.TRELLIS_TEST_DATABASE_URL
  if (pgBase !== undefined && pgBase !== "") {
    backends.push({
      name: "postgres",
      layer: async () => {
        const db = await freshPg(pgBase)
        return { layer: Store.layerPostgres(Redacted.make(db.url)) as StoreLayer, done: db.drop }
      }
    })
  } else {
    console.log("PostgreSQL rows skipped: set TRELLIS_BENCH_DATABASE_URL (or TRELLIS_TEST_DATABASE_URL)")
  }
  const append: Record<string, unknown> = {}
  const overhead: Record<string, unknown> = {}
  console.log("backend    batch   events   ms      events/s")
  for (const b of backends) {
    const rows = []
    for (const [batch, total] of [[1, 2_000], [64, 20_000], [512, 50_000]] as const) {
      const { done, layer } = await b.layer()
      try {
        const row = await appendRate(layer, batch, total)
        rows.push(row)
        console.log(
          `${b.name.padEnd(10)} ${String(batch).padStart(5)} ${String(total).padStart(8)} ${
            String(row.ms).padStart(6)
          } ${String(row.eventsPerSecond).padStart(12)}`
        )
      } finally {
        await done()
      }
    }
    append[b.name] = rows
  }
  console.log("\nW4 makespan, events in memory vs. durable (median of 7, interleaved)")
  for (const b of backends) {
    const { done, layer } = await b.layer()
    try {
      const row = await w4Overhead(layer, 7)
      overhead[b.name] = { ...row, targetRatio: 1.1, meetsTarget: row.ratio <= 1.1 }
      console.log(
        `${
          b.name.padEnd(10)
        } memory ${row.memoryMs} ms, durable ${row.durableMs} ms, ratio ${row.ratio} (target ≤ 1.10)`
      )
    } finally {
      await done()
    }
  }
  const replay = await replayRate()
  console.log(
    `\nreplay of a ${replay.nodes}-node run (${replay.events} events): ${replay.medianMs} ms, ${replay.nodesPerSecond} nodes/s, ${replay.eventsPerSecond} events/s, exact: ${replay.exact}`
  )
  const report = {
    suite: "trace",
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version },
    append,
    w4DurableOverhead: overhead,
    replay
  }
  const out = join(here, "results", "trace.json")
  fs.mkdirSync(dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
  console.log(`\nwrote ${out}`)
  return report
}
