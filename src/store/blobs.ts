/**
 * The blob store of claim-check payloads (issue 21): where the content of a payload too large for its event
 * lives, by its sha256 (content-addressed: stored once however many events refer to it). One service,
 * `BlobStore`, three backends: the store's own database (`blob_contents`, the default), a filesystem
 * directory, and an S3-compatible object store through `@aws-sdk/client-s3` (an optional dependency, loaded
 * when that backend is chosen). Which blobs exist and who refers to them is kept in the database whatever the
 * backend (`claimCheck.ts`); this service only keeps contents.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option, Schema } from "effect"
import * as Path from "node:path"
import * as Settings from "./settings.js"

/** Why a blob could not be stored or read. */
export class BlobStoreError extends Schema.TaggedError<BlobStoreError>()("BlobStoreError", {
  /** `NotInstalled`/`NotConfigured`: the backend cannot start; `Io`: a read or write failed. */
  reason: Schema.Literal("NotInstalled", "NotConfigured", "Io"),
  backend: Schema.Literal("sql", "fs", "s3"),
  message: Schema.String
}) {}

/** The backends. */
export type BlobBackend = "sql" | "fs" | "s3"

/** Where blob contents are kept: the JSON text of a payload, by the sha256 (hex) of that text. */
export class BlobStore extends Context.Tag("trellis/store/BlobStore")<BlobStore, {
  readonly backend: BlobBackend
  /** Stores `content` under `hash` (a no-op when it is there already). */
  readonly put: (hash: string, content: string) => Effect.Effect<void, BlobStoreError>
  /** The content under `hash`, if any. */
  readonly get: (hash: string) => Effect.Effect<Option.Option<string>, BlobStoreError>
  /** Removes the content under `hash` (a no-op when it is absent). */
  readonly remove: (hash: string) => Effect.Effect<void, BlobStoreError>
}>() {}

const io = (backend: BlobBackend, what: string) => (e: unknown) =>
  new BlobStoreError({
    reason: "Io",
    backend,
    message: `${what}: ${
      e instanceof Error
        ? e.message
        : typeof e === "object" && e !== null && "message" in e
        ? String(e.message)
        : String(e)
    }`
  })

/** Contents in the store's database (table `blob_contents`, migration `0016_blobs`). */
export const layerSql: Layer.Layer<BlobStore, never, SqlClient> = Layer.effect(
  BlobStore,
  Effect.map(SqlClient, (sql) =>
    BlobStore.of({
      backend: "sql",
      put: (hash, content) =>
        sql.unsafe(`INSERT INTO blob_contents (hash, content) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING`, [
          hash,
          content
        ]).pipe(Effect.asVoid, Effect.mapError(io("sql", `store blob ${hash}`))),
      get: (hash) =>
        sql.unsafe<{ readonly content: string }>(`SELECT content FROM blob_contents WHERE hash = $1`, [hash]).pipe(
          Effect.map((rows) => Option.fromNullable(rows[0]?.content)),
          Effect.mapError(io("sql", `read blob ${hash}`))
        ),
      remove: (hash) =>
        sql.unsafe(`DELETE FROM blob_contents WHERE hash = $1`, [hash]).pipe(
          Effect.asVoid,
          Effect.mapError(io("sql", `remove blob ${hash}`))
        )
    }))
)

/** The file of a blob in `dir`: `<dir>/<first 2 hex>/<hash>.json` (a fan-out keeps directories small). */
export const blobFile = (dir: string, hash: string): string => Path.join(dir, hash.slice(0, 2), `${hash}.json`)

/** Contents as files under `dir`, written atomically (a temporary file renamed into place). */
export const layerFs = (dir: string): Layer.Layer<BlobStore> =>
  Layer.effect(
    BlobStore,
    Effect.map(FileSystem.FileSystem, (fs) =>
      BlobStore.of({
        backend: "fs",
        put: (hash, content) =>
          Effect.gen(function*() {
            const file = blobFile(dir, hash)
            if (yield* fs.exists(file)) return
            yield* fs.makeDirectory(Path.dirname(file), { recursive: true })
            const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
            yield* fs.writeFileString(tmp, content)
            yield* fs.rename(tmp, file)
          }).pipe(Effect.mapError(io("fs", `store blob ${hash} in ${dir}`))),
        get: (hash) =>
          Effect.gen(function*() {
            const file = blobFile(dir, hash)
            if (!(yield* fs.exists(file))) return Option.none()
            return Option.some(yield* fs.readFileString(file, "utf8"))
          }).pipe(Effect.mapError(io("fs", `read blob ${hash} in ${dir}`))),
        remove: (hash) =>
          fs.remove(blobFile(dir, hash), { force: true }).pipe(Effect.mapError(io("fs", `remove blob ${hash}`)))
      }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

/** The settings of the S3 backend. */
export interface S3Options {
  readonly bucket: string
  readonly prefix: string
  readonly region: string
  readonly endpoint?: string | undefined
}

/** The part of `@aws-sdk/client-s3` used here. */
interface S3Module {
  readonly S3Client: new(config: object) => { send(command: unknown): Promise<unknown> }
  readonly PutObjectCommand: new(input: object) => unknown
  readonly GetObjectCommand: new(input: object) => unknown
  readonly DeleteObjectCommand: new(input: object) => unknown
}

/** The name of the optional client module (a variable, so bundlers and the type checker leave it to run time). */
const S3_MODULE = "@aws-sdk/client-s3"

const isNoSuchKey = (e: unknown): boolean =>
  typeof e === "object" && e !== null && ((e as { name?: unknown }).name === "NoSuchKey" ||
    (e as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode === 404)

/**
 * Contents as objects `<prefix><hash>.json` in an S3-compatible bucket. Fails with `NotInstalled` when
 * `@aws-sdk/client-s3` cannot be loaded (`npm install @aws-sdk/client-s3`). Credentials come from the SDK's
 * usual sources (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, instance roles).
 */
export const layerS3 = (
  options: S3Options,
  load: () => Promise<unknown> = () => import(S3_MODULE)
): Layer.Layer<BlobStore, BlobStoreError> =>
  Layer.effect(
    BlobStore,
    Effect.gen(function*() {
      const mod = yield* Effect.tryPromise({
        try: () => load() as Promise<S3Module>,
        catch: (e) =>
          new BlobStoreError({
            reason: "NotInstalled",
            backend: "s3",
            message: `the s3 blob store needs the package ${S3_MODULE} (npm install ${S3_MODULE}): ${
              e instanceof Error ? e.message : String(e)
            }`
          })
      })
      const client = new mod.S3Client({
        region: options.region,
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, forcePathStyle: true })
      })
      const key = (hash: string) => `${options.prefix}${hash}.json`
      const send = (command: unknown) => Effect.tryPromise({ try: () => client.send(command), catch: (e) => e })
      return BlobStore.of({
        backend: "s3",
        put: (hash, content) =>
          send(
            new mod.PutObjectCommand({
              Bucket: options.bucket,
              Key: key(hash),
              Body: content,
              ContentType: "application/json"
            })
          ).pipe(Effect.asVoid, Effect.mapError(io("s3", `store blob ${hash} in bucket ${options.bucket}`))),
        get: (hash) =>
          send(new mod.GetObjectCommand({ Bucket: options.bucket, Key: key(hash) })).pipe(
            Effect.flatMap((out) =>
              Effect.tryPromise({
                try: () => (out as { Body: { transformToString(): Promise<string> } }).Body.transformToString(),
                catch: (e) => e
              })
            ),
            Effect.map(Option.some),
            Effect.catchIf(isNoSuchKey, () => Effect.succeed(Option.none<string>())),
            Effect.mapError(io("s3", `read blob ${hash} from bucket ${options.bucket}`))
          ),
        remove: (hash) =>
          send(new mod.DeleteObjectCommand({ Bucket: options.bucket, Key: key(hash) })).pipe(
            Effect.asVoid,
            Effect.mapError(io("s3", `remove blob ${hash} from bucket ${options.bucket}`))
          )
      })
    })
  )

/** The blob store the environment asks for (`TRELLIS_BLOB_STORE`, `TRELLIS_BLOB_DIR`, `TRELLIS_BLOB_S3_*`). */
export const layerFromEnv: Layer.Layer<BlobStore, BlobStoreError, SqlClient> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const backend = yield* Settings.blobStore
    if (backend === "sql") return layerSql
    if (backend === "fs") {
      const dir = yield* Settings.blobDir
      return layerFs(Option.isSome(dir) ? dir.value : Path.join(yield* Settings.home, "blobs"))
    }
    const s3 = yield* Settings.blobS3
    if (Option.isNone(s3.bucket)) {
      return Layer.fail(
        new BlobStoreError({
          reason: "NotConfigured",
          backend: "s3",
          message: "TRELLIS_BLOB_STORE=s3 needs TRELLIS_BLOB_S3_BUCKET (the bucket of the blobs)"
        })
      )
    }
    return layerS3({
      bucket: s3.bucket.value,
      prefix: s3.prefix,
      region: s3.region,
      endpoint: Option.getOrUndefined(s3.endpoint)
    })
  }).pipe(
    Effect.mapError((e) =>
      new BlobStoreError({ reason: "NotConfigured", backend: "sql", message: `blob store settings: ${e.message}` })
    )
  )
)
