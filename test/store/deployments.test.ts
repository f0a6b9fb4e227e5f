/**
 * `DeploymentStore.layerMemory` (the SQL layer runs the same paths through
 * the HTTP tests on PGlite): a save is a compare-and-set on the version, its
 * event gets the next seq, history reads newest first and pages by seq, runs
 * are recorded once and read since a time, flags are per workspace.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { DeploymentStore } from "../../src/store/deployments.js"

const row = (version: number) => ({
  workspace: "w",
  name: "d",
  version,
  body: { v: version },
  createdAt: 1,
  updatedAt: version
})
const event = (kind: string, at: number) => ({ workspace: "w", name: "d", at, kind, body: { kind } })

describe("DeploymentStore.layerMemory", () => {
  it.effect("saves by compare-and-set, with its event", () =>
    Effect.gen(function*() {
      const store = yield* DeploymentStore
      expect(yield* store.save(row(1), 0, event("created", 1))).toBe(true)
      // A second creation and a stale update both lose.
      expect(yield* store.save(row(1), 0, event("created", 2))).toBe(false)
      expect(yield* store.save(row(2), 0, event("pointed", 2))).toBe(false)
      expect(yield* store.save(row(2), 1, event("pointed", 3))).toBe(true)
      expect(yield* store.appendEvent(event("canary-checked", 4))).toBe(3)
      const got = yield* store.get("w", "d")
      expect(Option.map(got, (d) => d.version)).toEqual(Option.some(2))
      expect(Option.isNone(yield* store.get("other", "d"))).toBe(true)
      const history = yield* store.history("w", "d", 10)
      expect(history.map((e) => [e.seq, e.kind])).toEqual([[3, "canary-checked"], [2, "pointed"], [1, "created"]])
      expect((yield* store.history("w", "d", 1, 3)).map((e) => e.seq)).toEqual([2])
      expect((yield* store.list("w")).map((d) => d.name)).toEqual(["d"])
    }).pipe(Effect.provide(DeploymentStore.layerMemory)))

  it.effect("records runs once and reads them since a time; flags per workspace", () =>
    Effect.gen(function*() {
      const store = yield* DeploymentStore
      const run = (runId: string, at: number) => ({
        workspace: "w",
        name: "d",
        runId,
        role: "candidate" as const,
        programHash: "h",
        at
      })
      yield* store.recordRun(run("a", 1))
      yield* store.recordRun(run("a", 1))
      yield* store.recordRun(run("b", 5))
      expect((yield* store.runs("w", "d", 0)).map((r) => r.runId)).toEqual(["a", "b"])
      expect((yield* store.runs("w", "d", 2)).map((r) => r.runId)).toEqual(["b"])
      yield* store.putFlag({ workspace: "w", name: "f", body: { enabled: true }, updatedAt: 1 })
      expect((yield* store.listFlags("w")).map((f) => f.name)).toEqual(["f"])
      expect(yield* store.listFlags("x")).toEqual([])
      expect(yield* store.deleteFlag("w", "f")).toBe(true)
      expect(yield* store.deleteFlag("w", "f")).toBe(false)
    }).pipe(Effect.provide(DeploymentStore.layerMemory)))
})
