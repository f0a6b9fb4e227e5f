/**
 * History records (issue 21): how the store keeps a run's events. Each committed batch of one run's events
 * becomes one or more *records* — rows of `run_history` (migration `0018_history_records`):
 * `(run_id, first_seq, last_seq, at, body)`, the body being the JSON array of the events `first_seq..last_seq`
 * (contiguous: no gap, exactly `last_seq - first_seq + 1` of them, in seq order) as encoded events. A record
 * holds at most `MAX_RECORD_EVENTS` events and `MAX_RECORD_BYTES` bytes of JSON (a longer batch is cut), so a
 * read of "the events after seq N" only expands the records that overlap it; PostgreSQL compresses the bodies
 * (TOAST), which is where most of the saving comes from.
 *
 * The event model does not change: readers expand records back into the same events with the same seqs, and a
 * record overlapping a range is sliced. Records are append-only (a trigger refuses `UPDATE`) and never overlap:
 * a trigger, holding a per-run transaction lock, refuses a record that shares a seq with a stored record or
 * with a row of `run_event_rows` — so `(run_id, seq)` stays unique, as the primary key of one row per event was.
 *
 * `run_event_rows` is the table of one row per event that earlier builds wrote (`run_events` until migration
 * 0018 renamed it); its rows are read with the records (one statement, one snapshot) until the data migration
 * `pack-history` (`packHistory.ts`) moves them into records. `run_events` is now a view of both, one row per
 * event, for ad-hoc SQL.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import * as JsonText from "./jsonText.js"

/** No limit (of events read). */
export const ALL = 2_147_483_647

/** Most events in one record. */
export const MAX_RECORD_EVENTS = 1_000

/** Most bytes of JSON text (the events' encoded form, before compression) in one record. */
export const MAX_RECORD_BYTES = 256 * 1024

/** What `pack` needs of an event. */
export interface Packable {
  readonly runId: string
  readonly seq: number
  readonly at: number
}

/** Bounds of a record. */
export interface RecordLimits {
  readonly maxEvents?: number
  readonly maxBytes?: number
}

/** One record to store: a run's contiguous events `firstSeq..lastSeq`, with their JSON texts. */
export interface Packed<E extends Packable> {
  readonly runId: string
  readonly firstSeq: number
  readonly lastSeq: number
  /** The time of its last event. */
  readonly at: number
  readonly events: ReadonlyArray<E>
  /** `JSON.stringify` of each event (its encoded form). */
  readonly texts: ReadonlyArray<string>
  /** Bytes of JSON text of its events. */
  readonly bytes: number
}

/**
 * Cuts events into records: grouped by run (the runs in byte order of their ids: the order the store takes
 * their locks in), each run's events in seq order, a new record at each gap or repeated seq (a repeated seq thus
 * lands in two overlapping records, which the store refuses), and whenever the record is full.
 */
export const pack = <E extends Packable>(
  events: ReadonlyArray<E>,
  limits: RecordLimits = {}
): Array<Packed<E>> => {
  const maxEvents = Math.max(1, Math.floor(limits.maxEvents ?? MAX_RECORD_EVENTS))
  const maxBytes = Math.max(1, limits.maxBytes ?? MAX_RECORD_BYTES)
  const byRun = new Map<string, Array<E>>()
  for (const e of events) {
    const list = byRun.get(e.runId)
    if (list === undefined) byRun.set(e.runId, [e])
    else list.push(e)
  }
  const out: Array<Packed<E>> = []
  for (const runId of [...byRun.keys()].sort(compareBytes)) {
    const list = byRun.get(runId)!
    if (!isSorted(list)) list.sort((a, b) => a.seq - b.seq)
    let current: Array<E> = []
    let texts: Array<string> = []
    let bytes = 0
    const close = () => {
      if (current.length === 0) return
      out.push({
        runId,
        firstSeq: current[0]!.seq,
        lastSeq: current[current.length - 1]!.seq,
        at: current[current.length - 1]!.at,
        events: current,
        texts,
        bytes
      })
      current = []
      texts = []
      bytes = 0
    }
    for (const e of list) {
      const text = JSON.stringify(e)
      const size = Buffer.byteLength(text, "utf8")
      const last = current[current.length - 1]
      if (
        last !== undefined &&
        (e.seq !== last.seq + 1 || current.length >= maxEvents || bytes + size + 1 > maxBytes)
      ) close()
      current.push(e)
      texts.push(text)
      bytes += size + 1
    }
    close()
  }
  return out
}

const isSorted = (list: ReadonlyArray<Packable>): boolean => {
  for (let i = 1; i < list.length; i++) if (list[i]!.seq < list[i - 1]!.seq) return false
  return true
}

/** Byte order of two ids (UTF-16 code units; the same order in every process). */
const compareBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The JSON text of records as the insert statement reads them (`[{runId, first, last, at, body}]`), escaped
 * for PostgreSQL (`jsonText.ts`); built from the events' texts, so no event is serialized twice.
 */
export const recordsJson = (records: ReadonlyArray<Packed<Packable>>): string => {
  const parts: Array<string> = []
  for (const r of records) {
    parts.push(
      `{"runId":${JSON.stringify(r.runId)},"first":${r.firstSeq},"last":${r.lastSeq},"at":${r.at},"body":[${
        r.texts.join(",")
      }]}`
    )
  }
  return JsonText.encodeText(`[${parts.join(",")}]`)
}

/** The insert of the records in `$n` (JSON text from `recordsJson`), as an SQL statement body. */
export const insertRecordsSql = (param: string): string =>
  `INSERT INTO run_history (run_id, first_seq, last_seq, at, body)
    SELECT r->>'runId', (r->>'first')::int, (r->>'last')::int, (r->>'at')::float8::bigint, r->'body'
    FROM json_array_elements(${param}::json) AS r`

/** Stores records (inside the caller's transaction, if any). */
export const insertRecords = (
  records: ReadonlyArray<Packed<Packable>>
): Effect.Effect<void, SqlError, SqlClient> =>
  records.length === 0 ? Effect.void : Effect.flatMap(
    SqlClient,
    (sql) => Effect.asVoid(sql.unsafe(insertRecordsSql("$1"), [recordsJson(records)]))
  )

/** A row read back: a record (`rec` 1, `body` the JSON array of its events) or a legacy row (`rec` 0, one event). */
export interface StoredRow {
  readonly first: number
  readonly rec: number | string
  readonly body: string
}

/**
 * The events (parsed JSON) of rows in `first` order with `seq > afterSeq`, at most `limit`: each record expanded,
 * the one overlapping `afterSeq` sliced.
 */
export const expandRows = (rows: ReadonlyArray<StoredRow>, afterSeq = -1, limit = ALL): Array<unknown> => {
  const out: Array<unknown> = []
  for (const row of rows) {
    if (out.length >= limit) break
    const body = JsonText.decode(row.body)
    if (Number(row.rec) === 0) {
      if ((body as { readonly seq: number }).seq > afterSeq) out.push(body)
      continue
    }
    for (const e of body as ReadonlyArray<{ readonly seq: number }>) {
      if (e.seq <= afterSeq) continue
      if (out.length >= limit) break
      out.push(e)
    }
  }
  return out
}

/**
 * A run's stored events with `seq > $2`, at most `$3` of them (both tables, one statement: one snapshot, so an
 * event being moved by `pack-history` is seen exactly once). The window counts, for each record, the events
 * after `$2` in the records before it, so only the records needed are read.
 */
const READ = `SELECT first, rec, body FROM (
    SELECT h.first_seq AS first, 1 AS rec, h.body::text AS body
    FROM (
      SELECT first_seq, body,
        sum(last_seq - greatest(first_seq, $2 + 1) + 1) OVER (ORDER BY first_seq)
          - (last_seq - greatest(first_seq, $2 + 1) + 1) AS before
      FROM run_history WHERE run_id = $1 AND last_seq > $2
    ) h
    WHERE h.before < $3
    UNION ALL
    SELECT l.seq, 0, l.body::text
    FROM (SELECT seq, body FROM run_event_rows WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) l
  ) x ORDER BY first`

/**
 * The stored events (their JSON, parsed; payloads as stored) of `runId` with `seq > afterSeq`, in seq order,
 * at most `limit`: records expanded and sliced, legacy rows merged in.
 */
export const readStored = (
  runId: string,
  afterSeq = -1,
  limit = ALL
): Effect.Effect<ReadonlyArray<unknown>, SqlError, SqlClient> =>
  Effect.flatMap(
    SqlClient,
    (sql) =>
      Effect.map(sql.unsafe<StoredRow>(READ, [runId, afterSeq, limit]), (rows) => expandRows(rows, afterSeq, limit))
  )

/** The greatest stored seq of a run (`null` when it has no event), as an SQL expression over `$1`. */
export const LAST_SEQ_SQL = `greatest(
    (SELECT max(last_seq) FROM run_history WHERE run_id = $1),
    (SELECT max(seq) FROM run_event_rows WHERE run_id = $1))`

/** An SQL condition: the event `(<run>, <seq>)` is stored (in a record or a legacy row). */
export const eventStoredSql = (run: string, seq: string): string =>
  `(EXISTS (SELECT 1 FROM run_history h WHERE h.run_id = ${run} AND h.first_seq <= ${seq} AND h.last_seq >= ${seq})
    OR EXISTS (SELECT 1 FROM run_event_rows l WHERE l.run_id = ${run} AND l.seq = ${seq}))`

/** Holds the per-run lock the store's writers take (the overlap trigger takes it too), until the transaction ends. */
export const lockRun = (runId: string): Effect.Effect<void, SqlError, SqlClient> =>
  Effect.flatMap(
    SqlClient,
    (sql) => Effect.asVoid(sql.unsafe(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [runId]))
  )

/**
 * Replaces stored events of a run by those given, seq for seq (a data migration's rewrite), inside the caller's
 * transaction: the run's lock is taken; legacy rows with those seqs are deleted; the records containing any of
 * those seqs are deleted and stored again with the new events in place (cut as `pack` cuts), together with the
 * given events that were legacy rows. Records stay immutable: a changed record is a new row.
 */
export const replaceEvents = (
  runId: string,
  events: ReadonlyArray<Packable>
): Effect.Effect<void, SqlError, SqlClient> =>
  events.length === 0 ? Effect.void : Effect.gen(function*() {
    const sql = yield* SqlClient
    yield* lockRun(runId)
    const seqs = JSON.stringify(events.map((e) => e.seq))
    yield* sql.unsafe(
      `DELETE FROM run_event_rows WHERE run_id = $1 AND seq IN (SELECT value::int FROM json_array_elements_text($2::json))`,
      [runId, seqs]
    )
    const removed = yield* sql.unsafe<{ readonly body: string }>(
      `DELETE FROM run_history h WHERE run_id = $1
         AND EXISTS (SELECT 1 FROM json_array_elements_text($2::json) s WHERE s.value::int BETWEEN h.first_seq AND h.last_seq)
       RETURNING body::text AS body`,
      [runId, seqs]
    )
    const bySeq = new Map<number, Packable>()
    for (const r of removed) {
      for (const e of JsonText.decode(r.body) as ReadonlyArray<Packable>) bySeq.set(e.seq, e)
    }
    for (const e of events) bySeq.set(e.seq, e)
    yield* insertRecords(pack([...bySeq.values()]))
  })
