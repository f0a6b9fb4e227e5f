/**
 * The scheduler (issue 18): one fiber per server that sleeps until the
 * earliest next time of any schedule (Effect's Clock, so `TestClock` drives
 * it), fires what is due, and stores each schedule's new next time with the
 * fires in one transaction. A restarted server finds the stored next times
 * in the past and applies each schedule's missed-run policy (`fires.ts`).
 * Overlap policies look at the run the previous fire started:
 * - `allow`: fire anyway;
 * - `skip`: the occurrence is recorded as skipped;
 * - `queue`: the occurrence waits (at most `QUEUE_MAX`, kept in the store)
 *   and fires when that run has ended; the scheduler checks every `pollMs`
 *   while anything waits.
 * Creating, resuming or deleting a schedule wakes the fiber (`wake`); it also
 * wakes every `maxSleepMs` to see schedules written by another process.
 * Runs are started through a `Launcher` (the server's `RunPlacement`).
 * In cluster mode the loop is an `@effect/cluster` singleton (`single`):
 * one replica at a time fires, so each occurrence fires once per cluster;
 * when that replica stops or dies, the singleton moves with its shard and
 * the next owner finds the stored next times (missed-run policy applies).
 */
import { Clock, Context, Duration, Effect, Either, Fiber, Queue } from "effect"
import type { Scope } from "effect"
import { ScheduleStore } from "../../store/schedules.js"
import type { FireRecord, ScheduleRecord } from "../../store/schedules.js"
import { nextAfter, parse } from "./cron.js"
import { planFires } from "./fires.js"

/** How the scheduler starts a run and sees whether one is still going. */
export interface Launcher {
  /** Starts the run of one fire: its id, or why it was refused (quota, full queue, bad program). */
  readonly start: (
    schedule: ScheduleRecord,
    fireAt: number
  ) => Effect.Effect<{ readonly runId: string }, { readonly message: string }>
  /** Whether a run of `workspace` is queued or running. */
  readonly isActive: (runId: string, workspace: string) => Effect.Effect<boolean>
}

/** Options of the scheduler. */
export interface SchedulerOptions {
  /** How often queued fires check whether the previous run ended. @default 1000 */
  readonly pollMs?: number
  /** The longest sleep, so schedules another process wrote are seen. @default 30000 */
  readonly maxSleepMs?: number
  /**
   * Runs the scheduler's loop in the current scope: a fiber of this process by default; in cluster mode a
   * singleton, so one replica at a time fires schedules.
   */
  readonly single?: (name: string, loop: Effect.Effect<never>) => Effect.Effect<void, never, Scope.Scope>
}

/** At most this many occurrences wait under the `queue` overlap policy; more are skipped. */
export const QUEUE_MAX = 100

/** The running scheduler. */
export class Scheduler extends Context.Tag("trellis/Scheduler")<Scheduler, {
  /** Makes the fiber look at the store now (a schedule was created, resumed or deleted). */
  readonly wake: Effect.Effect<void>
  /** Handles everything due now, once (the fiber's own step; tests call it too). */
  readonly tick: Effect.Effect<void>
  /** Stops the fiber (a shutdown, before the runs drain); a fire in progress finishes first. */
  readonly stop: Effect.Effect<void>
}>() {}

/** Handles one schedule at `now`: its fires and its new state, stored together. */
const handle = (launcher: Launcher, s: ScheduleRecord, now: number) =>
  Effect.gen(function*() {
    const store = yield* ScheduleStore
    const spec = parse(s.cron, s.timezone)
    if (Either.isLeft(spec)) {
      // Stored schedules were checked when created; one that no longer parses stops instead of spinning.
      yield* Effect.logWarning(`schedule ${s.scheduleId}: ${spec.left.message}; it will not fire again`)
      return yield* store.advance(s.scheduleId, {
        nextFireAt: null,
        pending: [],
        lastFireAt: s.lastFireAt,
        lastRunId: s.lastRunId,
        updatedAt: now
      }, [])
    }
    const dueNow = s.nextFireAt !== null && s.nextFireAt <= now
    const plan = dueNow ? planFires(spec.right, s.nextFireAt!, now, s.missed) : { fire: [], dropped: 0 }
    const pending = [...s.pending]
    let lastRunId = s.lastRunId
    let lastFireAt = s.lastFireAt
    const fires: Array<FireRecord> = []
    const record = (fireAt: number, outcome: FireRecord["outcome"], runId: string | null, message: string | null) =>
      fires.push({ scheduleId: s.scheduleId, workspace: s.workspace, fireAt, firedAt: now, outcome, runId, message })
    const previousGoing = Effect.suspend(() =>
      lastRunId === null ? Effect.succeed(false) : launcher.isActive(lastRunId, s.workspace)
    )
    const start = (fireAt: number) =>
      Effect.match(launcher.start(s, fireAt), {
        onSuccess: ({ runId }) => {
          lastRunId = runId
          lastFireAt = fireAt
          record(fireAt, "started", runId, null)
        },
        onFailure: (e) => {
          lastFireAt = fireAt
          record(fireAt, "refused", null, e.message)
        }
      })
    // Occurrences queued behind a run go first, one at a time, once it has ended.
    while (pending.length > 0 && !(yield* previousGoing)) yield* start(pending.shift()!)
    for (const fireAt of plan.fire) {
      if (s.overlap !== "allow" && (yield* previousGoing)) {
        if (s.overlap === "skip") record(fireAt, "skipped", null, `the previous run ${lastRunId} is still going`)
        else if (pending.length >= QUEUE_MAX) record(fireAt, "skipped", null, `${QUEUE_MAX} fires are already queued`)
        else pending.push(fireAt)
      } else {
        yield* start(fireAt)
      }
    }
    if (plan.dropped > 0) {
      yield* Effect.logInfo(
        `schedule ${s.scheduleId}: ${plan.dropped} missed occurrence(s) not run (missed-run policy ${s.missed.policy})`
      )
    }
    yield* store.advance(s.scheduleId, {
      nextFireAt: dueNow ? nextAfter(spec.right, now) : s.nextFireAt,
      pending,
      lastFireAt,
      lastRunId,
      updatedAt: now
    }, fires)
  })

/** Starts the scheduler fiber in the current scope. */
export const make = (
  launcher: Launcher,
  options: SchedulerOptions = {}
): Effect.Effect<Scheduler["Type"], never, ScheduleStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* ScheduleStore
    const pollMs = options.pollMs ?? 1000
    const maxSleepMs = options.maxSleepMs ?? 30_000
    const wakeups = yield* Queue.sliding<void>(1)
    /** Handles every due schedule; true when all went well. */
    const step = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const due = yield* store.due(now)
      let ok = true
      for (const s of due) {
        yield* handle(launcher, s, now).pipe(
          Effect.provideService(ScheduleStore, store),
          Effect.catchAll((e) => {
            ok = false
            return Effect.logWarning(`schedule ${s.scheduleId} could not fire: ${e.message}`)
          })
        )
      }
      return ok
    }).pipe(
      Effect.catchAll((e) =>
        Effect.as(Effect.logWarning(`the scheduler could not read schedules: ${e.message}`), false)
      )
    )
    const sleepMs = (ok: boolean) =>
      Effect.gen(function*() {
        if (!ok) return pollMs
        const next = yield* store.nextDue.pipe(Effect.orElseSucceed(() => ({ at: null, pending: true })))
        const now = yield* Clock.currentTimeMillis
        let wait = maxSleepMs
        if (next.at !== null) wait = Math.min(wait, Math.max(0, next.at - now))
        if (next.pending) wait = Math.min(wait, pollMs)
        return wait
      })
    let stopped = false
    const loop: Effect.Effect<never> = Effect.gen(function*() {
      while (true) {
        // Stopped (a shutdown): a singleton's loop stays idle until its replica releases it, firing nothing.
        if (stopped) return yield* Effect.never
        // A step is not cut in the middle: its runs started and its fires recorded go together.
        const ok = yield* Effect.uninterruptible(step)
        const wait = yield* sleepMs(ok)
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), Queue.take(wakeups))
      }
    })
    const fiber = options.single === undefined ? yield* Effect.forkScoped(loop) : undefined
    if (options.single !== undefined) yield* options.single("trellis-scheduler", loop)
    return Scheduler.of({
      wake: Queue.offer(wakeups, undefined).pipe(Effect.asVoid),
      tick: Effect.asVoid(step),
      stop: Effect.suspend(() => {
        stopped = true
        return fiber === undefined
          ? Effect.asVoid(Queue.offer(wakeups, undefined))
          : Effect.asVoid(Fiber.interrupt(fiber))
      })
    })
  })
