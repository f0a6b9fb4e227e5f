/**
 * The cluster's message collector on PostgreSQL: the processed messages (and their replies) of runs that ended
 * before the grace period are deleted; unprocessed messages, messages of running runs, runs ended within the grace
 * period and other entity types stay. The tables are `@effect/cluster`'s own (built by its SQL storage), the runs
 * table the store's (its migrations). Needs `TRELLIS_TEST_DATABASE_URL`.
 */
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { collectMessages } from "../../src/cluster/messageGc.js"
import { layerMigrations } from "../../src/store/layer.js"
import { layerFreshPostgres, testDatabaseUrl } from "../support/db.js"

const url = testDatabaseUrl()

describe.skipIf(url === undefined)("the cluster's message collector", () => {
  it("deletes the processed messages and replies of runs ended before the grace period, and nothing else", async () => {
    const now = Date.now()
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const sql = yield* SqlClient
        const run = (id: string, status: string, endedAt: number | null) =>
          sql`INSERT INTO runs (run_id, workspace, program_hash, program_name, status, inputs, options, created_at,
                updated_at, ended_at, state)
              VALUES (${id}, 'default', 'h', 'main', ${status}, '{}', '{}', 0, 0, ${endedAt}, '{}')`
        yield* run("old", "completed", now - 3_600_000)
        yield* run("old-failed", "failed", now - 3_600_000)
        yield* run("recent", "completed", now - 1_000)
        yield* run("live", "running", null)
        let id = 0
        const message = (entityId: string, processed: boolean, entityType = "TrellisRun") => {
          id += 1
          return sql`INSERT INTO cluster_messages (id, message_id, shard_id, entity_type, entity_id, kind, tag,
                payload, processed, request_id)
              VALUES (${id}, ${`m${id}`}, 'default:1', ${entityType}, ${entityId}, 0, 'Execute', '{}', ${processed},
                ${id})`.pipe(
            Effect.zipRight(sql`INSERT INTO cluster_replies (id, kind, request_id, payload)
              VALUES (${1000 + id}, 0, ${id}, '{}')`)
          )
        }
        yield* message("old", true) // gone
        yield* message("old", true) // gone (a Wake)
        yield* message("old-failed", true) // gone
        yield* message("old", false) // stays: not processed
        yield* message("recent", true) // stays: within the grace period
        yield* message("live", true) // stays: the run is running
        yield* message("old", true, "Other") // stays: not a run
        const first = yield* collectMessages({ graceMs: 600_000, batch: 2 })
        const again = yield* collectMessages({ graceMs: 600_000 })
        const left = yield* sql<{ entity_id: string; processed: boolean; entity_type: string }>`
          SELECT entity_id, processed, entity_type FROM cluster_messages ORDER BY id`
        const replies = yield* sql<{ request_id: string }>`SELECT request_id FROM cluster_replies ORDER BY request_id`
        return { first, again, left, replies: replies.map((r) => Number(r.request_id)) }
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            layerMigrations,
            Layer.orDie(SqlMessageStorage.layer).pipe(
              Layer.provide(Layer.succeed(ShardingConfig.ShardingConfig, ShardingConfig.defaults))
            )
          ).pipe(Layer.provideMerge(layerFreshPostgres(url!)))
        ),
        Effect.scoped
      )
    )
    // Three in batches of two: the pass goes on until a batch comes back short.
    expect(result.first).toEqual({ messages: 3, replies: 3 })
    expect(result.again).toEqual({ messages: 0, replies: 0 })
    expect(result.left).toEqual([
      { entity_id: "old", processed: false, entity_type: "TrellisRun" },
      { entity_id: "recent", processed: true, entity_type: "TrellisRun" },
      { entity_id: "live", processed: true, entity_type: "TrellisRun" },
      { entity_id: "old", processed: true, entity_type: "Other" }
    ])
    expect(result.replies).toEqual([4, 5, 6, 7])
  }, 60_000)
})
