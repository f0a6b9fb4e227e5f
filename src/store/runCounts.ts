/**
 * `RunCounts` over SQL: the `running` runs of a workspace in table `runs`
 * (every replica on one database writes there), for the cluster-wide
 * `concurrentRuns` quota.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import { RunCounts } from "../runtime/runCounts.js"
import { storeOp } from "./failure.js"

/** The SQL `RunCounts` on the `SqlClient` in context. */
export const make: Effect.Effect<RunCounts["Type"], never, SqlClient> = Effect.map(SqlClient, (sql) =>
  RunCounts.of({
    running: (workspace) =>
      storeOp(
        "count running runs",
        sql.unsafe<{ readonly n: number }>(
          `SELECT count(*)::int AS n FROM runs WHERE workspace = $1 AND status = 'running'`,
          [workspace]
        )
      ).pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)))
  }))

/** `RunCounts` on the `SqlClient` in context. */
export const layer: Layer.Layer<RunCounts, never, SqlClient> = Layer.effect(RunCounts, make)
