/**
 * The SQL RunStore on each backend: programs kept once per hash; runs
 * created, finished (JSON null output distinct from none), reopened, read
 * per workspace; listing newest first with filters and cursor pagination,
 * page after page, the same as the in-memory store.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { RunQuery, RunRecord } from "../../src/runtime/runStore.js"
import { RunStore } from "../../src/runtime/runStore.js"
import { storeBackends } from "../support/store.js"

const run = (runId: string, createdAt: number, over: Partial<RunRecord> = {}): RunRecord => ({
  runId,
  workspace: "default",
  programHash: "ph1",
  programName: "main",
  status: "running",
  inputs: { q: "ünïcode", n: [1, 2.5, null] },
  seed: null,
  options: { concurrency: 4 },
  createdAt,
  updatedAt: createdAt,
  endedAt: null,
  state: {},
  ...over
})

/** Every page of a query, following `next`. */
const allPages = (store: RunStore["Type"], query: RunQuery) =>
  Effect.gen(function*() {
    const pages: Array<Array<string>> = []
    let cursor: string | undefined = undefined
    do {
      const page: { readonly runs: ReadonlyArray<RunRecord>; readonly next: string | undefined } = yield* store.list({
        ...query,
        ...(cursor === undefined ? {} : { cursor })
      })
      pages.push(page.runs.map((r) => r.runId))
      cursor = page.next
    } while (cursor !== undefined)
    return pages
  })

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(backend.layer, { timeout: "60 seconds" })((it) => {
      it.effect("keeps a program once per hash", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          yield* store.putProgram("h1", { version: 1, programs: [{ name: "main" }], note: null })
          yield* store.putProgram("h1", { version: 2 })
          expect(yield* store.getProgram("h1")).toEqual(
            Option.some({ version: 1, programs: [{ name: "main" }], note: null })
          )
          expect(yield* store.getProgram("nope")).toEqual(Option.none())
        }))

      it.effect("creates, finishes and reopens a run", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const created = run("life", 100, { seed: 7, workspace: "w1" })
          yield* store.create(created)
          expect(yield* store.get("life")).toEqual(Option.some(created))
          expect(yield* store.get("life", "w1")).toEqual(Option.some(created))
          expect(yield* store.get("life", "w2")).toEqual(Option.none())
          const dup = yield* Effect.flip(store.create(created))
          expect([dup.operation, dup.message]).toEqual(["create run", "run life exists"])

          yield* store.finish("life", { status: "completed", endedAt: 150, output: null, state: { nodes: 3 } })
          expect(yield* store.get("life")).toEqual(
            Option.some({
              ...created,
              status: "completed",
              endedAt: 150,
              updatedAt: 150,
              output: null,
              state: { nodes: 3 }
            })
          )
          // An ended run stays ended (a resume that read it before it ended stops here); a parked one reopens.
          const ended = yield* Effect.flip(store.reopen("life", 200))
          expect([ended.operation, ended.message]).toEqual(["reopen run", "run life is completed"])
          yield* store.create(run("park", 100, { seed: 7, workspace: "w1" }))
          yield* store.park("park", { at: 120, wakeAt: null, state: { nodes: 3 } })
          yield* store.reopen("park", 200)
          expect(Option.map(yield* store.get("park"), (r) => [r.status, r.updatedAt, r.endedAt])).toEqual(
            Option.some(["running", 200, null])
          )
          yield* store.reopen("park", 210)
          const error = { kind: "Permanent", message: "boom", node: "n3" }
          yield* store.finish("park", { status: "failed", endedAt: 250, error, state: {} })
          const failed = Option.getOrThrow(yield* store.get("park"))
          expect(failed.error).toEqual(error)
          expect("output" in failed).toBe(false)
        }))

      it.effect("finishing or reopening an unknown run fails naming it", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const a = yield* Effect.flip(store.finish("ghost", { status: "cancelled", endedAt: 1, state: {} }))
          const b = yield* Effect.flip(store.reopen("ghost", 1))
          expect([a.operation, a.message, b.operation, b.message]).toEqual([
            "finish run",
            "no run ghost",
            "reopen run",
            "no run ghost"
          ])
        }))

      it.effect("lists newest first with filters, paginated by cursor like the memory store", () =>
        Effect.gen(function*() {
          const store = yield* RunStore
          const memory = yield* Effect.provide(RunStore, RunStore.layerMemory)
          const statuses = ["running", "completed", "failed"] as const
          for (let i = 0; i < 23; i++) {
            // Ties on createdAt are broken by run id, descending.
            const r = run(`p${String(i % 5)}-${String(i).padStart(2, "0")}`, 1_000 + Math.floor(i / 3), {
              workspace: i % 2 === 0 ? "even" : "odd",
              status: statuses[i % 3]!,
              programHash: i < 10 ? "ph-a" : "ph-b",
              ...(i % 3 === 0 ? {} : { endedAt: 2_000 })
            })
            yield* store.create(r)
            yield* memory.create(r)
          }
          const queries: ReadonlyArray<RunQuery> = [
            { workspace: "even", limit: 4 },
            { workspace: "odd", status: "completed", limit: 2 },
            { programHash: "ph-a", limit: 3 },
            { status: "failed", programHash: "ph-b", limit: 1000 },
            { workspace: "even", programHash: "ph-b", status: "running", limit: 1 }
          ]
          for (const query of queries) {
            const pages = yield* allPages(store, query)
            expect(pages).toEqual(yield* allPages(memory, query))
            expect(pages.flat().length).toBeGreaterThan(0)
          }
          const even = yield* allPages(store, { workspace: "even", limit: 5 })
          expect(even.map((p) => p.length)).toEqual([5, 5, 2])
          expect(even[0]).toEqual(["p2-22", "p3-18", "p0-20", "p1-16", "p4-14"])
          const first = yield* store.list({ workspace: "even", limit: 2 })
          expect(first.next).toBe("1006:p3-18")
          const second = yield* store.list({ workspace: "even", limit: 2, cursor: first.next! })
          expect(second.runs.map((r) => r.runId)).toEqual(["p0-20", "p1-16"])
          expect((yield* store.list({ workspace: "nobody" })).runs).toEqual([])
        }))
    })
  })
}
