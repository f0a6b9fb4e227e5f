/** Shared helpers of the store tests: the store over each test backend, and events built from their JSON form. */
import { Effect } from "effect"
import * as Store from "../../src/store/layer.js"
import type { StoreOptions } from "../../src/store/layer.js"
import { decodeEvent, encodeEvent } from "../../src/trace/events.js"
import type { RunEvent } from "../../src/trace/events.js"
import { testBackends } from "./db.js"

/** The store on each test backend (PGlite in memory; PostgreSQL when `TRELLIS_TEST_DATABASE_URL` is set). */
export const storeBackends = (options: StoreOptions = {}) =>
  testBackends().map((b) => ({ name: b.name, layer: Store.layerOn(b.layer, options) }))

/** An event from its JSON form (decoded, so it is whatever `RunEvent` is). */
export const event = (json: unknown): RunEvent => Effect.runSync(decodeEvent(json))

/** A `NodeStarted` event of `runId` at `seq`. */
export const nodeStarted = (runId: string, seq: number): RunEvent =>
  event({ runId, seq, at: 1_000 + seq, type: "NodeStarted", node: `n${seq}`, attempt: 1, data: { kind: "tool" } })

/** A `RunCompleted` event of `runId` at `seq`. */
export const runCompleted = (runId: string, seq: number): RunEvent =>
  event({ runId, seq, at: 1_000 + seq, type: "RunCompleted", data: { outputHash: "h", output: null } })

/** Events `from..to` (inclusive) of a run; the last is `RunCompleted` when `terminal`. */
export const eventRange = (runId: string, from: number, to: number, terminal = false): Array<RunEvent> => {
  const out: Array<RunEvent> = []
  for (let seq = from; seq <= to; seq++) {
    out.push(terminal && seq === to ? runCompleted(runId, seq) : nodeStarted(runId, seq))
  }
  return out
}

/** The JSON forms of events (comparable whatever class or struct they are). */
export const json = (events: ReadonlyArray<RunEvent>): Array<unknown> => events.map(encodeEvent)

/** The seqs of events. */
export const seqs = (events: Iterable<RunEvent>): Array<number> => [...events].map((e) => e.seq)
