/**
 * Fan-ins that do not wait for all: `race` (every option runs; the first to
 * succeed gives the node's value and the others are cancelled) and a map
 * with `take: k` (the first k item results in completion order; the items
 * still running are cancelled). Each option or item runs in its own
 * `Group`, so a failure inside it is its own, not the run's, and it can be
 * cancelled as a whole (in-flight calls interrupted, their handlers'
 * signals aborted, nodes recorded `Cancelled`).
 *
 * Which finished first is recorded (`FanInSettled`); a resumed or replayed
 * run runs only what was picked, in the recorded order, so its value does
 * not depend on timing the second time.
 */
import { Effect, Either } from "effect"
import { evalPure } from "../ir/eval.js"
import type { Json } from "../ir/eval.js"
import type { ErrorKind } from "../ir/schema.js"
import { errorKind, fromKind, Permanent } from "../tools/errors.js"
import type { ToolError } from "../tools/errors.js"
import { hashJson } from "../trace/contentHash.js"
import { bindParams } from "./inputs.js"
import type { Group, NodeRun } from "./runState.js"
import { Scheduler } from "./scheduler.js"

/** One failure of an option or item, for the aggregated error. */
interface Failure {
  readonly what: string
  readonly error: ToolError
}

/**
 * The error of a fan-in none of whose options (or too few of whose items)
 * succeeded: of the failures' common kind when they share one (so a retry
 * policy keyed on kinds still applies), else `Permanent`; the message lists
 * every failure.
 */
export const aggregateFailure = (head: string, failures: ReadonlyArray<Failure>): ToolError => {
  const kinds = new Set<ErrorKind>(failures.map((f) => errorKind(f.error)))
  const detail = failures.map((f) => `${f.what}: ${errorKind(f.error)}: ${f.error.message}`).join("; ")
  const message = failures.length === 0 ? head : `${head} (${detail})`
  const only = kinds.size === 1 ? [...kinds][0]! : undefined
  return only === undefined || only === "Cancelled" ? new Permanent({ message }) : fromKind(only, message)
}

/** The two attempts of a hedged call, as path segments. */
const HEDGE_LABELS = ["primary", "hedge"] as const

/** The scheduling of `race`, of `map … with { take }` / `{ fold }` and of hedged calls, between the core and the node kinds. */
export abstract class FanInScheduler extends Scheduler {
  /**
   * A hedged call (`hedge: "200ms"` on a tool or llm step): the primary attempt runs at `<node>/primary/call`;
   * when it has no result after `ms`, a second one starts at `<node>/hedge/call` (`call(path, true)`, e.g. to
   * another model route). The first success completes the node and the other is interrupted; both failing
   * fails it. The winner is recorded (`FanInSettled`); a resume or replay runs only the recorded winner.
   */
  protected execHedged(
    nr: NodeRun,
    call: (path: string, hedge: boolean) => Effect.Effect<Json, ToolError>,
    ms: number
  ): void {
    const recorded = this.config.recorded?.fanIn.get(nr.path)
    const attempt = (i: 0 | 1) =>
      Effect.map(call(`${nr.path}/${HEDGE_LABELS[i]}/call`, i === 1), (value) => [i, value] as const)
    let hedgeStarted = false
    const recordedWinner = recorded === undefined ? -1 : HEDGE_LABELS.indexOf(recorded.picked[0] as "primary")
    const raced = recordedWinner >= 0
      ? attempt(recordedWinner as 0 | 1)
      : Effect.race(
        attempt(0),
        Effect.delay(
          Effect.suspend(() => {
            hedgeStarted = true
            return attempt(1)
          }),
          `${ms} millis`
        )
      )
    this.hookless(nr, raced, ([i, value]) => {
      const dropped = recorded?.dropped ?? (hedgeStarted ? [HEDGE_LABELS[1 - i]!] : [])
      this.emit("FanInSettled", nr.path, undefined, { picked: [HEDGE_LABELS[i]], dropped })
      this.complete(nr, value)
    })
  }

  /** Runs the options of a race node at once (or only the recorded winner); the first success completes it. */
  protected execRace(nr: NodeRun): void {
    const node = nr.pn.node
    if (node.kind !== "race") return
    const labels = node.options.map((o) => o.label)
    const recorded = this.config.recorded?.fanIn.get(nr.path)
    const run = recorded === undefined
      ? labels.map((_, i) => i)
      : recorded.picked.map((label) => labels.indexOf(label)).filter((i) => i >= 0)
    if (run.length === 0) return this.failNode(nr, new Permanent({ message: "race has no option to run" }))
    const failures: Array<Failure> = []
    const started: Array<number> = []
    const settled = new Set<number>()
    this.open.add(nr)
    const fail = (i: number, error: ToolError): void => {
      if (nr.done || settled.has(i)) return
      settled.add(i)
      this.cancelGroups([groups[i]!], `cancelled: option "${labels[i]}" of race ${nr.path} failed`)
      failures.push({ what: `option "${labels[i]}"`, error })
      if (failures.length === run.length) {
        this.failNode(nr, aggregateFailure(`race ${nr.path}: every option failed`, failures))
      }
    }
    const win = (i: number, value: Json): void => {
      if (nr.done || settled.has(i)) return
      settled.add(i)
      const dropped = recorded?.dropped ?? started.filter((j) => j !== i).map((j) => labels[j]!)
      this.emit("FanInSettled", nr.path, undefined, { picked: [labels[i]!], dropped })
      const losers = started.filter((j) => j !== i).map((j) => groups[j]!)
      this.cancelGroups(losers, `cancelled: option "${labels[i]}" of race ${nr.path} won`)
      this.complete(nr, value)
    }
    const groups: Array<Group | undefined> = []
    for (const i of run) {
      if (nr.done || this.status !== "running") break
      groups[i] = this.makeGroup(nr, (error) => fail(i, error))
      started.push(i)
      this.startScope(
        nr.pn.scopes[i]!,
        `${nr.path}/${labels[i]}/`,
        nr.scope.env,
        nr.scope.depth + 1,
        nr.budgets,
        (v) => win(i, v),
        (e) => fail(i, e),
        groups[i]
      )
    }
  }

  /**
   * Runs a map's items (within its concurrency) until `take` of them have succeeded; with `fold`, combines
   * each result into the accumulator as it arrives (`FoldUpdated`), and the accumulator is the value.
   */
  protected execTake(nr: NodeRun, items: ReadonlyArray<Json>, take: number): void {
    const node = nr.pn.node
    if (node.kind !== "map") return
    const k = Math.floor(take)
    const folder = node.fold === undefined ? undefined : this.config.plan.programs.get(node.fold)
    let acc: Json = null
    if (node.fold !== undefined) {
      if (folder === undefined || folder.params.length !== 2) {
        return this.failNode(nr, new Permanent({ message: `fold: no program "${node.fold}" of two parameters` }))
      }
      const init = node.init === undefined ? Either.right(null) : evalPure(node.init, nr.scope.env)
      if (Either.isLeft(init)) return this.failNode(nr, new Permanent({ message: `init: ${init.left.message}` }))
      acc = init.right
      if (items.length === 0) return this.complete(nr, acc)
    }
    if (!(k >= 1) || k > items.length) {
      return this.failNode(
        nr,
        new Permanent({ message: `take ${take} of ${items.length} items: at most ${items.length} results can arrive` })
      )
    }
    const recorded = this.config.recorded?.fanIn.get(nr.path)
    // A resumed or replayed run runs the items it picked, and orders them as recorded.
    const order = recorded === undefined
      ? items.map((_, i) => i)
      : recorded.picked.map(Number).filter((i) => Number.isInteger(i) && i >= 0 && i < items.length)
    const slotOf = new Map<number, number>()
    if (recorded !== undefined) order.forEach((item, slot) => slotOf.set(item, slot))
    const cap = node.concurrency !== undefined && node.concurrency >= 1 ? Math.floor(node.concurrency) : Infinity
    const results: Array<Json> = []
    const picked: Array<number> = []
    const started: Array<number> = []
    const groups = new Map<number, Group>()
    const failures: Array<Failure> = []
    const finished = new Set<number>()
    let next = 0
    let active = 0
    let starting = false
    let settled = false
    // The fold: results are combined in slot order (completion order; a replay's recorded order), one at a time.
    const filled: Array<boolean> = []
    let folding = false
    let folded = 0
    const finish = (): void => {
      if (!settled || nr.done) return
      if (folder === undefined) return this.complete(nr, results)
      if (folded === k && !folding) this.complete(nr, acc)
    }
    const pump = (): void => {
      while (folder !== undefined && !folding && !nr.done && folded < k && filled[folded] === true) {
        const step = folded
        const [accParam, itemParam] = folder.params
        const bound = bindParams(
          folder.params,
          { [accParam!.name]: acc, [itemParam!.name]: results[step]! },
          `program "${folder.name}"`
        )
        if (Either.isLeft(bound)) return this.failNode(nr, new Permanent({ message: `fold: ${bound.left}` }))
        const params = bound.right
        folding = true
        this.startScope(
          folder.scope,
          `${nr.path}/fold/${step}/`,
          (name) => params.get(name),
          nr.scope.depth + 1,
          nr.budgets,
          (v) => {
            if (nr.done) return
            folding = false
            acc = v
            folded++
            this.emit("FoldUpdated", nr.path, undefined, { step, valueHash: hashJson(v), value: v })
            pump()
            finish()
          },
          (e) => this.failNode(nr, e),
          nr.scope.group
        )
      }
    }
    this.open.add(nr)
    const settle = (): void => {
      settled = true
      const dropped = recorded?.dropped ?? started.filter((i) => !picked.includes(i)).map(String)
      // Picked in completion order (a replay: in the recorded order).
      const pickedOrder = recorded === undefined ? picked : order
      this.emit("FanInSettled", nr.path, undefined, { picked: pickedOrder.map(String), dropped })
      const rest = started.filter((i) => !finished.has(i)).map((i) => groups.get(i)!)
      this.cancelGroups(rest, `cancelled: map ${nr.path} took its first ${k} results`)
      finish()
    }
    const done = (i: number, value: Json): void => {
      if (nr.done || finished.has(i)) return
      finished.add(i)
      active--
      const slot = slotOf.get(i) ?? picked.length
      results[slot] = value
      filled[slot] = true
      picked.push(i)
      pump()
      if (nr.done) return
      if (picked.length === k) return settle()
      startMore()
    }
    const fail = (i: number, error: ToolError): void => {
      if (nr.done || finished.has(i)) return
      finished.add(i)
      active--
      this.cancelGroups([groups.get(i)!], `cancelled: item ${i} of map ${nr.path} failed`)
      failures.push({ what: `item ${i}`, error })
      if (order.length - failures.length < k) {
        return this.failNode(
          nr,
          aggregateFailure(`map ${nr.path}: fewer than ${k} of ${order.length} items can succeed`, failures)
        )
      }
      startMore()
    }
    const body = nr.pn.scopes[0]!
    const outer = nr.scope.env
    const binder = node.as
    const startMore = (): void => {
      // Items whose body completes synchronously re-enter here; the outer loop starts the next ones.
      if (starting) return
      starting = true
      while (active < cap && next < order.length && !nr.done && this.status === "running") {
        const i = order[next++]!
        const item = items[i]!
        active++
        const group = this.makeGroup(nr, (error) => fail(i, error))
        groups.set(i, group)
        started.push(i)
        this.startScope(
          body,
          `${nr.path}/${i}/`,
          (name) => (name === binder ? item : outer(name)),
          nr.scope.depth + 1,
          nr.budgets,
          (v) => done(i, v),
          (e) => fail(i, e),
          group
        )
      }
      starting = false
    }
    startMore()
  }
}
