/**
 * Deployments and feature flags (issue 20): a named deployment points at a
 * program version and optionally rolls out a candidate to a percentage of
 * requests by a sticky key; `POST /v1/deployments/:name/runs` runs whichever
 * version the request routes to; the canary, promotion (by a rule checked on
 * eval reports) and rollback are decisions recorded with their evidence in
 * the deployment's history. Flags are per workspace, on/off or a percentage.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { CanaryConfig, FlagValue, PromotionRule, StickyKey, Version } from "../../optimize/rollout/model.js"
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

/** A program given as DSL text or JSON IR (exactly one). */
const ProgramRef = strict(Schema.Struct({
  source: Schema.optionalWith(Schema.String, { exact: true }),
  program: Schema.optionalWith(Schema.Unknown, { exact: true })
}))

/** `PUT /v1/deployments/:name`: create or change a deployment; omitted fields keep their value. */
export const PutDeployment = strict(Schema.Struct({
  /** The current version as DSL text (required to create; changing it points the deployment there). */
  source: Schema.optionalWith(Schema.String, { exact: true }),
  /** The current version as JSON IR. */
  program: Schema.optionalWith(Schema.Unknown, { exact: true }),
  /** The version to roll out (`null` ends the rollout without promoting). */
  candidate: Schema.optionalWith(Schema.NullOr(ProgramRef), { exact: true }),
  /** The share of requests (0–100) routed to the candidate. @default 0 for a new candidate */
  percent: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 100)), { exact: true }),
  sticky: Schema.optionalWith(Schema.NullOr(StickyKey), { exact: true }),
  canary: Schema.optionalWith(Schema.NullOr(CanaryConfig), { exact: true }),
  rule: Schema.optionalWith(Schema.NullOr(PromotionRule), { exact: true })
}))
export type PutDeployment = typeof PutDeployment.Type

/** A deployment as the API shows it. */
export const DeploymentView = Schema.Struct({
  name: Schema.String,
  current: Version,
  candidate: Schema.NullOr(Version),
  percent: Schema.Number,
  sticky: Schema.NullOr(StickyKey),
  canary: Schema.NullOr(CanaryConfig),
  rule: Schema.NullOr(PromotionRule),
  rolloutStartedAt: Schema.NullOr(Schema.Number),
  version: Schema.Number,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})

/** `POST /v1/deployments/:name/runs`: the run's inputs and seed (the program is the deployment's). */
export const DeploymentRunRequest = strict(Schema.Struct({
  inputs: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
  seed: Schema.optionalWith(Schema.Int, { exact: true })
}))

/** The run started, and which version served it. */
export const DeploymentRunView = Schema.Struct({
  runId: Schema.String,
  deployment: Schema.String,
  role: Schema.Literal("current", "candidate"),
  programHash: Schema.String
})

/** One decision of a deployment's history. */
export const DecisionView = Schema.Struct({
  seq: Schema.Number,
  at: Schema.Number,
  kind: Schema.String,
  actor: Schema.String,
  version: Schema.Number,
  from: Schema.optionalWith(Schema.NullOr(Version), { exact: true }),
  to: Schema.optionalWith(Schema.NullOr(Version), { exact: true }),
  percent: Schema.optionalWith(Schema.Number, { exact: true }),
  reason: Schema.String,
  evidence: Schema.Unknown
})

/** The evidence of a canary on one metric. */
const MetricEvidenceView = Schema.Struct({
  metric: Schema.String,
  higherIsBetter: Schema.Boolean,
  nA: Schema.Number,
  nB: Schema.Number,
  meanA: Schema.Number,
  meanB: Schema.Number,
  delta: Schema.Number,
  ci: Schema.Tuple(Schema.Number, Schema.Number),
  pValue: Schema.Number,
  adjustedPValue: Schema.Number,
  worse: Schema.Boolean,
  better: Schema.Boolean
})

/** A canary check: the verdict with its evidence, and the decision applied. */
export const CanaryCheckView = Schema.Struct({
  verdict: Schema.Struct({
    action: Schema.Literal("rollback", "promote", "continue"),
    reason: Schema.String,
    alpha: Schema.Number,
    minRuns: Schema.Number,
    runs: Schema.Struct({ current: Schema.Number, candidate: Schema.Number }),
    metrics: Schema.Array(MetricEvidenceView)
  }),
  applied: Schema.NullOr(Schema.Literal("promoted", "rolled-back")),
  deployment: DeploymentView
})

/** `POST /v1/deployments/:name/promote`: the stored evals a promotion rule is checked against. */
export const PromoteRequest = strict(Schema.Struct({
  baselineEval: Schema.optionalWith(Schema.String, { exact: true }),
  candidateEval: Schema.optionalWith(Schema.String, { exact: true })
}))

const PromoteBody = Schema.transform(Schema.NullOr(PromoteRequest), Schema.typeSchema(PromoteRequest), {
  strict: true,
  decode: (body) => body ?? {},
  encode: (body) => body
})

/** What a promotion did: promoted or refused by the rule (with every check). */
export const PromotionView = Schema.Struct({
  promoted: Schema.Boolean,
  deployment: DeploymentView,
  rule: Schema.optionalWith(
    Schema.Struct({
      pass: Schema.Boolean,
      checks: Schema.Array(Schema.Struct({
        check: Schema.String,
        pass: Schema.Boolean,
        value: Schema.NullOr(Schema.Number),
        limit: Schema.Union(Schema.Number, Schema.String),
        detail: Schema.String
      }))
    }),
    { exact: true }
  )
})

/** `POST /v1/deployments/:name/rollback`. */
export const RollbackRequest = strict(Schema.Struct({
  reason: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(2000)), { exact: true })
}))

const RollbackBody = Schema.transform(Schema.NullOr(RollbackRequest), Schema.typeSchema(RollbackRequest), {
  strict: true,
  decode: (body) => body ?? {},
  encode: (body) => body
})

/** A flag. */
export const FlagView = Schema.Struct({ name: Schema.String, value: FlagValue, updatedAt: Schema.Number })

const NameParam = Schema.Struct({ name: Schema.String })

const HistoryLimit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)).annotations({
  jsonSchema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  description: "Events per page (1-1000, default 100)"
})
const BeforeSeq = Schema.NumberFromString.pipe(Schema.int(), Schema.greaterThanOrEqualTo(1)).annotations({
  jsonSchema: { type: "integer", minimum: 1 },
  description: "Only events with a smaller seq (the next page)"
})

/** The deployment and flag endpoints. */
export class DeploymentsGroup extends HttpApiGroup.make("deployments")
  .add(
    HttpApiEndpoint.put("put", "/v1/deployments/:name")
      .setPath(NameParam)
      .setPayload(PutDeployment)
      .addSuccess(DeploymentView)
      .addError(BadRequest)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Create or change a deployment (version, rollout, canary, promotion rule)")
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/deployments")
      .addSuccess(Schema.Struct({ deployments: Schema.Array(DeploymentView) }))
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "List the workspace's deployments")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/deployments/:name")
      .setPath(NameParam)
      .addSuccess(DeploymentView)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Get a deployment")
  )
  .add(
    HttpApiEndpoint.post("run", "/v1/deployments/:name/runs")
      .setPath(NameParam)
      .setPayload(DeploymentRunRequest)
      .setHeaders(Schema.Struct({ "idempotency-key": Schema.optionalWith(Schema.String, { exact: true }) }))
      .addSuccess(DeploymentRunView, { status: 202 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(TooManyRequests)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Run the version the deployment routes this request to")
  )
  .add(
    HttpApiEndpoint.get("history", "/v1/deployments/:name/history")
      .setPath(NameParam)
      .setUrlParams(Schema.Struct({
        limit: Schema.optionalWith(HistoryLimit, { exact: true }),
        before: Schema.optionalWith(BeforeSeq, { exact: true })
      }))
      .addSuccess(Schema.Struct({ events: Schema.Array(DecisionView) }))
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "A deployment's decisions with their evidence, newest first")
  )
  .add(
    HttpApiEndpoint.post("canary", "/v1/deployments/:name/canary")
      .setPath(NameParam)
      .addSuccess(CanaryCheckView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Judge the canary now and apply its decision")
  )
  .add(
    HttpApiEndpoint.post("promote", "/v1/deployments/:name/promote")
      .setPath(NameParam)
      .setPayload(PromoteBody)
      .addSuccess(PromotionView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Promote the candidate (checked by the promotion rule on eval reports)")
      .annotate(OpenApi.Transform, optionalBody)
  )
  .add(
    HttpApiEndpoint.post("rollback", "/v1/deployments/:name/rollback")
      .setPath(NameParam)
      .setPayload(RollbackBody)
      .addSuccess(DeploymentView)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "End the rollout: drop the candidate")
      .annotate(OpenApi.Transform, optionalBody)
  )
  .add(
    HttpApiEndpoint.put("putFlag", "/v1/flags/:name")
      .setPath(NameParam)
      .setPayload(strict(FlagValue))
      .addSuccess(FlagView)
      .addError(BadRequest)
      .addError(UnsupportedMediaType)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Set a feature flag of the workspace (on/off or a percentage)")
  )
  .add(
    HttpApiEndpoint.get("listFlags", "/v1/flags")
      .setUrlParams(Schema.Struct({
        key: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(1000)), { exact: true })
      }))
      .addSuccess(Schema.Struct({
        flags: Schema.Array(FlagView),
        /** Each flag evaluated for `key` (when given). */
        evaluated: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Boolean }), { exact: true })
      }))
      .addError(BadRequest)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "List the workspace's flags (evaluated for a key)")
  )
  .add(
    HttpApiEndpoint.del("deleteFlag", "/v1/flags/:name")
      .setPath(NameParam)
      .addSuccess(Schema.Struct({ deleted: Schema.Boolean }))
      .addError(NotFound)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Delete a feature flag")
  )
  .addError(BadRequest)
  .addError(NotFound)
  .addError(Conflict)
  .addError(Unavailable)
  .addError(PayloadTooLarge)
  .middleware(Authorization)
{}
