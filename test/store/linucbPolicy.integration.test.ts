/**
 * LinUCB's online statistics in the SQL PolicyStore, on each backend (PGlite; PostgreSQL when
 * `TRELLIS_TEST_DATABASE_URL` is set): feedback with contexts gives the same state as the memory store — the
 * offline fit of the same log — and the same seeded choices; concurrent feedbacks with contexts, from two
 * instances, lose no update of the matrices.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Random } from "effect"
import { fit } from "../../src/runtime/bandit/linucb.js"
import { linearOf } from "../../src/runtime/bandit/state.js"
import type { BanditStrategy } from "../../src/runtime/bandit/state.js"
import { PolicyStore } from "../../src/runtime/bandit/store.js"
import * as Bandit from "../../src/store/bandit.js"
import { storeBackends } from "../support/store.js"

const FEATURES = { numeric: ["a", "b"], categorical: [] }
const LOG = Array.from({ length: 24 }, (_, i) => ({
  x: [1, (i % 5) / 4, ((i * 7) % 3) - 1.5],
  option: i % 3 === 0 ? "left" : "right",
  reward: ((i * 13) % 10) / 10
}))

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(backend.layer, { timeout: "60 seconds" })((it) => {
      it.effect("feedback with contexts: the memory store's state (the offline fit) and its seeded choices", () =>
        Effect.gen(function*() {
          const sql = yield* PolicyStore
          const memory = yield* Effect.provide(PolicyStore, PolicyStore.layerMemory)
          for (const e of LOG) {
            yield* sql.feedback("ctx", e.option, e.reward, e.x)
            yield* memory.feedback("ctx", e.option, e.reward, e.x)
          }
          const state = yield* sql.snapshot("ctx")
          expect(state).toEqual(yield* memory.snapshot("ctx"))
          const fitted = fit(3, LOG)
          for (const [option, arm] of Object.entries(fitted.arms)) {
            const got = linearOf(state, 3)!.arms[option]!
            arm.a.forEach((v, i) => expect(Math.abs(got.a[i]! - v)).toBeLessThan(1e-9))
            arm.b.forEach((v, i) => expect(Math.abs(got.b[i]! - v)).toBeLessThan(1e-9))
          }
          const strategy: BanditStrategy = { kind: "linucb", features: FEATURES, alpha: 0.5, context: [1, 0.5, -1] }
          const choices = (store: PolicyStore["Type"]) =>
            Effect.withRandom(
              Effect.forEach(Array.from({ length: 6 }), () => store.choose("ctx", ["left", "right"], strategy)),
              Random.make(9)
            )
          const fromSql = yield* choices(sql)
          expect(fromSql).toEqual(yield* choices(memory))
          expect(fromSql.every((c) => c.version === LOG.length && c.context?.length === 3)).toBe(true)
        }))

      it.effect("concurrent feedbacks with contexts, from two instances, lose no update", () =>
        Effect.gen(function*() {
          const store = yield* PolicyStore
          const other = yield* Bandit.make
          yield* Effect.all(
            LOG.map((e, i) => (i % 2 === 0 ? store : other).feedback("busy-ctx", e.option, e.reward, e.x)),
            { concurrency: "unbounded" }
          )
          const state = yield* other.snapshot("busy-ctx")
          expect(state.version).toBe(LOG.length)
          const model = linearOf(state, 3)!
          // A's bias entry is 1 + the option's feedbacks; b's is the sum of its rewards (order does not matter).
          expect(model.arms["left"]!.a[0]).toBe(1 + LOG.filter((e) => e.option === "left").length)
          expect(model.arms["right"]!.a[0]).toBe(1 + LOG.filter((e) => e.option === "right").length)
          const sum = LOG.filter((e) => e.option === "left").reduce((s, e) => s + e.reward, 0)
          expect(Math.abs(model.arms["left"]!.b[0]! - sum)).toBeLessThan(1e-9)
        }))
    })
  })
}
