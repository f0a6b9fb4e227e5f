/**
 * Evals over HTTP (issue 19): `POST /v1/evals` starts (or continues) an eval
 * of a program on a dataset given inline — every example an ordinary durable
 * run of the caller's workspace — and answers 202 `{ evalId, status }`;
 * `GET /v1/evals/:id` shows its progress and, once completed, its report
 * (the CLI's `eval run --json` last line); `GET /v1/evals` lists the
 * workspace's evals. The viewer's eval page reads three more:
 * `GET /v1/evals/:id/results` (every example's result with the report over
 * them so far), `GET /v1/evals/:id/compare/:candidate` (the paired
 * comparison `trellis eval compare` makes, with each example's scores) and
 * `GET /v1/evals/:id/calibration` (Brier, ECE and the reliability diagram of
 * a confidence field of the outputs against the metric). Another
 * workspace's eval is a 404.
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

/** One example's result. */
export const EvalResultView = Schema.Struct({
  exampleId: Schema.String,
  /** Its position in the dataset. */
  index: Schema.Int,
  runId: Schema.String,
  /** The run's status: `completed`, `failed`, `cancelled`, `waiting`. */
  status: Schema.String,
  tags: Schema.Array(Schema.String),
  inputs: Schema.Unknown,
  expected: Schema.optionalWith(Schema.Unknown, { exact: true }),
  output: Schema.Unknown,
  error: Schema.optionalWith(Schema.Struct({ kind: Schema.String, message: Schema.String }), { exact: true }),
  latencyMs: Schema.NullOr(Schema.Number),
  cost: Schema.NullOr(Schema.Number),
  /** One score per metric, in the eval's order; null where the metric failed. */
  scores: Schema.Array(Schema.NullOr(Schema.Number))
})
export type EvalResultView = typeof EvalResultView.Type

/** `GET /v1/evals/:id/results`: the results so far, in dataset order, and the report over them. */
export const EvalResultsView = Schema.Struct({
  evalId: Schema.String,
  status: EvalStatus,
  metrics: Schema.Array(Schema.String),
  n: Schema.Int,
  /** The aggregate report over the results recorded so far (the stored one once completed). */
  report: Schema.Unknown,
  results: Schema.Array(EvalResultView)
})

/** `GET /v1/evals/:id/compare/:candidate`: the paired comparison and each pair's scores. */
export const EvalComparisonView = Schema.Struct({
  baseline: Schema.String,
  candidate: Schema.String,
  metric: Schema.String,
  alpha: Schema.Number,
  require: Schema.String,
  /** Pairs (examples in both evals). */
  n: Schema.Int,
  meanA: Schema.Number,
  meanB: Schema.Number,
  /** mean(candidate − baseline). */
  delta: Schema.Number,
  /** The paired bootstrap CI of `delta` at level 1 − α. */
  ci: Schema.Tuple(Schema.Number, Schema.Number),
  pValue: Schema.Number,
  signPValue: Schema.Number,
  /** Cohen's d_z (±Infinity is sent as null). */
  effectSize: Schema.NullOr(Schema.Number),
  wins: Schema.Int,
  losses: Schema.Int,
  ties: Schema.Int,
  unpaired: Schema.Int,
  pass: Schema.Boolean,
  pairs: Schema.Array(Schema.Struct({
    exampleId: Schema.String,
    baseline: Schema.Number,
    candidate: Schema.Number,
    diff: Schema.Number
  }))
})

/** A level α in (0, 1). */
const Alpha = Schema.NumberFromString.pipe(Schema.greaterThan(0), Schema.lessThan(1)).annotations({
  jsonSchema: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.05 },
  description: "Significance level (default 0.05)"
})

/** One bin of a reliability table. */
export const ReliabilityBinView = Schema.Struct({
  lo: Schema.Number,
  hi: Schema.Number,
  count: Schema.Int,
  meanPredicted: Schema.NullOr(Schema.Number),
  observed: Schema.NullOr(Schema.Number)
})

/** `GET /v1/evals/:id/calibration`. */
export const EvalCalibrationView = Schema.Struct({
  evalId: Schema.String,
  /** The output field read as the forecast (a dotted path). */
  field: Schema.String,
  /** The metric whose score is the outcome. */
  metric: Schema.String,
  /** Forecasts found (examples whose output has the field as a number in [0, 1] and whose score is in [0, 1]). */
  n: Schema.Int,
  /** Examples left out (no such field, or a score outside [0, 1]). */
  skipped: Schema.Int,
  brier: Schema.Number,
  ece: Schema.Number,
  bins: Schema.Array(ReliabilityBinView),
  /** The reliability diagram as an SVG document (as `trellis eval calibrate` writes it). */
  svg: Schema.String
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
  .add(
    HttpApiEndpoint.get("results", "/v1/evals/:id/results")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(EvalResultsView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Every example's result so far, and the report over them")
  )
  .add(
    HttpApiEndpoint.get("compare", "/v1/evals/:id/compare/:candidate")
      .setPath(Schema.Struct({ id: Schema.String, candidate: Schema.String }))
      .setUrlParams(Schema.Struct({
        metric: Schema.optionalWith(Schema.String, { exact: true }),
        alpha: Schema.optionalWith(Alpha, { exact: true }),
        require: Schema.optionalWith(Schema.String, { exact: true })
      }))
      .addSuccess(EvalComparisonView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Compare a candidate eval with this one (the baseline), paired by example")
  )
  .add(
    HttpApiEndpoint.get("calibration", "/v1/evals/:id/calibration")
      .setPath(Schema.Struct({ id: Schema.String }))
      .setUrlParams(Schema.Struct({
        field: Schema.optionalWith(Schema.String, { exact: true }),
        metric: Schema.optionalWith(Schema.String, { exact: true }),
        bins: Schema.optionalWith(
          Schema.NumberFromString.pipe(Schema.int(), Schema.between(2, 50)).annotations({
            jsonSchema: { type: "integer", minimum: 2, maximum: 50, default: 10 },
            description: "Equal-width bins (2-50, default 10)"
          }),
          { exact: true }
        )
      }))
      .addSuccess(EvalCalibrationView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Calibration of a confidence field of the outputs against a metric")
  )
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
