/**
 * Monte-Carlo tree search over a program's `choose` steps: a policy planner
 * for nested and sequential choices. The choose tree of a body is its
 * `choose` steps in order; each option leads to the chooses nested in its
 * body, then to the chooses that follow in the enclosing body. A full path
 * through the tree is one run's choices. MCTS (UCT: select by UCB1, expand
 * one option, roll out uniformly to a leaf, back up the reward) estimates
 * each path's value from a reward function — typically `recordedReward`,
 * which samples the rewards recorded for runs that made the same choices
 * (with a prior for paths nobody took). The plan is the most-visited option
 * at each step. Pure: randomness is the given uniform generator.
 */
import type { Body, ChooseNode, Node, Program } from "../../ir/schema.js"
import type { Uniform } from "./sample.js"

/** A choose step of the tree: its key and, per option, the tree after it (null: no further choice). */
export interface ChooseTree {
  readonly key: string
  readonly options: ReadonlyArray<{ readonly label: string; readonly next: ChooseTree | null }>
}

/** One full path: the option taken at each choose key on it. */
export type ChoicePath = Readonly<Record<string, string>>

const choosesOf = (nodes: ReadonlyArray<Node>): ReadonlyArray<ChooseNode> =>
  nodes.filter((n): n is ChooseNode => n.kind === "choose")

const treeOfSeq = (steps: ReadonlyArray<ChooseNode>): ChooseTree | null => {
  const first = steps[0]
  if (first === undefined) return null
  const rest = steps.slice(1)
  return {
    key: first.key,
    options: first.options.map((o) => ({ label: o.label, next: treeOfSeq([...choosesOf(o.body.nodes), ...rest]) }))
  }
}

/** The choose tree of a body: its top-level chooses in order, each option leading into its nested ones. */
export const treeOfBody = (body: Body): ChooseTree | null => treeOfSeq(choosesOf(body.nodes))

/** The choose tree of a program's entry (null when it has no `choose` at its top level). */
export const treeOfProgram = (program: Program): ChooseTree | null => {
  const entry = program.programs[program.entry]
  return entry === undefined ? null : treeOfSeq(choosesOf(entry.nodes))
}

/** Every full path of a tree (for small trees and tests). */
export const pathsOf = (tree: ChooseTree | null, prefix: ChoicePath = {}): ReadonlyArray<ChoicePath> =>
  tree === null
    ? [prefix]
    : tree.options.flatMap((o) => pathsOf(o.next, { ...prefix, [tree.key]: o.label }))

/** A recorded run: its choices and its reward. */
export interface RecordedOutcome {
  readonly choices: ChoicePath
  readonly reward: number
}

/**
 * A reward function from recorded outcomes: a path's reward is drawn uniformly from the rewards of runs whose
 * choices agree with it on every key of the path; a path nobody took gets `prior` (optimism makes the search
 * try it; the plan still prefers paths with evidence once they are visited).
 */
export const recordedReward = (
  outcomes: ReadonlyArray<RecordedOutcome>,
  prior: number
): (path: ChoicePath, u: Uniform) => number => {
  const cache = new Map<string, ReadonlyArray<number>>()
  return (path, u) => {
    const k = JSON.stringify(Object.entries(path).sort())
    let rewards = cache.get(k)
    if (rewards === undefined) {
      rewards = outcomes.filter((o) => Object.entries(path).every(([key, opt]) => o.choices[key] === opt)).map((o) =>
        o.reward
      )
      cache.set(k, rewards)
    }
    return rewards.length === 0 ? prior : rewards[Math.min(rewards.length - 1, Math.floor(u() * rewards.length))]!
  }
}

interface SearchNode {
  visits: number
  total: number
  readonly children: Map<string, SearchNode>
}

const newNode = (): SearchNode => ({ visits: 0, total: 0, children: new Map() })

/** Options of `search`. */
export interface SearchOptions {
  /** Simulations. @default 1000 */
  readonly iterations?: number
  /** The UCB1 exploration constant. @default √2 */
  readonly exploration?: number
}

/** The plan: the chosen path, its estimated value and visits, and per step the statistics of every option. */
export interface Plan {
  readonly path: ChoicePath
  readonly value: number
  readonly steps: ReadonlyArray<{
    readonly key: string
    readonly option: string
    readonly options: ReadonlyArray<{ readonly label: string; readonly visits: number; readonly mean: number }>
  }>
  readonly iterations: number
}

/** UCT search of `tree` with rewards from `reward(path, u)`. */
export const search = (
  tree: ChooseTree,
  reward: (path: ChoicePath, u: Uniform) => number,
  u: Uniform,
  options: SearchOptions = {}
): Plan => {
  const iterations = Math.max(1, Math.floor(options.iterations ?? 1000))
  const c = options.exploration ?? Math.SQRT2
  const root = newNode()
  for (let it = 0; it < iterations; it++) {
    const visited: Array<SearchNode> = [root]
    const path: Record<string, string> = {}
    let node = root
    let t: ChooseTree | null = tree
    // Selection and expansion: descend by UCB1; an option never tried is taken first.
    while (t !== null) {
      const untried = t.options.filter((o) => !node.children.has(o.label))
      let pick: { readonly label: string; readonly next: ChooseTree | null }
      if (untried.length > 0) {
        pick = untried[Math.min(untried.length - 1, Math.floor(u() * untried.length))]!
        node.children.set(pick.label, newNode())
        path[t.key] = pick.label
        node = node.children.get(pick.label)!
        visited.push(node)
        t = pick.next
        break
      }
      const parentVisits = node.visits
      let best = t.options[0]!
      let top = -Infinity
      for (const o of t.options) {
        const child = node.children.get(o.label)!
        const score = child.total / child.visits + c * Math.sqrt(Math.log(parentVisits) / child.visits)
        if (score > top) {
          top = score
          best = o
        }
      }
      pick = best
      path[t.key] = pick.label
      node = node.children.get(pick.label)!
      visited.push(node)
      t = pick.next
    }
    // Rollout: uniform choices to a leaf.
    while (t !== null) {
      const o: { readonly label: string; readonly next: ChooseTree | null } = t
        .options[Math.min(t.options.length - 1, Math.floor(u() * t.options.length))]!
      path[t.key] = o.label
      t = o.next
    }
    const r = reward(path, u)
    for (const n of visited) {
      n.visits += 1
      n.total += r
    }
  }
  // The plan: the most visited option at every step (ties: the better mean, then option order).
  const steps: Array<Plan["steps"][number]> = []
  const path: Record<string, string> = {}
  let node: SearchNode | undefined = root
  let t: ChooseTree | null = tree
  let value = root.visits === 0 ? 0 : root.total / root.visits
  while (t !== null && node !== undefined) {
    const stats = t.options.map((o) => {
      const child = node!.children.get(o.label)
      return { label: o.label, visits: child?.visits ?? 0, mean: child === undefined ? 0 : child.total / child.visits }
    })
    let best = 0
    for (let i = 1; i < stats.length; i++) {
      const s = stats[i]!
      const b = stats[best]!
      if (s.visits > b.visits || (s.visits === b.visits && s.mean > b.mean)) best = i
    }
    const chosen: { readonly label: string; readonly next: ChooseTree | null } = t.options[best]!
    steps.push({ key: t.key, option: chosen.label, options: stats })
    path[t.key] = chosen.label
    value = stats[best]!.mean
    node = node.children.get(chosen.label)
    t = chosen.next
  }
  return { path, value, steps, iterations }
}
