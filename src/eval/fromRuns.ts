/**
 * Regression datasets from recorded runs (issue 19 item 4): the completed
 * runs of a program (by hash), in a time range, or tagged with an eval
 * (the runs of that eval's examples) become examples whose `inputs` are the
 * run's inputs, whose `expected` is the run's recorded output, and whose
 * `baseline` keeps the run's id, status, latency and cost — so an eval of a
 * new program version on them reports changed outputs, new failures and
 * cost and latency deltas side by side. With a feedback filter only runs
 * whose posted rewards (`POST /v1/runs/:id/feedback`, the `RewardLog` of
 * the workspace's bandit scope) are good enough are taken: a run's reward
 * is the mean of the rewards posted for it (under one `choose` key, or all),
 * and a run without feedback is left out.
 */
import { Effect, Option } from "effect"
import type { JsonRecord } from "../ir/eval.js"
import { RewardLog } from "../runtime/bandit/rewards.js"
import { sharedPolicy } from "../runtime/bandit/store.js"
import { currentWorkspace } from "../runtime/llm.js"
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
  /** Only runs whose feedback passes this filter. */
  readonly feedback?: FeedbackFilter
}

/** Which runs' feedback counts as good: the mean reward posted for a run, compared with a bound. */
export interface FeedbackFilter {
  /** Keep runs whose mean reward is above (`strict`) or at least this. */
  readonly min: number
  /** `>` instead of `>=` (`--feedback positive` is `> 0`). */
  readonly strict: boolean
  /** Only rewards posted under this `choose` key. */
  readonly key?: string
  /** Read the shared bandit scope (servers with `bandit.shared`) instead of the workspace's. */
  readonly shared?: boolean
}

/** A run's feedback: its mean reward and how many rewards it had. */
export interface RunFeedback {
  readonly reward: number
  readonly count: number
}

/** The mean reward per run of `runIds` (runs without feedback absent), from the `RewardLog`. */
export const feedbackOf = (
  runIds: ReadonlyArray<string>,
  filter: FeedbackFilter,
  workspace: string
): Effect.Effect<ReadonlyMap<string, RunFeedback>, never, RewardLog> =>
  Effect.gen(function*() {
    const log = yield* RewardLog
    const records = yield* log.ofRuns(runIds).pipe(
      Effect.locally(currentWorkspace, workspace),
      Effect.locally(sharedPolicy, filter.shared === true)
    )
    const sums = new Map<string, { sum: number; count: number }>()
    for (const r of records) {
      if (filter.key !== undefined && r.key !== filter.key) continue
      const s = sums.get(r.runId) ?? { sum: 0, count: 0 }
      s.sum += r.reward
      s.count++
      sums.set(r.runId, s)
    }
    return new Map([...sums].map(([id, s]) => [id, { reward: s.sum / s.count, count: s.count }]))
  })

/** Whether a run's feedback passes the filter. */
export const goodFeedback = (f: RunFeedback | undefined, filter: FeedbackFilter): boolean =>
  f !== undefined && (filter.strict ? f.reward > filter.min : f.reward >= filter.min)

const storeError = (e: { readonly message: string }) => new EvalError({ reason: "store", message: e.message })

const costOf = (r: RunRecord): number | null => {
  const s = r.state
  const c = typeof s === "object" && s !== null && !Array.isArray(s) ? (s as { readonly cost?: unknown }).cost : null
  return typeof c === "number" ? c : null
}

/** A completed run as an example (expected = its output). */
export const exampleOfRun = (
  r: RunRecord,
  id: string,
  tags?: ReadonlyArray<string>,
  feedback?: RunFeedback
): Example => ({
  id,
  inputs: (typeof r.inputs === "object" && r.inputs !== null && !Array.isArray(r.inputs) ? r.inputs : {}) as JsonRecord,
  ...(r.output === undefined ? {} : { expected: r.output }),
  ...(tags === undefined || tags.length === 0 ? {} : { tags }),
  baseline: {
    runId: r.runId,
    status: r.status,
    latencyMs: r.endedAt === null ? null : r.endedAt - r.createdAt,
    cost: costOf(r),
    ...(feedback === undefined ? {} : { reward: feedback.reward })
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
): Effect.Effect<ReadonlyArray<Example>, EvalError, RunStore | EvalStore | RewardLog> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const limit = Math.max(1, selection.limit ?? 1000)
    const workspace = selection.workspace ?? "default"
    const filter = selection.feedback
    const feedbacks = (runIds: ReadonlyArray<string>) =>
      filter === undefined ? Effect.succeed(undefined) : feedbackOf(runIds, filter, workspace)
    const out: Array<Example> = []
    if (selection.tag !== undefined) {
      const evals = yield* EvalStore
      const results = yield* evals.results(selection.tag).pipe(Effect.mapError(storeError))
      const fb = yield* feedbacks(results.map((r) => r.runId))
      for (const res of results) {
        const f = fb?.get(res.runId)
        if (filter !== undefined && !goodFeedback(f, filter)) continue
        const r = yield* store.get(res.runId, workspace).pipe(Effect.mapError(storeError))
        if (Option.isNone(r) || !inRange(r.value, selection)) continue
        const tags = (res.example as { readonly tags?: ReadonlyArray<string> }).tags
        out.push(exampleOfRun(r.value, res.exampleId, tags, f))
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
        const fb = yield* feedbacks(page.runs.map((r) => r.runId))
        for (const r of page.runs) {
          if (selection.since !== undefined && r.createdAt < selection.since) {
            older = true
            break
          }
          const f = fb?.get(r.runId)
          if (filter !== undefined && !goodFeedback(f, filter)) continue
          if (inRange(r, selection)) out.push(exampleOfRun(r, r.runId, undefined, f))
          if (out.length >= limit) break
        }
        cursor = older || out.length >= limit ? undefined : page.next
      } while (cursor !== undefined)
      out.reverse()
    }
    if (out.length === 0) {
      return yield* new EvalError({
        reason: "dataset",
        message: filter === undefined
          ? "no completed run matches the selection"
          : `no completed run matches the selection with a mean reward ${filter.strict ? ">" : ">="} ${filter.min}${
            filter.key === undefined ? "" : ` under "${filter.key}"`
          } (runs without feedback are left out)`
      })
    }
    return out
  })
