/**
 * The data of deployments and flags (issue 20), as Schemas: what a
 * deployment points at (the current version, an optional candidate with its
 * rollout percentage), where the sticky routing key comes from, the canary's
 * configuration, the promotion rule, a feature flag, and the events that
 * record every decision. The store keeps these as JSON; they are decoded
 * here.
 */
import { Schema } from "effect"

/** A program version: its hash (the normal form's) and entry name. */
export const Version = Schema.Struct({
  hash: Schema.String,
  name: Schema.String
}).annotations({ identifier: "DeploymentVersion" })
export type Version = typeof Version.Type

/** Where the sticky routing key of a request comes from: a request header, or a field of the run's inputs. */
export const StickyKey = Schema.Union(
  Schema.Struct({
    from: Schema.Literal("header"),
    /** A header name (case-insensitive). */
    name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9-]{1,64}$/))
  }),
  Schema.Struct({
    from: Schema.Literal("input"),
    /** A top-level field of the run's inputs (its JSON text is the key). */
    field: Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/))
  })
).annotations({ identifier: "StickyKey" })
export type StickyKey = typeof StickyKey.Type

/** The live signals a canary compares. */
export const CanaryMetric = Schema.Literal("errors", "latency", "feedback")
export type CanaryMetric = typeof CanaryMetric.Type

/** How a canary judges the candidate against the current version. */
export const CanaryConfig = Schema.Struct({
  /** Significance level of each test (Holm-corrected across the metrics compared). @default 0.05 */
  alpha: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), { exact: true }),
  /** Ended runs each version needs before any decision. @default 20 */
  minRuns: Schema.optionalWith(Schema.Int.pipe(Schema.between(2, 100_000)), { exact: true }),
  /** The metrics compared. @default ["errors", "latency", "feedback"] (feedback only with `feedbackKey`) */
  metrics: Schema.optionalWith(Schema.Array(CanaryMetric), { exact: true }),
  /** The `choose` key whose rewards (`POST /v1/runs/:id/feedback`) are the feedback signal. */
  feedbackKey: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { exact: true }),
  /** Latency differences below this many milliseconds never count as worse or better. @default 0 */
  latencyToleranceMs: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { exact: true }),
  /** Promote when the candidate is significantly better on some metric and worse on none. @default true */
  promote: Schema.optionalWith(Schema.Boolean, { exact: true }),
  /** Permutations of each test. @default 2000 */
  permutations: Schema.optionalWith(Schema.Int.pipe(Schema.between(100, 100_000)), { exact: true }),
  /** Seed of the permutations and bootstrap. @default 1 */
  seed: Schema.optionalWith(Schema.Int, { exact: true })
}).annotations({ identifier: "CanaryConfig" })
export type CanaryConfig = typeof CanaryConfig.Type

/** One comparison of the promotion rule against the stored eval reports. */
export const PromotionRule = Schema.Struct({
  /**
   * The paired gate of `eval compare` (candidate eval − baseline eval on the first metric): e.g. `"delta>=0"`.
   * It passes when the Holm/permutation p-value ≤ `alpha` and the CI lies beyond the threshold. Omitted: no gate.
   */
  gate: Schema.optionalWith(Schema.String, { exact: true }),
  /** The gate's level. @default 0.05 */
  alpha: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), { exact: true }),
  /** The metric of the gate. @default the baseline eval's first metric */
  metric: Schema.optionalWith(Schema.String, { exact: true }),
  /** The candidate's mean cost per example ≤ this × the baseline's (e.g. 1.1). */
  maxCostRatio: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { exact: true }),
  /** The candidate's mean latency ≤ this × the baseline's. */
  maxLatencyRatio: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { exact: true }),
  /** The candidate's examples whose run did not complete, as a fraction of its examples, ≤ this. */
  maxErrorRate: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { exact: true }),
  /** The candidate's mean on the metric ≥ this. */
  minMean: Schema.optionalWith(Schema.Number, { exact: true })
}).annotations({ identifier: "PromotionRule" })
export type PromotionRule = typeof PromotionRule.Type

/** A deployment as stored. */
export const Deployment = Schema.Struct({
  name: Schema.String,
  current: Version,
  /** The version being rolled out, or null. */
  candidate: Schema.NullOr(Version),
  /** The share of requests (0–100) routed to the candidate. */
  percent: Schema.Number,
  sticky: Schema.NullOr(StickyKey),
  canary: Schema.NullOr(CanaryConfig),
  rule: Schema.NullOr(PromotionRule),
  /** When the candidate was set (ms): the canary only looks at runs since then. */
  rolloutStartedAt: Schema.NullOr(Schema.Number),
  /** Increases with every change. */
  version: Schema.Number,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
}).annotations({ identifier: "Deployment" })
export type Deployment = typeof Deployment.Type

/** A feature flag: on/off, or on for a sticky percentage of keys. */
export const FlagValue = Schema.Union(
  Schema.Struct({ enabled: Schema.Boolean }),
  Schema.Struct({ percent: Schema.Number.pipe(Schema.between(0, 100)) })
).annotations({ identifier: "FlagValue" })
export type FlagValue = typeof FlagValue.Type

/** The kinds of deployment events. */
export const DecisionKind = Schema.Literal(
  "created",
  "pointed",
  "rollout-started",
  "route-changed",
  "promoted",
  "rolled-back",
  "promotion-refused",
  "canary-checked"
)
export type DecisionKind = typeof DecisionKind.Type

/** Who made a decision. */
export const Actor = Schema.Literal("api", "canary", "rule")
export type Actor = typeof Actor.Type
