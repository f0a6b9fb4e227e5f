/** The trace reducer on hand-written traces: retry, failure, cancellation, resume, cached results, choices and chunks. */
import { describe, expect, it } from "@effect/vitest"
import { fold, foldAll, initialState, isFinished } from "../../src/trace/fold.js"
import type { AttemptState, NodeState, RunState } from "../../src/trace/fold.js"
import { traceOf } from "../support/traceArbitrary.js"

const started = { programHash: "sha256:p", inputsHash: "ih", seed: 7, mode: "live" as const, inputs: { q: "why" } }

const attempt = (
  a: Partial<AttemptState> & Pick<AttemptState, "attempt" | "startedAt" | "argsHash">
): AttemptState => ({
  endedAt: null,
  idempotencyKey: null,
  outputHash: null,
  latencyMs: null,
  cost: null,
  errorKind: null,
  message: null,
  retryDelayMs: null,
  ...a
})

const node = (n: Partial<NodeState> & Pick<NodeState, "path" | "state">): NodeState => ({
  kind: null,
  label: null,
  tool: null,
  readyAt: null,
  startedAt: null,
  endedAt: null,
  attempts: [],
  source: null,
  outputHash: null,
  error: null,
  chunks: 0,
  choice: null,
  cost: 0,
  ...n
})

describe("fold", () => {
  it("initial state", () => {
    expect(initialState("r1")).toEqual({
      runId: "r1",
      status: "pending",
      programHash: null,
      inputsHash: null,
      seed: null,
      mode: null,
      modes: [],
      startedAt: null,
      endedAt: null,
      outputHash: null,
      error: null,
      lastSeq: -1,
      events: 0,
      cost: 0,
      nodes: {}
    })
    expect(foldAll([])).toEqual(initialState(""))
  })

  it("a retried tool call that then succeeds", () => {
    const events = traceOf("r1", [
      ["RunStarted", {}, started],
      ["NodeReady", { node: "n0" }, { kind: "tool", label: "hits" }],
      ["NodeStarted", { node: "n0" }, { kind: "tool" }],
      ["ToolCalled", { node: "n0", attempt: 1 }, { tool: "search", argsHash: "a1" }],
      ["NodeRetrying", { node: "n0", attempt: 1, at: 1010 }, {
        attempt: 1,
        delayMs: 100,
        errorKind: "Transient",
        message: "flaky"
      }],
      ["ToolCalled", { node: "n0", attempt: 2, at: 1110 }, { tool: "search", argsHash: "a1" }],
      ["ToolReturned", { node: "n0", attempt: 2, at: 1135 }, {
        tool: "search",
        outputHash: "o1",
        latencyMs: 25,
        cost: 0.5,
        source: "tool",
        output: ["doc"]
      }],
      ["NodeCompleted", { node: "n0", at: 1135 }, { outputHash: "o1" }],
      ["RunCompleted", { at: 1136 }, { outputHash: "o2", output: { answer: ["doc"] } }]
    ])
    const mid = foldAll(events.slice(0, 5))
    expect(mid.status).toBe("running")
    expect(mid.nodes.n0!.state).toBe("retrying")
    expect(foldAll(events)).toEqual(
      {
        runId: "r1",
        status: "completed",
        programHash: "sha256:p",
        inputsHash: "ih",
        seed: 7,
        inputs: { q: "why" },
        mode: "live",
        modes: ["live"],
        startedAt: 1000,
        endedAt: 1136,
        output: { answer: ["doc"] },
        outputHash: "o2",
        error: null,
        lastSeq: 8,
        events: 9,
        cost: 0.5,
        nodes: {
          n0: node({
            path: "n0",
            state: "done",
            kind: "tool",
            label: "hits",
            tool: "search",
            readyAt: 1001,
            startedAt: 1002,
            endedAt: 1135,
            attempts: [
              attempt({
                attempt: 1,
                startedAt: 1003,
                endedAt: 1010,
                argsHash: "a1",
                errorKind: "Transient",
                message: "flaky",
                retryDelayMs: 100
              }),
              attempt({
                attempt: 2,
                startedAt: 1110,
                endedAt: 1135,
                argsHash: "a1",
                outputHash: "o1",
                latencyMs: 25,
                cost: 0.5
              })
            ],
            source: "tool",
            output: ["doc"],
            outputHash: "o1",
            cost: 0.5
          })
        }
      } satisfies RunState
    )
  })

  it("a node failure fails the run and cancels the node in flight", () => {
    const events = traceOf("r2", [
      ["RunStarted", {}, { programHash: "sha256:p", inputsHash: "ih", seed: null, mode: "live" }],
      ["NodeReady", { node: "n0" }, { kind: "tool" }],
      ["NodeReady", { node: "n1" }, { kind: "tool" }],
      ["NodeStarted", { node: "n0" }, { kind: "tool" }],
      ["NodeStarted", { node: "n1" }, { kind: "tool" }],
      ["ToolCalled", { node: "n0", attempt: 1 }, { tool: "pay", argsHash: "a0", idempotencyKey: "k0" }],
      ["ToolCalled", { node: "n1", attempt: 1 }, { tool: "slow", argsHash: "a1" }],
      ["NodeFailed", { node: "n0" }, { errorKind: "Permanent", message: "card declined" }],
      ["NodeFailed", { node: "n1" }, { errorKind: "Cancelled", message: "interrupted: node n0 failed" }],
      ["RunFailed", {}, { errorKind: "Permanent", message: "card declined", failedNode: "n0" }]
    ])
    const s = foldAll(events)
    expect(s.status).toBe("failed")
    expect(s.error).toEqual({ kind: "Permanent", message: "card declined", node: "n0" })
    expect(s.endedAt).toBe(1009)
    expect(s.nodes).toEqual({
      n0: node({
        path: "n0",
        state: "failed",
        kind: "tool",
        tool: "pay",
        readyAt: 1001,
        startedAt: 1003,
        endedAt: 1007,
        attempts: [
          attempt({
            attempt: 1,
            startedAt: 1005,
            endedAt: 1007,
            argsHash: "a0",
            idempotencyKey: "k0",
            errorKind: "Permanent",
            message: "card declined"
          })
        ],
        error: { kind: "Permanent", message: "card declined" }
      }),
      n1: node({
        path: "n1",
        state: "cancelled",
        kind: "tool",
        tool: "slow",
        readyAt: 1002,
        startedAt: 1004,
        endedAt: 1008,
        attempts: [
          attempt({
            attempt: 1,
            startedAt: 1006,
            endedAt: 1008,
            argsHash: "a1",
            errorKind: "Cancelled",
            message: "interrupted: node n0 failed"
          })
        ],
        error: { kind: "Cancelled", message: "interrupted: node n0 failed" }
      })
    })
    expect(isFinished(s)).toBe(true)
  })

  it("a cancelled run", () => {
    const s = foldAll(traceOf("r3", [
      ["RunStarted", {}, started],
      ["NodeReady", { node: "n0" }, { kind: "tool" }],
      ["NodeStarted", { node: "n0" }, { kind: "tool" }],
      ["NodeFailed", { node: "n0" }, { errorKind: "Cancelled", message: "the run was cancelled" }],
      ["RunCancelled", {}, { reason: "cancelled by the user" }]
    ]))
    expect(s.status).toBe("cancelled")
    expect(s.error).toEqual({ kind: "Cancelled", message: "cancelled by the user" })
    expect(s.endedAt).toBe(1004)
    expect(s.nodes.n0).toEqual(node({
      path: "n0",
      state: "cancelled",
      kind: "tool",
      readyAt: 1001,
      startedAt: 1002,
      endedAt: 1003,
      error: { kind: "Cancelled", message: "the run was cancelled" }
    }))
  })

  it("a resumed run: a second RunStarted (mode resume) continues the same run", () => {
    const live = traceOf("r4", [
      ["RunStarted", {}, started],
      ["NodeReady", { node: "n0" }, { kind: "tool" }],
      ["NodeStarted", { node: "n0" }, { kind: "tool" }],
      ["ToolCalled", { node: "n0", attempt: 1 }, { tool: "pay", argsHash: "a0", idempotencyKey: "k0" }]
    ])
    const crashed = foldAll(live)
    expect(crashed.status).toBe("running")
    expect(crashed.nodes.n0!.state).toBe("running")
    const resumed = traceOf("r4", [
      ["RunStarted", { at: 5000 }, { ...started, mode: "resume" }],
      ["ToolReturned", { node: "n0", attempt: 1, at: 5002 }, {
        tool: "pay",
        outputHash: "o",
        latencyMs: 2,
        cost: 0,
        source: "tool",
        output: "ok"
      }],
      ["NodeCompleted", { node: "n0", at: 5002 }, { outputHash: "o" }],
      ["RunCompleted", { at: 5003 }, { outputHash: "o", output: "ok" }]
    ], 4)
    const s = foldAll(resumed, crashed)
    expect(s).toEqual(foldAll([...live, ...resumed]))
    expect(s.status).toBe("completed")
    expect(s.mode).toBe("resume")
    expect(s.modes).toEqual(["live", "resume"])
    expect(s.startedAt).toBe(1000)
    expect(s.endedAt).toBe(5003)
    expect(s.lastSeq).toBe(7)
    expect(s.nodes.n0).toEqual(node({
      path: "n0",
      state: "done",
      kind: "tool",
      tool: "pay",
      readyAt: 1001,
      startedAt: 1002,
      endedAt: 5002,
      attempts: [
        attempt({
          attempt: 1,
          startedAt: 1003,
          endedAt: 5002,
          argsHash: "a0",
          idempotencyKey: "k0",
          outputHash: "o",
          latencyMs: 2,
          cost: 0
        })
      ],
      source: "tool",
      output: "ok",
      outputHash: "o"
    }))
    // Resuming a run that had ended clears its ending.
    const failed = foldAll(
      traceOf("r5", [["RunStarted", {}, started], ["RunFailed", {}, {
        errorKind: "Timeout",
        message: "run timed out"
      }]])
    )
    const again = fold(failed, traceOf("r5", [["RunStarted", {}, { ...started, mode: "resume" }]], 2)[0]!)
    expect([again.status, again.error, again.endedAt, again.modes]).toEqual(["running", null, null, ["live", "resume"]])
  })

  it("results served by the cache or the idempotency store make the node cached, without attempts", () => {
    const s = foldAll(traceOf("r6", [
      ["RunStarted", {}, started],
      ["NodeReady", { node: "n0" }, { kind: "tool" }],
      ["NodeStarted", { node: "n0" }, { kind: "tool" }],
      ["ToolReturned", { node: "n0", attempt: 1 }, {
        tool: "search",
        outputHash: "o",
        latencyMs: 0,
        cost: 0,
        source: "cache",
        output: [1]
      }],
      ["NodeCompleted", { node: "n0" }, { outputHash: "o" }],
      ["NodeReady", { node: "n1" }, { kind: "tool" }],
      ["NodeStarted", { node: "n1" }, { kind: "tool" }],
      ["ToolReturned", { node: "n1", attempt: 1 }, {
        tool: "pay",
        outputHash: "p",
        latencyMs: 0,
        cost: 0,
        source: "idempotency",
        output: "paid"
      }],
      ["NodeCompleted", { node: "n1" }, { outputHash: "p" }]
    ]))
    expect(s.nodes.n0).toEqual(node({
      path: "n0",
      state: "cached",
      kind: "tool",
      tool: "search",
      readyAt: 1001,
      startedAt: 1002,
      endedAt: 1004,
      source: "cache",
      output: [1],
      outputHash: "o"
    }))
    expect(s.nodes.n1!.state).toBe("cached")
    expect(s.nodes.n1!.source).toBe("idempotency")
    expect(s.nodes.n1!.attempts).toEqual([])
  })

  it("choices, chunks, and node paths that are Object.prototype names", () => {
    const s = foldAll(traceOf("r7", [
      ["NodeReady", { node: "n3/formal/n0" }, { kind: "llm" }],
      ["ChoiceMade", { node: "n3" }, { key: "tone", option: "formal", policy: "ucb1", version: 2, propensity: 0.5 }],
      ["Chunk", { node: "n3/formal/n0", attempt: 1 }, { index: 0, text: "Dear" }],
      ["Chunk", { node: "n3/formal/n0", attempt: 1 }, { index: 1, text: " Sir" }],
      ["NodeReady", { node: "__proto__" }, { kind: "expr" }],
      ["NodeReady", { node: "constructor" }, { kind: "expr" }],
      ["Chunk", { node: "toString" }, { index: 0, text: "x" }]
    ]))
    expect(s.status).toBe("pending")
    expect(s.nodes["n3"]!.choice).toEqual({
      key: "tone",
      option: "formal",
      policy: "ucb1",
      version: 2,
      propensity: 0.5
    })
    expect(s.nodes["n3"]!.state).toBe("waiting")
    expect(s.nodes["n3/formal/n0"]!.chunks).toBe(2)
    expect(Object.keys(s.nodes)).toEqual(["n3/formal/n0", "n3", "__proto__", "constructor", "toString"])
    expect(Object.getPrototypeOf(s.nodes)).toBe(Object.prototype)
    expect(s.nodes["__proto__"]!.kind).toBe("expr")
    expect(s.nodes["toString"]!.chunks).toBe(1)
    expect(JSON.parse(JSON.stringify(s))).toEqual(s)
  })

  it("never mutates the state or the events it is given", () => {
    const events = traceOf("r8", [
      ["RunStarted", {}, started],
      ["NodeReady", { node: "n0" }, { kind: "tool" }],
      ["ToolCalled", { node: "n0", attempt: 1 }, { tool: "t", argsHash: "a" }],
      ["NodeRetrying", { node: "n0", attempt: 1 }, { attempt: 1, delayMs: 5, errorKind: "Timeout", message: "slow" }]
    ])
    const deepFreeze = <T>(v: T): T => {
      if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
        Object.freeze(v)
        for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k])
      }
      return v
    }
    const before = deepFreeze(foldAll(events.slice(0, 3)))
    const copy = JSON.parse(JSON.stringify(before))
    for (const e of events) deepFreeze(e)
    const after = fold(before, events[3]!)
    expect(before).toEqual(copy)
    expect(after.nodes.n0!.state).toBe("retrying")
    expect(after.nodes.n0!.attempts[0]!.errorKind).toBe("Timeout")
    expect(before.nodes.n0!.attempts[0]!.errorKind).toBe(null)
    // Nodes an event does not touch are shared, not copied.
    const two = foldAll(
      traceOf("r9", [["NodeReady", { node: "a" }, { kind: "expr" }], ["NodeReady", { node: "b" }, { kind: "expr" }]])
    )
    const next = fold(two, traceOf("r9", [["NodeStarted", { node: "b" }, { kind: "expr" }]], 2)[0]!)
    expect(next.nodes.a).toBe(two.nodes.a)
    expect(next.nodes.b).not.toBe(two.nodes.b)
  })
})
