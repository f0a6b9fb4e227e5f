/**
 * `optimize`: searches instructions and demos for a program's llm steps
 * with one of the optimizers (`search.ts`) under a hard budget, then scores
 * the starting and the optimized program on the whole dev split (and, only
 * after the search, on the test split) and compares them with the eval
 * statistics (paired bootstrap CI, permutation test). Every trial is an
 * eval recorded in the store; the same request continues an interrupted
 * optimization without redoing finished trials.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either } from "effect"
import { compareEvals, parseRequirement } from "../eval/compare.js"
import type { Comparison } from "../eval/compare.js"
import type { Example } from "../eval/dataset.js"
import { loadScorers, type Scorer } from "../eval/metric.js"
import { parseMetric } from "../eval/metricSpec.js"
import type { EvalReport } from "../eval/report.js"
import { reportOf } from "../eval/runner.js"
import { canonicalJson } from "../ir/canonical.js"
import { sha256Hex } from "../ir/hash.js"
import type { Program } from "../ir/schema.js"
import { print } from "../language/index.js"
import { LlmRouter } from "../llm/service.js"
import type { StepRunnerConfig } from "../llm/stepRunner.js"
import { hashNormalized, normalize } from "../normalize/index.js"
import { type Budget, makeMeter, meterRouter, type Usage } from "./budget.js"
import { applyCandidate, type Candidate, currentCandidate, llmSignatures, llmStepsPerRun } from "./candidate.js"
import { OptimizeError } from "./errors.js"
import { makeRng } from "./random.js"
import { type OptimizerName, search, type SearchSettings } from "./search.js"
import { runTrial, type Trial, type TrialContext, type TrialRequirements } from "./trials.js"

/** What to optimize. */
export interface OptimizeRequest {
  /** The program as written (not normalized): the optimized program is printed from it. */
  readonly program: Program
  readonly train: ReadonlyArray<Example>
  readonly dev: ReadonlyArray<Example>
  /** Scored only after the search. */
  readonly test?: ReadonlyArray<Example>
  /** The first is the metric optimized. */
  readonly scorers: ReadonlyArray<Scorer>
  readonly optimizer: OptimizerName
  readonly budget: Budget
  /** @default 1 */
  readonly seed?: number
  /** Settings of the search (see `SearchSettings`); absent ones take their defaults. */
  readonly settings?: Partial<SearchSettings>
  /** The step runner's settings (its `defaultModel` is the model of llm steps without one). */
  readonly steps?: StepRunnerConfig
  /** Examples run at once. @default 4 */
  readonly concurrency?: number
  /** @default derived from everything above */
  readonly optimizationId?: string
}

/** Scores of the starting and the optimized program on one split, and their paired comparison. */
export interface SplitReport {
  readonly baseline: EvalReport
  readonly optimized: EvalReport
  /** Optimized against the starting program (`delta>0` at α = 0.05). */
  readonly comparison: Comparison
}

/** What an optimization produced. */
export interface OptimizeReport {
  readonly optimizationId: string
  readonly optimizer: OptimizerName
  readonly seed: number
  readonly budget: Budget
  readonly usage: Usage
  readonly stopped: "done" | "budget"
  readonly start: { readonly hash: string }
  readonly optimized: { readonly hash: string; readonly candidate: Candidate }
  readonly trials: ReadonlyArray<Trial>
  readonly dev: SplitReport
  readonly test?: SplitReport
}

/** The optimized program (normalized), its DSL text, and the report. */
export interface Optimized {
  readonly program: Program
  readonly source: string
  readonly report: OptimizeReport
}

/** What `optimize` needs: durable runs, the eval store, and the model router (metered inside). */
export type OptimizeRequirements = TrialRequirements | LlmRouter

const DEFAULTS: SearchSettings = {
  maxDemos: 3,
  candidates: 6,
  rounds: 2,
  trials: 12,
  minibatch: 8,
  threshold: 1,
  teacherModel: undefined,
  proposerModel: undefined
}

const positive = (name: string, v: number | undefined) =>
  v === undefined || (Number.isFinite(v) && v >= 0)
    ? Effect.void
    : Effect.fail(
      new OptimizeError({ reason: "options", message: `${name} must be a number ≥ 0, got ${v}`, location: name })
    )

/** The deterministic id of an optimization. */
export const optimizationIdOf = (request: OptimizeRequest, programHash: string, settings: SearchSettings): string =>
  `opt-${
    sha256Hex(canonicalJson({
      programHash,
      train: request.train,
      dev: request.dev,
      metrics: request.scorers.map((s) => s.spec.text),
      optimizer: request.optimizer,
      budget: request.budget,
      seed: request.seed ?? 1,
      settings: JSON.parse(JSON.stringify(settings)),
      steps: JSON.parse(JSON.stringify(request.steps ?? {}))
    })).slice(0, 16)
  }`

/** Runs (or continues) an optimization. */
export const optimize = (request: OptimizeRequest): Effect.Effect<Optimized, OptimizeError, OptimizeRequirements> =>
  Effect.gen(function*() {
    yield* positive("budget.calls", request.budget.calls)
    yield* positive("budget.tokens", request.budget.tokens)
    yield* positive("budget.cost", request.budget.cost)
    if (request.scorers.length === 0) return yield* new OptimizeError({ reason: "options", message: "no metric" })
    if (request.dev.length === 0) {
      return yield* new OptimizeError({ reason: "dataset", message: "the dev split is empty", location: "dev" })
    }
    if (request.train.length === 0 && request.optimizer !== "copro") {
      return yield* new OptimizeError({ reason: "dataset", message: "the train split is empty", location: "train" })
    }
    const start = normalize(request.program)
    const startHash = hashNormalized(start)
    const signatures = llmSignatures(start)
    if (signatures.length === 0) {
      return yield* new OptimizeError({ reason: "program", message: "the program has no llm step to optimize" })
    }
    const settings: SearchSettings = { ...DEFAULTS, ...request.settings }
    const seed = request.seed ?? 1
    const optimizationId = request.optimizationId ?? optimizationIdOf(request, startHash, settings)
    const meter = yield* makeMeter(request.budget)
    const router = meterRouter(meter, yield* LlmRouter)
    const finalExamples = request.dev.length + (request.test?.length ?? 0)
    const ctx: TrialContext = {
      optimizationId,
      start: request.program,
      scorers: request.scorers,
      seed,
      concurrency: Math.max(1, request.concurrency ?? 4),
      budget: request.budget,
      meter,
      router,
      steps: request.steps ?? {},
      // The final scoring of the starting and the optimized program on dev and test.
      reserve: 2 * finalExamples * llmStepsPerRun(start),
      trials: [],
      counted: new Set(),
      memo: new Map()
    }
    const baseline = currentCandidate(start)
    const found = yield* search(request.optimizer, {
      ctx,
      program: start,
      signatures,
      baseline,
      train: request.train,
      dev: request.dev,
      settings,
      rng: makeRng(seed)
    })
    const final = (candidate: Candidate, examples: ReadonlyArray<Example>, split: string, label: string) =>
      Effect.flatMap(
        runTrial(ctx, { candidate, examples, split, label, final: true }),
        (t) =>
          t === undefined
            ? Effect.fail(
              new OptimizeError({ reason: "budget", message: `the budget cannot cover scoring on ${split}` })
            )
            : Effect.succeed(t)
      )
    const splitReport = (examples: ReadonlyArray<Example>, split: string) =>
      Effect.gen(function*() {
        const a = yield* final(baseline, examples, split, "baseline")
        const b = yield* final(found.best, examples, split, "optimized")
        const require = yield* Effect.mapError(
          parseRequirement("delta>0"),
          (e) => new OptimizeError({ reason: "eval", message: e.message })
        )
        const fail = (e: { readonly message: string }) => new OptimizeError({ reason: "eval", message: e.message })
        const comparison = yield* Effect.mapError(
          compareEvals([a.evalId, b.evalId], { alpha: 0.05, require, seed }),
          fail
        )
        return {
          baseline: yield* Effect.mapError(reportOf(a.evalId), fail),
          optimized: yield* Effect.mapError(reportOf(b.evalId), fail),
          comparison
        } satisfies SplitReport
      })
    const dev = yield* splitReport(request.dev, "dev")
    const test = request.test === undefined || request.test.length === 0
      ? undefined
      : yield* splitReport(request.test, "test")
    const applied = applyCandidate(request.program, found.best)
    const raw = withCandidateRaw(request.program, found.best)
    const report: OptimizeReport = {
      optimizationId,
      optimizer: request.optimizer,
      seed,
      budget: request.budget,
      usage: yield* meter.usage,
      stopped: found.stopped,
      start: { hash: startHash },
      optimized: { hash: applied.programHash, candidate: found.best },
      trials: ctx.trials,
      dev,
      ...(test === undefined ? {} : { test })
    }
    return { program: applied.program, source: print(raw), report }
  })

/** The program as written with a candidate's instructions and demos (for printing). */
const withCandidateRaw = (program: Program, candidate: Candidate): Program => {
  const signatures = { ...program.signatures }
  for (const [name, setting] of Object.entries(candidate)) {
    const sig = signatures[name]
    if (sig === undefined) continue
    const { demos: _d, doc: _doc, ...rest } = sig
    const doc = setting.instructions ?? sig.doc
    signatures[name] = {
      ...(doc === undefined ? {} : { doc }),
      ...rest,
      ...(setting.demos.length === 0 ? {} : { demos: setting.demos })
    }
  }
  return { ...program, signatures }
}

/** Reads `--metric` texts (docs/evaluation.md) into scorers; the first is the one optimized. */
export const loadMetrics = (
  texts: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Scorer>, OptimizeError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const specs = []
    for (const t of texts) {
      const spec = parseMetric(t)
      if (Either.isLeft(spec)) {
        return yield* new OptimizeError({ reason: "options", message: spec.left.message, location: t })
      }
      specs.push(spec.right)
    }
    return yield* Effect.mapError(
      loadScorers(specs),
      (e) => new OptimizeError({ reason: "options", message: e.message })
    )
  })
