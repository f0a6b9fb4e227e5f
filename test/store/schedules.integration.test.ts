/**
 * `ScheduleStore` with the same semantics in memory and on PGlite (SQL,
 * migration 0005): workspace filters, newest-first pages with a cursor,
 * pause, due and next-due, fires recorded once per occurrence, the runs'
 * link to their schedule.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Store } from "../../src/store/index.js"
import { ScheduleStore } from "../../src/store/schedules.js"
import type { FireRecord, ScheduleRecord } from "../../src/store/schedules.js"

const schedule = (id: string, workspace: string, createdAt: number, nextFireAt: number | null): ScheduleRecord => ({
  scheduleId: id,
  workspace,
  cron: "*/5 * * * *",
  timezone: "UTC",
  program: { a: [1, "\u0000"] },
  programHash: "h",
  programName: "main",
  inputs: { name: "x" },
  seed: 7,
  overlap: "queue",
  missed: { policy: "catch-up", max: 3 },
  paused: false,
  nextFireAt,
  pending: [],
  lastFireAt: null,
  lastRunId: null,
  createdAt,
  updatedAt: createdAt
})

const fire = (
  scheduleId: string,
  fireAt: number,
  runId: string | null,
  outcome: FireRecord["outcome"]
): FireRecord => ({
  scheduleId,
  workspace: "alpha",
  fireAt,
  firedAt: fireAt + 1,
  outcome,
  runId,
  message: outcome === "started" ? null : "why"
})

const backends = [
  { name: "memory", layer: ScheduleStore.layerMemory },
  { name: "pglite", layer: ScheduleStore.layer.pipe(Layer.provide(Store.layerPglite("memory://"))) }
]

for (const backend of backends) {
  describe(backend.name, () => {
    layer(backend.layer, { timeout: "60 seconds" })((it) => {
      it.effect("keeps schedules per workspace, pages them, pauses them", () =>
        Effect.gen(function*() {
          const store = yield* ScheduleStore
          yield* store.create(schedule("s1", "alpha", 1, 100))
          yield* store.create(schedule("s2", "alpha", 2, 50))
          yield* store.create(schedule("s3", "beta", 3, 10))
          expect(yield* Effect.flip(store.create(schedule("s1", "alpha", 1, 100)))).toMatchObject({
            _tag: "StoreError"
          })
          expect(Option.getOrThrow(yield* store.get("s1", "alpha"))).toEqual(schedule("s1", "alpha", 1, 100))
          expect(yield* store.get("s1", "beta")).toEqual(Option.none())
          const first = yield* store.list({ workspace: "alpha", limit: 1 })
          expect(first.items.map((s) => s.scheduleId)).toEqual(["s2"])
          const second = yield* store.list({ workspace: "alpha", limit: 1, cursor: first.next! })
          expect(second.items.map((s) => s.scheduleId)).toEqual(["s1"])
          expect(second.next).toBeUndefined()

          expect((yield* store.due(60)).map((s) => s.scheduleId).sort()).toEqual(["s2", "s3"])
          expect(yield* store.nextDue).toEqual({ at: 10, pending: false })
          expect(yield* store.setPaused("s3", "alpha", true, null, 5)).toEqual(Option.none())
          const paused = Option.getOrThrow(yield* store.setPaused("s3", "beta", true, null, 5))
          expect(paused).toMatchObject({ paused: true, nextFireAt: null, updatedAt: 5 })
          expect((yield* store.due(60)).map((s) => s.scheduleId)).toEqual(["s2"])
          expect(yield* store.nextDue).toEqual({ at: 50, pending: false })

          expect(yield* store.remove("s2", "beta")).toBe(false)
          expect(yield* store.remove("s2", "alpha")).toBe(true)
          expect(yield* store.get("s2")).toEqual(Option.none())
        }))

      it.effect("records each occurrence once, with the schedule's new state", () =>
        Effect.gen(function*() {
          const store = yield* ScheduleStore
          yield* store.create(schedule("f1", "alpha", 10, 300))
          const state = { nextFireAt: 600, pending: [450], lastFireAt: 300, lastRunId: "r1", updatedAt: 301 }
          yield* store.advance("f1", state, [fire("f1", 300, "r1", "started"), fire("f1", 150, null, "skipped")])
          // The same occurrence again (a repeated step) keeps the first record.
          yield* store.advance("f1", { ...state, lastRunId: "r1" }, [fire("f1", 300, "other", "started")])
          yield* store.advance("f1", { ...state, lastFireAt: 450, lastRunId: "r2", pending: [] }, [
            fire("f1", 450, "r2", "started")
          ])
          expect(Option.getOrThrow(yield* store.get("f1"))).toMatchObject({
            nextFireAt: 600,
            pending: [],
            lastFireAt: 450,
            lastRunId: "r2"
          })
          const page = yield* store.firesOf({ scheduleId: "f1", workspace: "alpha", limit: 1 })
          expect(page.items.map((f) => f.runId)).toEqual(["r2"])
          const rest = yield* store.firesOf({ scheduleId: "f1", workspace: "alpha", limit: 5, cursor: page.next! })
          expect(rest.items.map((f) => f.runId)).toEqual(["r1"])
          expect((yield* store.firesOf({ scheduleId: "f1", workspace: "beta", limit: 5 })).items).toEqual([])
          const of = yield* store.scheduleOfRuns(["r1", "r2", "other", "nope"])
          expect([...of.entries()].sort()).toEqual([["r1", "f1"], ["r2", "f1"]])
          // Pending fires make a schedule due whatever its next time.
          yield* store.advance("f1", { ...state, pending: [700] }, [])
          expect((yield* store.due(0)).map((s) => s.scheduleId)).toContain("f1")
          expect((yield* store.nextDue).pending).toBe(true)
        }))
    })
  })
}
