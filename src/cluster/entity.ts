/**
 * A run as an `@effect/cluster` entity, keyed by its run id. Whichever
 * runner holds the run's shard executes it:
 * - `Execute` (persisted in the cluster's message storage, one per run) runs
 *   the run on the owner and answers when it has ended. A runner that stops
 *   or dies before that leaves the message unanswered, so the shard's next
 *   owner receives it again and resumes the run from its durable log.
 * - `Wake` (persisted, one per signal or timer) resumes a parked run on its
 *   owner: a signal sent to any replica, a timer the owner armed. The
 *   resumed run is executed as `Execute` does (a run still executing is
 *   awaited, then resumed again if it parked), so a runner that dies while
 *   it runs leaves the message for the shard's next owner.
 * - `Cancel` and `Peek` reach the owner of a run from any replica.
 * The owner's side is the `RunHost` service (the server's run manager).
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import { Context, Data, Duration, Effect, Either, Option, Schedule, Schema } from "effect"
import type { Json } from "../ir/eval.js"
import { decodeProgram } from "../ir/json.js"
import type { Program } from "../ir/schema.js"
import { RunStore } from "../runtime/runStore.js"
import type { RunRecord } from "../runtime/runStore.js"

/** A run held by its owner, as `Peek` answers it. */
export const HeldRun = Schema.Struct({
  runId: Schema.String,
  workspace: Schema.String,
  programHash: Schema.String,
  programName: Schema.String,
  inputs: Schema.Unknown,
  seed: Schema.NullOr(Schema.Number),
  createdAt: Schema.Number,
  state: Schema.Literal("queued", "running")
})
export interface HeldRun extends Omit<typeof HeldRun.Type, "inputs"> {
  readonly inputs: Json
}

/** A run placed on its owner: a new run (with its program) or one to resume from its log. */
export interface PlacedRun {
  readonly run: HeldRun
  readonly kind: "start" | "resume"
  readonly program: Program | undefined
}

/** How a placed run's execution ended on this runner: it ended, or it was left `running` (this runner stops). */
export type Outcome = "ended" | "left"

/** What a runner does with the runs it owns (the server's run manager implements it). */
export class RunHost extends Context.Tag("trellis/cluster/RunHost")<RunHost, {
  /** Executes (or joins) a run and waits for it; interrupting the wait leaves the run `running`, resumable. */
  readonly execute: (placed: PlacedRun) => Effect.Effect<Outcome>
  /** A run this runner holds, if it belongs to `workspace`. */
  readonly peek: (runId: string, workspace: string) => HeldRun | undefined
  /** Cancels a run this runner holds; false when it holds none. */
  readonly cancel: (runId: string, workspace: string) => Effect.Effect<boolean>
}>() {}

/** The message that places a run: everything its owner needs to start it. */
export const Execute = Rpc.make("Execute", {
  payload: {
    workspace: Schema.String,
    programHash: Schema.String,
    programName: Schema.String,
    /** The program's IR as JSON text. */
    program: Schema.String,
    /** The inputs as JSON text. */
    inputs: Schema.String,
    seed: Schema.NullOr(Schema.Number),
    createdAt: Schema.Number
  },
  // One Execute per run: a repeated send is the same stored message.
  primaryKey: () => "execute"
}).annotate(ClusterSchema.Persisted, true)

/** Wakes a parked run on its owner; `key` names the wake (`signal:<id>`, `timer:<ms>`): the same key is stored once. */
export const Wake = Rpc.make("Wake", {
  payload: { key: Schema.String },
  primaryKey: (p) => p.key
}).annotate(ClusterSchema.Persisted, true)

/** Cancels a run on its owner: true once its ending is recorded, false when the owner does not hold it. */
export const Cancel = Rpc.make("Cancel", { payload: { workspace: Schema.String }, success: Schema.Boolean })

/** The run as its owner holds it (queued or executing), or null. */
export const Peek = Rpc.make("Peek", { payload: { workspace: Schema.String }, success: Schema.NullOr(HeldRun) })

/** The entity type of runs in the cluster's message storage. */
export const RUN_ENTITY_TYPE = "TrellisRun"

/** The run entity. */
export const RunEntity = Entity.make(RUN_ENTITY_TYPE, [Execute, Wake, Cancel, Peek])

/** A run this runner executed stopped without recording its end (a store failure): it is resumed again. */
class Unfinished extends Data.TaggedError("Unfinished")<{ readonly runId: string }> {}

/** How long the owner waits before resuming again a run that stopped without recording its end: 0.5 s doubling, ≤ 30 s. */
const AGAIN = Schedule.union(Schedule.exponential(Duration.millis(500)), Schedule.spaced(Duration.seconds(30)))

/** A placed run as its record describes it, to resume. */
const resumeOf = (r: RunRecord): PlacedRun => ({
  run: {
    runId: r.runId,
    workspace: r.workspace,
    programHash: r.programHash,
    programName: r.programName,
    inputs: r.inputs,
    seed: r.seed,
    createdAt: r.createdAt,
    state: "queued"
  },
  kind: "resume",
  program: undefined
})

/** The owner's side of the run entity: executes placed runs on the `RunHost`, reading their record in the `RunStore`. */
export const layerHandlers = RunEntity.toLayer(
  Effect.gen(function*() {
    const host = yield* RunHost
    const store = yield* RunStore
    // A store failure is a defect: the cluster restarts the entity and delivers the message again.
    const recordOf = (runId: string) => Effect.orDie(store.get(runId))
    /**
     * Executes a placed run until it stops (ends or parks). A run that stopped while its record still says `running`
     * (its execution failed to record its end) is resumed again, after a pause, for as long as this runner owns it;
     * a run left `running` because this runner stops keeps its message unanswered (the shard's next owner gets it).
     */
    const untilStopped = (runId: string, placed: PlacedRun) =>
      Effect.gen(function*() {
        const outcome = yield* host.execute(placed)
        if (outcome === "left") return yield* Effect.never
        const after = yield* recordOf(runId)
        if (Option.isSome(after) && after.value.status === "running") {
          yield* Effect.logWarning(`run ${runId} stopped without recording its end; it is resumed again`)
          return yield* new Unfinished({ runId })
        }
      })
    const again = <A, R>(effect: Effect.Effect<A, Unfinished, R>) =>
      Effect.retry(effect, AGAIN).pipe(Effect.catchTag("Unfinished", () => Effect.void))
    return RunEntity.of({
      Execute: (request) =>
        again(Effect.gen(function*() {
          const runId = request.address.entityId
          const p = request.payload
          const record = yield* recordOf(runId)
          if (Option.isSome(record) && record.value.status !== "running") return
          if (Option.isSome(record)) {
            // Resumed here (its first owner died): the program is in the message, should the store lack it.
            if (
              p.program !== "null" && Option.isNone(yield* Effect.orDie(store.getProgram(record.value.programHash)))
            ) {
              yield* Effect.orDie(store.putProgram(record.value.programHash, JSON.parse(p.program) as Json))
            }
            return yield* untilStopped(runId, resumeOf(record.value))
          }
          const decoded = decodeProgram(JSON.parse(p.program))
          if (Either.isLeft(decoded)) {
            return yield* Effect.logError(`run ${runId}: the placed program does not decode: ${decoded.left.message}`)
          }
          yield* untilStopped(runId, {
            run: {
              runId,
              workspace: p.workspace,
              programHash: p.programHash,
              programName: p.programName,
              inputs: JSON.parse(p.inputs) as Json,
              seed: p.seed,
              createdAt: p.createdAt,
              state: "queued"
            },
            kind: "start",
            program: decoded.right
          })
        })),
      Wake: (request) =>
        again(Effect.gen(function*() {
          const runId = request.address.entityId
          const record = yield* recordOf(runId)
          if (Option.isNone(record)) return
          const r = record.value
          if (r.status !== "waiting" && r.status !== "running") return
          const placed = resumeOf(r)
          if (host.peek(runId, r.workspace) !== undefined) {
            // Executing here: wait until it stops; if it parked (maybe before it heard the signal), resume it again.
            yield* untilStopped(runId, placed)
            const after = yield* recordOf(runId)
            if (Option.isNone(after) || after.value.status !== "waiting") return
          }
          // Parked (or left running by a previous owner): resume it here and hold the message until it stops.
          yield* untilStopped(runId, placed)
        })),
      Cancel: (request) => host.cancel(request.address.entityId, request.payload.workspace),
      Peek: (request) => Effect.sync(() => host.peek(request.address.entityId, request.payload.workspace) ?? null)
    })
  }),
  { concurrency: "unbounded" }
)
