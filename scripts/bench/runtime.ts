/**
 * Benchmark of the runtime (issue 3, item 8): workloads W1 wide (1 → 10,000
 * no-op nodes → 1 join), W2 chain (10,000), W3 layered (50×50, 3 seeded
 * random deps each), W4 io-bound (20×20, 3 deps, each node waits 5 ms,
 * concurrency 16); rows Trellis (tool nodes, every event kept in memory),
 * Trellis with pure `expr` nodes, a hand-written Effect executor (Deferred
 * per node + Effect.forEach with concurrency) and a hand-written Promise
 * executor; µs per node, peak heap, W4 makespan and its ratio to the Promise
 * executor's; linearity of Trellis from 1k to 100k nodes. Every cell runs in
 * its own process. Writes scripts/bench/results/runtime.json.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

interface Cell {
  readonly workload: string
  readonly executor: string
  readonly nodes: number
  readonly medianMs: number
  readonly usPerNode: number
  readonly runsMs: ReadonlyArray<number>
  readonly peakHeapMB: number
  readonly maxRssMB: number
  readonly planMs?: number
  readonly events?: number
}

/**
 * V8's young generation, in MB per semi-space, for every cell alike. The default (16 MB here) makes a
 * 100k-node run that keeps all its ~500k events in memory spend most of its time in scavenges promoting
 * them (W1 100k: 11.7 µs/node with the default, 6.2 with 32 MB); a server running big programs would set
 * it too (`NODE_OPTIONS=--max-semi-space-size=32`).
 */
const SEMI_SPACE_MB = 32

const cell = (workload: string, size: number, executor: string, reps: number): Cell => {
  const out = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=8192",
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      "--import",
      "tsx",
      join(here, "runtime-worker.ts"),
      workload,
      String(size),
      executor,
      String(reps)
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }
  )
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Cell
}

/**
 * The W4 cells, run in rounds: each round runs every executor in its own
 * process, in a rotated order, and a cell's runs are those of all rounds.
 * W4 compares makespans across executors, and the load of a shared machine
 * drifts over the tens of seconds the cells take one after the other;
 * interleaving spreads that drift over every executor alike.
 */
const interleaved = (workload: string, size: number, reps: number): Array<Cell> => {
  const rounds = 3
  const per = Math.max(1, Math.ceil(reps / rounds))
  const runs = new Map<string, Array<Cell>>(IO_EXECUTORS.map((ex) => [ex, []]))
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < IO_EXECUTORS.length; k++) {
      const ex = IO_EXECUTORS[(k + r) % IO_EXECUTORS.length]!
      runs.get(ex)!.push(cell(workload, size, ex, per))
    }
  }
  return IO_EXECUTORS.map((ex) => {
    const cs = runs.get(ex)!
    const runsMs = cs.flatMap((c) => c.runsMs)
    const sorted = [...runsMs].sort((a, b) => a - b)
    const medianMs = sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
    return {
      ...cs[0]!,
      medianMs,
      usPerNode: (medianMs * 1000) / cs[0]!.nodes,
      runsMs,
      peakHeapMB: Math.max(...cs.map((c) => c.peakHeapMB)),
      maxRssMB: Math.max(...cs.map((c) => c.maxRssMB))
    }
  })
}

const EXECUTORS = ["trellis", "trellis-run", "trellis-epromise", "trellis-expr", "effect", "promise"] as const
const IO_EXECUTORS = ["trellis", "trellis-run", "trellis-epromise", "effect", "promise"] as const
/** The Trellis rows with a tool per node (one per handler shape). */
const TOOL_EXECUTORS = ["trellis", "trellis-run", "trellis-epromise"] as const
const fmt = (n: number, digits = 2) => n.toFixed(digits).padStart(8)

/** Runs the whole suite, prints a table, writes the JSON report. */
export const runRuntimeBench = (): Record<string, unknown> => {
  const loadBefore = os.loadavg()
  const quick = process.env["RUNTIME_BENCH_QUICK"] === "1"
  const table: Array<Cell> = []
  const workloads: ReadonlyArray<readonly [string, number, number]> = [
    ["W1", 10_000, 9],
    ["W2", 10_000, 9],
    ["W3", 2_500, 15],
    ["W4", 400, 15]
  ]
  console.log("workload  executor       nodes  µs/node (median)  µs/node (best)  median ms  peak heap MB")
  for (const [w, size, reps] of workloads) {
    // Pure expr nodes never wait, so they say nothing about an io-bound workload.
    const cells = w === "W4" ? interleaved(w, size, reps) : EXECUTORS.map((ex) => cell(w, size, ex, reps))
    for (const c of cells) {
      const ex = c.executor
      table.push(c)
      const best = (Math.min(...c.runsMs) * 1000) / c.nodes
      console.log(
        `${w.padEnd(8)}  ${ex.padEnd(12)} ${String(c.nodes).padStart(7)} ${fmt(c.usPerNode)}          ${
          fmt(best)
        }        ${fmt(c.medianMs, 1)}    ${fmt(c.peakHeapMB, 1)}`
      )
    }
  }
  const w4 = (ex: string) => table.find((c) => c.workload === "W4" && c.executor === ex)!
  const promiseMakespan = w4("promise").medianMs
  const makespan = Object.fromEntries(
    IO_EXECUTORS.map((ex) => [ex, { ms: w4(ex).medianMs, ratioToPromise: w4(ex).medianMs / promiseMakespan }])
  )
  console.log(
    `W4 makespan: ${
      IO_EXECUTORS.map((ex) =>
        `${ex} ${w4(ex).medianMs.toFixed(1)} ms (×${(w4(ex).medianMs / promiseMakespan).toFixed(3)})`
      ).join(", ")
    }`
  )

  const linearity: Array<
    { workload: string; executor: string; nodes: number; usPerNode: number; planMs: number | undefined }
  > = []
  for (const w of quick ? [] : ["W1", "W2"]) {
    for (const ex of ["trellis", "trellis-discard"]) {
      for (const size of [1_000, 10_000, 100_000]) {
        const known = ex === "trellis" && size === 10_000
          ? table.find((x) => x.workload === w && x.executor === ex)
          : undefined
        // Short runs are noisy: more of them at 1k.
        const c = known ?? cell(w, size, ex, size > 10_000 ? 3 : size < 10_000 ? 25 : 9)
        linearity.push({ workload: w, executor: ex, nodes: c.nodes, usPerNode: c.usPerNode, planMs: c.planMs })
        console.log(
          `linearity ${w} ${ex.padEnd(15)} ${String(c.nodes).padStart(7)} nodes: ${
            c.usPerNode.toFixed(2)
          } µs/node (plan ${c.planMs?.toFixed(0)} ms)`
        )
      }
    }
  }
  const ratio = (w: string, ex = "trellis") => {
    const xs = linearity.filter((l) => l.workload === w && l.executor === ex)
    return xs.length === 0 ? Number.NaN : xs[xs.length - 1]!.usPerNode / xs[0]!.usPerNode
  }
  const atMost10 = (ex: string) =>
    ["W1", "W2", "W3"].every((w) => table.find((c) => c.workload === w && c.executor === ex)!.usPerNode <= 10)
  const targets = {
    usPerNodeAtMost10OnW1toW3: atMost10("trellis"),
    usPerNodeAtMost10OnW1toW3RunTool: atMost10("trellis-run"),
    usPerNodeAtMost10OnW1toW3EffectPromiseTool: atMost10("trellis-epromise"),
    w4MakespanAtMost105OfPromise: makespan["trellis"]!.ratioToPromise <= 1.05,
    w4RunToolAtMost105OfPromise: makespan["trellis-run"]!.ratioToPromise <= 1.05,
    w4EffectPromiseToolAtMost105OfPromise: makespan["trellis-epromise"]!.ratioToPromise <= 1.05,
    ...(quick ? {} : { linear1kTo100k: ratio("W1") < 1.5 && ratio("W2") < 1.5 })
  }
  const perNode = Object.fromEntries(
    ["W1", "W2", "W3"].map((
      w
    ) => [
      w,
      Object.fromEntries(
        TOOL_EXECUTORS.map((ex) => [ex, table.find((c) => c.workload === w && c.executor === ex)!.usPerNode])
      )
    ])
  )
  const report = {
    bench: "runtime",
    node: process.version,
    note:
      `µs/node = median run time / nodes (runsMs has every run; the best run is the floor without GC pauses or other load on the machine); W4 cells run in 3 interleaved rounds of 5 runs after 5 warm-up runs (each executor in its own process per round, order rotated) so load drift on a shared machine hits every executor alike; Trellis rows keep every run event in memory (fresh in-memory EventSink per run); the plan is built once per program (planMs, not in µs/node); W4 nodes wait on setTimeout in every executor; every cell runs with --max-semi-space-size=${SEMI_SPACE_MB}`,
    loadAverage: os.loadavg(),
    loadAverageBefore: loadBefore,
    cores: os.cpus().length,
    table,
    toolShapesUsPerNode: perNode,
    w4Makespan: makespan,
    linearity,
    ratio100kTo1kPerNode: {
      W1: Number(ratio("W1").toFixed(3)),
      W2: Number(ratio("W2").toFixed(3)),
      W1EventsDiscarded: Number(ratio("W1", "trellis-discard").toFixed(3)),
      W2EventsDiscarded: Number(ratio("W2", "trellis-discard").toFixed(3))
    },
    targets
  }
  console.log(`targets: ${JSON.stringify(targets)}`)
  mkdirSync(join(here, "results"), { recursive: true })
  writeFileSync(join(here, "results", "runtime.json"), JSON.stringify(report, null, 2) + "\n")
  return report
}
