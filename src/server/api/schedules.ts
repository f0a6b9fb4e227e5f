/**
 * Schedules (issue 18): a cron expression (in a time zone, default UTC), a
 * program (`source` or `program`, as `POST /v1/runs` takes them), inputs and
 * a seed, an overlap policy and a missed-run policy. Each fire starts an
 * ordinary run linked to its schedule (`scheduleId` in the run view,
 * `GET /v1/runs?scheduleId=`). Schedules belong to the caller's workspace:
 * another workspace's schedule is a 404.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"
import { BadRequest, NotFound, PayloadTooLarge, strict, Unavailable, UnsupportedMediaType } from "./errors.js"

/** What happens to a fire while the previous fire's run is still going. */
export const OverlapPolicy = Schema.Literal("skip", "queue", "allow").annotations({
  description: "skip: the fire is dropped; queue: it waits for the previous run to end; allow: it starts anyway"
})

/** What happens to the fires that fell due while no server ran. */
export const MissedPolicy = strict(Schema.Struct({
  policy: Schema.Literal("skip", "run-once", "catch-up"),
  /** `catch-up`: at most this many missed fires run (1-100). @default 1 */
  max: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100)), { exact: true })
})).annotations({
  description:
    "skip: missed fires are dropped; run-once: one run for all of them; catch-up: the latest `max` (1-100) each run"
})

/** `POST /v1/schedules`. */
export const CreateSchedule = strict(Schema.Struct({
  /** Five fields (minute hour day month weekday), six with seconds first, or a nickname such as `@daily`. */
  cron: Schema.String,
  /** An IANA time zone. @default "UTC" */
  timezone: Schema.optionalWith(Schema.String, { exact: true }),
  source: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.optionalWith(Schema.Unknown, { exact: true }),
  inputs: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
  seed: Schema.optionalWith(Schema.Int, { exact: true }),
  /** @default "skip" */
  overlap: Schema.optionalWith(OverlapPolicy, { exact: true }),
  /** @default { "policy": "skip" } */
  missed: Schema.optionalWith(MissedPolicy, { exact: true }),
  /** Create it paused. @default false */
  paused: Schema.optionalWith(Schema.Boolean, { exact: true })
}))
export type CreateSchedule = typeof CreateSchedule.Type

/** A schedule as the API shows it (times in milliseconds since the epoch). */
export const ScheduleView = Schema.Struct({
  scheduleId: Schema.String,
  cron: Schema.String,
  timezone: Schema.String,
  programHash: Schema.String,
  programName: Schema.String,
  inputs: Schema.Unknown,
  seed: Schema.NullOr(Schema.Number),
  overlap: OverlapPolicy,
  missed: Schema.Struct({
    policy: Schema.Literal("skip", "run-once", "catch-up"),
    max: Schema.optionalWith(Schema.Int, { exact: true })
  }),
  paused: Schema.Boolean,
  /** When it fires next (null while paused, or when the expression has no later time). */
  nextFireAt: Schema.NullOr(Schema.Number),
  /** Fires waiting for the previous run to end (overlap `queue`). */
  pending: Schema.Int,
  lastFireAt: Schema.NullOr(Schema.Number),
  lastRunId: Schema.NullOr(Schema.String),
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})
export type ScheduleView = typeof ScheduleView.Type

/** A page of schedules, newest first. */
export const SchedulePageView = Schema.Struct({
  schedules: Schema.Array(ScheduleView),
  next: Schema.optionalWith(Schema.String, { exact: true })
})

const IdParam = Schema.Struct({ id: Schema.String })

const Limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)).annotations({
  jsonSchema: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
  description: "Schedules per page (1-1000, default 50)"
})

/** The schedule endpoints. */
export class SchedulesGroup extends HttpApiGroup.make("schedules")
  .add(
    HttpApiEndpoint.post("create", "/v1/schedules")
      .setPayload(CreateSchedule)
      .addSuccess(ScheduleView, { status: 201 })
      .addError(BadRequest)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Create a schedule")
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/schedules")
      .setUrlParams(Schema.Struct({
        limit: Schema.optionalWith(Limit, { exact: true }),
        cursor: Schema.optionalWith(Schema.String, { exact: true })
      }))
      .addSuccess(SchedulePageView)
      .addError(BadRequest)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "List schedules, newest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/schedules/:id")
      .setPath(IdParam)
      .addSuccess(ScheduleView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Get a schedule")
  )
  .add(
    HttpApiEndpoint.del("delete", "/v1/schedules/:id")
      .setPath(IdParam)
      .addSuccess(Schema.Struct({ scheduleId: Schema.String, deleted: Schema.Literal(true) }))
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Delete a schedule (its runs stay)")
  )
  .add(
    HttpApiEndpoint.post("pause", "/v1/schedules/:id/pause")
      .setPath(IdParam)
      .addSuccess(ScheduleView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Pause a schedule")
  )
  .add(
    HttpApiEndpoint.post("resume", "/v1/schedules/:id/resume")
      .setPath(IdParam)
      .addSuccess(ScheduleView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Resume a paused schedule (from the next occurrence after now)")
  )
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
