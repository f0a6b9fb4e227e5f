/**
 * The schema: migrating creates every table once, a second migration is a
 * no-op, events cannot be updated in place (history records, rows of earlier builds), and processes starting together
 * on one PostgreSQL database migrate it once without failing.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Store from "../../src/store/layer.js"
import { migrate, migrations, STORE_SCHEMA_VERSION } from "../../src/store/migrations.js"
import { layerPostgres } from "../../src/store/sql.js"
import { freshPostgresDatabase, testBackends, testDatabaseUrl } from "../support/db.js"

for (const backend of testBackends()) {
  describe(backend.name, () => {
    layer(backend.layer, { timeout: "60 seconds" })((it) => {
      it.effect("migrates once; a second migration is a no-op", () =>
        Effect.gen(function*() {
          expect(yield* migrate).toEqual(
            Object.keys(migrations).map((id) => {
              const [n, ...name] = id.split("_")
              return [Number(n), name.join("_")]
            })
          )
          expect(Object.keys(migrations)).toContain("0009_compaction")
          expect(yield* migrate).toEqual([])
          const sql = yield* SqlClient
          const tables = yield* sql<{ readonly table_name: string }>`
            SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
          expect(tables.map((t) => t.table_name)).toEqual([
            "artifacts",
            "bandit_rewards",
            "bandit_state",
            "bandit_states",
            "blob_contents",
            "blob_refs",
            "blobs",
            "data_migration_checks",
            "data_migrations",
            "deployment_events",
            "deployment_runs",
            "deployments",
            "eval_results",
            "evals",
            "feature_flags",
            "http_idempotency",
            "idempotency",
            "idempotency_records",
            "programs",
            "result_cache",
            "run_compactions",
            "run_event_rows",
            "run_events",
            "run_history",
            "run_signals",
            "run_timers",
            "runs",
            "schedule_fires",
            "schedules",
            "trellis_migrations"
          ])
          // Building the store layer on a migrated database migrates nothing and works.
          yield* Effect.provide(Effect.void, Store.layer)
        }))

      it.effect("a store migrated by a newer build is refused, naming both versions", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient
          yield* sql.unsafe(`INSERT INTO trellis_migrations (migration_id, name) VALUES (9999, 'future')`)
          const refused = yield* Effect.flip(migrate)
          yield* sql.unsafe(`DELETE FROM trellis_migrations WHERE migration_id = 9999`)
          expect(refused.message).toBe(
            `the store's schema is at migration 9999, newer than this build's ${STORE_SCHEMA_VERSION}: use the Trellis that migrated it (or a newer one)`
          )
          expect(yield* migrate).toEqual([])
        }))

      it.effect("stored events cannot be updated: history records nor the rows of earlier builds", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient
          const body = JSON.stringify([{ runId: "r", seq: 0, at: 1, type: "NodeReady", node: "n", data: {} }])
          yield* sql`INSERT INTO run_history (run_id, first_seq, last_seq, at, body) VALUES ('r', 0, 0, 1, ${body}::json)`
          const error = yield* Effect.flip(sql`UPDATE run_history SET at = 2 WHERE run_id = 'r'`)
          expect(String((error.cause as Error).message)).toBe(
            "run_history is append-only: the record of events 0..0 of run r cannot be updated"
          )
          yield* sql`INSERT INTO run_event_rows (run_id, seq, at, type, body) VALUES ('r', 1, 1, 'NodeReady', '{}'::jsonb)`
          const legacy = yield* Effect.flip(sql`UPDATE run_event_rows SET at = 2 WHERE run_id = 'r'`)
          expect(String((legacy.cause as Error).message)).toBe(
            "run_events is append-only: event 1 of run r cannot be updated"
          )
          // A record must hold exactly its events first_seq..last_seq.
          const short = yield* Effect.flip(
            sql`INSERT INTO run_history (run_id, first_seq, last_seq, at, body) VALUES ('r', 5, 6, 1, ${body}::json)`
          )
          expect(String((short.cause as Error).message)).toContain("run_history_check")
          // The view shows every event, one row each.
          const rows = yield* sql<{ readonly seq: number; readonly type: string }>`
            SELECT seq, type FROM run_events WHERE run_id = 'r' ORDER BY seq`
          expect(rows.map((r) => [r.seq, r.type])).toEqual([[0, "NodeReady"], [1, "NodeReady"]])
        }))
    })
  })
}

describe("concurrent start-up", () => {
  it.live.skipIf(testDatabaseUrl() === undefined)(
    "processes migrating one PostgreSQL database at once migrate it once",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const db = yield* freshPostgresDatabase(testDatabaseUrl()!)
        // Six independent clients (as six processes would have), each migrating as it starts.
        const starts = Array.from({ length: 6 }, () =>
          Effect.scoped(
            Effect.flatMap(
              Layer.build(layerPostgres(Redacted.make(db.url), { maxConnections: 2 })),
              (ctx) => Effect.provide(migrate, ctx)
            )
          ))
        const results = yield* Effect.all(starts, { concurrency: "unbounded" })
        expect(results.filter((r) => r.length > 0)).toEqual([
          Object.keys(migrations).map((id) => {
            const [n, ...name] = id.split("_")
            return [Number(n), name.join("_")]
          })
        ])
        const counts = yield* Effect.scoped(Effect.flatMap(Layer.build(layerPostgres(Redacted.make(db.url))), (ctx) =>
          Effect.provide(
            Effect.flatMap(
              SqlClient,
              (sql) => sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM trellis_migrations`
            ),
            ctx
          )))
        // One row per migration: each applied once, whoever won the lock.
        expect(counts).toEqual([{ n: Object.keys(migrations).length }])
      })),
    60_000
  )
})
