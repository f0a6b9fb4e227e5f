/**
 * Handlers of the schedule endpoints: a schedule is checked like a run
 * submission (its program against the server's tools, its inputs against
 * the program's parameters) plus its cron expression and time zone, then
 * stored with its next fire time; the scheduler is woken. Every read and
 * change is filtered by the caller's workspace (another's schedule is a
 * 404). Store failures are 503s.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect, Either, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { Json } from "../../ir/eval.js"
import { ScheduleStore } from "../../store/schedules.js"
import type { ScheduleRecord } from "../../store/schedules.js"
import { ToolRegistry } from "../../tools/registry.js"
import { CurrentWorkspace } from "../api/auth.js"
import { BadRequest, NotFound, Unavailable } from "../api/errors.js"
import { Api } from "../api/index.js"
import type { ScheduleView } from "../api/schedules.js"
import { makeSchedule } from "../schedules/create.js"
import { nextAfter, parse } from "../schedules/cron.js"
import { Scheduler } from "../schedules/scheduler.js"
import { checkInput, violationsOf } from "./program.js"

/** Schedule ids the API accepts; anything else is simply not found. */
const SCHEDULE_ID = /^[A-Za-z0-9_-]{1,128}$/
const CURSOR = /^\d{1,16}:[A-Za-z0-9_-]{1,128}$/

const unavailable = (e: { readonly message: string }) => new Unavailable({ message: `the store failed: ${e.message}` })
const notFound = (id: string) =>
  new NotFound({ message: `no schedule ${id.length > 128 ? id.slice(0, 128) + "…" : id}` })

/** A schedule as the API shows it. */
export const viewOfSchedule = (s: ScheduleRecord): ScheduleView => ({
  scheduleId: s.scheduleId,
  cron: s.cron,
  timezone: s.timezone,
  programHash: s.programHash,
  programName: s.programName,
  inputs: s.inputs,
  seed: s.seed,
  overlap: s.overlap,
  missed: s.missed,
  paused: s.paused,
  nextFireAt: s.nextFireAt,
  pending: s.pending.length,
  lastFireAt: s.lastFireAt,
  lastRunId: s.lastRunId,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt
})

/** The schedule `id` of the caller's workspace, or 404. */
const findSchedule = (id: string) =>
  Effect.gen(function*() {
    if (!SCHEDULE_ID.test(id)) return yield* notFound(id)
    const ws = yield* CurrentWorkspace
    const store = yield* ScheduleStore
    const found = yield* store.get(id, ws.name).pipe(Effect.mapError(unavailable))
    if (Option.isNone(found)) return yield* notFound(id)
    return found.value
  })

/** The handlers of the `schedules` group. */
export const layerSchedules = HttpApiBuilder.group(Api, "schedules", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        const registry = yield* ToolRegistry
        const checked = yield* checkInput(payload, registry.table)
        if (checked.program === undefined || checked.diagnostics.length > 0) {
          return yield* new BadRequest({
            message: `the program has ${checked.diagnostics.length} problem(s)`,
            violations: violationsOf(checked)
          })
        }
        const made = makeSchedule({
          scheduleId: randomUUID(),
          workspace: ws.name,
          cron: payload.cron,
          ...(payload.timezone === undefined ? {} : { timezone: payload.timezone }),
          // Like `POST /v1/runs`: the normal form runs.
          program: checked.normalized ?? checked.program,
          ...(payload.inputs === undefined ? {} : { inputs: payload.inputs as { readonly [name: string]: Json } }),
          ...(payload.seed === undefined ? {} : { seed: payload.seed }),
          ...(payload.overlap === undefined ? {} : { overlap: payload.overlap }),
          ...(payload.missed === undefined ? {} : { missed: payload.missed }),
          ...(payload.paused === undefined ? {} : { paused: payload.paused }),
          now: yield* Clock.currentTimeMillis
        })
        if (Either.isLeft(made)) {
          const p = made.left
          return yield* new BadRequest({
            message: p.message,
            violations: [{ code: p.code, message: p.message, path: [...p.path] }]
          })
        }
        const record = made.right
        yield* (yield* ScheduleStore).create(record).pipe(Effect.mapError(unavailable))
        yield* (yield* Scheduler).wake
        return viewOfSchedule(record)
      }))
    .handle("list", ({ urlParams }) =>
      Effect.gen(function*() {
        const ws = yield* CurrentWorkspace
        if (urlParams.cursor !== undefined && !CURSOR.test(urlParams.cursor)) {
          return yield* new BadRequest({
            message: "cursor: not a cursor of this API (use the `next` of a previous page)"
          })
        }
        const page = yield* (yield* ScheduleStore).list({
          workspace: ws.name,
          limit: urlParams.limit ?? 50,
          ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor })
        }).pipe(Effect.mapError(unavailable))
        return { schedules: page.items.map(viewOfSchedule), ...(page.next === undefined ? {} : { next: page.next }) }
      }))
    .handle("get", ({ path }) => Effect.map(findSchedule(path.id), viewOfSchedule))
    .handle("delete", ({ path }) =>
      Effect.gen(function*() {
        const s = yield* findSchedule(path.id)
        const removed = yield* (yield* ScheduleStore).remove(s.scheduleId, s.workspace).pipe(
          Effect.mapError(unavailable)
        )
        if (!removed) return yield* notFound(path.id)
        return { scheduleId: s.scheduleId, deleted: true as const }
      }))
    .handle("pause", ({ path }) =>
      Effect.gen(function*() {
        const s = yield* findSchedule(path.id)
        const now = yield* Clock.currentTimeMillis
        const updated = yield* (yield* ScheduleStore).setPaused(s.scheduleId, s.workspace, true, null, now).pipe(
          Effect.mapError(unavailable)
        )
        if (Option.isNone(updated)) return yield* notFound(path.id)
        return viewOfSchedule(updated.value)
      }))
    .handle("resume", ({ path }) =>
      Effect.gen(function*() {
        const s = yield* findSchedule(path.id)
        if (!s.paused) return viewOfSchedule(s)
        const spec = parse(s.cron, s.timezone)
        const now = yield* Clock.currentTimeMillis
        // Occurrences that fell due while paused are not caught up: the schedule goes on from now.
        const next = Either.isRight(spec) ? nextAfter(spec.right, now) : null
        const updated = yield* (yield* ScheduleStore).setPaused(s.scheduleId, s.workspace, false, next, now).pipe(
          Effect.mapError(unavailable)
        )
        if (Option.isNone(updated)) return yield* notFound(path.id)
        yield* (yield* Scheduler).wake
        return viewOfSchedule(updated.value)
      })))
