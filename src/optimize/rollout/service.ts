/**
 * Deployments as operations over the stores (issue 20): create or change a
 * deployment, route a request to a version, record the runs it routed,
 * judge a canary from those runs' outcomes and apply its decision, promote
 * by a rule checked against eval reports, roll back, and read the history.
 * Every change is saved with its event (kind, actor, evidence) in one
 * transaction, under compare-and-set on the deployment's version, so two
 * concurrent decisions never both apply. Used by the server's handlers and
 * the CLI alike. Flags are in `flags.ts`.
 */
import { Clock, Effect, Either, Option, Random, Schema } from "effect"
import { compareEvals, parseRequirement } from "../../eval/compare.js"
import type { Comparison } from "../../eval/compare.js"
import type { EvalReport } from "../../eval/report.js"
import type { Json } from "../../ir/eval.js"
import { RewardLog } from "../../runtime/bandit/rewards.js"
import { currentWorkspace } from "../../runtime/llm.js"
import { RunStore } from "../../runtime/runStore.js"
import { DeploymentStore } from "../../store/deployments.js"
import type { DeploymentEventRow } from "../../store/deployments.js"
import { EvalStore } from "../../store/evals.js"
import { judge } from "./canary.js"
import type { CanaryVerdict, RunOutcome } from "./canary.js"
import { RolloutError } from "./errors.js"
import { Deployment } from "./model.js"
import type { Actor, CanaryConfig, DecisionKind, PromotionRule, StickyKey, Version } from "./model.js"
import { routeOf } from "./routing.js"
import { checkRule } from "./rules.js"
import type { RuleVerdict } from "./rules.js"

/** Deployment and flag names: letters, digits, `.`, `_`, `-`. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** A change to a deployment (`PUT /v1/deployments/:name`); omitted fields keep their value. */
export interface DeploymentChange {
  /** Point the deployment at this version (required to create one). */
  readonly current?: Version
  /** Start (or replace) a rollout of this version; null ends the rollout without promoting. */
  readonly candidate?: Version | null
  /** The share (0–100) of requests routed to the candidate. */
  readonly percent?: number
  readonly sticky?: StickyKey | null
  readonly canary?: CanaryConfig | null
  readonly rule?: PromotionRule | null
}

/** A decision as the history shows it. */
export interface DecisionEvent {
  readonly seq: number
  readonly at: number
  readonly kind: DecisionKind
  readonly actor: Actor
  /** The deployment's version after the decision. */
  readonly version: number
  readonly from?: Version | null
  readonly to?: Version | null
  readonly percent?: number
  readonly reason: string
  /** The evidence: the canary's verdict, the rule's checks, the fields changed. */
  readonly evidence: unknown
}

const decodeDeployment = Schema.decodeUnknownEither(Deployment)
const encodeDeployment = Schema.encodeSync(Deployment)

/** A store failure as a rollout error. */
export const storeFailed = (e: { readonly message: string }) =>
  new RolloutError({ reason: "store", message: `the store failed: ${e.message}` })

const notFound = (name: string) =>
  new RolloutError({ reason: "not-found", message: `no deployment ${name}`, location: name })

/** Refuses a deployment or flag name outside `NAME`. */
export const checkName = (name: string, what: string) =>
  NAME.test(name)
    ? Effect.void
    : Effect.fail(
      new RolloutError({
        reason: "invalid",
        message: `${what} name "${name.slice(0, 140)}" must be 1-128 letters, digits, ".", "_" or "-"`,
        location: "name"
      })
    )

/** A deployment of a workspace, or `not-found`. */
export const getDeployment = (workspace: string, name: string) =>
  Effect.gen(function*() {
    if (!NAME.test(name)) return yield* notFound(name)
    const store = yield* DeploymentStore
    const row = yield* store.get(workspace, name).pipe(Effect.mapError(storeFailed))
    if (Option.isNone(row)) return yield* notFound(name)
    const decoded = decodeDeployment(row.value.body)
    if (Either.isLeft(decoded)) {
      return yield* new RolloutError({ reason: "store", message: `deployment ${name} does not decode`, location: name })
    }
    return decoded.right
  })

/** A workspace's deployments, by name. */
export const listDeployments = (workspace: string) =>
  Effect.gen(function*() {
    const store = yield* DeploymentStore
    const rows = yield* store.list(workspace).pipe(Effect.mapError(storeFailed))
    return rows.flatMap((r) => {
      const d = decodeDeployment(r.body)
      return Either.isRight(d) ? [d.right] : []
    })
  })

const sameVersion = (a: Version | null, b: Version | null) => a?.hash === b?.hash

/** Saves `next` (version + 1) with its event, or fails with `conflict` when another writer changed it first. */
const save = (
  workspace: string,
  before: Deployment | undefined,
  next: Deployment,
  event: { kind: DecisionKind; actor: Actor; reason: string; evidence: unknown; from?: Version | null }
) =>
  Effect.gen(function*() {
    const store = yield* DeploymentStore
    const body = encodeDeployment(next) as unknown as Json
    const saved = yield* store.save(
      {
        workspace,
        name: next.name,
        version: next.version,
        body,
        createdAt: next.createdAt,
        updatedAt: next.updatedAt
      },
      before?.version ?? 0,
      {
        workspace,
        name: next.name,
        at: next.updatedAt,
        kind: event.kind,
        body: JSON.parse(JSON.stringify({
          actor: event.actor,
          version: next.version,
          ...(event.from === undefined ? {} : { from: event.from }),
          to: event.kind === "rollout-started" || event.kind === "route-changed" ? next.candidate : next.current,
          percent: next.percent,
          reason: event.reason,
          evidence: event.evidence ?? null
        })) as Json
      }
    ).pipe(Effect.mapError(storeFailed))
    if (!saved) {
      return yield* new RolloutError({
        reason: "conflict",
        message: `deployment ${next.name} was changed by another request; read it again and retry`,
        location: next.name
      })
    }
    return next
  })

/** Creates or changes a deployment (one event names what changed). */
export const putDeployment = (workspace: string, name: string, change: DeploymentChange) =>
  Effect.gen(function*() {
    yield* checkName(name, "deployment")
    if (change.percent !== undefined && !(change.percent >= 0 && change.percent <= 100)) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `percent must be from 0 to 100, got ${change.percent}`,
        location: "percent"
      })
    }
    const store = yield* DeploymentStore
    const row = yield* store.get(workspace, name).pipe(Effect.mapError(storeFailed))
    const before = Option.isSome(row) ? yield* getDeployment(workspace, name) : undefined
    const now = yield* Clock.currentTimeMillis
    if (before === undefined && change.current === undefined) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `deployment ${name} does not exist: give its program (source or program) to create it`,
        location: "program"
      })
    }
    const current = change.current ?? before!.current
    const candidate = change.candidate === undefined ? (before?.candidate ?? null) : change.candidate
    if (candidate !== null && candidate.hash === current.hash) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `the candidate is the current version (${current.hash}): nothing to roll out`,
        location: "candidate"
      })
    }
    const candidateChanged = !sameVersion(candidate, before?.candidate ?? null)
    const percent = candidate === null ? 0 : change.percent ?? (candidateChanged ? 0 : before?.percent ?? 0)
    const next: Deployment = {
      name,
      current,
      candidate,
      percent,
      sticky: change.sticky === undefined ? (before?.sticky ?? null) : change.sticky,
      canary: change.canary === undefined ? (before?.canary ?? null) : change.canary,
      rule: change.rule === undefined ? (before?.rule ?? null) : change.rule,
      rolloutStartedAt: candidate === null ? null : candidateChanged ? now : (before?.rolloutStartedAt ?? now),
      version: (before?.version ?? 0) + 1,
      createdAt: before?.createdAt ?? now,
      updatedAt: now
    }
    const changed = [
      ...(before === undefined || !sameVersion(before.current, current) ? ["current"] : []),
      ...(candidateChanged ? ["candidate"] : []),
      ...(before === undefined || before.percent !== percent ? ["percent"] : []),
      ...(change.sticky !== undefined ? ["sticky"] : []),
      ...(change.canary !== undefined ? ["canary"] : []),
      ...(change.rule !== undefined ? ["rule"] : [])
    ]
    const kind: DecisionKind = before === undefined
      ? "created"
      : !sameVersion(before.current, current)
      ? "pointed"
      : candidateChanged && candidate !== null
      ? "rollout-started"
      : candidateChanged
      ? "rolled-back"
      : "route-changed"
    const reason = kind === "created"
      ? `created at ${current.hash}`
      : kind === "pointed"
      ? `pointed from ${before!.current.hash} to ${current.hash}`
      : kind === "rollout-started"
      ? `rolling out ${candidate!.hash} to ${percent}%`
      : kind === "rolled-back"
      ? `rollout of ${before!.candidate!.hash} ended by the API`
      : `changed ${changed.join(", ") || "nothing"}`
    return yield* save(workspace, before, next, {
      kind,
      actor: "api",
      reason,
      evidence: { changed },
      ...(before === undefined ? {} : { from: kind === "rollout-started" ? before.candidate : before.current })
    })
  })

/** The sticky key of a request: the configured header's value or input field's JSON text, when present. */
export const stickyKeyOf = (
  sticky: StickyKey | null,
  headers: Readonly<Record<string, string | undefined>>,
  inputs: Readonly<Record<string, unknown>>
): string | undefined => {
  if (sticky === null) return undefined
  if (sticky.from === "header") {
    const v = headers[sticky.name.toLowerCase()]
    return v === undefined || v === "" ? undefined : v
  }
  if (!Object.prototype.hasOwnProperty.call(inputs, sticky.field)) return undefined
  const v = inputs[sticky.field]
  return typeof v === "string" ? v : JSON.stringify(v)
}

/** Which version serves a request: by the sticky key's bucket, or a uniform draw when there is no key. */
export const routeRequest = (
  deployment: Deployment,
  key: string | undefined
): Effect.Effect<{ readonly role: "current" | "candidate"; readonly version: Version }> =>
  Effect.gen(function*() {
    const candidate = deployment.candidate
    if (candidate === null || deployment.percent <= 0) return { role: "current", version: deployment.current }
    const role = key === undefined
      ? ((yield* Random.next) * 100 < deployment.percent ? "candidate" : "current")
      : routeOf(deployment.name, key, deployment.percent)
    return { role, version: role === "candidate" ? candidate : deployment.current }
  })

/** Records that a deployment routed `runId` to `role` (the canary reads these). */
export const recordRun = (
  workspace: string,
  name: string,
  runId: string,
  role: "current" | "candidate",
  hash: string
) =>
  Effect.gen(function*() {
    const store = yield* DeploymentStore
    const at = yield* Clock.currentTimeMillis
    yield* store.recordRun({ workspace, name, runId, role, programHash: hash, at }).pipe(Effect.mapError(storeFailed))
  })

/** The ended runs of the rollout (since it started) with their error, latency and feedback. */
export const outcomesOf = (workspace: string, deployment: Deployment) =>
  Effect.gen(function*() {
    const since = deployment.rolloutStartedAt ?? 0
    const store = yield* DeploymentStore
    const runs = yield* store.runs(workspace, deployment.name, since).pipe(Effect.mapError(storeFailed))
    const hashOf = { current: deployment.current.hash, candidate: deployment.candidate?.hash }
    const relevant = runs.filter((r) => hashOf[r.role] === r.programHash)
    const rewards = new Map<string, { sum: number; n: number }>()
    const key = deployment.canary?.feedbackKey
    // The reward log is optional like `Runtime.feedback`'s: without one there is no feedback signal.
    const log = yield* Effect.serviceOption(RewardLog)
    if (key !== undefined && Option.isSome(log)) {
      const posted = yield* log.value.rewards(key, since).pipe(Effect.locally(currentWorkspace, workspace))
      for (const r of posted) {
        const s = rewards.get(r.runId) ?? { sum: 0, n: 0 }
        rewards.set(r.runId, { sum: s.sum + r.reward, n: s.n + 1 })
      }
    }
    const runStore = yield* RunStore
    const outcomes: Array<RunOutcome> = []
    for (const r of relevant) {
      const rec = yield* runStore.get(r.runId, workspace).pipe(Effect.mapError(storeFailed))
      if (Option.isNone(rec)) continue
      const run = rec.value
      if ((run.status !== "completed" && run.status !== "failed") || run.endedAt === null) continue
      const reward = rewards.get(r.runId)
      outcomes.push({
        runId: r.runId,
        role: r.role,
        failed: run.status === "failed",
        latencyMs: run.endedAt - run.createdAt,
        ...(reward === undefined ? {} : { reward: reward.sum / reward.n })
      })
    }
    return outcomes
  })

/** What a canary check did. */
export interface CanaryCheck {
  readonly verdict: CanaryVerdict
  /** The decision applied (`promoted`, `rolled-back`), or none when the rollout goes on. */
  readonly applied: "promoted" | "rolled-back" | null
  readonly deployment: Deployment
}

/**
 * Judges the canary of a deployment and applies its decision (roll back or promote, each an event with the
 * verdict as evidence). With `record`, a check that changes nothing is recorded too (`canary-checked`).
 */
export const checkCanary = (workspace: string, name: string, options: { readonly record?: boolean } = {}) =>
  Effect.gen(function*() {
    const deployment = yield* getDeployment(workspace, name)
    if (deployment.candidate === null || deployment.canary === null) {
      return yield* new RolloutError({
        reason: "invalid",
        message: deployment.candidate === null
          ? `deployment ${name} has no candidate: nothing to judge`
          : `deployment ${name} has no canary configured (PUT it with "canary")`,
        location: deployment.candidate === null ? "candidate" : "canary"
      })
    }
    const outcomes = yield* outcomesOf(workspace, deployment)
    const verdict = judge(deployment.canary, outcomes)
    const now = yield* Clock.currentTimeMillis
    if (verdict.action === "continue") {
      if (options.record === true) {
        const store = yield* DeploymentStore
        yield* store.appendEvent({
          workspace,
          name,
          at: now,
          kind: "canary-checked",
          body: JSON.parse(JSON.stringify({
            actor: "canary",
            version: deployment.version,
            to: deployment.candidate,
            percent: deployment.percent,
            reason: verdict.reason,
            evidence: verdict
          })) as Json
        }).pipe(Effect.mapError(storeFailed))
      }
      return { verdict, applied: null, deployment } satisfies CanaryCheck
    }
    const next = yield* decide(workspace, deployment, verdict.action === "promote" ? "promoted" : "rolled-back", {
      actor: "canary",
      reason: verdict.reason,
      evidence: verdict,
      at: now
    })
    return {
      verdict,
      applied: verdict.action === "promote" ? "promoted" : "rolled-back",
      deployment: next
    } satisfies CanaryCheck
  })

/** Applies a promotion (the candidate becomes current) or a rollback (the candidate is dropped). */
const decide = (
  workspace: string,
  deployment: Deployment,
  kind: "promoted" | "rolled-back",
  event: { actor: Actor; reason: string; evidence: unknown; at: number }
) => {
  const candidate = deployment.candidate!
  const next: Deployment = {
    ...deployment,
    current: kind === "promoted" ? candidate : deployment.current,
    candidate: null,
    percent: 0,
    rolloutStartedAt: null,
    version: deployment.version + 1,
    updatedAt: event.at
  }
  return save(workspace, deployment, next, {
    kind,
    actor: event.actor,
    reason: event.reason,
    evidence: event.evidence,
    from: kind === "promoted" ? deployment.current : candidate
  })
}

/** Loads a stored eval's report, checking it evaluated `version`. */
const evalReport = (workspace: string, evalId: string, version: Version, field: string) =>
  Effect.gen(function*() {
    const evals = yield* EvalStore
    const record = yield* evals.get(evalId, workspace).pipe(Effect.mapError(storeFailed))
    if (Option.isNone(record)) {
      return yield* new RolloutError({ reason: "invalid", message: `${field}: no eval ${evalId}`, location: field })
    }
    if (record.value.programHash !== version.hash) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `${field}: eval ${evalId} evaluated ${record.value.programHash}, not the deployment's ${version.hash}`,
        location: field
      })
    }
    if (record.value.status !== "completed" || record.value.report === null) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `${field}: eval ${evalId} has not completed`,
        location: field
      })
    }
    return record.value.report as unknown as EvalReport
  })

/** What a promotion request did. */
export interface PromotionResult {
  readonly promoted: boolean
  readonly deployment: Deployment
  readonly rule?: RuleVerdict
}

/**
 * Promotes the candidate. With a promotion rule on the deployment, the rule is checked against the stored
 * evals `baselineEval` (of the current version) and `candidateEval` (of the candidate): a failing rule records
 * `promotion-refused` with the checks and promotes nothing. Without a rule, the promotion is manual.
 */
export const promote = (
  workspace: string,
  name: string,
  evals: { readonly baselineEval?: string; readonly candidateEval?: string }
) =>
  Effect.gen(function*() {
    const deployment = yield* getDeployment(workspace, name)
    if (deployment.candidate === null) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `deployment ${name} has no candidate to promote`,
        location: "candidate"
      })
    }
    const now = yield* Clock.currentTimeMillis
    const rule = deployment.rule
    if (rule === null) {
      const next = yield* decide(workspace, deployment, "promoted", {
        actor: "api",
        reason: "promoted by the API (no promotion rule)",
        evidence: null,
        at: now
      })
      return { promoted: true, deployment: next } satisfies PromotionResult
    }
    if (evals.baselineEval === undefined || evals.candidateEval === undefined) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `deployment ${name} has a promotion rule: give baselineEval and candidateEval (stored eval ids)`,
        location: evals.baselineEval === undefined ? "baselineEval" : "candidateEval"
      })
    }
    const baseline = yield* evalReport(workspace, evals.baselineEval, deployment.current, "baselineEval")
    const candidate = yield* evalReport(workspace, evals.candidateEval, deployment.candidate, "candidateEval")
    let comparison: Comparison | undefined
    if (rule.gate !== undefined) {
      const require = parseRequirement(rule.gate)
      if (Either.isLeft(require)) {
        return yield* new RolloutError({ reason: "invalid", message: require.left.message, location: "rule.gate" })
      }
      comparison = yield* compareEvals([evals.baselineEval, evals.candidateEval], {
        alpha: rule.alpha ?? 0.05,
        require: require.right,
        workspace,
        ...(rule.metric === undefined ? {} : { metric: rule.metric })
      }).pipe(
        Effect.catchAll((e) => e.reason === "compare" ? Effect.succeed(undefined) : Effect.fail(storeFailed(e)))
      )
    }
    const verdict = checkRule(rule, baseline, candidate, comparison)
    const evidence = { ...evals, rule, checks: verdict.checks }
    if (!verdict.pass) {
      const store = yield* DeploymentStore
      yield* store.appendEvent({
        workspace,
        name,
        at: now,
        kind: "promotion-refused",
        body: JSON.parse(JSON.stringify({
          actor: "rule",
          version: deployment.version,
          to: deployment.candidate,
          percent: deployment.percent,
          reason: `the promotion rule failed: ${verdict.checks.filter((c) => !c.pass).map((c) => c.check).join(", ")}`,
          evidence
        })) as Json
      }).pipe(Effect.mapError(storeFailed))
      return { promoted: false, deployment, rule: verdict } satisfies PromotionResult
    }
    const next = yield* decide(workspace, deployment, "promoted", {
      actor: "rule",
      reason: `the promotion rule passed (${verdict.checks.map((c) => c.check).join(", ")})`,
      evidence,
      at: now
    })
    return { promoted: true, deployment: next, rule: verdict } satisfies PromotionResult
  })

/** Ends the rollout: the candidate is dropped (an event with `reason`). */
export const rollback = (workspace: string, name: string, reason: string) =>
  Effect.gen(function*() {
    const deployment = yield* getDeployment(workspace, name)
    if (deployment.candidate === null) {
      return yield* new RolloutError({
        reason: "invalid",
        message: `deployment ${name} has no candidate to roll back`,
        location: "candidate"
      })
    }
    const now = yield* Clock.currentTimeMillis
    return yield* decide(workspace, deployment, "rolled-back", {
      actor: "api",
      reason: reason === "" ? "rolled back by the API" : reason,
      evidence: null,
      at: now
    })
  })

const toDecision = (e: DeploymentEventRow): DecisionEvent => {
  const body = (typeof e.body === "object" && e.body !== null ? e.body : {}) as Record<string, unknown>
  return {
    seq: e.seq,
    at: e.at,
    kind: e.kind as DecisionKind,
    actor: (body["actor"] as Actor | undefined) ?? "api",
    version: typeof body["version"] === "number" ? body["version"] : 0,
    ...(body["from"] === undefined ? {} : { from: body["from"] as Version | null }),
    ...(body["to"] === undefined ? {} : { to: body["to"] as Version | null }),
    ...(typeof body["percent"] === "number" ? { percent: body["percent"] } : {}),
    reason: typeof body["reason"] === "string" ? body["reason"] : "",
    evidence: body["evidence"] ?? null
  }
}

/** A deployment's decisions, newest first. */
export const history = (workspace: string, name: string, limit: number, beforeSeq?: number) =>
  Effect.gen(function*() {
    yield* getDeployment(workspace, name)
    const store = yield* DeploymentStore
    const rows = yield* store.history(workspace, name, limit, beforeSeq).pipe(Effect.mapError(storeFailed))
    return rows.map(toDecision)
  })
