/**
 * The link between runs and the schedules that started them, for the run
 * endpoints: `scheduleId` on run views, and `GET /v1/runs?scheduleId=` (the
 * runs of one schedule's fires, newest fire first, within the caller's
 * workspace).
 */
import { Effect, Option } from "effect"
import { RunStore } from "../../runtime/runStore.js"
import type { RunRecord } from "../../runtime/runStore.js"
import { ScheduleStore } from "../../store/schedules.js"
import { CurrentWorkspace } from "../api/auth.js"
import { Unavailable } from "../api/errors.js"
import type { RunView } from "../api/runs.js"
import { RunManager } from "../runManager.js"
import type { ManagedRun } from "../runManager.js"

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })

/** The views with the `scheduleId` of the runs a schedule's fire started. */
export const withSchedules = (views: ReadonlyArray<RunView>) =>
  Effect.gen(function*() {
    if (views.length === 0) return views
    const schedules = yield* ScheduleStore
    const of = yield* schedules.scheduleOfRuns(views.map((v) => v.runId)).pipe(Effect.mapError(unavailable))
    return views.map((v) => {
      const scheduleId = of.get(v.runId)
      return scheduleId === undefined ? v : { ...v, scheduleId }
    })
  })

/** The runs of one schedule of the caller's workspace, newest fire first (`GET /v1/runs?scheduleId=`). */
export const runsOfSchedule = (
  scheduleId: string,
  viewOfRecord: (r: RunRecord) => RunView,
  viewOfManaged: (m: ManagedRun) => RunView,
  query: { readonly limit: number; readonly cursor?: string; readonly status?: RunView["status"] }
) =>
  Effect.gen(function*() {
    const ws = yield* CurrentWorkspace
    const store = yield* RunStore
    const manager = yield* RunManager
    const fires = yield* (yield* ScheduleStore).firesOf({
      scheduleId,
      workspace: ws.name,
      limit: query.limit,
      ...(query.cursor === undefined ? {} : { cursor: query.cursor })
    }).pipe(Effect.mapError(unavailable))
    const runs: Array<RunView> = []
    for (const fire of fires.items) {
      if (fire.runId === null) continue
      const record = yield* store.get(fire.runId, ws.name).pipe(Effect.mapError(unavailable))
      const managed = Option.isNone(record) ? manager.peek(fire.runId, ws.name) : undefined
      const view = Option.isSome(record)
        ? viewOfRecord(record.value)
        : managed === undefined
        ? undefined
        : viewOfManaged(managed)
      if (view !== undefined && (query.status === undefined || view.status === query.status)) {
        runs.push({ ...view, scheduleId })
      }
    }
    return { runs, ...(fires.next === undefined ? {} : { next: fires.next }) }
  })
