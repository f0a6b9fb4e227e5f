/**
 * Law (issue 21, history records): for any run's contiguous events split into any batches, under any record
 * bounds, packing each batch into records and expanding the records gives back exactly the events (expand ∘
 * pack = id); every record is contiguous (`last - first + 1` events, consecutive seqs), within its bounds (a
 * record over the byte bound holds one event), and no two records overlap; and a read of "the events after seq
 * N, at most L" over the records (with some events still in legacy rows, one each) is exactly the slice
 * `seq > N`, first L. A batch repeating a seq always yields two overlapping records (which the store refuses).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { expandRows, pack } from "../src/store/history.js"
import type { StoredRow } from "../src/store/history.js"
import * as JsonText from "../src/store/jsonText.js"
import { numRuns } from "./settings.js"

interface Ev {
  readonly runId: string
  readonly seq: number
  readonly at: number
  readonly type: string
  readonly data: { readonly text: string }
}

const ev = (runId: string, seq: number, text: string): Ev => ({
  runId,
  seq,
  at: 1_000 + seq,
  type: "NodeStarted",
  data: { text }
})

/** A run's events 0..n-1 (texts of varied sizes, some needing the JSONB escapes), cut into batches. */
const runBatches = fc.record({
  texts: fc.array(
    fc.oneof(fc.string({ maxLength: 8 }), fc.string({ maxLength: 200 }), fc.constant("\u0000\u0001!\ud800")),
    {
      minLength: 0,
      maxLength: 60
    }
  ),
  cuts: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }),
  maxEvents: fc.integer({ min: 1, max: 12 }),
  maxBytes: fc.integer({ min: 1, max: 2_000 }),
  shuffle: fc.boolean()
}).map(({ cuts, maxBytes, maxEvents, shuffle, texts }) => {
  const events = texts.map((t, i) => ev("run-a", i, t))
  const points = [...new Set(cuts.filter((c) => c < events.length))].sort((a, b) => a - b)
  const batches: Array<Array<Ev>> = []
  let from = 0
  for (const p of [...points, events.length]) {
    if (p > from) batches.push(events.slice(from, p))
    from = Math.max(from, p)
  }
  // A batch in any order is stored in seq order.
  if (shuffle) { for (const b of batches) b.reverse() }
  return { events, batches, limits: { maxEvents, maxBytes } }
})

const rowsOf = (records: ReturnType<typeof pack<Ev>>): Array<StoredRow> =>
  records.map((r) => ({ first: r.firstSeq, rec: 1, body: JsonText.encodeText(`[${r.texts.join(",")}]`) }))

describe("history records", () => {
  it("expand ∘ pack = id, records contiguous, bounded and disjoint, for any batch split and bounds", () => {
    fc.assert(
      fc.property(runBatches, ({ batches, events, limits }) => {
        const records = batches.flatMap((b) => pack(b, limits))
        for (const r of records) {
          expect(r.lastSeq - r.firstSeq + 1).toBe(r.events.length)
          r.events.forEach((e, i) => expect(e.seq).toBe(r.firstSeq + i))
          expect(r.events.length).toBeLessThanOrEqual(limits.maxEvents)
          if (r.events.length > 1) expect(r.bytes).toBeLessThanOrEqual(limits.maxBytes)
          expect(r.at).toBe(r.events[r.events.length - 1]!.at)
          expect(r.texts).toEqual(r.events.map((e) => JSON.stringify(e)))
        }
        const sorted = [...records].sort((a, b) => a.firstSeq - b.firstSeq)
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.firstSeq).toBe(sorted[i - 1]!.lastSeq + 1)
        expect(expandRows(rowsOf(sorted))).toEqual(events)
      }),
      { numRuns: numRuns(1000) }
    )
  })

  it("a read after seq N, at most L, over records and legacy rows is the slice seq > N, first L", () => {
    fc.assert(
      fc.property(
        runBatches,
        fc.integer({ min: -1, max: 65 }),
        fc.integer({ min: 1, max: 70 }),
        fc.array(fc.boolean(), { maxLength: 10 }),
        ({ batches, events, limits }, after, limit, legacy) => {
          // Some batches were stored by an earlier build, one row per event.
          const rows: Array<StoredRow> = []
          batches.forEach((b, i) => {
            if (legacy[i] === true) {
              for (const e of b) rows.push({ first: e.seq, rec: 0, body: JsonText.encode(e) })
            } else {
              for (const r of rowsOf(pack(b, limits))) rows.push(r)
            }
          })
          rows.sort((a, b) => a.first - b.first)
          // The store reads only the rows that can hold events after N.
          const wanted = rows.filter((r) =>
            Number(r.rec) === 0
              ? (JsonText.decode(r.body) as Ev).seq > after
              : (JsonText.decode(r.body) as Array<Ev>).some((e) => e.seq > after)
          )
          const expected = events.filter((e) => e.seq > after).slice(0, limit)
          expect(expandRows(wanted, after, limit)).toEqual(expected)
          expect(expandRows(rows, after, limit)).toEqual(expected)
        }
      ),
      { numRuns: numRuns(1000) }
    )
  })

  it("runs are packed apart, in byte order of their ids; a repeated seq yields overlapping records", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 20 }),
        fc.nat(),
        (runIds, n, pick) => {
          const events = runIds.flatMap((id) => Array.from({ length: n }, (_, i) => ev(id, i, "x")))
          const records = pack(events)
          expect(records.map((r) => r.runId)).toEqual([...runIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
          const repeated = pack([...events, events[pick % events.length]!])
          const ofRun = repeated.filter((r) => r.runId === events[pick % events.length]!.runId)
          const overlap = ofRun.some((r, i) =>
            ofRun.some((o, j) => i !== j && r.firstSeq <= o.lastSeq && o.firstSeq <= r.lastSeq)
          )
          expect(overlap).toBe(true)
        }
      ),
      { numRuns: numRuns(1000) }
    )
  })
})
