/**
 * Test support for traces: fast-check arbitraries of run events (every
 * type, optional fields absent or present, unicode strings including lone
 * surrogates and line separators, JSON values as outputs) and `traceOf`, a
 * small builder of hand-written traces that numbers `seq` from 0.
 */
import * as fc from "fast-check"
import type { ErrorKind } from "../../src/ir/schema.js"
import { makeEvent } from "../../src/trace/events.js"
import type { EventData, EventOf, RunEvent, RunEventType } from "../../src/trace/events.js"
import { ERROR_KINDS } from "../../src/trace/summary.js"

/** Strings of any code points, plus the awkward ones (lone surrogates, U+2028, newlines, quotes). */
export const arbText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("", "\ud800", "a\udc00b", "line\u2028sep", "tab\tnew\nline", "quote\"back\\slash", "é😀", "__proto__")
)

/** Finite numbers that survive JSON (no -0). */
export const arbNumber: fc.Arbitrary<number> = fc.double({ noNaN: true, noDefaultInfinity: true }).map((
  x
) => (x === 0 ? 0 : x))

/** JSON values as JSON carries them (no -0). */
export const arbJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 }).map((v) =>
  JSON.parse(JSON.stringify(v)) as unknown
)

const arbKind: fc.Arbitrary<ErrorKind> = fc.constantFrom(...ERROR_KINDS)
const arbAttempt = fc.integer({ min: 1, max: 5 })

/** Numbers of the sort the runtime records: integer milliseconds, costs that are binary fractions (sums stay exact). */
export interface NumberArbs {
  readonly latency: fc.Arbitrary<number>
  readonly cost: fc.Arbitrary<number>
  readonly any: fc.Arbitrary<number>
}

/** Any finite numbers. */
export const anyNumbers: NumberArbs = { latency: arbNumber, cost: arbNumber, any: arbNumber }

/** Exact-sum numbers: integer latencies and dyadic costs. */
export const meteredNumbers: NumberArbs = {
  latency: fc.integer({ min: 0, max: 20_000 }),
  cost: fc.integer({ min: 0, max: 1 << 20 }).map((n) => n / 1024),
  any: fc.integer({ min: 0, max: 1000 })
}

/** The `data` of each event type. */
export const arbData = (n: NumberArbs): { readonly [T in RunEventType]: fc.Arbitrary<EventData<T>> } => ({
  RunStarted: fc.record(
    {
      programHash: arbText,
      inputsHash: arbText,
      seed: fc.option(fc.integer(), { nil: null }),
      mode: fc.constantFrom("live" as const, "replay" as const, "resume" as const),
      inputs: arbJson
    },
    { requiredKeys: ["programHash", "inputsHash", "seed", "mode"] }
  ),
  NodeReady: fc.record({ kind: arbText, label: arbText }, { requiredKeys: ["kind"] }),
  NodeStarted: fc.record({ kind: arbText }),
  ToolCalled: fc.record({ tool: arbText, argsHash: arbText, idempotencyKey: arbText }, {
    requiredKeys: ["tool", "argsHash"]
  }),
  ToolReturned: fc.record(
    {
      tool: arbText,
      outputHash: arbText,
      latencyMs: n.latency,
      cost: n.cost,
      tokens: fc.integer({ min: 0, max: 100_000 }),
      source: fc.constantFrom("tool" as const, "idempotency" as const, "cache" as const),
      output: arbJson
    },
    { requiredKeys: ["tool", "outputHash", "latencyMs", "cost", "source", "output"] }
  ),
  NodeRetrying: fc.record({ attempt: arbAttempt, delayMs: n.any, errorKind: arbKind, message: arbText }),
  NodeFailed: fc.record({ errorKind: arbKind, message: arbText }),
  NodeCompleted: fc.record({ outputHash: arbText }),
  ChoiceMade: fc.record({ key: arbText, option: arbText, policy: arbText, version: n.any, propensity: n.any }),
  Chunk: fc.record({ index: fc.nat(), text: arbText }),
  Waiting: fc.record({
    name: fc.option(arbText, { nil: null }),
    payload: arbJson,
    deadline: fc.option(n.any, { nil: null })
  }),
  Signalled: fc.record({ name: arbText, signalId: arbText, payload: arbJson }),
  TimerFired: fc.record({ deadline: n.any }),
  RunCompleted: fc.record({ outputHash: arbText, output: arbJson }),
  RunFailed: fc.record({ errorKind: arbKind, message: arbText, failedNode: arbText }, {
    requiredKeys: ["errorKind", "message"]
  }),
  RunCancelled: fc.record({ reason: arbText }),
  FanInSettled: fc.record({
    picked: fc.array(arbText, { maxLength: 3 }),
    dropped: fc.array(arbText, { maxLength: 3 })
  }),
  FoldUpdated: fc.record({ step: fc.nat(1000), valueHash: arbText, value: arbJson }),
  BreakerChanged: fc.record(
    {
      breaker: arbText,
      from: fc.constantFrom("closed" as const, "open" as const, "half-open" as const),
      to: fc.constantFrom("closed" as const, "open" as const, "half-open" as const),
      node: arbText,
      calls: fc.nat(1000),
      failures: fc.nat(1000)
    },
    { requiredKeys: ["breaker", "from", "to"] }
  )
})

const TYPES: ReadonlyArray<RunEventType> = [
  "RunStarted",
  "NodeReady",
  "NodeStarted",
  "ToolCalled",
  "ToolReturned",
  "NodeRetrying",
  "NodeFailed",
  "NodeCompleted",
  "ChoiceMade",
  "Chunk",
  "RunCompleted",
  "RunFailed",
  "RunCancelled",
  "FanInSettled",
  "FoldUpdated",
  "BreakerChanged"
]

/** One event without its `runId` and `seq` (given by `arbTrace`). */
type Draft = {
  readonly type: RunEventType
  readonly at: number
  readonly node?: string
  readonly attempt?: number
  readonly data: unknown
}

const arbDraft = (n: NumberArbs, nodes: fc.Arbitrary<string>): fc.Arbitrary<Draft> => {
  const data = arbData(n)
  return fc.constantFrom(...TYPES).chain((type) =>
    fc.record(
      {
        type: fc.constant(type),
        at: n.any,
        node: nodes,
        attempt: arbAttempt,
        data: data[type] as fc.Arbitrary<unknown>
      },
      { requiredKeys: ["type", "at", "data"] }
    )
  )
}

const build = (runId: string, drafts: ReadonlyArray<Draft>, firstSeq = 0): Array<RunEvent> =>
  drafts.map((d, i) =>
    makeEvent(d.type, { runId, seq: firstSeq + i, at: d.at, node: d.node, attempt: d.attempt, data: d.data as never })
  )

/** Any single event (any run id, any seq). */
export const arbEvent = (n: NumberArbs = anyNumbers): fc.Arbitrary<RunEvent> =>
  fc.tuple(arbText, fc.nat(), arbDraft(n, arbText)).map(([runId, seq, d]) => build(runId, [d], seq)[0]!)

/**
 * A trace of one run: events of any type in any order over a few node paths
 * (so that fold sees the same node many times), `seq` contiguous from 0.
 */
export const arbTrace = (n: NumberArbs = meteredNumbers, maxLength = 40): fc.Arbitrary<Array<RunEvent>> =>
  fc.tuple(arbText, fc.array(arbDraft(n, fc.constantFrom("n0", "n1", "n2/0/n0", "__proto__")), { maxLength })).map(
    ([runId, drafts]) => build(runId, drafts)
  )

/** Events of several runs mixed (for summaries, which take any events). */
export const arbEvents = (maxLength = 40): fc.Arbitrary<Array<RunEvent>> =>
  fc.array(arbEvent(meteredNumbers), { maxLength })

/** One step of a hand-written trace: type, envelope extras (`node`, `attempt`, `at`) and data. */
export type Step = {
  [T in RunEventType]: readonly [
    T,
    { readonly node?: string; readonly attempt?: number; readonly at?: number },
    EventData<T>
  ]
}[RunEventType]

/** A hand-written trace of run `runId`: `seq` from `firstSeq` (default 0), `at` defaults to 1000 + seq. */
export const traceOf = (runId: string, steps: ReadonlyArray<Step>, firstSeq = 0): Array<RunEvent> =>
  steps.map(([type, env, data], i) =>
    makeEvent(type, {
      runId,
      seq: firstSeq + i,
      at: env.at ?? 1000 + firstSeq + i,
      node: env.node,
      attempt: env.attempt,
      data: data as EventOf<typeof type>["data"]
    } as never)
  )
