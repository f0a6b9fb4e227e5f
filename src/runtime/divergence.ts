/**
 * Comparing a replay with its record (SPEC §5, "Replay"): the first
 * divergence between the events a run recorded and the events its replay
 * produced.
 *
 * Events are compared per node path, in each node's own order, without
 * seq, timestamps and latencies (the canonical trace of ARCHITECTURE.md):
 * completion order between independent nodes may differ between runs and
 * is not a divergence; a different argument hash, output, choice, error,
 * retry or an event missing or extra for a node is. "First" means the
 * divergent event with the lowest seq in the record (or, for an event only
 * the replay has, the lowest seq in the replay). Run-level events compare
 * likewise, except `RunStarted`, whose mode differs by nature: only its
 * program hash, inputs hash and seed are compared. What a fan-in dropped
 * (the options of a `race` that lost, the items of a `take` not picked, as
 * its `FanInSettled` event lists them) is not replayed and not compared,
 * nor are `BreakerChanged` events (a replay never consults a breaker).
 */
import type { RunEvent } from "../trace/events.js"
import { comparable } from "./recorded.js"

/** Where a replay first differs from its record. */
export interface Divergence {
  /** The node path, or undefined for a run-level event. */
  readonly node: string | undefined
  /** The seq of the recorded event that differs (undefined when the replay has an extra event). */
  readonly seq: number | undefined
  /** The recorded event (canonical JSON, no seq/time/latency), or undefined when the record has none there. */
  readonly expected: string | undefined
  /** The replayed event, or undefined when the replay has none there. */
  readonly actual: string | undefined
}

const lineOf = (e: RunEvent, delays: boolean, programHash: boolean): string => {
  if (e.type !== "RunStarted") return comparable(e, delays)
  return comparable({
    ...e,
    data: {
      programHash: programHash ? e.data.programHash : "",
      inputsHash: e.data.inputsHash,
      seed: e.data.seed,
      mode: "live"
    }
  }, delays)
}

/** Canonical lines grouped by node path ("" for run-level), keeping the first RunStarted only. */
/** The path prefixes of what the fan-ins of a record dropped. */
const droppedPrefixes = (events: ReadonlyArray<RunEvent>): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const e of events) if (e.type === "FanInSettled") { for (const d of e.data.dropped) out.push(`${e.node}/${d}/`) }
  return out
}

const group = (
  events: ReadonlyArray<RunEvent>,
  delays: boolean,
  dropped: ReadonlyArray<string>,
  programHash: boolean
) => {
  const groups = new Map<string, Array<{ readonly seq: number; readonly line: string }>>()
  let started = false
  for (const e of events) {
    if (e.type === "BreakerChanged") continue
    if (dropped.length > 0 && e.node !== undefined && dropped.some((p) => e.node!.startsWith(p))) continue
    if (e.type === "RunStarted") {
      if (started) continue
      started = true
    }
    const key = e.node ?? ""
    const entry = { seq: e.seq, line: lineOf(e, delays, programHash) }
    const list = groups.get(key)
    if (list === undefined) groups.set(key, [entry])
    else list.push(entry)
  }
  return groups
}

/**
 * The first divergence of `replayed` from `recorded`, or undefined when the
 * replay is exact. `delays: false` ignores retry delays (for runs that were
 * not seeded, whose jitter is not reproducible). `programHash: false` ignores
 * the program hash (a replay with a changed program, `allowProgramChange`).
 */
export const firstDivergence = (
  recorded: ReadonlyArray<RunEvent>,
  replayed: ReadonlyArray<RunEvent>,
  options: { readonly delays?: boolean; readonly programHash?: boolean } = {}
): Divergence | undefined => {
  const delays = options.delays ?? true
  const programHash = options.programHash ?? true
  const dropped = droppedPrefixes(recorded)
  const want = group(recorded, delays, dropped, programHash)
  const got = group(replayed, delays, dropped, programHash)
  let best: { readonly order: number; readonly divergence: Divergence } | undefined
  const consider = (order: number, divergence: Divergence) => {
    if (best === undefined || order < best.order) best = { order, divergence }
  }
  for (const [key, list] of want) {
    const other = got.get(key) ?? []
    const node = key === "" ? undefined : key
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!
      const b = other[i]
      if (b === undefined || b.line !== a.line) {
        consider(a.seq, { node, seq: a.seq, expected: a.line, actual: b?.line })
        break
      }
    }
    if (other.length > list.length) {
      const extra = other[list.length]!
      // An extra event ranks after every recorded one of its position.
      consider(Number.MAX_SAFE_INTEGER / 2 + extra.seq, {
        node,
        seq: undefined,
        expected: undefined,
        actual: extra.line
      })
    }
  }
  for (const [key, list] of got) {
    if (want.has(key)) continue
    const first = list[0]!
    consider(Number.MAX_SAFE_INTEGER / 2 + first.seq, {
      node: key === "" ? undefined : key,
      seq: undefined,
      expected: undefined,
      actual: first.line
    })
  }
  return best?.divergence
}

/**
 * Checks a record's own integrity: one run id, seq contiguous from 0 in
 * order. Returns where it breaks (a reordered, missing or duplicated event).
 */
export const recordIntegrity = (events: ReadonlyArray<RunEvent>): Divergence | undefined => {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    if (e.seq !== i || e.runId !== events[0]!.runId) {
      return {
        node: e.node,
        seq: e.seq,
        expected: e.runId !== events[0]!.runId ? `an event of run ${events[0]!.runId}` : `the event with seq ${i}`,
        actual: lineOf(e, true, true)
      }
    }
  }
  return undefined
}
