/**
 * `EvalJobs`: the evals this server is running (`POST /v1/evals`), one fiber
 * each in the server's scope (a shutdown interrupts them; their example runs
 * stay resumable and a repeated POST continues the eval), and why the last
 * one of an id failed. The `EvalStore` of the server is on the store's SQL
 * client (in memory when the store has none).
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Cause, Context, Effect, FiberMap, Layer, Option } from "effect"
import type { EvalError } from "../eval/errors.js"
import { EvalStore } from "../store/evals.js"
import * as EvalStoreSql from "../store/evals.js"

/** The service. */
export class EvalJobs extends Context.Tag("trellis/server/EvalJobs")<EvalJobs, {
  /** Whether an eval runs in this server now. */
  readonly running: (evalId: string) => Effect.Effect<boolean>
  /** Why the last run of an eval in this server failed (cleared when it starts again). */
  readonly failure: (evalId: string) => string | undefined
  /** Runs an eval in the background unless it runs already. */
  readonly start: <R>(evalId: string, effect: Effect.Effect<unknown, EvalError, R>) => Effect.Effect<void, never, R>
}>() {
  /** Jobs in the scope of the layer. */
  static readonly layer: Layer.Layer<EvalJobs> = Layer.scoped(
    EvalJobs,
    Effect.gen(function*() {
      const fibers = yield* FiberMap.make<string>()
      const failures = new Map<string, string>()
      return EvalJobs.of({
        running: (evalId) => FiberMap.has(fibers, evalId),
        failure: (evalId) => failures.get(evalId),
        start: (evalId, effect) =>
          Effect.gen(function*() {
            if (yield* FiberMap.has(fibers, evalId)) return
            failures.delete(evalId)
            const job = effect.pipe(
              Effect.catchAllCause((cause) =>
                Cause.isInterruptedOnly(cause) ? Effect.void : Effect.sync(() => {
                  const failure = Cause.failureOption(cause)
                  failures.set(
                    evalId,
                    Option.isSome(failure) ? failure.value.display : "the eval stopped on an unexpected error"
                  )
                }).pipe(Effect.zipRight(Effect.logWarning(`eval ${evalId} failed`, cause)))
              )
            )
            yield* FiberMap.run(fibers, evalId, job, { onlyIfMissing: true })
          })
      })
    })
  )
}

/** The eval store next to the run store: SQL on its client, or in memory. */
export const layerEvalStore: Layer.Layer<EvalStore> = Layer.unwrapEffect(
  Effect.map(
    Effect.serviceOption(SqlClient),
    (sql) =>
      Option.isSome(sql)
        ? Layer.provide(EvalStoreSql.layer, Layer.succeed(SqlClient, sql.value))
        : EvalStore.layerMemory
  )
)
