/** Trace summaries on hand-written traces: exact counts, latency histogram, errors by kind, JSON survival. */
import { describe, expect, it } from "@effect/vitest"
import { combine, empty, LATENCY_BOUNDS_MS, latencyBucket, summarize } from "../../src/trace/summary.js"
import type { Summary } from "../../src/trace/summary.js"
import { traceOf } from "../support/traceArbitrary.js"

const returned = (
  latencyMs: number,
  cost: number,
  source: "tool" | "cache" | "idempotency" = "tool",
  tokens?: number
) =>
  ({
    tool: "t",
    outputHash: "h",
    latencyMs,
    cost,
    source,
    output: null,
    ...(tokens === undefined ? {} : { tokens })
  }) as const

const run1 = traceOf("a", [
  ["RunStarted", {}, { programHash: "p", inputsHash: "i", seed: null, mode: "live" }],
  ["ToolCalled", { node: "n0", attempt: 1 }, { tool: "t", argsHash: "x" }],
  ["NodeRetrying", { node: "n0", attempt: 1 }, { attempt: 1, delayMs: 100, errorKind: "Timeout", message: "slow" }],
  ["ToolCalled", { node: "n0", attempt: 2 }, { tool: "t", argsHash: "x" }],
  ["ToolReturned", { node: "n0", attempt: 2 }, returned(30, 0.25, "tool", 120)],
  ["Chunk", { node: "n0", attempt: 2 }, { index: 0, text: "a" }],
  ["NodeCompleted", { node: "n0" }, { outputHash: "h" }],
  ["ToolReturned", { node: "n1", attempt: 1 }, returned(0, 0, "cache")],
  ["NodeCompleted", { node: "n1" }, { outputHash: "h" }],
  ["RunCompleted", {}, { outputHash: "h", output: null }]
])

const run2 = traceOf("b", [
  ["RunStarted", {}, { programHash: "p", inputsHash: "i", seed: null, mode: "live" }],
  ["ToolCalled", { node: "n0", attempt: 1 }, { tool: "t", argsHash: "x" }],
  ["ToolReturned", { node: "n0", attempt: 1 }, returned(7000, 1.5)],
  ["NodeFailed", { node: "n1" }, { errorKind: "Permanent", message: "no" }],
  ["NodeFailed", { node: "n2" }, { errorKind: "Cancelled", message: "interrupted" }],
  ["RunFailed", {}, { errorKind: "Permanent", message: "no", failedNode: "n1" }]
])

const run3 = traceOf("c", [
  ["RunStarted", {}, { programHash: "p", inputsHash: "i", seed: 1, mode: "live" }],
  ["RunFailed", {}, { errorKind: "BudgetExceeded", message: "cost budget 1 exceeded" }],
  ["RunStarted", {}, { programHash: "p", inputsHash: "i", seed: 1, mode: "resume" }],
  ["RunCancelled", {}, { reason: "stop" }]
])

describe("summary", () => {
  it("counts, latency, cost, tokens and errors by kind of several runs", () => {
    const buckets = LATENCY_BOUNDS_MS.map(() => 0).concat([0])
    buckets[latencyBucket(30)] = 1
    buckets[latencyBucket(7000)] = 1
    expect(summarize([...run1, ...run2, ...run3])).toEqual(
      {
        events: {
          RunStarted: 4,
          NodeReady: 0,
          NodeStarted: 0,
          ToolCalled: 3,
          ToolReturned: 3,
          NodeRetrying: 1,
          NodeFailed: 2,
          NodeCompleted: 2,
          ChoiceMade: 0,
          Chunk: 1,
          Waiting: 0,
          Signalled: 0,
          TimerFired: 0,
          RunCompleted: 1,
          RunFailed: 2,
          RunCancelled: 1,
          FanInSettled: 0,
          FoldUpdated: 0,
          BreakerChanged: 0
        },
        runs: { completed: 1, failed: 2, cancelled: 1 },
        nodes: { completed: 2, failed: 1, cancelled: 1 },
        toolCalls: 3,
        retries: 1,
        cached: 1,
        errors: {
          Timeout: 1,
          RateLimited: 0,
          Transient: 0,
          Permanent: 1,
          Cancelled: 1,
          BudgetExceeded: 1,
          ResourceExhausted: 0,
          CircuitOpen: 0,
          Defect: 0
        },
        latency: { count: 2, sum: 7030, min: 30, max: 7000, buckets },
        cost: 1.75,
        tokens: 120,
        chunks: 1
      } satisfies Summary
    )
    expect(buckets).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0])
  })

  it("histogram bounds are inclusive; above the last bound is the overflow bucket", () => {
    expect([0, 1, 1.5, 5, 10000, 10000.5].map(latencyBucket)).toEqual([0, 0, 1, 1, 11, 12])
  })

  it("the empty summary has null min and max and survives JSON", () => {
    expect(summarize([])).toEqual(empty)
    expect(empty.latency).toEqual({
      count: 0,
      sum: 0,
      min: null,
      max: null,
      buckets: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    })
    const s = summarize(run1)
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
    expect(JSON.parse(JSON.stringify(empty))).toEqual(empty)
  })

  it("combine of per-run summaries is the summary of all the events", () => {
    const all = summarize([...run1, ...run2, ...run3])
    expect(combine(combine(summarize(run1), summarize(run2)), summarize(run3))).toEqual(all)
    expect(combine(summarize(run1), combine(summarize(run2), summarize(run3)))).toEqual(all)
    expect(combine(empty, all)).toEqual(all)
    expect(combine(all, empty)).toEqual(all)
    // A latency of 0 is a real minimum, not "none".
    const zero = summarize(traceOf("z", [["ToolReturned", { node: "n0", attempt: 1 }, returned(0, 0)]]))
    expect(combine(zero, summarize(run2)).latency.min).toBe(0)
  })
})
