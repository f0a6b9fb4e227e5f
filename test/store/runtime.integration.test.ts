/**
 * Integration: `Runtime.run` with the SQL store services instead of the
 * in-memory ones. The run's recorded events read back exactly as the
 * runtime emitted them (contiguous seqs, ending in RunCompleted), its
 * output and canonical trace equal an in-memory run's under the same seed,
 * its keyed call is in the idempotency table, and feedback reaches the
 * bandit state.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Layer, Option, Stream } from "effect"
import { PolicyStore } from "../../src/runtime/bandit/store.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { IdempotencyStore } from "../../src/runtime/policy/idempotency.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { ToolRegistry } from "../../src/tools/registry.js"
import { canonicalTrace, EventLog } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"
import { compileProgram } from "../support/runtime.js"
import { json, seqs, storeBackends } from "../support/store.js"

const SOURCE = `
program main(name: string = "ada lovelace") {
  greeting = tool std.echo(value: concat("hello, ", name)) with { idempotencyKey: concat("greet-", name) }
  parts = map w in split(greeting, " ") with { concurrency: 2 } {
    loud = tool std.echo(value: upper(w))
    return loud
  }
  pick = choose "style" {
    short: { return "s" }
    long: { return "l" }
  }
  digest = tool text.hash(text: greeting)
  return { greeting: greeting, parts: parts, pick: pick, digest: digest }
}
`

/** The run services besides the store's. */
const others = Layer.mergeAll(ResultCache.layerMemory, ToolLimiter.layer, ToolRegistry.layerBuiltins)

/** Runs the program with seed 5 on the services in context; its result, its recorded events and what `live` saw. */
const runOnce = Effect.gen(function*() {
  const program = compileProgram(SOURCE)
  const log = yield* EventLog
  const subscribed = yield* Deferred.make<void>()
  const seen = yield* log.live.pipe(
    Stream.onStart(Deferred.succeed(subscribed, undefined)),
    Stream.takeUntil((e) => e.type === "RunCompleted"),
    Stream.runCollect,
    Effect.fork
  )
  yield* Deferred.await(subscribed)
  const result = yield* Runtime.run(program, {}, { seed: 5 })
  const live = Chunk.toReadonlyArray(yield* Fiber.join(seen))
  const recorded: ReadonlyArray<RunEvent> = yield* log.events(result.runId)
  return { result, live, recorded }
})

const memory = Effect.runPromise(
  Effect.provide(runOnce, Layer.merge(Runtime.layerServices, ToolRegistry.layerBuiltins))
)

for (const backend of storeBackends()) {
  describe(backend.name, () => {
    layer(Layer.merge(backend.layer, others), { timeout: "60 seconds" })((it) => {
      it.effect("Runtime.run on the SQL store records what ran", () =>
        Effect.gen(function*() {
          const { live, recorded, result } = yield* runOnce
          const reference = yield* Effect.promise(() => memory)
          expect(result.output).toEqual(reference.result.output)
          expect(result.output).toMatchObject({ greeting: "hello, ada lovelace", parts: ["HELLO,", "ADA", "LOVELACE"] })

          expect(seqs(recorded)).toEqual(recorded.map((_, i) => i))
          expect(recorded[0]!.type).toBe("RunStarted")
          expect(recorded[recorded.length - 1]!.type).toBe("RunCompleted")
          expect(json(recorded)).toEqual(json(live))
          expect(canonicalTrace(recorded)).toEqual(canonicalTrace(reference.recorded))
          expect(json(yield* Stream.runCollect(Runtime.events(result.runId)).pipe(Effect.map(Chunk.toReadonlyArray))))
            .toEqual(
              json(recorded)
            )

          const keyed = recorded.flatMap((e) =>
            e.type === "ToolCalled" && e.data.idempotencyKey !== undefined
              ? [{ tool: e.data.tool, key: e.data.idempotencyKey, argsHash: e.data.argsHash }]
              : []
          )
          expect(keyed.length).toBeGreaterThan(0)
          const idem = yield* IdempotencyStore
          for (const key of keyed) expect(Option.isSome(yield* idem.get(key))).toBe(true)

          expect(yield* Runtime.feedback(result.runId, "style", 1)).toBe(1)
          const state = yield* Effect.flatMap(PolicyStore, (p) => p.snapshot("style"))
          expect(state.version).toBe(1)
        }))
    })
  })
}
