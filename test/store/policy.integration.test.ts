/**
 * The SQL IdempotencyStore and PolicyStore on each backend: the first
 * record of a key wins (JSON null included); bandit choices are
 * reproducible under a seed and equal the in-memory store's; concurrent
 * feedbacks — through one service and through two instances (two
 * processes) — never lose an update; the rewards of given runs read back
 * as the in-memory log reads them.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Option, Random } from "effect"
import { RewardLog } from "../../src/runtime/bandit/rewards.js"
import { PolicyStore } from "../../src/runtime/bandit/store.js"
import { currentWorkspace } from "../../src/runtime/llm.js"
import { IdempotencyStore } from "../../src/runtime/policy/idempotency.js"
import * as Bandit from "../../src/store/bandit.js"
import * as Store from "../../src/store/layer.js"
import { MEMORY } from "../../src/store/sql.js"
import { storeBackends } from "../support/store.js"

/** A keyed call of tool `t` with args hash `h`. */
const c = (key: string) => ({ tool: "t", key, argsHash: "h" })

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(backend.layer, { timeout: "60 seconds" })((it) => {
      it.effect("idempotency: the first record of a key wins", () =>
        Effect.gen(function*() {
          const store = yield* IdempotencyStore
          expect(yield* store.get(c("k1"))).toEqual(Option.none())
          yield* store.put(c("k1"), { out: [1, "two", { three: true }] })
          yield* store.put(c("k1"), "second")
          expect(yield* store.get(c("k1"))).toEqual(Option.some({ out: [1, "two", { three: true }] }))
          yield* store.put(c("k-null"), null)
          expect(yield* store.get(c("k-null"))).toEqual(Option.some(null))
          yield* Effect.all([store.put(c("race"), 1), store.put(c("race"), 2), store.put(c("race"), 3)], {
            concurrency: "unbounded"
          })
          expect([1, 2, 3]).toContainEqual(Option.getOrThrow(yield* store.get(c("race"))))
        }))

      it.effect("bandit: choices under a seed are reproducible and equal the memory store's", () =>
        Effect.gen(function*() {
          const sql = yield* PolicyStore
          const memory = yield* Effect.provide(PolicyStore, PolicyStore.layerMemory)
          const rewards: ReadonlyArray<readonly [string, number]> = [["a", 1], ["b", 0], ["a", 0.5], ["c", 1], ["c", 1]]
          for (const [option, reward] of rewards) {
            yield* sql.feedback("seeded", option, reward)
            yield* memory.feedback("seeded", option, reward)
          }
          expect(yield* sql.snapshot("seeded")).toEqual(yield* memory.snapshot("seeded"))
          const strategies = [{ kind: "epsilon-greedy", epsilon: 0.3 }, { kind: "ucb1" }, { kind: "thompson" }] as const
          for (const strategy of strategies) {
            const choices = (store: PolicyStore["Type"]) =>
              Effect.withRandom(
                Effect.forEach(Array.from({ length: 8 }), () => store.choose("seeded", ["a", "b", "c"], strategy)),
                Random.make(42)
              )
            const fromSql = yield* choices(sql)
            expect(fromSql).toEqual(yield* choices(sql))
            expect(fromSql).toEqual(yield* choices(memory))
            expect(fromSql.every((c) => c.version === 5)).toBe(true)
          }
        }))

      it.effect("rewards by run: every key of the scope's runs, as the memory log reads them", () =>
        Effect.gen(function*() {
          const sql = yield* RewardLog
          const memory = yield* Effect.provide(RewardLog, RewardLog.layerMemory)
          const posts: ReadonlyArray<readonly [string, string, number, string]> = [
            ["rr-1", "k \"quoted\"", 1, "default"],
            ["rr-1", "other", -0.5, "default"],
            ["rr-2", "k", 0.25, "default"],
            ["rr-3", "k", 1, "ws-b"]
          ]
          for (const [runId, key, reward, ws] of posts) {
            yield* sql.record(runId, key, reward).pipe(Effect.locally(currentWorkspace, ws))
            yield* memory.record(runId, key, reward).pipe(Effect.locally(currentWorkspace, ws))
          }
          const ids = ["rr-1", "rr-2", "rr-3", "rr-none", ...Array.from({ length: 600 }, (_, i) => `rr-x${i}`)]
          const shape = (rs: ReadonlyArray<{ runId: string; key: string; reward: number }>) =>
            rs.map((r) => [r.runId, r.key, r.reward])
          const fromSql = shape(yield* sql.ofRuns(ids).pipe(Effect.locally(currentWorkspace, "default")))
          expect(fromSql).toEqual([["rr-1", "k \"quoted\"", 1], ["rr-1", "other", -0.5], ["rr-2", "k", 0.25]])
          expect(fromSql).toEqual(shape(yield* memory.ofRuns(ids).pipe(Effect.locally(currentWorkspace, "default"))))
          expect(shape(yield* sql.ofRuns(["rr-3"]).pipe(Effect.locally(currentWorkspace, "ws-b")))).toEqual([[
            "rr-3",
            "k",
            1
          ]])
        }))

      it.effect("bandit: non-finite rewards change nothing", () =>
        Effect.gen(function*() {
          const store = yield* PolicyStore
          yield* store.feedback("nan", "a", Number.NaN)
          yield* store.feedback("nan", "a", Infinity)
          expect(yield* store.snapshot("nan")).toEqual({ key: "nan", version: 0, arms: {} })
        }))

      it.effect("bandit: concurrent feedbacks, from one service and from two instances, lose no update", () =>
        Effect.gen(function*() {
          const store = yield* PolicyStore
          const other = yield* Bandit.make
          const n = 40
          yield* Effect.all(
            Array.from(
              { length: n },
              (_, i) => (i % 2 === 0 ? store : other).feedback("busy", i % 4 === 0 ? "x" : "y", i % 3 === 0 ? 1 : 0)
            ),
            { concurrency: "unbounded" }
          )
          const state = yield* other.snapshot("busy")
          expect(state.version).toBe(n)
          expect(state.arms).toEqual({
            x: { pulls: 10, rewardSum: 4, successes: 4 },
            y: { pulls: 30, rewardSum: 10, successes: 10 }
          })
        }))
    })
  })
}

describe("a database that went away", () => {
  it.live("idempotency and bandit calls retry, then die with a clear message", () =>
    Effect.gen(function*() {
      // Services whose database is closed (the layer's scope ended).
      const [idem, policy] = yield* Effect.scoped(
        Effect.flatMap(Layer.build(Store.layerPglite(MEMORY)), (ctx) =>
          Effect.succeed([Context.get(ctx, IdempotencyStore), Context.get(ctx, PolicyStore)] as const))
      )
      const started = Date.now()
      const dead = yield* Effect.exit(idem.get(c("k1")))
      expect(Date.now() - started).toBeGreaterThanOrEqual(500)
      const defect = Exit.isFailure(dead) ? Cause.squash(dead.cause) : undefined
      expect(defect).toBeInstanceOf(Error)
      expect((defect as Error).message).toMatch(/^store: reading idempotency record k1 failed after retries: /)
      const dead2 = yield* Effect.exit(policy.feedback("key", "a", 1))
      expect(Exit.isFailure(dead2) && Cause.isDie(dead2.cause)).toBe(true)
      expect((Cause.squash((dead2 as Exit.Failure<void, never>).cause) as Error).message).toMatch(
        /^store: recording feedback for "key" failed after retries: /
      )
    }), 30_000)
})
