/**
 * A recorded run, as the runtime consults it when it runs a program again:
 * to resume a run after a crash, or to replay it.
 *
 * `Recorded` indexes a run's events by node path: per tool call attempt
 * (node path, attempt) the arguments hash and the outcome (output, or error
 * kind and message), results served from the idempotency store or the
 * cache, and the choice of each `choose` node. Re-executing the program
 * with these answers reproduces the run: the scheduler asks the record
 * before calling a tool or a policy, so nothing already done is done again,
 * whatever order things complete in (lookups are by node path, never by
 * arrival).
 *
 * On resume, `Suppressor` keeps the event log free of repeats: per node
 * path, an event the re-execution produces is dropped while it equals the
 * node's next recorded event (canonically: without seq, time, latency);
 * from a node's first new event on, everything of that node is recorded.
 */
import { canonicalJson } from "../ir/canonical.js"
import type { Json } from "../ir/eval.js"
import type { ErrorKind } from "../ir/schema.js"
import type { RunEvent } from "../trace/events.js"

/** How a recorded attempt ended. */
export type AttemptOutcome =
  | {
    readonly _tag: "Returned"
    readonly output: Json
    readonly cost: number
    /** Tokens the attempt reported (0 when none). */
    readonly tokens?: number
    /** The route that answered (llm steps). */
    readonly route?: string
  }
  | {
    readonly _tag: "Failed"
    readonly kind: ErrorKind
    readonly message: string
    /** The failure's `retryAfterMs` (RateLimited, CircuitOpen), when a retry followed and it had one. */
    readonly retryAfterMs?: number
  }

/** One recorded attempt of a tool call. */
export interface RecordedAttempt {
  readonly argsHash: string
  readonly idempotencyKey: string | undefined
  /** Undefined when the attempt was in flight when the record ends (or was cancelled). */
  readonly outcome: AttemptOutcome | undefined
  /** The texts of the `Chunk` events the attempt streamed, in order. */
  readonly chunks: ReadonlyArray<string>
}

/** A result served without calling the tool (idempotency store or cache). */
export interface RecordedServed {
  readonly source: "idempotency" | "cache"
  readonly output: Json
}

/** A recorded choice. */
export interface RecordedChoice {
  readonly option: string
  readonly policy: string
  readonly version: number
  readonly propensity: number
  /** The context of a contextual choice (LinUCB), as recorded. */
  readonly context?: ReadonlyArray<number> | undefined
}

/** What a fan-in (race, map with take) picked and dropped, as recorded. */
export interface RecordedFanIn {
  readonly picked: ReadonlyArray<string>
  readonly dropped: ReadonlyArray<string>
}

/** A recorded wait: its deadline, and how it was answered (if it was). */
export interface RecordedWait {
  readonly deadline: number | null
  readonly signalled: { readonly name: string; readonly signalId: string; readonly payload: Json } | undefined
  /** The deadline that fired, if the timer fired. */
  readonly fired: number | undefined
}

/** What the runtime does with a record. */
export type RecordedMode =
  /** Resume: recorded outcomes are reused; calls without one run for real (same idempotency keys). */
  | "resume"
  /** Replay: every call is answered from the record; a call the record lacks fails the node. */
  | "replay"
  /** Live replay: real tools run again; only choices come from the record. */
  | "live"

/** A run's record, indexed for re-execution. */
export interface Recorded {
  readonly mode: RecordedMode
  readonly runId: string
  /** The seed the run was started with (null: unseeded). */
  readonly seed: number | null
  /** The last recorded seq (-1 for none). */
  readonly lastSeq: number
  /** Recorded attempts of the tool call at a node path, by attempt number. */
  readonly attempts: ReadonlyMap<string, ReadonlyMap<number, RecordedAttempt>>
  readonly served: ReadonlyMap<string, RecordedServed>
  readonly choices: ReadonlyMap<string, RecordedChoice>
  /** What each fan-in node (race, map with take) picked, by node path (`FanInSettled`). */
  readonly fanIn: ReadonlyMap<string, RecordedFanIn>
  /** Recorded waits by node path (a resumed run keeps their deadlines; replay answers them). */
  readonly waits: ReadonlyMap<string, RecordedWait>
  /** The patch ids the run was started with (its first `RunStarted.patches`; none when absent). */
  readonly patches: ReadonlySet<string>
}

/** Indexes a run's events (in seq order). */
export const makeRecorded = (mode: RecordedMode, events: ReadonlyArray<RunEvent>): Recorded => {
  const attempts = new Map<
    string,
    Map<
      number,
      {
        argsHash: string
        idempotencyKey: string | undefined
        outcome: AttemptOutcome | undefined
        chunks: Array<string>
      }
    >
  >()
  const served = new Map<string, RecordedServed>()
  const choices = new Map<string, RecordedChoice>()
  const fanIn = new Map<string, RecordedFanIn>()
  const waits = new Map<
    string,
    { deadline: number | null; signalled: RecordedWait["signalled"]; fired: number | undefined }
  >()
  const lastAttempt = new Map<string, number>()
  let seed: number | null = null
  let patches: Set<string> | undefined
  let runId = ""
  let lastSeq = -1
  const attemptOf = (path: string, n: number) => attempts.get(path)?.get(n)
  for (const e of events) {
    runId = e.runId
    lastSeq = e.seq
    const path = e.node
    switch (e.type) {
      case "RunStarted":
        if (e.data.mode !== "resume") seed = e.data.seed
        if (patches === undefined) patches = new Set(e.data.patches ?? [])
        break
      case "ToolCalled": {
        if (path === undefined) break
        const n = e.attempt ?? 1
        let byAttempt = attempts.get(path)
        if (byAttempt === undefined) attempts.set(path, byAttempt = new Map())
        // A resumed run may call an attempt again: the latest record of it counts.
        byAttempt.set(n, {
          argsHash: e.data.argsHash,
          idempotencyKey: e.data.idempotencyKey,
          outcome: undefined,
          chunks: []
        })
        lastAttempt.set(path, n)
        break
      }
      case "ToolReturned": {
        if (path === undefined) break
        if (e.data.source !== "tool") {
          served.set(path, { source: e.data.source, output: e.data.output as Json })
          break
        }
        const a = attemptOf(path, e.attempt ?? 1)
        if (a !== undefined) {
          const { route, tokens } = e.data
          a.outcome = {
            _tag: "Returned",
            output: e.data.output as Json,
            cost: e.data.cost,
            ...(tokens === undefined ? {} : { tokens }),
            ...(route === undefined ? {} : { route })
          }
        }
        break
      }
      case "Chunk": {
        if (path === undefined) break
        const a = attemptOf(path, e.attempt ?? 1)
        if (a !== undefined && a.outcome === undefined) a.chunks.push(e.data.text)
        break
      }
      case "NodeRetrying": {
        if (path === undefined) break
        const a = attemptOf(path, e.data.attempt)
        if (a !== undefined) {
          const after = e.data.retryAfterMs
          a.outcome = after === undefined
            ? { _tag: "Failed", kind: e.data.errorKind, message: e.data.message }
            : { _tag: "Failed", kind: e.data.errorKind, message: e.data.message, retryAfterMs: after }
        }
        break
      }
      case "NodeFailed": {
        // The final attempt's failure; a cancellation is not an outcome (the call was cut short).
        if (path === undefined || e.data.errorKind === "Cancelled") break
        const n = lastAttempt.get(path)
        const a = n === undefined ? undefined : attemptOf(path, n)
        if (a !== undefined && a.outcome === undefined) {
          a.outcome = { _tag: "Failed", kind: e.data.errorKind, message: e.data.message }
        }
        break
      }
      case "ChoiceMade":
        if (path !== undefined) {
          choices.set(path, {
            option: e.data.option,
            policy: e.data.policy,
            version: e.data.version,
            propensity: e.data.propensity,
            ...(e.data.context === undefined ? {} : { context: e.data.context })
          })
        }
        break
      case "FanInSettled":
        if (path !== undefined) fanIn.set(path, { picked: e.data.picked, dropped: e.data.dropped })
        break
      case "Waiting":
        if (path !== undefined && !waits.has(path)) {
          waits.set(path, { deadline: e.data.deadline, signalled: undefined, fired: undefined })
        }
        break
      case "Signalled": {
        const w = path === undefined ? undefined : waits.get(path)
        if (w !== undefined) {
          w.signalled = { name: e.data.name, signalId: e.data.signalId, payload: e.data.payload as Json }
        }
        break
      }
      case "TimerFired": {
        const w = path === undefined ? undefined : waits.get(path)
        if (w !== undefined) w.fired = e.data.deadline
        break
      }
      default:
        break
    }
  }
  return { mode, runId, seed, lastSeq, attempts, served, choices, fanIn, waits, patches: patches ?? new Set() }
}

/** The canonical line of an event for comparison: no seq, time or latency (and no retry delay when `delays` is false). */
export const comparable = (event: RunEvent, delays = true): string => {
  const { at: _at, seq: _seq, ...rest } = event
  if (rest.type === "ToolReturned") {
    const { latencyMs: _l, ...data } = rest.data
    return canonicalJson({ ...rest, data })
  }
  if (rest.type === "NodeRetrying" && !delays) {
    const { delayMs: _d, ...data } = rest.data
    return canonicalJson({ ...rest, data })
  }
  return canonicalJson(rest)
}

/**
 * Drops, per node path, the events of a resumed run that repeat the node's
 * recorded events, in order; a node's first new event ends the dropping
 * for that node. Run-level events (no node) are never dropped.
 */
export class Suppressor {
  private readonly recorded = new Map<string, ReadonlyArray<string>>()
  private readonly position = new Map<string, number>()

  constructor(events: ReadonlyArray<RunEvent>) {
    const byNode = new Map<string, Array<string>>()
    for (const e of events) {
      if (e.node === undefined) continue
      const list = byNode.get(e.node)
      const line = comparable(e, false)
      if (list === undefined) byNode.set(e.node, [line])
      else list.push(line)
    }
    this.recorded = byNode
  }

  /** Whether to drop this event (it repeats the node's next recorded one). */
  drop(event: RunEvent): boolean {
    const node = event.node
    if (node === undefined) return false
    const lines = this.recorded.get(node)
    if (lines === undefined) return false
    const i = this.position.get(node) ?? 0
    if (i >= 0 && i < lines.length && lines[i] === comparable(event, false)) {
      this.position.set(node, i + 1)
      return true
    }
    this.position.set(node, -1)
    return false
  }
}
