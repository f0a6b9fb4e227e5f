/**
 * The server's side of the scheduler: fires start runs through the
 * `RunPlacement` (the workspace's quotas, the run queue and fair scheduling
 * apply as to `POST /v1/runs`; in cluster mode the run is placed on its
 * owner), and a run is "still going" while the placement holds it or its
 * record says `running` or `waiting`. `layer` builds the `ScheduleStore`
 * (on the store's SQL client when there is one, else in memory) and the
 * scheduler fiber (a cluster singleton in cluster mode), which stops before
 * the manager drains.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Either, Layer, Option } from "effect"
import type { Json } from "../../ir/eval.js"
import { decodeProgram } from "../../ir/json.js"
import { RunStore } from "../../runtime/runStore.js"
import { ScheduleStore } from "../../store/schedules.js"
import type { ServerConfig } from "../config.js"
import { RunPlacement } from "../placement.js"
import { make, Scheduler } from "./scheduler.js"
import type { Launcher, SchedulerOptions } from "./scheduler.js"

/** The launcher over the manager and the run store in context. */
export const makeLauncher = (config: ServerConfig) =>
  Effect.gen(function*() {
    const placement = yield* RunPlacement
    const runs = yield* RunStore
    const launcher: Launcher = {
      start: (s) =>
        Effect.gen(function*() {
          const program = decodeProgram(s.program)
          if (Either.isLeft(program)) {
            return yield* Effect.fail({ message: `the stored program cannot be read: ${program.left.message}` })
          }
          const quotas = config.workspaces.find((w) => w.name === s.workspace)?.quotas ?? {}
          const accepted = yield* placement.submit({
            workspace: s.workspace,
            quotas,
            program: program.right,
            programHash: s.programHash,
            programName: s.programName,
            inputs: s.inputs as { readonly [name: string]: Json },
            ...(s.seed === null ? {} : { seed: s.seed })
          }).pipe(Effect.mapError((e) => ({ message: e.message })))
          return { runId: accepted.runId }
        }),
      isActive: (runId, workspace) =>
        Effect.flatMap(placement.peek(runId, workspace), (held) =>
          held !== undefined
            ? Effect.succeed(true)
            : runs.get(runId, workspace).pipe(
              Effect.map((r) => Option.isSome(r) && r.value.status === "running"),
              // Unknown is treated as going: a fire is held back rather than overlapping by mistake.
              Effect.orElseSucceed(() => true)
            ))
    }
    return launcher
  })

/** The schedule store: SQL on the store's client when the context has one, else in memory. */
export const layerStore: Layer.Layer<ScheduleStore> = Layer.unwrapEffect(
  Effect.map(
    Effect.serviceOption(SqlClient),
    (sql) =>
      Option.isSome(sql)
        ? Layer.provide(ScheduleStore.layer, Layer.succeed(SqlClient, sql.value))
        : ScheduleStore.layerMemory
  )
)

/** In cluster mode the scheduler looks for schedules written on other replicas this often (at most). */
export const CLUSTER_MAX_SLEEP_MS = 1000

/** The scheduler fiber of a server (needs the placement, the run store and the schedule store). */
export const layer = (
  config: ServerConfig,
  options: SchedulerOptions = {}
): Layer.Layer<Scheduler, never, RunPlacement | RunStore | ScheduleStore> =>
  Layer.scoped(
    Scheduler,
    Effect.gen(function*() {
      const placement = yield* RunPlacement
      const launcher = yield* makeLauncher(config)
      return yield* make(launcher, {
        ...(placement.clustered ? { maxSleepMs: CLUSTER_MAX_SLEEP_MS, single: placement.single } : {}),
        ...options
      })
    })
  )
