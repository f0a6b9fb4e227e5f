/**
 * `trellis migrate-data offload-payloads` on a PGlite store holding runs recorded before claim-check payloads
 * (every payload inline): the dry run reports what would change and changes nothing; a migration killed with
 * SIGKILL after its first batch resumes where it stopped when run again, and verifies; afterwards every event
 * row is small, the runs read and replay exactly, and `trace export` writes references (`--inline`: the
 * payloads) that `replay` of the file follows. A tampered blob fails the verification loudly.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Either, Layer, Schema } from "effect"
import { execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import * as Durable from "../../src/runtime/durable.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { BlobStore } from "../../src/store/blobs.js"
import { resolve } from "../../src/store/claimCheck.js"
import { verify } from "../../src/store/dataMigrations.js"
import * as Store from "../../src/store/layer.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import { fromJsonl } from "../../src/trace/jsonl.js"
import { compileProgram } from "../support/runtime.js"

const root = Path.join(import.meta.dirname, "..", "..")
const bin = Path.join(root, "bin", "trellis.mjs")
const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-migrate-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "", TRELLIS_BLOB_THRESHOLD_BYTES: "4096" }

const trellis = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, encoding: "utf8", timeout: 120_000, env },
      (e, stdout, stderr) =>
        resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : null, stdout, stderr })
    )
  })

const big = make({
  name: "t.big",
  description: "a large output",
  input: Schema.Struct({ i: Schema.Number }),
  output: Schema.Struct({ i: Schema.Number, text: Schema.String }),
  idempotent: true,
  run: ({ i }) => ({ i, text: `${i}:`.padEnd(20_000, String.fromCharCode(97 + (i % 26))) })
})
const program = compileProgram(
  `program main(n: number) {
  parts = map i in range(n) with { concurrency: 2 } {
    b = tool t.big(i: i)
    return b.i
  }
  return parts
}`,
  [big]
)
const RUNS = 8

/** The store in `home`, writing payloads inline (as a build before claim-check payloads did). */
const services = () =>
  Layer.mergeAll(
    Store.layerPglite(Path.join(home, "pglite"), { events: { blobThreshold: 1_000_000_000 } }),
    ResultCache.layerMemory,
    ToolLimiter.layer,
    Layer.succeed(ToolRegistry, Either.getOrThrow(makeRegistry([...builtinTools, big])))
  )
const inStore = <A, E>(body: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof services>>>) =>
  Effect.runPromise(Effect.provide(body, services()))

const biggestRow = Effect.flatMap(
  SqlClient,
  (sql) => sql.unsafe<{ readonly n: number }>(`SELECT max(octet_length(body::text)) AS n FROM run_events`)
).pipe(
  Effect.map((r) => Number(r[0]!.n))
)

describe("trellis migrate-data", () => {
  it("dry run, SIGKILL mid-migration, resume, verification; exports follow the references", async () => {
    await inStore(Effect.gen(function*() {
      for (let r = 0; r < RUNS; r++) yield* Durable.start(program, { n: 3 }, { runId: `run-${r}` })
      expect(yield* biggestRow).toBeGreaterThan(20_000)
    }))

    const dry = await trellis(["migrate-data", "offload-payloads", "--dry-run", "--json"])
    expect(dry.code, dry.stderr).toBe(0)
    const planned = JSON.parse(dry.stdout) as Record<string, number | boolean>
    expect(planned).toMatchObject({ dryRun: true, runsVisited: RUNS, runs: RUNS, events: RUNS * 3, verified: 0 })
    expect(planned["bytesBefore"]).toBeGreaterThan(RUNS * 3 * 20_000)
    expect(planned["bytesAfter"]).toBeLessThan(RUNS * 3 * 1_000)

    // Killed for real after its first batch committed.
    const child = spawn(process.execPath, [bin, "migrate-data", "offload-payloads", "--batch", "1"], { cwd: root, env })
    let stderr = ""
    const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
        if (stderr.includes("run(s) visited")) child.kill("SIGKILL")
      })
      child.on("exit", (_code, signal) => resolve(signal))
    })
    expect(killed, stderr).toBe("SIGKILL")
    const progress = await inStore(
      Effect.flatMap(
        SqlClient,
        (sql) =>
          sql.unsafe<{ readonly status: string; readonly runs: number }>(`SELECT status, runs FROM data_migrations`)
      )
    )
    expect(progress[0]!.status).toBe("running")
    expect(progress[0]!.runs).toBeGreaterThan(0)
    expect(progress[0]!.runs).toBeLessThan(RUNS)

    const rest = await trellis(["migrate-data", "offload-payloads", "--batch", "3", "--json"])
    expect(rest.code, rest.stderr).toBe(0)
    const report = JSON.parse(rest.stdout) as Record<string, number | boolean>
    expect(report).toMatchObject({ resumed: true, runs: RUNS, events: RUNS * 3, verified: RUNS })
    expect(report["bytesBefore"]).toBe(planned["bytesBefore"])

    // Nothing left to do: a second run changes nothing and verifies again.
    const again = JSON.parse((await trellis(["migrate-data", "offload-payloads", "--json"])).stdout) as Record<
      string,
      number
    >
    expect(again).toMatchObject({ runs: RUNS, verified: RUNS })

    const referenced = Path.join(home, "ref.jsonl")
    const inlined = Path.join(home, "inline.jsonl")
    expect((await trellis(["trace", "export", "run-3", "-o", referenced])).code).toBe(0)
    expect((await trellis(["trace", "export", "run-3", "--inline", "-o", inlined])).code).toBe(0)
    expect(Fs.statSync(referenced).size).toBeLessThan(10_000)
    expect(Fs.readFileSync(referenced, "utf8")).toContain("\"$blob\"")
    expect(Fs.statSync(inlined).size).toBeGreaterThan(60_000)
    expect((await trellis(["migrate-data", "nope"])).stderr).toContain(
      "no data migration \"nope\"; known: offload-payloads"
    )

    await inStore(Effect.gen(function*() {
      expect(yield* biggestRow).toBeLessThan(2_000)
      for (let r = 0; r < RUNS; r++) {
        expect((yield* Durable.replay({ _tag: "Stored", runId: `run-${r}` })).exact).toBe(true)
      }
      // The exported file with references replays once they are resolved from the blob store (as `replay <file>` does).
      const withRefs = Either.getOrThrow(fromJsonl(Fs.readFileSync(referenced, "utf8")))
      const resolved = yield* resolve(withRefs, yield* BlobStore)
      expect((yield* Durable.replay({ _tag: "Trace", events: resolved, program })).exact).toBe(true)
      expect(resolved).toEqual(Either.getOrThrow(fromJsonl(Fs.readFileSync(inlined, "utf8"))))
      // A blob changed behind the migration's back: verification fails loudly, naming the run.
      const sql = yield* SqlClient
      yield* sql.unsafe(`UPDATE blob_contents SET content = '{"i":0,"text":"tampered"}' WHERE content LIKE '{"i":0,%'`)
      const failed = yield* Effect.flip(verify("offload-payloads"))
      expect(failed.reason).toBe("Verification")
      expect(failed.message).toMatch(/^verification failed for \d+ of 8 run\(s\): run run-0: its folded state differs/)
    }))
  }, 180_000)
})
