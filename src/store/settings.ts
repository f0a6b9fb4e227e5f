/**
 * Every environment setting of the store, read through effect's `Config`
 * (documented in `docs/configuration.md`). The database URL is a secret: it
 * stays `Redacted` until the PostgreSQL client opens it.
 */
import { Config, ConfigError, Either, Option, Redacted } from "effect"
import * as Path from "node:path"

/** `TRELLIS_HOME` as given: the directory of embedded data (an empty value counts as unset). */
export const homeAsGiven: Config.Config<Option.Option<string>> = Config.option(Config.string("TRELLIS_HOME")).pipe(
  Config.map(Option.filter((dir) => dir !== ""))
)

/** The directory of embedded data, resolved: `TRELLIS_HOME`, else `./.trellis`. */
export const home: Config.Config<string> = Config.map(
  homeAsGiven,
  (dir) => Path.resolve(Option.getOrElse(dir, () => ".trellis"))
)

/** `TRELLIS_DATABASE_URL`: a PostgreSQL server to use instead of PGlite (secret: it may hold a password). */
export const databaseUrl: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.option(
  Config.redacted("TRELLIS_DATABASE_URL")
).pipe(Config.map(Option.filter((url) => Redacted.value(url) !== "")))

/** `TRELLIS_PGLITE_THREAD`: run PGlite on a worker thread (`0`/`false` runs it on the main thread). @default true */
export const pgliteThread: Config.Config<boolean> = Config.string().pipe(
  Config.mapOrFail((text) => {
    const value = text.trim().toLowerCase()
    if (["", "1", "true", "yes", "on"].includes(value)) return Either.right(true)
    if (["0", "false", "no", "off"].includes(value)) return Either.right(false)
    const got = JSON.stringify(text.slice(0, 32))
    return Either.left(ConfigError.InvalidData([], `expected 0 or 1 (or true/false), got ${got}`))
  }),
  // Nested after the check, so that its error names the variable.
  Config.nested("TRELLIS_PGLITE_THREAD"),
  Config.withDefault(true)
)

/**
 * `TRELLIS_PGLITE_TEMPLATE`: a PGlite data directory as written by `dumpDataDir` (a tar file) that a new PGlite
 * store starts from instead of running `initdb` (seconds of CPU); an empty value counts as unset. The test suite
 * makes one per run (`test/support/pgliteTemplate.ts`).
 */
export const pgliteTemplate: Config.Config<Option.Option<string>> = Config.option(
  Config.string("TRELLIS_PGLITE_TEMPLATE")
).pipe(Config.map(Option.filter((file) => file !== "")))

/** A non-negative number setting (`name`), with its default. */
const nonNegative = (name: string, fallback: number, integer: boolean): Config.Config<number> =>
  Config.string().pipe(
    Config.mapOrFail((text) => {
      const n = Number(text.trim())
      if (text.trim() !== "" && Number.isFinite(n) && n >= 0 && (!integer || Number.isInteger(n))) {
        return Either.right(n)
      }
      const got = JSON.stringify(text.slice(0, 32))
      return Either.left(
        ConfigError.InvalidData([], `expected a non-negative ${integer ? "integer" : "number"}, got ${got}`)
      )
    }),
    Config.nested(name),
    Config.withDefault(fallback)
  )

/**
 * `TRELLIS_STORE_COMMIT_LINGER_MS`: how long the store's writer, when busy (its previous commit carried more
 * than one write), waits for more writes before committing them together. @default 1
 */
export const commitLingerMs: Config.Config<number> = nonNegative("TRELLIS_STORE_COMMIT_LINGER_MS", 1, false)

/** `TRELLIS_STORE_COMMIT_MAX_BATCH`: the most writes (event batches, run records, run endings) per commit. @default 256 */
export const commitMaxBatch: Config.Config<number> = nonNegative("TRELLIS_STORE_COMMIT_MAX_BATCH", 256, true).pipe(
  Config.map((n) => Math.max(1, n))
)

/** `TRELLIS_CACHE_MAX_ENTRIES`: the most result-cache entries one workspace keeps in the store (oldest out). @default 10000 */
export const cacheMaxEntries: Config.Config<number> = nonNegative("TRELLIS_CACHE_MAX_ENTRIES", 10_000, true)

/** `TRELLIS_CACHE_FRONT_ENTRIES`: the most result-cache entries a process keeps in memory in front of the store. @default 1000 */
export const cacheFrontEntries: Config.Config<number> = nonNegative("TRELLIS_CACHE_FRONT_ENTRIES", 1_000, true)

/** `TRELLIS_GC_INTERVAL_MS`: how often `trellis serve` collects the store's garbage (0: never). @default 3600000 */
export const gcIntervalMs: Config.Config<number> = nonNegative("TRELLIS_GC_INTERVAL_MS", 3_600_000, true)

/**
 * `TRELLIS_BLOB_THRESHOLD_BYTES`: event payloads (tool outputs, llm answers, run inputs and outputs, wait and
 * signal payloads, fold values) larger than this, as JSON text, go to the blob store; the event keeps a
 * reference. @default 65536
 */
export const blobThresholdBytes: Config.Config<number> = nonNegative("TRELLIS_BLOB_THRESHOLD_BYTES", 65_536, true)

/** `TRELLIS_BLOB_STORE`: where blob contents live — `sql` (the store's database), `fs` or `s3`. @default sql */
export const blobStore: Config.Config<"sql" | "fs" | "s3"> = Config.literal("sql", "fs", "s3")("TRELLIS_BLOB_STORE")
  .pipe(Config.withDefault("sql" as const))

/** `TRELLIS_BLOB_DIR`: the directory of the `fs` blob store. @default `$TRELLIS_HOME/blobs` */
export const blobDir: Config.Config<Option.Option<string>> = Config.option(Config.string("TRELLIS_BLOB_DIR")).pipe(
  Config.map(Option.filter((dir) => dir !== ""))
)

/** The `s3` blob store: bucket (required), key prefix, region and endpoint (an S3-compatible server). */
export const blobS3 = Config.all({
  bucket: Config.option(Config.string("TRELLIS_BLOB_S3_BUCKET")),
  prefix: Config.string("TRELLIS_BLOB_S3_PREFIX").pipe(Config.withDefault("trellis/blobs/")),
  region: Config.string("TRELLIS_BLOB_S3_REGION").pipe(Config.withDefault("us-east-1")),
  endpoint: Config.option(Config.string("TRELLIS_BLOB_S3_ENDPOINT"))
})

/** Every store setting at once (what `docs/configuration.md` must list). */
export const StoreSettings = Config.all({
  home,
  databaseUrl,
  pgliteThread,
  pgliteTemplate,
  commitLingerMs,
  commitMaxBatch,
  cacheMaxEntries,
  cacheFrontEntries,
  gcIntervalMs,
  blobThresholdBytes,
  blobStore,
  blobDir,
  blobS3
})
