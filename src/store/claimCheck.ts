/**
 * Claim-check payloads (issue 21). An event payload whose JSON text is larger than the threshold
 * (`TRELLIS_BLOB_THRESHOLD_BYTES`) is stored once in the blob store (`blobs.ts`), by the sha256 of that text,
 * and the stored event carries a reference `{ "$blob": "<sha256 hex>", "bytes": <n> }` in its place. The
 * payloads: `RunStarted.inputs`, `ToolReturned.output` (tool outputs and llm answers), `FoldUpdated.value`,
 * `Waiting.payload`, `Signalled.payload`, `RunCompleted.output`. A payload that itself looks like a reference
 * (an object with a `$blob` key) is always stored as a blob, so every reference in a stored event is one.
 *
 * The SQL event log offloads on append and resolves on read, so the runtime (resume), replay, the server's
 * run API and the viewer see the payloads; `trellis trace export` writes the references unless `--inline`.
 *
 * References are counted in `blob_refs` (one row per referring event), written before the event commits; a
 * blob is collected (`collectBlobs`, run by `trellis gc`) once no stored event refers to it and it was not
 * used for the grace period.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { StoreError } from "../trace/errors.js"
import { makeEvent } from "../trace/events.js"
import type { RunEvent, RunEventType } from "../trace/events.js"
import type { BlobStoreError } from "./blobs.js"
import { BlobStore } from "./blobs.js"
import { storeOp } from "./failure.js"
import { eventStoredSql } from "./history.js"

/** A reference to a payload in the blob store. */
export interface BlobRef {
  readonly $blob: string
  readonly bytes: number
}

/** The payload fields of each event type that may be offloaded. */
export const PAYLOAD_FIELDS: Partial<Record<RunEventType, ReadonlyArray<string>>> = {
  RunStarted: ["inputs"],
  ToolReturned: ["output"],
  FoldUpdated: ["value"],
  Waiting: ["payload"],
  Signalled: ["payload"],
  RunCompleted: ["output"]
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Whether a value has the shape of a reference (an object with a `$blob` key). */
export const looksLikeRef = (u: unknown): boolean => isRecord(u) && Object.prototype.hasOwnProperty.call(u, "$blob")

/** A stored payload that is a reference. */
export const isBlobRef = (u: unknown): u is BlobRef =>
  isRecord(u) && typeof u["$blob"] === "string" && typeof u["bytes"] === "number"

/** A payload moved to the blob store: its hash, JSON text and size, and the event that refers to it. */
export interface Offloaded {
  readonly hash: string
  readonly content: string
  readonly bytes: number
  readonly runId: string
  readonly seq: number
}

/** The sha256 (hex) of a text. */
export const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

/** Whether a value's JSON text may exceed `threshold` bytes (cheap for primitives and short strings). */
const mayExceed = (value: unknown, threshold: number): boolean => {
  if (value === null || typeof value === "number" || typeof value === "boolean" || value === undefined) return false
  // A UTF-16 unit takes at most 6 bytes of JSON text (a `\u` escape with four hex digits).
  if (typeof value === "string") return value.length * 6 + 2 > threshold
  return true
}

const withData = (event: RunEvent, data: unknown): RunEvent =>
  makeEvent(event.type, {
    runId: event.runId,
    seq: event.seq,
    at: event.at,
    node: event.node,
    attempt: event.attempt,
    data: data as never
  })

/**
 * The events as they are stored: payloads over `threshold` bytes (and any that looks like a reference)
 * replaced by references, and the payloads to store. Events without such payloads are returned as they are.
 * `stored`: the events are already in their stored form (a data migration), so a reference stays as it is.
 */
export const offload = (
  events: ReadonlyArray<RunEvent>,
  threshold: number,
  stored = false
): { readonly events: ReadonlyArray<RunEvent>; readonly blobs: ReadonlyArray<Offloaded> } => {
  let out: Array<RunEvent> | undefined
  const blobs: Array<Offloaded> = []
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    const fields = PAYLOAD_FIELDS[e.type]
    if (fields === undefined) continue
    let data: Record<string, unknown> | undefined
    for (const field of fields) {
      const value = (e.data as Record<string, unknown>)[field]
      if (!mayExceed(value, threshold) || (stored && isBlobRef(value))) continue
      const text = JSON.stringify(value)
      if (text === undefined) continue
      const bytes = Buffer.byteLength(text, "utf8")
      if (bytes <= threshold && !looksLikeRef(value)) continue
      const hash = sha256(text)
      blobs.push({ hash, content: text, bytes, runId: e.runId, seq: e.seq })
      data ??= { ...(e.data as Record<string, unknown>) }
      data[field] = { $blob: hash, bytes } satisfies BlobRef
    }
    if (data === undefined) continue
    out ??= events.slice()
    out[i] = withData(e, data)
  }
  return { events: out ?? events, blobs }
}

/** The references in stored events (the hashes, each once). */
export const referencesOf = (events: ReadonlyArray<RunEvent>): ReadonlyArray<string> => {
  const hashes = new Set<string>()
  for (const e of events) {
    for (const field of PAYLOAD_FIELDS[e.type] ?? []) {
      const value = (e.data as Record<string, unknown>)[field]
      if (isBlobRef(value)) hashes.add(value.$blob)
    }
  }
  return [...hashes]
}

const blobFailed = (operation: string) => (e: BlobStoreError) =>
  new StoreError({ operation, message: `${e.backend} blob store: ${e.message}` })

/**
 * Stored events with their references replaced by the payloads (read from the blob store). A reference
 * whose blob is missing fails with a `StoreError` naming the run, the event and the hash.
 */
export const resolve = (
  events: ReadonlyArray<RunEvent>,
  store: BlobStore["Type"]
): Effect.Effect<ReadonlyArray<RunEvent>, StoreError> => {
  const hashes = referencesOf(events)
  if (hashes.length === 0) return Effect.succeed(events)
  return Effect.gen(function*() {
    const contents = new Map<string, unknown>()
    yield* Effect.forEach(hashes, (hash) =>
      Effect.flatMap(store.get(hash), (content) => {
        if (Option.isSome(content)) contents.set(hash, JSON.parse(content.value))
        return Effect.void
      }), { concurrency: 8, discard: true }).pipe(Effect.mapError(blobFailed("read events")))
    const out: Array<RunEvent> = []
    for (const e of events) {
      const fields = PAYLOAD_FIELDS[e.type]
      let data: Record<string, unknown> | undefined
      for (const field of fields ?? []) {
        const value = (e.data as Record<string, unknown>)[field]
        if (!isBlobRef(value)) continue
        if (!contents.has(value.$blob)) {
          return yield* new StoreError({
            operation: "read events",
            message:
              `event ${e.seq} (${e.type}) of run ${e.runId} refers to blob ${value.$blob} (${value.bytes} bytes), ` +
              `which the ${store.backend} blob store does not have`
          })
        }
        data ??= { ...(e.data as Record<string, unknown>) }
        data[field] = contents.get(value.$blob)
      }
      out.push(data === undefined ? e : withData(e, data))
    }
    return out
  })
}

/**
 * Stores the payloads of `blobs`: the index rows and references first (one transaction; a blob's row is locked
 * while `collectBlobs` removes it, so a concurrent put waits and writes the content again), then the contents.
 */
export const storeBlobs = (
  blobs: ReadonlyArray<Offloaded>,
  now: number
): Effect.Effect<void, StoreError, SqlClient | BlobStore> =>
  blobs.length === 0 ? Effect.void : Effect.gen(function*() {
    const sql = yield* SqlClient
    const store = yield* BlobStore
    const unique = new Map<string, Offloaded>()
    for (const b of blobs) unique.set(b.hash, b)
    yield* storeOp(
      "store blobs",
      sql.unsafe(
        `WITH indexed AS (
           INSERT INTO blobs (hash, bytes, created_at, used_at)
           SELECT b->>'hash', (b->>'bytes')::bigint, $2, $2 FROM jsonb_array_elements($1::jsonb) AS b
           ON CONFLICT (hash) DO UPDATE SET used_at = EXCLUDED.used_at
           RETURNING 1
         )
         INSERT INTO blob_refs (run_id, seq, hash, created_at)
         SELECT r->>'runId', (r->>'seq')::int, r->>'hash', $2 FROM jsonb_array_elements($3::jsonb) AS r
         ON CONFLICT DO NOTHING`,
        [
          JSON.stringify([...unique.values()].map((b) => ({ hash: b.hash, bytes: b.bytes }))),
          now,
          JSON.stringify(blobs.map((b) => ({ runId: b.runId, seq: b.seq, hash: b.hash })))
        ]
      )
    )
    yield* Effect.forEach(unique.values(), (b) => store.put(b.hash, b.content), { concurrency: 4, discard: true })
      .pipe(Effect.mapError(blobFailed("store blobs")))
  })

/** What a blob collection removed (or would remove). */
export interface BlobSweep {
  /** References whose event is gone (compacted, or never committed). */
  readonly refs: number
  /** Blobs no stored event refers to. */
  readonly blobs: number
  readonly bytes: number
}

/** How long an unreferenced blob (or a reference without its event) is kept, in case its event is committing. */
export const BLOB_GRACE_MS = 3_600_000

/**
 * Collects blobs no kept event refers to: drops references whose event is gone (older than `graceMs`), then
 * removes every blob without references not used for `graceMs` — its index row (under its row lock) and its
 * content. With `dryRun`, counts only.
 */
export const collectBlobs = (
  options: { readonly now: number; readonly dryRun: boolean; readonly graceMs?: number }
): Effect.Effect<BlobSweep, StoreError, SqlClient | BlobStore> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const store = yield* BlobStore
    const cutoff = options.now - (options.graceMs ?? BLOB_GRACE_MS)
    const staleRefs = `FROM blob_refs r WHERE r.created_at < $1
      AND NOT ${eventStoredSql("r.run_id", "r.seq")}`
    const refs = Number(
      (yield* storeOp(
        "collect blobs",
        sql.unsafe<{ readonly n: number | string }>(
          options.dryRun
            ? `SELECT count(*) AS n ${staleRefs}`
            : `WITH gone AS (DELETE FROM blob_refs WHERE (run_id, seq, hash) IN (SELECT r.run_id, r.seq, r.hash ${staleRefs})
               RETURNING 1) SELECT count(*) AS n FROM gone`,
          [cutoff]
        )
      ))[0]?.n ?? 0
    )
    // In a dry run the stale references still count; a blob whose only references are stale is garbage too.
    const unreferenced = `FROM blobs b WHERE b.used_at < $1 AND NOT EXISTS (
        SELECT 1 FROM blob_refs r WHERE r.hash = b.hash
          AND (r.created_at >= $1 OR ${eventStoredSql("r.run_id", "r.seq")}))`
    const candidates = yield* storeOp(
      "collect blobs",
      sql.unsafe<{ readonly hash: string; readonly bytes: number | string }>(
        `SELECT b.hash, b.bytes ${unreferenced} ORDER BY b.hash`,
        [cutoff]
      )
    )
    if (options.dryRun) {
      return { refs, blobs: candidates.length, bytes: candidates.reduce((n, c) => n + Number(c.bytes), 0) }
    }
    let blobs = 0
    let bytes = 0
    for (const c of candidates) {
      const removed = yield* sql.withTransaction(Effect.gen(function*() {
        const locked = yield* sql.unsafe<{ readonly hash: string }>(
          `SELECT b.hash ${unreferenced} AND b.hash = $2 FOR UPDATE`,
          [cutoff, c.hash]
        )
        if (locked.length === 0) return false
        yield* store.remove(c.hash)
        yield* sql.unsafe(`DELETE FROM blobs WHERE hash = $1`, [c.hash])
        return true
      })).pipe(
        Effect.catchTags({
          SqlError: (e) => Effect.fail(new StoreError({ operation: "collect blobs", message: e.message })),
          BlobStoreError: (e) => Effect.fail(blobFailed("collect blobs")(e))
        })
      )
      if (removed) {
        blobs++
        bytes += Number(c.bytes)
      }
    }
    return { refs, blobs, bytes }
  })
