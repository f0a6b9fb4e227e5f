/**
 * One llm step as an Effect, recorded like a tool call so that it resumes
 * and replays the same way (SPEC §4 "Determinism modes", §5 "Replay"):
 * every attempt is a `ToolCalled` event (tool `llm:<Signature>`, args hash,
 * plus the model asked for and the prompt hash when the runner can
 * `describe` the step), streamed text is `Chunk` events, and the decoded
 * output is a `ToolReturned` event (cost, tokens, the route that
 * answered). A resumed or replayed run answers an attempt from its record
 * by (node path, attempt) — re-emitting the recorded chunks — and never
 * calls the model again; the replay's comparison (divergence.ts) then sees
 * a changed prompt as a different `ToolCalled` at that node.
 */
import { Effect } from "effect"
import type { Json, JsonRecord } from "../ir/eval.js"
import type { Policy, Signature } from "../ir/schema.js"
import { errorKind, fromKind, Permanent } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import { hashJson } from "../trace/contentHash.js"
import type { LlmRunnerService, LlmStep } from "./llm.js"
import { charge, metered } from "./meter.js"
import type { Usage } from "./meter.js"
import { TransitionListener } from "./policy/breaker.js"
import type { Budgeter } from "./policy/budget.js"
import { durationMs } from "./policy/duration.js"
import { retrying } from "./policy/retry.js"
import { withTimeout } from "./policy/timeout.js"
import type { AttemptOutcome, Recorded } from "./recorded.js"
import type { Emit } from "./toolCall.js"

/** The `tool` name an llm step's events carry. */
const llmToolName = (signatureName: string): string => `llm:${signatureName}`

/** One llm node instance with its evaluated arguments. */
export interface LlmSite {
  readonly runId: string
  readonly path: string
  readonly signatureName: string
  readonly signature: Signature | undefined
  readonly args: JsonRecord
  readonly model: string | undefined
  readonly policy: Policy | undefined
  /** Budgets of the node and its enclosing scopes, innermost first. */
  readonly budgets: ReadonlyArray<Budgeter>
}

/** What an llm call needs from its run. */
export interface LlmCallEnv {
  readonly emit: Emit
  readonly now: () => number
  readonly recorded: Recorded | undefined
}

/** The whole llm step, with retries, per-attempt timeout, metering and budgets. */
export const llmCall = (env: LlmCallEnv, runner: LlmRunnerService, site: LlmSite): Effect.Effect<Json, ToolError> =>
  Effect.gen(function*() {
    const step: LlmStep = {
      runId: site.runId,
      node: site.path,
      signatureName: site.signatureName,
      signature: site.signature,
      args: site.args,
      model: site.model
    }
    const described = runner.describe === undefined ? undefined : yield* runner.describe(step)
    const tool = llmToolName(site.signatureName)
    const calledData = described === undefined
      ? { tool, argsHash: hashJson(site.args) }
      : { tool, argsHash: hashJson(site.args), model: described.model, promptHash: described.promptHash }
    // A budget already spent stops the call before it is made.
    for (const b of site.budgets) yield* b.charge(0, 0)

    const rec = env.recorded
    const meter: Usage = { cost: 0, tokens: 0 }
    let chunks = 0
    let route: string | undefined
    let startedAt = 0
    let lastAttempt = 1
    const timeout = site.policy?.timeout
    const attemptOnce = (attempt: number): Effect.Effect<Json, ToolError> => {
      const start = () => {
        lastAttempt = attempt
        route = undefined
        env.emit("ToolCalled", site.path, attempt, calledData)
        startedAt = env.now()
      }
      const emitChunk = (text: string) => env.emit("Chunk", site.path, attempt, { index: chunks++, text })
      const recorded = recordedAttempt(rec, site.path, attempt)
      if (recorded !== undefined) {
        return Effect.suspend(() => {
          start()
          if (recorded._tag === "Missing") return recorded.effect
          for (const text of recorded.chunks) emitChunk(text)
          const o = recorded.outcome
          if (o._tag === "Failed") return Effect.fail(fromKind(o.kind, o.message))
          route = o.route
          return Effect.as(charge({ cost: o.cost, tokens: o.tokens ?? 0 }), o.output)
        })
      }
      const eff = Effect.suspend(() => {
        start()
        return Effect.locally(
          runner.run({
            ...step,
            attempt,
            emit: (text) => Effect.sync(() => emitChunk(text)),
            answeredBy: (r) =>
              Effect.sync(() => {
                route = r
              })
          }),
          // A provider breaker that changes state on this call is recorded in this run (like a tool's breaker).
          TransitionListener,
          (breaker, t) =>
            env.emit("BreakerChanged", undefined, undefined, {
              breaker,
              from: t.from,
              to: t.to,
              node: site.path,
              ...(t.calls === undefined ? {} : { calls: t.calls }),
              ...(t.failures === undefined ? {} : { failures: t.failures })
            })
        )
      })
      return timeout === undefined
        ? eff
        : withTimeout(durationMs(timeout, 0), `llm ${site.signatureName} (node ${site.path}, attempt ${attempt})`)(eff)
    }
    const retry = site.policy?.retry
    const attempts = retry === undefined ?
      attemptOnce(1) :
      retrying(retry, (n, delayMs, error) =>
        Effect.sync(() =>
          env.emit("NodeRetrying", site.path, n, {
            attempt: n,
            delayMs,
            errorKind: errorKind(error),
            message: error.message
          })
        ))(attemptOnce)
    const output = yield* metered(meter, attempts)
    const latencyMs = env.now() - startedAt
    for (const b of site.budgets) yield* b.charge(meter.cost, meter.tokens)
    const base = { tool, outputHash: hashJson(output), latencyMs, cost: meter.cost, source: "tool" as const, output }
    env.emit("ToolReturned", site.path, lastAttempt, {
      ...base,
      ...(meter.tokens > 0 ? { tokens: meter.tokens } : {}),
      ...(route === undefined ? {} : { route })
    })
    return output
  })

type RecordedLlmAttempt =
  | {
    readonly _tag: "Answer"
    readonly chunks: ReadonlyArray<string>
    readonly outcome: AttemptOutcome
  }
  | { readonly _tag: "Missing"; readonly effect: Effect.Effect<never, ToolError> }

/**
 * The record's answer to an attempt, or undefined when the model must
 * really be called (no record, a live replay, or a resumed attempt that was
 * in flight). A replay answers every attempt from the record: one cut short
 * there never completes, one missing from it fails the node.
 */
const recordedAttempt = (rec: Recorded | undefined, path: string, attempt: number): RecordedLlmAttempt | undefined => {
  if (rec === undefined || rec.mode === "live") return undefined
  const a = rec.attempts.get(path)?.get(attempt)
  if (a?.outcome !== undefined) return { _tag: "Answer", chunks: a.chunks, outcome: a.outcome }
  if (rec.mode === "resume") return undefined
  if (a !== undefined) return { _tag: "Missing", effect: Effect.never }
  return {
    _tag: "Missing",
    effect: Effect.fail(
      new Permanent({ message: `replay: the record has no llm call of node ${path} (attempt ${attempt})` })
    )
  }
}
