/**
 * Runs (SPEC §8): submit (`POST /v1/runs`, 202 `{ runId }`, honouring
 * `Idempotency-Key`), list and get, follow live over SSE
 * (`GET /v1/runs/:id/events`, resumable with `Last-Event-ID`), cancel,
 * feedback for a learned choice, and replay.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"
import {
  BadRequest,
  Conflict,
  NotFound,
  PayloadTooLarge,
  strict,
  TooManyRequests,
  Unavailable,
  UnsupportedMediaType
} from "./errors.js"
import { optionalBody } from "./openapi.js"

/** `POST /v1/runs`: exactly one of `source` (DSL) and `program` (IR), plus inputs and a seed. */
export const CreateRun = strict(Schema.Struct({
  source: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.optionalWith(Schema.Unknown, { exact: true }),
  inputs: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
  seed: Schema.optionalWith(Schema.Int, { exact: true })
}))
export type CreateRun = typeof CreateRun.Type

/** The status of a run as the API shows it (`queued`: accepted, waiting for a slot). */
export const RunStatus = Schema.Literal("queued", "running", "waiting", "completed", "failed", "cancelled")
export type RunStatus = typeof RunStatus.Type

/** How a run failed. */
export const RunErrorView = Schema.Struct({
  kind: Schema.String,
  message: Schema.String,
  node: Schema.optionalWith(Schema.String, { exact: true })
})

/** A run: the `trellis run --json` shape plus its record's fields. */
export const RunView = Schema.Struct({
  runId: Schema.String,
  status: RunStatus,
  output: Schema.optionalWith(Schema.Unknown, { exact: true }),
  error: Schema.optionalWith(RunErrorView, { exact: true }),
  programHash: Schema.String,
  programName: Schema.String,
  inputs: Schema.Unknown,
  seed: Schema.NullOr(Schema.Number),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  endedAt: Schema.NullOr(Schema.Number),
  /** Total cost of the run's tool results, once it ended (from its trace summary). */
  cost: Schema.optionalWith(Schema.Number, { exact: true }),
  /** The schedule whose fire started the run. */
  scheduleId: Schema.optionalWith(Schema.String, { exact: true })
})
export type RunView = typeof RunView.Type

/** A page of runs, newest first; `next` is the cursor of the following page. */
export const RunPageView = Schema.Struct({
  runs: Schema.Array(RunView),
  next: Schema.optionalWith(Schema.String, { exact: true })
})

/** The report of a replay (`Durable.replay`). */
export const ReplayView = Schema.Struct({
  runId: Schema.String,
  exact: Schema.Boolean,
  divergence: Schema.optionalWith(Schema.Unknown, { exact: true }),
  status: Schema.Literal("completed", "failed", "cancelled"),
  output: Schema.optionalWith(Schema.Unknown, { exact: true }),
  error: Schema.optionalWith(RunErrorView, { exact: true }),
  recordedEvents: Schema.Int,
  replayedEvents: Schema.Int
})

const IdParam = Schema.Struct({ id: Schema.String })

/** `POST /v1/runs/:id/feedback`: the reward of the choice made under `key`. */
export const FeedbackRequest = strict(
  Schema.Struct({ key: Schema.String, reward: Schema.Number.pipe(Schema.finite()) })
)

/**
 * `POST /v1/runs/:id/replay`: `live` re-runs tools instead of using recorded results; `allowVersionChange`
 * goes on although a tool's version changed incompatibly since the run was recorded (else 409).
 */
export const ReplayRequest = strict(Schema.Struct({
  live: Schema.optionalWith(Schema.Boolean, { exact: true }),
  allowVersionChange: Schema.optionalWith(Schema.Boolean, { exact: true })
}))

/** The replay body as sent: the request, or nothing at all (an empty body, read as `null`, is `{}`). */
const ReplayBody = Schema.transform(Schema.NullOr(ReplayRequest), Schema.typeSchema(ReplayRequest), {
  strict: true,
  decode: (body) => body ?? {},
  encode: (body) => body
})

/** `limit` of the runs list: an integer in the query string. */
const Limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)).annotations({
  jsonSchema: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
  description: "Runs per page (1-1000, default 50)"
})

/** The run endpoints. */
export class RunsGroup extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.post("create", "/v1/runs")
      .setPayload(CreateRun)
      .setHeaders(Schema.Struct({ "idempotency-key": Schema.optionalWith(Schema.String, { exact: true }) }))
      .addSuccess(Schema.Struct({ runId: Schema.String }), { status: 202 })
      .addError(BadRequest)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(TooManyRequests)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Submit a run")
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/runs")
      .setUrlParams(Schema.Struct({
        status: Schema.optionalWith(RunStatus, { exact: true }),
        limit: Schema.optionalWith(Limit, { exact: true }),
        cursor: Schema.optionalWith(Schema.String, { exact: true }),
        /** Only runs of the program with this hash. */
        programHash: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9:_-]{1,128}$/)), {
          exact: true
        }),
        /** Only runs started by this schedule's fires (newest fire first). */
        scheduleId: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,128}$/)), { exact: true })
      }))
      .addSuccess(RunPageView)
      .addError(BadRequest)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "List runs, newest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/runs/:id")
      .setPath(IdParam)
      .addSuccess(RunView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Get a run")
  )
  .add(
    HttpApiEndpoint.get("events", "/v1/runs/:id/events")
      .setPath(IdParam)
      .setHeaders(Schema.Struct({ "last-event-id": Schema.optionalWith(Schema.String, { exact: true }) }))
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })))
      .addSuccess(
        HttpApiSchema.NoContent.annotations({ description: "The run ended and nothing follows Last-Event-ID" })
      )
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Follow a run's events (Server-Sent Events)")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/v1/runs/:id/cancel")
      .setPath(IdParam)
      .addSuccess(Schema.Struct({ runId: Schema.String, status: RunStatus }), { status: 202 })
      .addError(NotFound)
      .addError(Conflict)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Cancel a run")
  )
  .add(
    HttpApiEndpoint.post("feedback", "/v1/runs/:id/feedback")
      .setPath(IdParam)
      .setPayload(FeedbackRequest)
      .addSuccess(Schema.Struct({ rewarded: Schema.Int }))
      .addError(BadRequest)
      .addError(NotFound)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Reward a run's learned choice")
  )
  .add(
    HttpApiEndpoint.post("replay", "/v1/runs/:id/replay")
      .setPath(IdParam)
      .setPayload(ReplayBody)
      .addSuccess(ReplayView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Replay a run from its trace")
      .annotate(OpenApi.Transform, optionalBody)
  )
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
