/**
 * The SQL connection of the store: one `@effect/sql` client (`PgClient`)
 * over two backends — embedded PGlite (the zero-setup default, data in a
 * directory) and a PostgreSQL server (`TRELLIS_DATABASE_URL`). Every query
 * and migration is written once and runs on both. PGlite is reached through
 * its `node-postgres` adapter (one connection; no socket), so the same
 * `PgClient` code drives it.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { createPgConfig } from "@electric-sql/pglite/node-postgres"
import type { ConfigError } from "effect"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import * as Path from "node:path"
import Pg from "pg"
import { lockDir } from "./lock.js"
import { pipeline } from "./pgliteProtocol.js"
import type { ProtocolTarget } from "./pgliteProtocol.js"
import { openPGliteThread, pgliteThreadAvailable, templateFor } from "./pgliteThread.js"
import type { PGliteThread } from "./pgliteThread.js"
import * as Settings from "./settings.js"

/** Which backend a store runs on. */
export type Backend =
  | { readonly kind: "pglite"; readonly dataDir: string }
  | { readonly kind: "postgres"; readonly url: Redacted.Redacted<string> }

/** The backend of the SQL client in context (what `trellis` prints, what vector features check). */
export class Database extends Context.Tag("trellis/Database")<Database, {
  readonly backend: Backend["kind"]
  /** A display form: the PGlite directory, or the server URL without its password. */
  readonly location: string
  /** Whether pgvector's `vector` extension can be created on this backend. */
  readonly vectorAvailable: boolean
}>() {}

/** PGlite's in-memory data directory (tests). */
export const MEMORY = "memory://"

/** The default home of embedded data: `TRELLIS_HOME`, else `./.trellis` (see `settings.ts`). */
export const trellisHome: Effect.Effect<string, ConfigError.ConfigError> = Settings.home

/** The backend the environment asks for: `TRELLIS_DATABASE_URL`, else PGlite under `trellisHome/pglite`. */
export const backendFromEnv: Effect.Effect<Backend, ConfigError.ConfigError> = Effect.map(
  Config.all([Settings.databaseUrl, Settings.home]),
  ([url, home]): Backend =>
    Option.isSome(url) ? { kind: "postgres", url: url.value } : { kind: "pglite", dataDir: Path.join(home, "pglite") }
)

/** A URL with its password hidden. */
export const displayUrl = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return "(unparseable database URL)"
  }
}

const sqlError = (message: string) => (cause: unknown) => new SqlError({ cause, message })

/** Options of `layerPglite`. */
export interface PgliteOptions {
  /**
   * Run PGlite on a worker thread, so its (synchronous, WASM) work does not
   * block this thread's event loop (when the sources were bundled into one
   * file, the worker script is missing and PGlite runs in this thread).
   * @default true, unless `TRELLIS_PGLITE_THREAD=0`
   */
  readonly thread?: boolean
  /**
   * Prepare statements the client repeats (named statements: PostgreSQL parses and plans them once; see
   * `pgliteProtocol.ts`).
   * @default true
   */
  readonly prepare?: boolean
}

/** Whether PGlite runs on a worker thread when not said otherwise (`TRELLIS_PGLITE_THREAD=0` turns it off). */
export const pgliteThreadDefault: Effect.Effect<boolean, ConfigError.ConfigError> = Settings.pgliteThread

/**
 * The pristine data directory (`dumpDataDir`) of the process's first in-memory database. Creating a database runs
 * `initdb`, seconds of CPU; loading this copy of a freshly created one takes a fraction of that, so every later
 * in-memory database (tests open many) starts from it. Undefined when the first one could not be copied.
 */
const pristineDir: { current: Promise<Uint8Array | undefined> | undefined } = { current: undefined }

/** Waits until a PGlite thread has opened its database; closes it when it could not. */
const threadReady = async (db: PGliteThread): Promise<PGliteThread> => {
  await db.waitReady.catch(async (e) => {
    await db.close()
    throw e
  })
  return db
}

/**
 * A PGlite database in `dataDir` (`memory://` for a throwaway one) with the
 * pgvector extension loaded, as `PgClient` + `SqlClient` + `Database`.
 * The directory is created when missing and locked for this process
 * (`lock.ts`: a second opener fails with "the store in <dir> is in use by
 * process <pid>"); the database is closed and the lock removed when the
 * layer is released.
 */
export const layerPglite = (
  dataDir: string,
  options: PgliteOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient | Database, SqlError> => {
  const settings = Effect.all({
    thread: Effect.map(
      options.thread === undefined ? pgliteThreadDefault : Effect.succeed(options.thread),
      (wanted) => wanted && pgliteThreadAvailable()
    ),
    templateFile: Effect.map(Settings.pgliteTemplate, Option.getOrUndefined)
  }).pipe(Effect.mapError((e) => new SqlError({ cause: e, message: `invalid setting: ${String(e)}` })))
  const lock = dataDir === MEMORY
    ? Effect.void
    : Effect.mapError(lockDir(dataDir), (e) => new SqlError({ cause: e, message: e.message }))
  // The setting is checked before the directory is locked (and created).
  const acquire = Effect.zipLeft(settings, lock).pipe(
    Effect.flatMap(({ templateFile, thread }) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          // `lockDir` has created the directory.
          try: async () => {
            if (dataDir !== MEMORY || templateFile !== undefined) {
              const path = dataDir === MEMORY ? undefined : dataDir
              if (thread) return await threadReady(openPGliteThread(path, { templateFile }))
              const loadDataDir = templateFor(path, templateFile)
              return await PGlite.create(path, { extensions: { vector }, ...(loadDataDir ? { loadDataDir } : {}) })
            }
            const template = await pristineDir.current
            if (template !== undefined) {
              if (thread) return await threadReady(openPGliteThread(undefined, { template }))
              return await PGlite.create(undefined, { extensions: { vector }, loadDataDir: new Blob([template]) })
            }
            // The first in-memory database of this process: created, and its pristine directory kept for the next.
            let keep: (dir: Uint8Array | undefined) => void = () => undefined
            pristineDir.current = new Promise((resolve) => (keep = resolve))
            try {
              if (thread) return await threadReady(openPGliteThread(undefined, { onPristine: keep }))
              const db = await PGlite.create(undefined, { extensions: { vector } })
              keep(new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer()))
              return db
            } finally {
              keep(undefined)
            }
          },
          catch: sqlError(`cannot open the embedded database in ${dataDir}`)
        }),
        (db) => Effect.promise(() => db.close().catch(() => undefined))
      )
    )
  )
  return Layer.unwrapScoped(
    Effect.map(acquire, (db) =>
      Layer.merge(
        PgClient.layerFromPool({
          acquire: Effect.acquireRelease(
            // The adapter uses only `waitReady` and `execProtocolStream`: given the pipelined ones (held messages sent
            // together, repeated statements prepared), over PGlite in this thread or on its own.
            Effect.sync(() => {
              const target = pipeline(db as ProtocolTarget, { prepare: options.prepare !== false })
              return new Pg.Pool(createPgConfig(target as unknown as PGlite) as unknown as Pg.PoolConfig)
            }),
            (pool) => Effect.promise(() => pool.end().catch(() => undefined))
          )
        }),
        Layer.succeed(Database, { backend: "pglite", location: dataDir, vectorAvailable: true })
      ))
  )
}

/**
 * A PostgreSQL server at `url`, as `PgClient` + `SqlClient` + `Database`.
 * `vectorAvailable` says whether the server offers the `vector` extension.
 */
export const layerPostgres = (
  url: Redacted.Redacted<string>,
  options: { readonly maxConnections?: number } = {}
): Layer.Layer<PgClient.PgClient | SqlClient | Database, SqlError> => {
  const client = PgClient.layer({ url, maxConnections: options.maxConnections ?? 10 })
  const database = Layer.effect(
    Database,
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const rows = yield* sql<
        { readonly n: number }
      >`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'vector'`
      return {
        backend: "postgres" as const,
        location: displayUrl(Redacted.value(url)),
        vectorAvailable: (rows[0]?.n ?? 0) > 0
      }
    })
  )
  return Layer.merge(client, Layer.provide(database, client)).pipe(
    Layer.mapError((e) =>
      new SqlError({ cause: e, message: `cannot connect to PostgreSQL at ${displayUrl(Redacted.value(url))}` })
    )
  )
}

/** The client of a backend. */
export const layerBackend = (backend: Backend): Layer.Layer<PgClient.PgClient | SqlClient | Database, SqlError> =>
  backend.kind === "pglite" ? layerPglite(backend.dataDir) : layerPostgres(backend.url)

/** The client the environment asks for (see `backendFromEnv`). */
export const layerFromEnv: Layer.Layer<PgClient.PgClient | SqlClient | Database, SqlError> = Layer.unwrapEffect(
  Effect.map(
    Effect.mapError(backendFromEnv, (e) => new SqlError({ cause: e, message: `invalid setting: ${String(e)}` })),
    layerBackend
  )
)
