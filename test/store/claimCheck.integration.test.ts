/**
 * Claim-check payloads: a run producing 200 tool outputs of 1 MB keeps every event row under a few KB (the
 * outputs live in the blob store, by hash) and replays exactly; payloads under the threshold stay inline; a
 * payload shaped like a reference round-trips; `trellis gc` keeps every blob a kept event refers to and removes
 * the others; a missing blob is a clear `StoreError`; the s3 backend without its client says so.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Schema, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Durable from "../../src/runtime/durable.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import * as Blobs from "../../src/store/blobs.js"
import { offload, resolve } from "../../src/store/claimCheck.js"
import { storedEvents } from "../../src/store/events.js"
import { collect } from "../../src/store/gc.js"
import * as Store from "../../src/store/layer.js"
import { compactRun } from "../../src/store/retention.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import { EventLog } from "../../src/trace/events.js"
import { testBackends } from "../support/db.js"
import { compileProgram } from "../support/runtime.js"
import { event } from "../support/store.js"

const MB = 1 << 20

/** A tool returning about `size` bytes of distinct text for item `i`. */
const bigTool = (size: number) =>
  make({
    name: "t.big",
    description: "a large output",
    input: Schema.Struct({ i: Schema.Number }),
    output: Schema.Struct({ i: Schema.Number, text: Schema.String }),
    idempotent: true,
    run: ({ i }) => ({ i, text: `${i}:`.padEnd(size, String.fromCharCode(97 + (i % 26))) })
  })

const SOURCE = `
program main(n: number) {
  parts = map i in range(n) with { concurrency: 8 } {
    big = tool t.big(i: i)
    return big.i
  }
  return parts
}
`

const servicesWith = (size: number, store: Layer.Layer<Store.StoreServices | Store.Client, unknown>) => {
  const tool = bigTool(size)
  return {
    program: compileProgram(SOURCE, [tool]),
    layer: Layer.mergeAll(
      store,
      ResultCache.layerMemory,
      ToolLimiter.layer,
      Layer.succeed(ToolRegistry, Either.getOrThrow(makeRegistry([...builtinTools, tool])))
    )
  }
}

const rowSizes = (runId: string) =>
  Effect.flatMap(
    SqlClient,
    (sql) =>
      sql.unsafe<{ readonly biggest: number; readonly total: number | string; readonly n: number | string }>(
        `SELECT max(octet_length(body::text)) AS biggest, sum(octet_length(body::text)) AS total, count(*) AS n
       FROM run_events WHERE run_id = $1`,
        [runId]
      )
  ).pipe(
    Effect.map((rows) => ({ biggest: Number(rows[0]!.biggest), total: Number(rows[0]!.total), n: Number(rows[0]!.n) }))
  )

const backend = testBackends()[0]!

describe("claim-check payloads", () => {
  it.effect("200 outputs of 1 MB: event rows stay under 2 KB, the outputs are blobs, the run replays exactly", () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-blobs-"))
    const { layer, program } = servicesWith(MB, Store.layerOn(backend.layer, { blobs: Blobs.layerFs(dir) }))
    return Effect.gen(function*() {
      const result = yield* Durable.start(program, { n: 200 }, { runId: "big" })
      expect(result.output).toEqual(Array.from({ length: 200 }, (_, i) => i))
      const sizes = yield* rowSizes("big")
      expect(sizes.biggest).toBeLessThan(2048)
      expect(sizes.total / sizes.n).toBeLessThan(1024)
      const files = Fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json"))
      expect(files).toHaveLength(200)
      const stored = yield* storedEvents("big")
      const refs = stored.filter((e) => e.type === "ToolReturned").map((e) => (e.data as { output: unknown }).output)
      expect(refs).toHaveLength(200)
      for (const r of refs) {
        expect(r).toMatchObject({ $blob: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: expect.any(Number) })
      }
      // Read through the log, the outputs are back.
      const events = yield* Effect.flatMap(EventLog, (log) => log.events("big"))
      const outputs = events.filter((e) => e.type === "ToolReturned").map((e) =>
        (e.data as { output: { text: string } }).output
      )
      expect(outputs.every((o) => o.text.length === MB)).toBe(true)
      const replay = yield* Durable.replay({ _tag: "Stored", runId: "big" })
      expect(replay.divergence).toBeUndefined()
      expect(replay.exact).toBe(true)
    }).pipe(
      Effect.provide(layer),
      Effect.ensuring(Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
    )
  }, 120_000)

  it.effect(
    "in the database: small payloads inline, large ones shared by hash; gc keeps what kept events refer to",
    () => {
      const { layer, program } = servicesWith(4096, Store.layerOn(backend.layer, { events: { blobThreshold: 1000 } }))
      return Effect.gen(function*() {
        const sql = yield* SqlClient
        const count = (table: string) =>
          Effect.map(
            sql.unsafe<{ readonly n: number | string }>(`SELECT count(*) AS n FROM ${table}`),
            (r) => Number(r[0]!.n)
          )
        yield* Durable.start(program, { n: 1 }, { runId: "tiny" })
        yield* Durable.start(program, { n: 6 }, { runId: "one" })
        yield* Durable.start(program, { n: 6 }, { runId: "two" })
        // Same outputs, same hashes: six blobs, twelve references (plus tiny's one, shared).
        expect(yield* count("blobs")).toBe(6)
        expect(yield* count("blob_contents")).toBe(6)
        expect(yield* count("blob_refs")).toBe(13)
        expect((yield* rowSizes("one")).biggest).toBeLessThan(1024)
        expect((yield* Durable.replay({ _tag: "Stored", runId: "one" })).exact).toBe(true)

        yield* TestClock.adjust(10)
        // Compacting "one" drops its references; "two" still refers to every blob: nothing is removed.
        yield* compactRun("one", { keepEvents: 2, now: 10 })
        const first = yield* collect({ blobGraceMs: 0 })
        expect(first.blobs).toMatchObject({ refs: 6, blobs: 0, bytes: 0 })
        expect(yield* count("blobs")).toBe(6)
        yield* compactRun("two", { keepEvents: 2, now: 10 })
        const dry = yield* collect({ blobGraceMs: 0, dryRun: true })
        expect(dry.blobs.blobs).toBe(5) // item 0's blob is still "tiny"'s
        expect(yield* count("blobs")).toBe(6)
        const done = yield* collect({ blobGraceMs: 0 })
        expect(done.blobs).toMatchObject({ refs: 6, blobs: 5 })
        expect(done.blobs.bytes).toBe(dry.blobs.bytes)
        expect(done.blobs.bytes).toBeGreaterThan(5 * 4096)
        expect(yield* count("blobs")).toBe(1)
        expect(yield* count("blob_contents")).toBe(1)
        const tiny = yield* Effect.flatMap(EventLog, (log) => log.events("tiny"))
        const out = tiny.find((e) => e.type === "ToolReturned")!.data as { output: { i: number; text: string } }
        expect(out.output.text).toHaveLength(4096)
        // A blob that went missing is a clear error, naming the run, the event and the hash.
        yield* sql.unsafe(`DELETE FROM blob_contents`)
        const missing = yield* Effect.flip(Effect.flatMap(EventLog, (log) => log.events("tiny")))
        expect(missing._tag).toBe("StoreError")
        expect(missing.message).toMatch(
          /^event \d+ \(ToolReturned\) of run tiny refers to blob [0-9a-f]{64} \(\d+ bytes\), which the sql blob store does not have$/
        )
      }).pipe(Effect.provide(layer))
    },
    60_000
  )

  it.effect("a payload shaped like a reference is stored as a blob, so it reads back as it was", () =>
    Effect.gen(function*() {
      const store = yield* Blobs.BlobStore
      const tricky = event({
        runId: "r",
        seq: 0,
        at: 1,
        type: "ToolReturned",
        node: "n0",
        attempt: 1,
        data: {
          tool: "t",
          outputHash: "h",
          latencyMs: 1,
          cost: 0,
          source: "tool",
          output: { $blob: "not-a-hash", bytes: 3 }
        }
      })
      const plain = event({
        runId: "r",
        seq: 1,
        at: 1,
        type: "ToolReturned",
        node: "n1",
        attempt: 1,
        data: { tool: "t", outputHash: "h", latencyMs: 1, cost: 0, source: "tool", output: { small: true } }
      })
      const { blobs, events } = offload([tricky, plain], 65_536)
      expect(blobs).toHaveLength(1)
      expect(events[1]).toBe(plain)
      for (const b of blobs) yield* store.put(b.hash, b.content)
      const back = yield* resolve(events, store)
      expect(back.map((e) => e.data)).toEqual([tricky.data, plain.data])
    }).pipe(Effect.provide(Store.layerOn(backend.layer))))

  it.effect("the s3 backend says plainly when its client is not installed or it is not configured", () =>
    Effect.gen(function*() {
      const notInstalled = yield* Effect.flip(
        Layer.build(Blobs.layerS3({ bucket: "b", prefix: "p/", region: "r" })).pipe(Effect.scoped)
      )
      expect(notInstalled).toMatchObject({ _tag: "BlobStoreError", reason: "NotInstalled", backend: "s3" })
      expect(notInstalled.message).toContain("npm install @aws-sdk/client-s3")
      const unconfigured = yield* Effect.flip(
        Layer.build(Blobs.layerFromEnv).pipe(
          Effect.scoped,
          Effect.provide(backend.layer),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["TRELLIS_BLOB_STORE", "s3"]])))
        )
      )
      expect(unconfigured).toMatchObject({ _tag: "BlobStoreError", reason: "NotConfigured", backend: "s3" })
      expect(unconfigured.message).toContain("TRELLIS_BLOB_S3_BUCKET")
    }))
})
