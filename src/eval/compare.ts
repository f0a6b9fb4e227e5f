/**
 * `eval compare` (issue 19 item 3): the results of a baseline eval and one
 * or more candidates, paired by example id, on one metric; per candidate
 * the mean difference (candidate − baseline) with a paired bootstrap CI at
 * level 1 − α, the sign-flip permutation p-value (Holm-adjusted when there
 * is more than one candidate), the sign test, Cohen's d_z and wins, losses
 * and ties; and the gate: `--require "delta>x"` passes when the adjusted
 * p-value ≤ α and the CI lies entirely beyond x (for `<`/`<=`, below x).
 */
import { Either, Option } from "effect"
import { Effect } from "effect"
import type { EvalResult } from "../store/evals.js"
import { EvalStore } from "../store/evals.js"
import { EvalError } from "./errors.js"
import { scoreAt } from "./report.js"
import { holm } from "./stats/holm.js"
import { comparePaired } from "./stats/paired.js"
import type { PairedComparison } from "./stats/paired.js"

/** A gate: `delta <op> threshold`. */
export interface Requirement {
  readonly text: string
  readonly op: ">" | ">=" | "<" | "<="
  readonly threshold: number
}

/** Parses `delta>0`, `delta >= 0.02`, `delta<0` (spaces allowed). */
export const parseRequirement = (text: string): Either.Either<Requirement, EvalError> => {
  const m = /^\s*delta\s*(>=|<=|>|<)\s*(-?[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*$/i.exec(text)
  if (m === null) {
    return Either.left(
      new EvalError({
        reason: "gate",
        message: `expected delta>x, delta>=x, delta<x or delta<=x, got "${text}"`,
        location: "--require"
      })
    )
  }
  return Either.right({ text: text.trim(), op: m[1] as Requirement["op"], threshold: Number(m[2]) })
}

/** Whether a comparison passes a requirement at level α (`pValue` the adjusted one). */
export const passes = (c: PairedComparison, pValue: number, req: Requirement, alpha: number): boolean => {
  if (!(pValue <= alpha)) return false
  const [lo, hi] = c.ci
  switch (req.op) {
    case ">":
      return lo > req.threshold
    case ">=":
      return lo >= req.threshold
    case "<":
      return hi < req.threshold
    case "<=":
      return hi <= req.threshold
  }
}

/** One candidate against the baseline. */
export interface CandidateComparison extends PairedComparison {
  readonly evalId: string
  /** The permutation p-value after Holm's correction (equal to `pValue` for one candidate). */
  readonly adjustedPValue: number
  /** Examples of either eval without a partner in the other. */
  readonly unpaired: number
  readonly pass: boolean
}

/** The comparison report. */
export interface Comparison {
  readonly baseline: string
  readonly metric: string
  readonly alpha: number
  readonly require: string
  readonly correction: "none" | "holm"
  readonly candidates: ReadonlyArray<CandidateComparison>
  /** Every candidate passed. */
  readonly pass: boolean
}

/** Pairs two evals' results by example id on metric `i` (baseline scores, candidate scores, unpaired count). */
export const pairResults = (
  a: ReadonlyArray<EvalResult>,
  b: ReadonlyArray<EvalResult>,
  ia: number,
  ib: number
): { readonly a: Array<number>; readonly b: Array<number>; readonly unpaired: number } => {
  const byId = new Map(b.map((r) => [r.exampleId, r]))
  const xs: Array<number> = []
  const ys: Array<number> = []
  for (const r of a) {
    const partner = byId.get(r.exampleId)
    if (partner === undefined) continue
    xs.push(scoreAt(r, ia))
    ys.push(scoreAt(partner, ib))
  }
  return { a: xs, b: ys, unpaired: a.length + b.length - 2 * xs.length }
}

/** Compares paired score vectors (baseline first) at level α with a requirement. */
export const compareScores = (
  baseline: ReadonlyArray<number>,
  candidates: ReadonlyArray<
    { readonly evalId: string; readonly scores: ReadonlyArray<number>; readonly unpaired: number }
  >,
  options: { readonly alpha: number; readonly require: Requirement; readonly seed?: number },
  pairedBaselines?: ReadonlyArray<ReadonlyArray<number>>
): ReadonlyArray<CandidateComparison> => {
  const raw = candidates.map((c, i) =>
    comparePaired(pairedBaselines?.[i] ?? baseline, c.scores, { level: 1 - options.alpha, seed: options.seed ?? 1 })
  )
  const adjusted = candidates.length > 1 ? holm(raw.map((r) => r.pValue)) : raw.map((r) => r.pValue)
  return raw.map((r, i) => ({
    ...r,
    evalId: candidates[i]!.evalId,
    adjustedPValue: adjusted[i]!,
    unpaired: candidates[i]!.unpaired,
    pass: passes(r, adjusted[i]!, options.require, options.alpha)
  }))
}

const load = (evalId: string, workspace: string | undefined) =>
  Effect.gen(function*() {
    const evals = yield* EvalStore
    const toEvalError = (e: { readonly message: string }) => new EvalError({ reason: "store", message: e.message })
    const record = yield* evals.get(evalId, workspace).pipe(Effect.mapError(toEvalError))
    if (Option.isNone(record)) {
      return yield* new EvalError({ reason: "not-found", message: `no eval ${evalId}`, location: evalId })
    }
    const results = yield* evals.results(evalId).pipe(Effect.mapError(toEvalError))
    return { record: record.value, results }
  })

const metricIndex = (metrics: ReadonlyArray<string>, metric: string | undefined, evalId: string) => {
  if (metric === undefined) return Either.right(0)
  const i = metrics.indexOf(metric)
  return i < 0
    ? Either.left(
      new EvalError({
        reason: "compare",
        message: `eval ${evalId} has no metric "${metric}" (it has ${metrics.join(", ")})`,
        location: evalId
      })
    )
    : Either.right(i)
}

/** Compares stored evals: the first is the baseline, the others candidates. */
export const compareEvals = (
  evalIds: ReadonlyArray<string>,
  options: {
    readonly alpha: number
    readonly require: Requirement
    readonly metric?: string
    readonly workspace?: string
    readonly seed?: number
  }
): Effect.Effect<Comparison, EvalError, EvalStore> =>
  Effect.gen(function*() {
    if (evalIds.length < 2) {
      return yield* new EvalError({ reason: "compare", message: "compare needs a baseline and at least one candidate" })
    }
    if (!(options.alpha > 0 && options.alpha < 1)) {
      return yield* new EvalError({ reason: "compare", message: `--alpha must be in (0, 1), got ${options.alpha}` })
    }
    const loaded = yield* Effect.forEach(evalIds, (id) => load(id, options.workspace))
    const base = loaded[0]!
    const ib = yield* metricIndex(base.record.metrics, options.metric, base.record.evalId)
    const metric = base.record.metrics[ib]!
    const pairs = []
    for (const c of loaded.slice(1)) {
      const ic = yield* metricIndex(c.record.metrics, metric, c.record.evalId)
      const p = pairResults(base.results, c.results, ib, ic)
      if (p.a.length === 0) {
        return yield* new EvalError({
          reason: "compare",
          message: `evals ${base.record.evalId} and ${c.record.evalId} share no example id`
        })
      }
      pairs.push({ evalId: c.record.evalId, scores: p.b, unpaired: p.unpaired, baseline: p.a })
    }
    const candidates = compareScores(
      [],
      pairs,
      { alpha: options.alpha, require: options.require, ...(options.seed === undefined ? {} : { seed: options.seed }) },
      pairs.map((p) => p.baseline)
    )
    return {
      baseline: base.record.evalId,
      metric,
      alpha: options.alpha,
      require: options.require.text,
      correction: candidates.length > 1 ? "holm" : "none",
      candidates,
      pass: candidates.every((c) => c.pass)
    }
  })
