/**
 * The durable store as Layers, exported as `Store`: every store service
 * (`EventSink`, `EventLog`, `RunStore`, `IdempotencyStore`, `PolicyStore`)
 * over one SQL client, with the schema migrated before any is used.
 * `layer` runs on a `SqlClient` you provide; `layerPglite(dir)`,
 * `layerPostgres(url)` and `layerFromEnv` bring their own client (and
 * expose it, with `Database`, so other parts — retrieval — share the one
 * connection). Every failure is a `StoreError`.
 */
import type { PgClient } from "@effect/sql-pg"
import type { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Layer } from "effect"
import type { Redacted } from "effect"
import type { RewardLog } from "../runtime/bandit/rewards.js"
import type { PolicyStore } from "../runtime/bandit/store.js"
import type { IdempotencyStore } from "../runtime/policy/idempotency.js"
import type { RunCounts } from "../runtime/runCounts.js"
import type { RunStore } from "../runtime/runStore.js"
import type { SubmissionKeys } from "../runtime/submissionKeys.js"
import { StoreError } from "../trace/errors.js"
import type { EventLog, EventSink } from "../trace/events.js"
import * as Bandit from "./bandit.js"
import * as Blobs from "./blobs.js"
import type { BlobStore, BlobStoreError } from "./blobs.js"
import * as Events from "./events.js"
import type { EventStoreOptions } from "./events.js"
import * as GroupCommit from "./groupCommit.js"
import type { GroupCommitOptions } from "./groupCommit.js"
import * as Idempotency from "./idempotency.js"
import { migrate } from "./migrations.js"
import * as Rewards from "./rewards.js"
import * as RunCountsSql from "./runCounts.js"
import * as Runs from "./runs.js"
import * as Signals from "./signals.js"
import * as Sql from "./sql.js"
import type { Backend, Database } from "./sql.js"
import * as SubmissionKeysSql from "./submissionKeys.js"

/** Every service the store provides. */
export type StoreServices =
  | EventSink
  | EventLog
  | RunStore
  | IdempotencyStore
  | PolicyStore
  | RewardLog
  | SubmissionKeys
  | RunCounts
  | BlobStore

/** The SQL client a backend layer provides alongside the store. */
export type Client = PgClient.PgClient | SqlClient | Database

/** Options of the store layers. */
export interface StoreOptions {
  /** Options of the event log (live stream polling). @default {} */
  readonly events?: EventStoreOptions
  /** Options of the group-commit writer (`TRELLIS_STORE_COMMIT_*` when not given). @default {} */
  readonly commit?: GroupCommitOptions
  /** Where large payloads go (`TRELLIS_BLOB_STORE` when not given). @default `Blobs.layerFromEnv` */
  readonly blobs?: Layer.Layer<BlobStore, BlobStoreError, SqlClient>
}

/** Migrates the schema of the `SqlClient` in context (when the layer is built). */
export const layerMigrations: Layer.Layer<never, StoreError, SqlClient> = Layer.effectDiscard(migrate)

/** Every store service on the `SqlClient` in context, after migrating its schema. */
export const layerWith = (options: StoreOptions = {}): Layer.Layer<StoreServices, StoreError, SqlClient> =>
  Layer.mergeAll(
    Events.layer(options.events),
    Runs.layer,
    Idempotency.layer,
    Bandit.layer,
    Rewards.layer,
    Signals.layer,
    SubmissionKeysSql.layer,
    RunCountsSql.layer
  ).pipe(
    // The writer stays in the output too (untyped there), so a bench can read its counters.
    Layer.provideMerge(GroupCommit.layer(options.commit)),
    // The blob store of large payloads stays in the output too (`trellis gc` and data migrations use it).
    Layer.provideMerge(
      Layer.mapError(
        options.blobs ?? Blobs.layerFromEnv,
        (e) => new StoreError({ operation: "open blob store", message: e.message })
      )
    ),
    Layer.provide(layerMigrations)
  )

/** Every store service on the `SqlClient` in context, after migrating its schema. */
export const layer: Layer.Layer<StoreServices, StoreError, SqlClient> = layerWith()

/** Why the store could not open: the client's message, plus its cause's when that says more. */
const openError = (e: SqlError): StoreError => {
  const cause = e.cause instanceof Error ? e.cause.message : undefined
  const message = cause === undefined || cause === "" || e.message.includes(cause)
    ? e.message
    : `${e.message}: ${cause}`
  return new StoreError({ operation: "open store", message })
}

/** The store over a client layer (the client stays available, e.g. to retrieval). */
export const layerOn = (
  client: Layer.Layer<Client, SqlError>,
  options: StoreOptions = {}
): Layer.Layer<StoreServices | Client, StoreError> =>
  Layer.provideMerge(layerWith(options), Layer.mapError(client, openError))

/**
 * The store in an embedded PGlite directory (`memory://` for a throwaway
 * one). The directory is locked while open: a second process fails with
 * "the store in <dir> is in use by process <pid>".
 */
export const layerPglite = (dir: string, options: StoreOptions = {}): Layer.Layer<StoreServices | Client, StoreError> =>
  layerOn(Sql.layerPglite(dir), options)

/** The store on a PostgreSQL server. */
export const layerPostgres = (
  url: Redacted.Redacted<string>,
  options: StoreOptions = {}
): Layer.Layer<StoreServices | Client, StoreError> => layerOn(Sql.layerPostgres(url), options)

/** The store on a backend. */
export const layerBackend = (
  backend: Backend,
  options: StoreOptions = {}
): Layer.Layer<StoreServices | Client, StoreError> => layerOn(Sql.layerBackend(backend), options)

/** The store the environment asks for: PostgreSQL at `TRELLIS_DATABASE_URL`, else PGlite under `TRELLIS_HOME` (default `./.trellis`). */
export const layerFromEnv: Layer.Layer<StoreServices | Client, StoreError> = layerOn(Sql.layerFromEnv)
