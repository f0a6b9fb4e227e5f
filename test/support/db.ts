/**
 * The database backends store tests run on: embedded PGlite (always, in
 * memory) and PostgreSQL when `TRELLIS_TEST_DATABASE_URL` is set (`.ci/run`
 * sets it). Each PostgreSQL layer build gets a fresh database of its own,
 * dropped when the layer is released, so test files never see each other.
 */
import type { PgClient } from "@effect/sql-pg"
import type { SqlClient } from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import { layerPglite, layerPostgres, MEMORY } from "../../src/store/sql.js"
import type { Database } from "../../src/store/sql.js"

/** A backend for tests: its name and a layer building a fresh, empty database. */
export interface TestBackend {
  readonly name: "pglite" | "postgres"
  readonly layer: Layer.Layer<PgClient.PgClient | SqlClient | Database, SqlError>
}

/** The PostgreSQL URL for tests, if any. */
export const testDatabaseUrl = (): string | undefined => {
  const url = process.env.TRELLIS_TEST_DATABASE_URL
  return url === undefined || url === "" ? undefined : url
}

const adminQuery = (url: string, text: string) =>
  Effect.tryPromise({
    try: async () => {
      const client = new Pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(text)
      } finally {
        await client.end()
      }
    },
    catch: (cause) => new SqlError({ cause, message: `test database: ${text}` })
  })

/** A fresh PostgreSQL database on the test server, dropped on release; its URL. */
export const freshPostgresDatabase = (url: string) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `trellis_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
      yield* adminQuery(url, `CREATE DATABASE ${name}`)
      const u = new URL(url)
      u.pathname = `/${name}`
      return { name, url: u.toString() }
    }),
    ({ name }) => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore)
  )

/** A layer over a fresh PostgreSQL database on the test server. */
export const layerFreshPostgres = (url: string): TestBackend["layer"] =>
  Layer.unwrapScoped(
    Effect.map(freshPostgresDatabase(url), (db) => layerPostgres(Redacted.make(db.url), { maxConnections: 4 }))
  )

/** PGlite in memory, plus PostgreSQL when `TRELLIS_TEST_DATABASE_URL` is set. */
export const testBackends = (): ReadonlyArray<TestBackend> => {
  const url = testDatabaseUrl()
  const pglite: TestBackend = { name: "pglite", layer: layerPglite(MEMORY) }
  return url === undefined ? [pglite] : [pglite, { name: "postgres", layer: layerFreshPostgres(url) }]
}
