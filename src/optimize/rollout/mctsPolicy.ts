/**
 * MCTS from the log, for `trellis eval policy <key> --target mcts[:iterations] --program p.tr`: the rewarded
 * runs of the root `choose` key of a program's choose tree (`runtime/bandit/mcts.ts`), each with every choice it
 * made on the tree (its `ChoiceMade` events), become recorded outcomes. A plan searched by MCTS over the outcomes
 * of the earlier half of the log is evaluated off-policy on the later half (never on its own evidence): the
 * target is the plan ε-mixed per step (the plan's option 1 − ε + ε/k, the others ε/k; a key off the plan's path
 * uniform), a joint decision's propensity the product of its steps' logged propensities, its target probability
 * the product of the target's — the same IPS, SNIPS and DR estimators as every other target. The strategies that
 * may go live (`fixed` per plan step, uniform off the plan) run exactly that target.
 */
import { Effect } from "effect"
import { loggedDecisions } from "../../eval/ope/logged.js"
import type { ChoicePath, ChooseTree, Plan } from "../../runtime/bandit/mcts.js"
import { pathsOf, recordedReward, search } from "../../runtime/bandit/mcts.js"
import { makeUniform } from "../../runtime/bandit/sample.js"
import type { BanditStrategy } from "../../runtime/bandit/state.js"
import { fixedPropensities } from "../../runtime/bandit/strategy.js"
import { EventLog } from "../../trace/events.js"
import { evaluateContextual } from "./policyGate.js"

/** One rewarded run on the tree: its path, the joint propensity of its choices, its policies and its reward. */
export interface PathOutcome {
  readonly runId: string
  readonly choices: ChoicePath
  readonly propensity: number
  readonly policy: string
  readonly reward: number
}

/** The keys of a tree (each once, in first-seen order) with their options. */
export const keysOf = (tree: ChooseTree | null, into = new Map<string, ReadonlyArray<string>>()) => {
  if (tree === null) return into
  if (!into.has(tree.key)) into.set(tree.key, tree.options.map((o) => o.label))
  for (const o of tree.options) keysOf(o.next, into)
  return into
}

/** The full path `choices` take through `tree`, or undefined when they leave it (a missing key, an unknown option). */
const walk = (tree: ChooseTree | null, choices: ChoicePath): ChoicePath | undefined => {
  const path: Record<string, string> = {}
  let t = tree
  while (t !== null) {
    const label = choices[t.key]
    const next = t.options.find((o) => o.label === label)
    if (label === undefined || next === undefined) return undefined
    path[t.key] = label
    t = next.next
  }
  return Object.keys(path).length === Object.keys(choices).length ? path : undefined
}

/** A path as one option label: `key=option` steps joined by ` > `. */
export const pathLabel = (path: ChoicePath): string => Object.entries(path).map(([k, o]) => `${k}=${o}`).join(" > ")

/**
 * The rewarded runs of the tree's root key since `since`, on the tree: each run's choices under the tree's keys
 * (a key chosen twice in one run, or choices that leave the tree, put the run among `offTree`).
 */
export const treeLog = (tree: ChooseTree, since = 0) =>
  Effect.gen(function*() {
    const log = yield* loggedDecisions(tree.key, since)
    const keys = keysOf(tree)
    const events = yield* EventLog
    const rows: Array<PathOutcome> = []
    const offTree: Array<string> = []
    const seen = new Set<string>()
    for (const d of log.decisions) {
      if (seen.has(d.runId)) continue
      seen.add(d.runId)
      const choices: Record<string, string> = {}
      let propensity = 1
      const policies = new Set<string>()
      let twice = false
      for (const e of yield* events.events(d.runId)) {
        if (e.type !== "ChoiceMade" || !keys.has(e.data.key)) continue
        if (e.data.key in choices) twice = true
        choices[e.data.key] = e.data.option
        propensity *= e.data.propensity
        policies.add(e.data.policy)
      }
      const path = twice ? undefined : walk(tree, choices)
      if (path === undefined) {
        offTree.push(d.runId)
        continue
      }
      rows.push({ runId: d.runId, choices: path, propensity, policy: [...policies].sort().join("+"), reward: d.reward })
    }
    return { rows, offTree, runsWithoutChoices: log.runsWithoutChoices }
  })

/** The probability of every full path of `tree` under a plan ε-mixed per step (uniform at keys off the plan). */
export const planTarget = (tree: ChooseTree, plan: ChoicePath, epsilon: number): ReadonlyMap<string, number> => {
  const keys = keysOf(tree)
  return new Map(
    pathsOf(tree).map((path) => {
      let p = 1
      for (const [key, option] of Object.entries(path)) {
        const options = keys.get(key)!
        const planned = plan[key]
        p *= planned === undefined ? 1 / options.length : fixedPropensities(options, planned, epsilon).get(option)!
      }
      return [pathLabel(path), p] as const
    })
  )
}

/** The strategies that run `planTarget`: `fixed` at every key of the plan, uniform at the other keys of the tree. */
export const planStrategies = (
  tree: ChooseTree,
  plan: ChoicePath,
  epsilon: number
): Readonly<Record<string, BanditStrategy>> =>
  Object.fromEntries(
    [...keysOf(tree).keys()].map((key) =>
      [
        key,
        plan[key] === undefined
          ? { kind: "epsilon-greedy", epsilon: 1 }
          : { kind: "fixed", option: plan[key]!, epsilon }
      ] as const
    )
  )

/** Options of `evaluateMcts`. */
export interface MctsEvaluation {
  /** MCTS simulations. @default 1000 */
  readonly iterations?: number
  /** The uniform share of each planned step. @default 0.05 */
  readonly epsilon?: number
  /** The share of the log (its beginning) the evaluated plan is searched on. @default 0.5 */
  readonly trainFraction?: number
  readonly resamples?: number
  readonly seed?: number
}

const meanReward = (rows: ReadonlyArray<PathOutcome>) =>
  rows.length === 0 ? 0 : rows.reduce((s, r) => s + r.reward, 0) / rows.length

/** Searches with `iterations` simulations on `rows` (paths nobody took get the rows' mean reward). */
const planOn = (tree: ChooseTree, rows: ReadonlyArray<PathOutcome>, iterations: number, seed: number): Plan =>
  search(tree, recordedReward(rows, meanReward(rows)), makeUniform(seed), { iterations })

/**
 * Searches a plan on the first `trainFraction` of the rows and estimates the ε-mixed plan's value on the rest;
 * also the plan searched on all rows and its strategies, ready for `Runtime.run`'s `strategies`.
 */
export const evaluateMcts = (tree: ChooseTree, rows: ReadonlyArray<PathOutcome>, settings: MctsEvaluation = {}) => {
  const iterations = settings.iterations ?? 1000
  const epsilon = settings.epsilon ?? 0.05
  const seed = settings.seed ?? 0
  const cut = Math.max(1, Math.min(rows.length - 1, Math.floor(rows.length * (settings.trainFraction ?? 0.5))))
  const trainPlan = planOn(tree, rows.slice(0, cut), iterations, seed)
  const target = planTarget(tree, trainPlan.path, epsilon)
  const held = rows.slice(cut)
  const value = evaluateContextual(
    held.map((r) => ({
      runId: r.runId,
      option: pathLabel(r.choices),
      propensity: r.propensity,
      policy: r.policy,
      reward: r.reward,
      target
    })),
    `mcts:${iterations}`,
    {
      ...(settings.resamples === undefined ? {} : { resamples: settings.resamples }),
      seed
    }
  )
  const plan = planOn(tree, rows, iterations, seed)
  return {
    value,
    evaluatedPlan: trainPlan,
    plan,
    strategies: planStrategies(tree, plan.path, epsilon),
    trained: cut,
    evaluated: held.length
  }
}
