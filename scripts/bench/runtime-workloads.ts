/**
 * The runtime benchmark's workloads as plain DAGs, the same DAG as a Trellis
 * program, and the two hand-written executors Trellis is compared with: an
 * Effect executor (a Deferred per node + `Effect.forEach` with concurrency)
 * and a Promise executor.
 */
import { Deferred, Effect } from "effect"
import type { Expr, Node, Program } from "../../src/ir/schema.js"

/** A DAG in topological order: `deps[i]` are the indexes of node i's dependencies (all < i). */
export interface Dag {
  readonly name: string
  readonly deps: ReadonlyArray<ReadonlyArray<number>>
  /** Whether each node waits `waitMs` of real time (W4), else it is a no-op. */
  readonly waitMs: number
  readonly concurrency: number
}

/** A small deterministic PRNG (mulberry32), for seeded random deps. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** W1 wide: 1 root → `n` independent no-op nodes → 1 join (n + 2 nodes). */
export const wide = (n: number): Dag => {
  const deps: Array<ReadonlyArray<number>> = [[]]
  for (let i = 0; i < n; i++) deps.push([0])
  deps.push(Array.from({ length: n }, (_, i) => i + 1))
  return { name: "W1 wide", deps, waitMs: 0, concurrency: 16 }
}

/** W2 chain: `n` nodes, each depending on the previous one. */
export const chain = (n: number): Dag => ({
  name: "W2 chain",
  deps: Array.from({ length: n }, (_, i) => (i === 0 ? [] : [i - 1])),
  waitMs: 0,
  concurrency: 16
})

/** Layers of `width` nodes; each node past the first layer depends on 3 distinct seeded-random nodes of the previous layer. */
const layers = (layerCount: number, width: number, seed: number): Array<ReadonlyArray<number>> => {
  const random = prng(seed)
  const deps: Array<ReadonlyArray<number>> = []
  for (let l = 0; l < layerCount; l++) {
    for (let w = 0; w < width; w++) {
      if (l === 0) {
        deps.push([])
        continue
      }
      const picked = new Set<number>()
      while (picked.size < Math.min(3, width)) picked.add((l - 1) * width + Math.floor(random() * width))
      deps.push([...picked].sort((a, b) => a - b))
    }
  }
  return deps
}

/** W3 layered: 50 × 50 no-op nodes, 3 seeded-random deps each. */
export const layered = (layerCount = 50, width = 50): Dag => ({
  name: "W3 layered",
  deps: layers(layerCount, width, 42),
  waitMs: 0,
  concurrency: 16
})

/** W4 io-bound: 20 × 20 nodes, 3 deps each, every node waits 5 ms of real time, concurrency 16. */
export const ioBound = (): Dag => ({ name: "W4 io-bound", deps: layers(20, 20, 7), waitMs: 5, concurrency: 16 })

const ref = (name: string): Expr => ({ kind: "ref", name })

/** The DAG as a Trellis program: node i is `tool <tool>(deps: [refs])`; the result is the last node. */
export const toProgram = (dag: Dag, tool: string): Program => {
  const nodes: Array<Node> = dag.deps.map((ds, i) => ({
    id: `n${i}`,
    kind: "tool",
    tool,
    args: { deps: { kind: "list", items: ds.map((d) => ref(`n${d}`)) } }
  }))
  return {
    ir: "trellis/1",
    entry: "main",
    programs: { main: { params: [], nodes, result: ref(`n${dag.deps.length - 1}`) } },
    signatures: {}
  }
}

/** The DAG as a Trellis program of pure `expr` nodes (`len([refs])`): no tool calls at all. */
export const toExprProgram = (dag: Dag): Program => {
  const nodes: Array<Node> = dag.deps.map((ds, i) => ({
    id: `n${i}`,
    kind: "expr",
    expr: { kind: "call", fn: "len", args: [{ kind: "list", items: ds.map((d) => ref(`n${d}`)) }] }
  }))
  return {
    ir: "trellis/1",
    entry: "main",
    programs: { main: { params: [], nodes, result: ref(`n${dag.deps.length - 1}`) } },
    signatures: {}
  }
}

/**
 * Waits `ms` of real time on a raw `setTimeout`, as the Promise executor
 * does (`Effect.sleep` adds ~0.3 ms per wait on this machine: its resume
 * goes through the Clock service and the fiber scheduler), so the W4 rows
 * compare scheduling, not timers.
 */
export const waitEffect = (ms: number): Effect.Effect<null> =>
  Effect.async<null>((resume) => {
    const handle = setTimeout(() => resume(Effect.succeed(null)), ms)
    return Effect.sync(() => clearTimeout(handle))
  })

/** The hand-written Effect executor: a Deferred per node, nodes run by `Effect.forEach` with the DAG's concurrency. */
export const effectExecutor = (dag: Dag): Effect.Effect<unknown> =>
  Effect.gen(function*() {
    const n = dag.deps.length
    const done: Array<Deferred.Deferred<null>> = []
    for (let i = 0; i < n; i++) done.push(yield* Deferred.make<null>())
    const work = dag.waitMs > 0 ? waitEffect(dag.waitMs) : Effect.succeed(null)
    yield* Effect.forEach(
      dag.deps,
      (ds, i) =>
        Effect.forEach(ds, (d) => Deferred.await(done[d]!), { discard: true }).pipe(
          Effect.zipRight(work),
          Effect.flatMap((v) => Deferred.succeed(done[i]!, v))
        ),
      { concurrency: dag.concurrency, discard: true }
    )
    return yield* Deferred.await(done[n - 1]!)
  })

/** The hand-written Promise executor: a promise per node chained on its deps; waits share a counting semaphore. */
export const promiseExecutor = (dag: Dag): Promise<unknown> => {
  let free = dag.concurrency
  const queue: Array<() => void> = []
  const release = () => {
    const next = queue.shift()
    if (next !== undefined) next()
    else free++
  }
  const acquire = (): Promise<void> | undefined => {
    if (free > 0) {
      free--
      return undefined
    }
    return new Promise<void>((resolve) => queue.push(resolve))
  }
  const wait = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))
  const run = (): Promise<null> | null => {
    if (dag.waitMs === 0) return null
    const gate = acquire()
    const go = () => wait(dag.waitMs).then((v) => (release(), v))
    return gate === undefined ? go() : gate.then(go)
  }
  const results: Array<Promise<null>> = []
  for (const ds of dag.deps) {
    results.push(ds.length === 0 ? Promise.resolve(run()) : Promise.all(ds.map((d) => results[d]!)).then(run))
  }
  return results[results.length - 1]!
}
