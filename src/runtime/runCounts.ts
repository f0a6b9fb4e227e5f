/**
 * `RunCounts`: how many runs of a workspace the store holds as `running`,
 * across every process on the database (a dead replica's runs included: the
 * takeover resumes them, so they still count). The run manager checks the
 * workspace `concurrentRuns` quota against it; without one in context the
 * quota counts this process's runs only.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { StoreError } from "../trace/errors.js"

/** The store's count of running runs. */
export interface RunCountsService {
  /** Runs of `workspace` recorded as `running`. */
  readonly running: (workspace: string) => Effect.Effect<number, StoreError>
}

/** The store's count of running runs (absent: the run manager counts its own). */
export class RunCounts extends Context.Tag("trellis/RunCounts")<RunCounts, RunCountsService>() {}
