/**
 * Regression datasets from recorded runs (issue 19 item 4): the completed
 * runs of a program (by hash), in a time range, or tagged with an eval
 * (the runs of that eval's examples) become examples whose `inputs` are the
 * run's inputs, whose `expected` is the run's recorded output, and whose
 * `baseline` keeps the run's id, status, latency and cost — so an eval of a
 * new program version on them reports changed outputs, new failures and
 * cost and latency deltas side by side.
 */
import { Effect, Option } from "effect"
import type { JsonRecord } from "../ir/eval.js"
import { RunStore } from "../runtime/runStore.js"
import type { RunRecord } from "../runtime/runStore.js"
import { EvalStore } from "../store/evals.js"
import type { Example } from "./dataset.js"
import { EvalError } from "./errors.js"

/** Which runs. */
export interface RunSelection {
  readonly programHash?: string
  /** Runs created at or after this time (ms since the epoch). */
  readonly since?: number
  /** Runs created before this time (ms since the epoch). */
  readonly until?: number
  /** The eval whose example runs to take (a run's tag is its eval id). */
  readonly tag?: string
  /** At most this many examples (newest first). @default 1000 */
  readonly limit?: number
  /** @default "default" */
  readonly workspace?: string
}

const storeError = (e: { readonly message: string }) => new EvalError({ reason: "store", message: e.message })

const costOf = (r: RunRecord): number | null => {
  const s = r.state
  const c = typeof s === "object" && s !== null && !Array.isArray(s) ? (s as { readonly cost?: unknown }).cost : null
  return typeof c === "number" ? c : null
}

/** A completed run as an example (expected = its output). */
export const exampleOfRun = (r: RunRecord, id: string, tags?: ReadonlyArray<string>): Example => ({
  id,
  inputs: (typeof r.inputs === "object" && r.inputs !== null && !Array.isArray(r.inputs) ? r.inputs : {}) as JsonRecord,
  ...(r.output === undefined ? {} : { expected: r.output }),
  ...(tags === undefined || tags.length === 0 ? {} : { tags }),
  baseline: {
    runId: r.runId,
    status: r.status,
    latencyMs: r.endedAt === null ? null : r.endedAt - r.createdAt,
    cost: costOf(r)
  }
})

const inRange = (r: RunRecord, s: RunSelection): boolean =>
  r.status === "completed" &&
  (s.programHash === undefined || r.programHash === s.programHash) &&
  (s.since === undefined || r.createdAt >= s.since) &&
  (s.until === undefined || r.createdAt < s.until)

/** The examples of the selected runs, oldest first. */
export const datasetFromRuns = (
  selection: RunSelection
): Effect.Effect<ReadonlyArray<Example>, EvalError, RunStore | EvalStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const limit = Math.max(1, selection.limit ?? 1000)
    const workspace = selection.workspace ?? "default"
    const out: Array<Example> = []
    if (selection.tag !== undefined) {
      const evals = yield* EvalStore
      const results = yield* evals.results(selection.tag).pipe(Effect.mapError(storeError))
      for (const res of results) {
        const r = yield* store.get(res.runId, workspace).pipe(Effect.mapError(storeError))
        if (Option.isNone(r) || !inRange(r.value, selection)) continue
        const tags = (res.example as { readonly tags?: ReadonlyArray<string> }).tags
        out.push(exampleOfRun(r.value, res.exampleId, tags))
        if (out.length >= limit) break
      }
    } else {
      let cursor: string | undefined
      let older = false
      do {
        const page = yield* store.list({
          workspace,
          status: "completed",
          limit: 1000,
          ...(selection.programHash === undefined ? {} : { programHash: selection.programHash }),
          ...(cursor === undefined ? {} : { cursor })
        }).pipe(Effect.mapError(storeError))
        for (const r of page.runs) {
          if (selection.since !== undefined && r.createdAt < selection.since) {
            older = true
            break
          }
          if (inRange(r, selection)) out.push(exampleOfRun(r, r.runId))
          if (out.length >= limit) break
        }
        cursor = older || out.length >= limit ? undefined : page.next
      } while (cursor !== undefined)
      out.reverse()
    }
    if (out.length === 0) {
      return yield* new EvalError({ reason: "dataset", message: "no completed run matches the selection" })
    }
    return out
  })
