/**
 * The data migration `pack-history` (issue 21): moves the events a build before history records stored one row
 * each (`run_event_rows`) into history records (`history.ts`), unchanged — the same events, the same seqs, the
 * same JSON. Until a run is moved, its rows are read together with its records, so a half-done migration reads
 * every run whole; each batch's move (rows deleted, records inserted) commits in one transaction.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { DataMigration } from "./dataMigrations.js"
import { storeOp } from "./failure.js"

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8")

/** `pack-history`: a run's legacy event rows become history records. */
export const packHistory: DataMigration = {
  name: "pack-history",
  description: "moves events stored one row each (before history records) into history records, unchanged",
  change: (events) =>
    Effect.gen(function*() {
      const first = events[0]
      if (first === undefined) return undefined
      const sql = yield* SqlClient
      const rows = yield* storeOp(
        "read legacy events",
        sql.unsafe<{ readonly seq: number }>(`SELECT seq FROM run_event_rows WHERE run_id = $1`, [first.runId])
      )
      if (rows.length === 0) return undefined
      const legacy = new Set(rows.map((r) => Number(r.seq)))
      const moved = events.filter((e) => legacy.has(e.seq))
      const bytes = moved.reduce((n, e) => n + bytesOf(e), 0)
      return { events: moved, bytesBefore: bytes, bytesAfter: bytes }
    })
}
