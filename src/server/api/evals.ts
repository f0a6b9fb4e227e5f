/**
 * Evals over HTTP (issue 19): `POST /v1/evals` starts (or continues) an eval
 * of a program on a dataset given inline — every example an ordinary durable
 * run of the caller's workspace — and answers 202 `{ evalId, status }`;
 * `GET /v1/evals/:id` shows its progress and, once completed, its report
 * (the CLI's `eval run --json` last line); `GET /v1/evals` lists the
 * workspace's evals. Another workspace's eval is a 404.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authorization } from "./auth.js"
import { BadRequest, NotFound, PayloadTooLarge, strict, Unavailable, UnsupportedMediaType } from "./errors.js"

/** The most examples one eval takes over HTTP. */
export const MAX_EXAMPLES = 10_000

/** `POST /v1/evals`: exactly one of `source`, `program` (IR) and `programHash` (of a program run before). */
export const CreateEval = strict(Schema.Struct({
  source: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.optionalWith(Schema.Unknown, { exact: true }),
  programHash: Schema.optionalWith(Schema.String, { exact: true }),
  /** The examples: `{ id, inputs, expected?, tags? }` each (checked by the handler, errors located as `dataset[i]`). */
  dataset: Schema.Array(Schema.Unknown).pipe(Schema.maxItems(MAX_EXAMPLES)),
  /** A metric as the CLI's `--metric`, or several (the first is primary). @default "exact" */
  metrics: Schema.optionalWith(Schema.Union(Schema.String, Schema.Array(Schema.String)), { exact: true }),
  concurrency: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 64)), { exact: true }),
  seed: Schema.optionalWith(Schema.Int, { exact: true })
}))
export type CreateEval = typeof CreateEval.Type

/**
 * The status of an eval: `running` in this server, `completed`, `stopped` (recorded as running but not running
 * here: the server restarted; POST the same body again to continue it) or `failed` (its run in this server failed).
 */
export const EvalStatus = Schema.Literal("running", "completed", "stopped", "failed")
export type EvalStatus = typeof EvalStatus.Type

/** An eval as the API shows it. */
export const EvalView = Schema.Struct({
  evalId: Schema.String,
  status: EvalStatus,
  programHash: Schema.String,
  programName: Schema.String,
  metrics: Schema.Array(Schema.String),
  /** The number of examples. */
  n: Schema.Int,
  /** Examples recorded so far. */
  done: Schema.Int,
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  /** Why it failed (status `failed`). */
  error: Schema.optionalWith(Schema.String, { exact: true }),
  /** The report (as `trellis eval run --json` prints it last), once completed. */
  report: Schema.optionalWith(Schema.Unknown, { exact: true })
})
export type EvalView = typeof EvalView.Type

/** The evals of a workspace, newest first (without their reports). */
export const EvalListView = Schema.Struct({ evals: Schema.Array(EvalView) })

/** `limit` of the evals list. */
const Limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)).annotations({
  jsonSchema: { type: "integer", minimum: 1, maximum: 1000, default: 50 },
  description: "Evals listed (1-1000, default 50)"
})

/** The eval endpoints. */
export class EvalsGroup extends HttpApiGroup.make("evals")
  .add(
    HttpApiEndpoint.post("create", "/v1/evals")
      .setPayload(CreateEval)
      .addSuccess(Schema.Struct({ evalId: Schema.String, status: EvalStatus }), { status: 202 })
      .addError(BadRequest)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Start (or continue) an eval of a program on a dataset")
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/evals")
      .setUrlParams(Schema.Struct({ limit: Schema.optionalWith(Limit, { exact: true }) }))
      .addSuccess(EvalListView)
      .addError(BadRequest)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "List evals, newest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/evals/:id")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(EvalView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Get an eval: progress, and its report once completed")
  )
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
