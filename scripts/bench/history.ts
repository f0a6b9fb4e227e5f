/**
 * The history of a 100,000-node run (issue 21, item 5): a program of 100,000 tool nodes (100 layers of
 * 1,000, three seeded-random dependencies each; every tool returns a small record) runs durably on the
 * embedded store (PGlite), then the stored history is measured and set against Temporal's limits per
 * workflow history (51,200 events, 50 MB) and per payload (2 MB): the events (unchanged: 5 per tool node),
 * the history records that hold them (`src/store/history.ts`: rows of `run_history`, each a batch of
 * contiguous events), the bytes of those rows as stored (`pg_column_size`: compressed by TOAST), the bytes of
 * their JSON before compression, the largest record and event, the tables on disk (with indexes and TOAST) and
 * the run exported as JSON lines. Writes scripts/bench/results/history.json.
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
  readonly records: number
  readonly maxRecordEvents: number
  readonly rowBytes: number
  readonly maxRowBytes: number
  readonly bodyBytes: number
  readonly maxBodyBytes: number
  readonly legacyRows: number
  readonly tableBytes: number
}

const sizesOf = (runId: string) =>
  Effect.flatMap(SqlClient, (sql) =>
    Effect.all({
      rows: sql.unsafe<Record<string, number | string>>(
        `SELECT count(*) AS records, sum(last_seq - first_seq + 1) AS events,
                max(last_seq - first_seq + 1) AS max_events,
                sum(pg_column_size(h.*)) AS row_bytes, max(pg_column_size(h.*)) AS max_row,
                sum(octet_length(body::text)) AS body_bytes, max(octet_length(body::text)) AS max_body
           FROM run_history h WHERE run_id = $1`,
        [runId]
      ),
      legacy: sql.unsafe<Record<string, number | string>>(
        `SELECT count(*) AS n FROM run_event_rows WHERE run_id = $1`,
        [runId]
      ),
      table: sql.unsafe<Record<string, number | string>>(
        `SELECT pg_total_relation_size('run_history') + pg_total_relation_size('run_event_rows') AS bytes`
      )
    })).pipe(Effect.map(({ legacy, rows, table }): Sizes => {
      const r = rows[0]!
      return {
        events: Number(r.events),
        records: Number(r.records),
        maxRecordEvents: Number(r.max_events),
        rowBytes: Number(r.row_bytes),
        maxRowBytes: Number(r.max_row),
        bodyBytes: Number(r.body_bytes),
        maxBodyBytes: Number(r.max_body),
        legacyRows: Number(legacy[0]!.n),
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
        events: events.length,
        eventsByType: byType,
        eventsPerNode: Math.round((events.length / nodes) * 100) / 100,
        records: sizes.records,
        eventsInRecords: sizes.events,
        eventsPerRecord: Math.round(sizes.events / sizes.records),
        maxRecordEvents: sizes.maxRecordEvents,
        legacyRows: sizes.legacyRows,
        rowBytes: sizes.rowBytes,
        maxRowBytes: sizes.maxRowBytes,
        bodyBytes: sizes.bodyBytes,
        maxBodyBytes: sizes.maxBodyBytes,
        rowBytesPerNode: Math.round((sizes.rowBytes / nodes) * 10) / 10,
        exportBytes,
        exportBytesPerNode: Math.round(exportBytes / nodes),
        maxEventJsonBytes: maxEventBytes,
        tableBytesOnDisk: sizes.tableBytes
      },
      temporal: {
        limits: TEMPORAL,
        note: "Temporal counts events; Trellis stores the same events in history records (rows)",
        eventsVsLimit: Math.round((events.length / TEMPORAL.events) * 100) / 100,
        recordsVsEventLimit: Math.round((sizes.records / TEMPORAL.events) * 1000) / 1000,
        rowBytesVsHistoryLimit: Math.round((sizes.rowBytes / TEMPORAL.historyBytes) * 1000) / 1000,
        diskBytesVsHistoryLimit: Math.round((sizes.tableBytes / TEMPORAL.historyBytes) * 1000) / 1000,
        payloadLimitOverMaxRow: Math.round(TEMPORAL.payloadBytes / sizes.maxRowBytes)
      }
    }
    if (sizes.events !== events.length) {
      throw new Error(`the records hold ${sizes.events} events, the run read back ${events.length}`)
    }
    console.log(`history of a ${nodes}-node run on PGlite (${report.runMs} ms):`)
    console.log(`  events ${events.length} (${report.history.eventsPerNode} per node), unchanged`)
    console.log(
      `  history records ${sizes.records} (${report.history.eventsPerRecord} events each on average, at most ${sizes.maxRecordEvents})`
    )
    console.log(
      `  record rows ${mb(sizes.rowBytes)} MB as stored (${report.history.rowBytesPerNode} B per node; ${
        mb(sizes.bodyBytes)
      } MB of JSON before compression), largest row ${sizes.maxRowBytes} B`
    )
    console.log(`  JSON export ${mb(exportBytes)} MB, largest event ${maxEventBytes} B`)
    console.log(`  run_history + run_event_rows on disk (with indexes, TOAST) ${mb(sizes.tableBytes)} MB`)
    console.log(
      `  Temporal: ${TEMPORAL.events} events / ${
        mb(TEMPORAL.historyBytes)
      } MB per history, 2 MB per payload: events ×${report.temporal.eventsVsLimit}, records ×${report.temporal.recordsVsEventLimit}, stored bytes ×${report.temporal.rowBytesVsHistoryLimit}, on disk ×${report.temporal.diskBytesVsHistoryLimit}, the largest row is 1/${report.temporal.payloadLimitOverMaxRow} of a payload`
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
