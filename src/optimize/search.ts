/**
 * The optimizers: each searches candidates (instructions and demos per llm
 * signature) with trials on the train and dev splits only, and returns the
 * best candidate it found. The test split never reaches them.
 *
 * - `bootstrap`: the teacher runs the program over train; runs whose output
 *   passes the metric give demos (the first `maxDemos` per signature).
 * - `random`: `candidates` demo sets drawn from the bootstrapped pool (the
 *   bootstrap set first), each scored on dev; the best wins.
 * - `copro`: `rounds` rounds; in each, per signature, the proposer suggests
 *   `candidates` instructions, scored on one dev minibatch against the
 *   current ones; the best is kept.
 * - `mipro`: instruction options (the current and proposed ones) × demo-set
 *   options (none, the bootstrap set, random sets) per signature; `trials`
 *   minibatch trials choose each signature's options by UCB over the mean
 *   minibatch score of every option (the surrogate); the configuration with
 *   the best mean is scored on the whole dev split.
 */
import { Effect } from "effect"
import type { Example } from "../eval/dataset.js"
import type { Demo } from "../ir/schema.js"
import type { Program } from "../ir/schema.js"
import * as StepRunner from "../llm/stepRunner.js"
import { LlmRunner } from "../runtime/llm.js"
import { EvalStore } from "../store/evals.js"
import { type Harvested, harvestRun } from "./bootstrap.js"
import type { Candidate } from "./candidate.js"
import { OptimizeError } from "./errors.js"
import { propose } from "./propose.js"
import { makeRng, type Rng } from "./random.js"
import { runTrial, type Trial, type TrialContext, type TrialRequirements } from "./trials.js"

/** The optimizers. */
export const OPTIMIZERS = ["bootstrap", "random", "copro", "mipro"] as const
export type OptimizerName = (typeof OPTIMIZERS)[number]

/** Settings of the search. */
export interface SearchSettings {
  /** Demos per signature at most. @default 3 */
  readonly maxDemos: number
  /** Demo sets (random), instructions per round (copro) or options per dimension (mipro). @default 6 */
  readonly candidates: number
  /** Proposal rounds of copro. @default 2 */
  readonly rounds: number
  /** Minibatch trials of mipro. @default 12 */
  readonly trials: number
  /** Dev examples per minibatch. @default 8 */
  readonly minibatch: number
  /** A teacher run passes when its primary score is at least this. @default 1 */
  readonly threshold: number
  /** The teacher's default model. @default the step runner's */
  readonly teacherModel: string | undefined
  /** The proposer's model. @default the step runner's */
  readonly proposerModel: string | undefined
}

/** What a search works on. */
export interface SearchInput {
  readonly ctx: TrialContext
  readonly program: Program
  readonly signatures: ReadonlyArray<string>
  readonly baseline: Candidate
  readonly train: ReadonlyArray<Example>
  readonly dev: ReadonlyArray<Example>
  readonly settings: SearchSettings
  readonly rng: Rng
}

/** What a search found. */
export interface SearchResult {
  readonly best: Candidate
  /** Why the search ended: it finished, or the budget could not cover another trial. */
  readonly stopped: "done" | "budget"
}

const withSetting = (c: Candidate, signature: string, setting: Partial<Candidate[string]>): Candidate => ({
  ...c,
  [signature]: { ...c[signature]!, ...setting }
})

/** The teacher's demos over train, by signature, in train order. */
const bootstrapPool = (input: SearchInput) =>
  Effect.gen(function*() {
    const teacher = yield* runTrial(input.ctx, {
      candidate: input.baseline,
      examples: input.train,
      split: "train",
      label: "teacher",
      ...(input.settings.teacherModel === undefined ? {} : { model: input.settings.teacherModel })
    })
    if (teacher === undefined) return undefined
    const evals = yield* EvalStore
    const results = yield* Effect.mapError(
      evals.results(teacher.evalId),
      (e) => new OptimizeError({ reason: "store", message: e.message })
    )
    const pool = new Map<string, Array<Demo>>(input.signatures.map((s) => [s, []]))
    const sorted = [...results].sort((a, b) => a.index - b.index)
    for (const r of sorted) {
      if (r.status !== "completed" || (r.scores[0] ?? 0) < input.settings.threshold) continue
      const harvested: ReadonlyArray<Harvested> = yield* harvestRun(input.program, r.runId, r.exampleId)
      for (const h of harvested) pool.get(h.signature)?.push(h.demo)
    }
    return pool
  })

const firstDemos = (input: SearchInput, pool: ReadonlyMap<string, ReadonlyArray<Demo>>): Candidate => {
  let c = input.baseline
  for (const s of input.signatures) {
    const demos = (pool.get(s) ?? []).slice(0, input.settings.maxDemos)
    if (demos.length > 0) c = withSetting(c, s, { demos })
  }
  return c
}

const randomDemos = (input: SearchInput, pool: ReadonlyMap<string, ReadonlyArray<Demo>>): Candidate => {
  let c = input.baseline
  for (const s of input.signatures) {
    const all = pool.get(s) ?? []
    if (all.length === 0) continue
    const k = 1 + input.rng.int(Math.min(input.settings.maxDemos, all.length))
    c = withSetting(c, s, { demos: input.rng.shuffle(all).slice(0, k) })
  }
  return c
}

const minibatch = (input: SearchInput): ReadonlyArray<Example> =>
  input.dev.length <= input.settings.minibatch
    ? input.dev
    : input.rng.shuffle(input.dev).slice(0, input.settings.minibatch)

/** The best of some scored candidates (the first on ties). */
const bestOf = (scored: ReadonlyArray<readonly [Candidate, Trial]>): Candidate | undefined => {
  let best: readonly [Candidate, Trial] | undefined
  for (const s of scored) if (best === undefined || s[1].score > best[1].score) best = s
  return best?.[0]
}

const scoreAll = (
  input: SearchInput,
  candidates: ReadonlyArray<readonly [string, Candidate]>,
  batch: ReadonlyArray<Example>,
  split: string
) =>
  Effect.gen(function*() {
    const scored: Array<readonly [Candidate, Trial]> = []
    for (const [label, c] of candidates) {
      const t = yield* runTrial(input.ctx, { candidate: c, examples: batch, split, label })
      if (t === undefined) return { scored, stopped: "budget" as const }
      scored.push([c, t])
    }
    return { scored, stopped: "done" as const }
  })

const bootstrap = (input: SearchInput) =>
  Effect.gen(function*() {
    const pool = yield* bootstrapPool(input)
    if (pool === undefined) return { best: input.baseline, stopped: "budget" } satisfies SearchResult
    const r = yield* scoreAll(
      input,
      [["baseline", input.baseline], ["bootstrap", firstDemos(input, pool)]],
      input.dev,
      "dev"
    )
    return { best: bestOf(r.scored) ?? input.baseline, stopped: r.stopped } satisfies SearchResult
  })

const random = (input: SearchInput) =>
  Effect.gen(function*() {
    const pool = yield* bootstrapPool(input)
    if (pool === undefined) return { best: input.baseline, stopped: "budget" } satisfies SearchResult
    const candidates: Array<readonly [string, Candidate]> = [["baseline", input.baseline], [
      "bootstrap",
      firstDemos(input, pool)
    ]]
    for (let i = 2; i < input.settings.candidates + 1; i++) {
      candidates.push([`random-${i - 1}`, randomDemos(input, pool)])
    }
    const r = yield* scoreAll(input, candidates, input.dev, "dev")
    return { best: bestOf(r.scored) ?? input.baseline, stopped: r.stopped } satisfies SearchResult
  })

/** Proposes instructions for one signature (a recorded run per signature and round). */
const proposals = (
  input: SearchInput,
  signature: string,
  round: number,
  current: string,
  history: ReadonlyArray<{ readonly instructions: string; readonly score: number }>,
  count: number
) =>
  propose({
    runId: `${input.ctx.optimizationId}-propose-${round}-${signature}`,
    model: input.settings.proposerModel,
    name: signature,
    signature: input.program.signatures[signature]!,
    current,
    examples: input.train.slice(0, 5).map((e) => ({ inputs: e.inputs, expected: e.expected })),
    history,
    count
  }).pipe(Effect.provideService(LlmRunner, StepRunner.make(input.ctx.router, input.ctx.steps)))

const copro = (input: SearchInput) =>
  Effect.gen(function*() {
    let current = input.baseline
    const history = new Map<string, Array<{ instructions: string; score: number }>>()
    for (let round = 0; round < input.settings.rounds; round++) {
      const batch = minibatch(input)
      for (const s of input.signatures) {
        const mine = current[s]?.instructions ?? input.program.signatures[s]?.doc ?? ""
        const tried = history.get(s) ?? []
        history.set(s, tried)
        const variants = yield* proposals(input, s, round, mine, tried, input.settings.candidates)
        const candidates: Array<readonly [string, Candidate]> = [[`round-${round}-${s}-current`, current]]
        variants.forEach((v, i) =>
          candidates.push([`round-${round}-${s}-${i}`, withSetting(current, s, { instructions: v })])
        )
        const r = yield* scoreAll(input, candidates, batch, "dev-minibatch")
        r.scored.forEach(([c, t]) => tried.push({ instructions: c[s]?.instructions ?? "", score: t.score }))
        current = bestOf(r.scored) ?? current
        if (r.stopped === "budget") return { best: current, stopped: "budget" } satisfies SearchResult
      }
    }
    return { best: current, stopped: "done" } satisfies SearchResult
  })

interface Arm {
  n: number
  sum: number
}

/** UCB choice: an untried option first, else the best mean plus an exploration bonus. */
const ucb = (arms: ReadonlyArray<Arm>, t: number): number => {
  const untried = arms.findIndex((a) => a.n === 0)
  if (untried >= 0) return untried
  let best = 0
  let bestValue = -Infinity
  arms.forEach((a, i) => {
    const value = a.sum / a.n + 0.5 * Math.sqrt(Math.log(t + 1) / a.n)
    if (value > bestValue) {
      bestValue = value
      best = i
    }
  })
  return best
}

const mipro = (input: SearchInput) =>
  Effect.gen(function*() {
    const pool = yield* bootstrapPool(input)
    if (pool === undefined) return { best: input.baseline, stopped: "budget" } satisfies SearchResult
    const k = Math.max(2, input.settings.candidates)
    const instructionOptions = new Map<string, ReadonlyArray<string | undefined>>()
    const demoOptions = new Map<string, ReadonlyArray<ReadonlyArray<Demo>>>()
    for (const s of input.signatures) {
      const mine = input.baseline[s]?.instructions
      const proposed = yield* proposals(input, s, 0, mine ?? "", [], k - 1)
      instructionOptions.set(s, [mine, ...proposed])
      const all = pool.get(s) ?? []
      const sets: Array<ReadonlyArray<Demo>> = [input.baseline[s]?.demos ?? []]
      if (all.length > 0) sets.push(all.slice(0, input.settings.maxDemos))
      for (let i = sets.length; i < k && all.length > 0; i++) {
        sets.push(input.rng.shuffle(all).slice(0, 1 + input.rng.int(Math.min(input.settings.maxDemos, all.length))))
      }
      demoOptions.set(s, sets)
    }
    const arms = new Map<string, { instructions: Array<Arm>; demos: Array<Arm> }>(
      input.signatures.map((s) => [s, {
        instructions: instructionOptions.get(s)!.map(() => ({ n: 0, sum: 0 })),
        demos: demoOptions.get(s)!.map(() => ({ n: 0, sum: 0 }))
      }])
    )
    const configs = new Map<string, { candidate: Candidate; n: number; sum: number }>()
    let stopped: SearchResult["stopped"] = "done"
    for (let t = 0; t < input.settings.trials; t++) {
      let c = input.baseline
      const chosen: Array<readonly [string, number, number]> = []
      for (const s of input.signatures) {
        const a = arms.get(s)!
        const i = ucb(a.instructions, t)
        const d = ucb(a.demos, t)
        chosen.push([s, i, d])
        const instructions = instructionOptions.get(s)![i]
        c = withSetting(c, s, {
          ...(instructions === undefined ? {} : { instructions }),
          demos: demoOptions.get(s)![d]!
        })
      }
      const trial = yield* runTrial(input.ctx, {
        candidate: c,
        examples: minibatch(input),
        split: "dev-minibatch",
        label: `trial-${t}`
      })
      if (trial === undefined) {
        stopped = "budget"
        break
      }
      for (const [s, i, d] of chosen) {
        const a = arms.get(s)!
        a.instructions[i]!.n++
        a.instructions[i]!.sum += trial.score
        a.demos[d]!.n++
        a.demos[d]!.sum += trial.score
      }
      const key = JSON.stringify(chosen)
      const conf = configs.get(key) ?? { candidate: c, n: 0, sum: 0 }
      conf.n++
      conf.sum += trial.score
      configs.set(key, conf)
    }
    let best: { candidate: Candidate; mean: number } | undefined
    for (const conf of configs.values()) {
      const mean = conf.sum / conf.n
      if (best === undefined || mean > best.mean) best = { candidate: conf.candidate, mean }
    }
    if (best === undefined) return { best: input.baseline, stopped } satisfies SearchResult
    const r = yield* scoreAll(input, [["baseline", input.baseline], ["mipro-best", best.candidate]], input.dev, "dev")
    return {
      best: bestOf(r.scored) ?? input.baseline,
      stopped: r.stopped === "budget" ? "budget" : stopped
    } satisfies SearchResult
  })

/** Runs one optimizer. */
export const search = (
  name: OptimizerName,
  input: SearchInput
): Effect.Effect<SearchResult, OptimizeError, TrialRequirements> => {
  switch (name) {
    case "bootstrap":
      return bootstrap(input)
    case "random":
      return random(input)
    case "copro":
      return copro(input)
    case "mipro":
      return mipro(input)
  }
}

export { makeRng }
