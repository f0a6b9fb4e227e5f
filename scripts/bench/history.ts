/**
 * The history of a 100,000-node run (issue 21, item 5): a program of 100,000 tool nodes (100 layers of
 * 1,000, three seeded-random dependencies each; every tool returns a small record) runs durably on the
 * embedded store (PGlite), then the stored history is measured — event count, total and largest event row
 * (`pg_column_size` of the `run_events` row and the byte length of its JSON body), bytes per node, the size
 * of the table on disk and of the run exported as JSON lines — and set against Temporal's limits per
 * workflow history (51,200 events, 50 MB) and per payload (2 MB). Writes scripts/bench/results/history.json.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Either, Layer, ManagedRuntime, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Durable from "../../src/runtime/durable.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { Store } from "../../src/store/index.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import type { AnyTool } from "../../src/tools/index.js"
import { toJsonl } from "../../src/trace/jsonl.js"
import { layered, toProgram } from "./runtime-workloads.js"

const here = dirname(fileURLToPath(import.meta.url))

/** Temporal's documented limits (per workflow execution history, per payload). */
export const TEMPORAL = { events: 51_200, historyBytes: 50 * 1024 * 1024, payloadBytes: 2 * 1024 * 1024 }

const step = make({
  name: "bench.step",
  description: "returns a small record",
  input: Schema.Struct({ deps: Schema.Array(Schema.Unknown) }),
  output: Schema.Struct({ ok: Schema.Boolean, inputs: Schema.Number }),
  idempotent: true,
  handler: ({ deps }) => Effect.succeed({ ok: true, inputs: deps.length })
})

interface Sizes {
  readonly events: number
  readonly rowBytes: number
  readonly maxRowBytes: number
  readonly bodyBytes: number
  readonly maxBodyBytes: number
  readonly tableBytes: number
}

const sizesOf = (runId: string) =>
  Effect.flatMap(SqlClient, (sql) =>
    Effect.all({
      rows: sql.unsafe<Record<string, number | string>>(
        `SELECT count(*) AS events, sum(pg_column_size(e.*)) AS row_bytes, max(pg_column_size(e.*)) AS max_row,
                sum(octet_length(body::text)) AS body_bytes, max(octet_length(body::text)) AS max_body
           FROM run_events e WHERE run_id = $1`,
        [runId]
      ),
      table: sql.unsafe<Record<string, number | string>>(
        `SELECT pg_total_relation_size('run_events') AS bytes`
      )
    })).pipe(Effect.map(({ rows, table }): Sizes => {
      const r = rows[0]!
      return {
        events: Number(r.events),
        rowBytes: Number(r.row_bytes),
        maxRowBytes: Number(r.max_row),
        bodyBytes: Number(r.body_bytes),
        maxBodyBytes: Number(r.max_body),
        tableBytes: Number(table[0]!.bytes)
      }
    }))

const mb = (bytes: number) => Math.round((bytes / (1024 * 1024)) * 10) / 10

/** Runs the cell, prints it, writes the JSON report. */
export const runHistoryBench = async (): Promise<Record<string, unknown>> => {
  // TRELLIS_BENCH_HISTORY_LAYERS (default 100) shrinks the program for a trial run.
  const dag = layered(Number(process.env.TRELLIS_BENCH_HISTORY_LAYERS ?? "100"), 1_000)
  const program = toProgram(dag, "bench.step")
  const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-bench-history-"))
  const registry = Layer.succeed(
    ToolRegistry,
    Either.getOrThrow(makeRegistry([...builtinTools, step as unknown as AnyTool]))
  )
  const rt = ManagedRuntime.make(
    Layer.mergeAll(Store.layerPglite(dir), Runtime.ResultCache.layerMemory, Runtime.ToolLimiter.layer, registry)
  )
  try {
    await rt.runtime()
    const t0 = performance.now()
    const result = await rt.runPromise(
      Durable.start(program, {}, { runId: "history-100k", seed: 1, concurrency: 64 })
    )
    const runMs = performance.now() - t0
    if (result.status !== "completed") throw new Error(`the 100k-node run ended ${result.status}`)
    const sizes = await rt.runPromise(sizesOf(result.runId))
    const events = await rt.runPromise(Durable.eventsOf(result.runId))
    const exportBytes = Buffer.byteLength(toJsonl(events))
    let maxEventBytes = 0
    const byType: Record<string, number> = {}
    for (const e of events) {
      maxEventBytes = Math.max(maxEventBytes, Buffer.byteLength(JSON.stringify(e)))
      byType[e.type] = (byType[e.type] ?? 0) + 1
    }
    const nodes = dag.deps.length
    const report = {
      suite: "history",
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      store: "pglite",
      program: { nodes, shape: `${nodes / 1_000} layers × 1,000 tool nodes, 3 seeded-random deps each` },
      runMs: Math.round(runMs),
      history: {
        events: sizes.events,
        eventsByType: byType,
        eventsPerNode: Math.round((sizes.events / nodes) * 100) / 100,
        rowBytes: sizes.rowBytes,
        maxRowBytes: sizes.maxRowBytes,
        bodyBytes: sizes.bodyBytes,
        maxBodyBytes: sizes.maxBodyBytes,
        rowBytesPerNode: Math.round(sizes.rowBytes / nodes),
        exportBytes,
        exportBytesPerNode: Math.round(exportBytes / nodes),
        maxEventJsonBytes: maxEventBytes,
        tableBytesOnDisk: sizes.tableBytes
      },
      temporal: {
        limits: TEMPORAL,
        eventsVsLimit: Math.round((sizes.events / TEMPORAL.events) * 100) / 100,
        rowBytesVsHistoryLimit: Math.round((sizes.rowBytes / TEMPORAL.historyBytes) * 100) / 100,
        payloadLimitOverMaxRow: Math.round(TEMPORAL.payloadBytes / sizes.maxRowBytes)
      }
    }
    console.log(`history of a ${nodes}-node run on PGlite (${report.runMs} ms):`)
    console.log(`  events ${sizes.events} (${report.history.eventsPerNode} per node)`)
    console.log(
      `  rows ${
        mb(sizes.rowBytes)
      } MB (${report.history.rowBytesPerNode} B per node), largest row ${sizes.maxRowBytes} B`
    )
    console.log(`  JSON export ${mb(exportBytes)} MB, largest event ${maxEventBytes} B`)
    console.log(`  run_events on disk (with indexes) ${mb(sizes.tableBytes)} MB`)
    console.log(
      `  Temporal: ${TEMPORAL.events} events / ${
        mb(TEMPORAL.historyBytes)
      } MB per history, 2 MB per payload: events ×${report.temporal.eventsVsLimit}, bytes ×${report.temporal.rowBytesVsHistoryLimit}, the largest row is 1/${report.temporal.payloadLimitOverMaxRow} of a payload`
    )
    const out = join(here, "results", "history.json")
    fs.mkdirSync(dirname(out), { recursive: true })
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
    console.log(`\nwrote ${out}`)
    return report
  } finally {
    await rt.dispose()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
