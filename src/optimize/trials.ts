/**
 * Trials: one candidate scored on one batch of examples, as an eval (every
 * example a durable run, recorded in the eval store). A trial's eval id is
 * fixed by the optimization, the split, the candidate's program hash and the
 * batch, so a resumed optimization finds finished trials and does not run
 * them again; what they spent is counted from their runs' events, so the
 * budget holds across a restart.
 */
import { Effect, Option } from "effect"
import type { Example } from "../eval/dataset.js"
import type { Scorer } from "../eval/metric.js"
import type { EvalReport } from "../eval/report.js"
import { evaluate } from "../eval/runner.js"
import { canonicalJson } from "../ir/canonical.js"
import { sha256Hex } from "../ir/hash.js"
import type { Program } from "../ir/schema.js"
import type { LlmRouterService } from "../llm/service.js"
import * as StepRunner from "../llm/stepRunner.js"
import type { StepRunnerConfig } from "../llm/stepRunner.js"
import type { DurableRequirements } from "../runtime/durable.js"
import { LlmRunner } from "../runtime/llm.js"
import { EvalStore } from "../store/evals.js"
import { EventLog } from "../trace/events.js"
import { addUsage, type Budget, fits, type Meter, type Usage, zeroUsage } from "./budget.js"
import { applyCandidate, type Candidate, llmStepsPerRun } from "./candidate.js"
import { OptimizeError } from "./errors.js"

/** One recorded trial. */
export interface Trial {
  readonly index: number
  /** `dev-minibatch`, `dev`, `train` (the teacher) or `test`. */
  readonly split: string
  readonly label: string
  readonly evalId: string
  readonly programHash: string
  readonly n: number
  readonly score: number
}

/** What trials share. */
export interface TrialContext {
  readonly optimizationId: string
  readonly start: Program
  readonly scorers: ReadonlyArray<Scorer>
  readonly seed: number
  readonly concurrency: number
  readonly budget: Budget
  readonly meter: Meter
  readonly router: LlmRouterService
  readonly steps: StepRunnerConfig
  /** Calls kept for the final evaluations on dev and test. */
  readonly reserve: number
  readonly trials: Array<Trial>
  /** Evals whose earlier spending has been counted in this process. */
  readonly counted: Set<string>
  readonly memo: Map<string, Trial>
}

/** What trials need. */
export type TrialRequirements = DurableRequirements | EvalStore

const evalError = (e: { readonly message: string }) => new OptimizeError({ reason: "eval", message: e.message })

/** The usage recorded in the events of some runs: llm calls (attempts), tokens and cost. */
export const usageOfRuns = (runIds: ReadonlyArray<string>): Effect.Effect<Usage, never, EventLog> =>
  Effect.gen(function*() {
    const log = yield* EventLog
    let usage = zeroUsage
    for (const runId of runIds) {
      const events = yield* Effect.orElseSucceed(log.events(runId), () => [])
      for (const e of events) {
        if (e.type === "ToolCalled" && e.data.tool.startsWith("llm:")) {
          usage = addUsage(usage, { calls: 1, tokens: 0, cost: 0 })
        }
        if (e.type === "ToolReturned" && e.data.tool.startsWith("llm:") && e.data.source === "tool") {
          usage = addUsage(usage, { calls: 0, tokens: e.data.tokens ?? 0, cost: e.data.cost })
        }
      }
    }
    return usage
  })

/** The eval id of a trial. */
export const trialEvalId = (
  optimizationId: string,
  split: string,
  programHash: string,
  examples: ReadonlyArray<Example>
) =>
  `${optimizationId}-${split}-${sha256Hex(canonicalJson({ programHash, ids: examples.map((e) => e.id) })).slice(0, 12)}`

/**
 * Scores a candidate on a batch, or `undefined` when the budget (less the reserve, unless `final`) cannot cover the
 * batch's calls. The run of each example uses the metered step runner (with `model` as the default model, if given).
 */
export const runTrial = (
  ctx: TrialContext,
  args: {
    readonly candidate: Candidate
    readonly examples: ReadonlyArray<Example>
    readonly split: string
    readonly label: string
    readonly final?: boolean
    readonly model?: string
  }
): Effect.Effect<Trial | undefined, OptimizeError, TrialRequirements> =>
  Effect.gen(function*() {
    const applied = applyCandidate(ctx.start, args.candidate)
    const evalId = trialEvalId(ctx.optimizationId, args.split, applied.programHash, args.examples)
    const memo = ctx.memo.get(evalId)
    if (memo !== undefined) return memo
    const evals = yield* EvalStore
    const known = yield* Effect.mapError(evals.get(evalId), evalError)
    const done = Option.isSome(known) ? yield* Effect.mapError(evals.results(evalId), evalError) : []
    if (!ctx.counted.has(evalId)) {
      ctx.counted.add(evalId)
      yield* ctx.meter.charge(yield* usageOfRuns(done.map((r) => r.runId)))
    }
    const missing = args.examples.length - done.length
    const estimate = missing * llmStepsPerRun(applied.program)
    const used = yield* ctx.meter.usage
    const reserve = args.final === true ? 0 : ctx.reserve
    if (missing > 0 && !fits(ctx.budget, used, { calls: estimate + reserve, tokens: 0, cost: 0 })) return undefined
    const steps: StepRunnerConfig = args.model === undefined ? ctx.steps : { ...ctx.steps, defaultModel: args.model }
    const report: EvalReport = yield* evaluate({
      program: applied.program,
      programHash: applied.programHash,
      examples: args.examples,
      dataset: args.split,
      scorers: ctx.scorers,
      seed: ctx.seed,
      evalId,
      concurrency: ctx.concurrency
    }).pipe(
      Effect.provideService(LlmRunner, StepRunner.make(ctx.router, steps)),
      Effect.mapError(evalError)
    )
    const trial: Trial = {
      index: ctx.trials.length,
      split: args.split,
      label: args.label,
      evalId,
      programHash: applied.programHash,
      n: report.n,
      score: report.mean
    }
    ctx.trials.push(trial)
    ctx.memo.set(evalId, trial)
    return trial
  })
