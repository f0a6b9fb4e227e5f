/**
 * Starting runs, behind the library API (runtime.ts): options and their
 * defaults, the plan cache, run ids, and `runWith` — `run` with a record
 * to resume or replay (durable.ts). Not exported from the package.
 */
import { Effect, Either, Random } from "effect"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"
import type { RunEvent } from "../trace/events.js"
import { featuresOf } from "./bandit/linucb.js"
import type { BanditStrategy } from "./bandit/state.js"
import { RunError } from "./errors.js"
import { bindParams } from "./inputs.js"
import { execute } from "./interpret.js"
import type { RunRequirements, RunResult } from "./interpret.js"
import * as Plan from "./plan.js"
import { makeBudgeter } from "./policy/budget.js"
import { durationMs } from "./policy/duration.js"
import type { Recorded } from "./recorded.js"
import { planFor } from "./specialize.js"

/** Run-time resource limits (SPEC §4). */
export interface RunLimits {
  /** Most tool/llm calls in flight at once (same as `concurrency`; the smaller wins). @default 64 */
  readonly maxConcurrentNodes?: number
  /** Longest run time, a duration (`"30s"`) or milliseconds; the run fails with `ResourceExhausted`. @default unbounded */
  readonly maxRunTime?: string | number
  /** Most node executions in the run (map items count each of their nodes); beyond it the run fails with `ResourceExhausted`. @default 1_000_000 */
  readonly maxNodes?: number
  /** Deepest nesting of scopes (map items, branches, options, calls) at run time. @default 64 */
  readonly maxDepth?: number
}

/** Options of `run`. */
export interface RunOptions {
  /** The run id. @default a random UUID drawn from Effect's Random (reproducible when seeded) */
  readonly runId?: string
  /** Seeds Effect's Random for the run: run id, jitter and choices become reproducible. @default unseeded */
  readonly seed?: number
  /** Most tool/llm calls in flight at once. @default 64 */
  readonly concurrency?: number
  readonly limits?: RunLimits
  /** A budget for the whole run; exceeding it fails the run with `BudgetExceeded`. @default unbounded */
  readonly budget?: { readonly cost?: number; readonly tokens?: number }
  /** The bandit strategy of each choose key. @default {} */
  readonly strategies?: { readonly [key: string]: BanditStrategy }
  /** The strategy of choose keys not in `strategies`. @default epsilon-greedy with epsilon 0.1 */
  readonly defaultStrategy?: BanditStrategy
}

/** The default cap on calls in flight. */
const DEFAULT_CONCURRENCY = 64
/** The default cap on node executions. */
const DEFAULT_MAX_NODES = 1_000_000
/** The default cap on scope nesting at run time. */
const DEFAULT_MAX_DEPTH = 64

const DEFAULT_STRATEGY: BanditStrategy = { kind: "epsilon-greedy", epsilon: 0.1 }

/** A contextual strategy (LinUCB) gets the run's context: its feature vector of the run's inputs. */
const withContext = (strategy: BanditStrategy, params: ReadonlyMap<string, Json>): BanditStrategy =>
  strategy.kind === "linucb" && strategy.context === undefined
    ? { ...strategy, context: featuresOf(strategy.features, Object.fromEntries(params)) }
    : strategy

const plans = new WeakMap<Program, Plan.Plan>()

/** Plans a program (cached per program object); `InvalidProgram` when it cannot run. */
export const plan = (program: Program): Either.Either<Plan.Plan, RunError> => {
  const known = plans.get(program)
  if (known !== undefined) return Either.right(known)
  const made = Plan.make(program)
  if (Either.isLeft(made)) {
    return Either.left(
      new RunError({
        kind: "InvalidProgram",
        message: made.left.message,
        ...(made.left.node === undefined ? {} : { node: made.left.node })
      })
    )
  }
  plans.set(program, made.right)
  return Either.right(made.right)
}

const HEX = "0123456789abcdef"

/** A random version-4 UUID drawn from Effect's Random. */
export const makeRunId: Effect.Effect<string> = Effect.gen(function*() {
  let out = ""
  for (let i = 0; i < 32; i++) {
    let d = yield* Random.nextIntBetween(0, 16)
    if (i === 12) d = 4
    if (i === 16) d = 8 + (d & 3)
    out += HEX[d]
    if (i === 7 || i === 11 || i === 15 || i === 19) out += "-"
  }
  return out
})

const positive = (n: number | undefined): number | undefined =>
  n !== undefined && Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined

/**
 * `run`, re-executing a recorded run: resuming it (recorded outcomes are
 * reused, the rest runs for real, events continue the record's seq) or
 * replaying it (see `recorded.ts`). `options.runId` must be the recorded
 * run's id and `options.seed` its seed.
 */
export const runWith = (
  program: Program | Plan.Plan,
  inputs: { readonly [name: string]: Json },
  options: RunOptions,
  recorded: { readonly record: Recorded; readonly events: ReadonlyArray<RunEvent> } | undefined
): Effect.Effect<RunResult, RunError, RunRequirements> => {
  const planned = Either.flatMap(
    "ir" in program ? plan(program) : Either.right(program),
    // A program with patch markers runs specialized to the run's patches (specialize.ts).
    (p) => planFor(p, recorded?.record.patches ?? new Set(p.patches))
  )
  if (Either.isLeft(planned)) return Effect.fail(planned.left)
  const p = planned.right
  const bound = bindParams(p.entry.params, inputs, `program "${p.entry.name}"`)
  if (Either.isLeft(bound)) return Effect.fail(new RunError({ kind: "InvalidInput", message: bound.left }))
  const limits = options.limits ?? {}
  const maxRunTimeMs = limits.maxRunTime === undefined
    ? undefined
    : typeof limits.maxRunTime === "number"
    ? limits.maxRunTime
    : durationMs(limits.maxRunTime, Infinity)
  const concurrency = Math.min(
    positive(options.concurrency) ?? DEFAULT_CONCURRENCY,
    positive(limits.maxConcurrentNodes) ?? Infinity
  )
  const strategies = options.strategies ?? {}
  const fallback = options.defaultStrategy ?? DEFAULT_STRATEGY
  const body = Effect.gen(function*() {
    const runId = options.runId ?? (yield* makeRunId)
    const budget = options.budget === undefined ? undefined : yield* makeBudgeter(options.budget)
    return yield* execute({
      runId,
      plan: p,
      params: bound.right,
      seed: options.seed,
      concurrency,
      maxNodes: positive(limits.maxNodes) ?? DEFAULT_MAX_NODES,
      maxDepth: limits.maxDepth !== undefined && limits.maxDepth >= 0 ? Math.floor(limits.maxDepth) : DEFAULT_MAX_DEPTH,
      maxRunTimeMs: maxRunTimeMs !== undefined && Number.isFinite(maxRunTimeMs) ? maxRunTimeMs : undefined,
      budget,
      strategyFor: (key) =>
        withContext(Object.prototype.hasOwnProperty.call(strategies, key) ? strategies[key]! : fallback, bound.right),
      recorded
    })
  }).pipe(Effect.scoped)
  return options.seed === undefined ? body : Effect.withRandom(body, Random.make(options.seed))
}
