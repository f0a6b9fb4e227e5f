/**
 * The data migration `offload-payloads` (issue 21): moves the large payloads of events stored before
 * claim-check payloads existed (or under a higher threshold) into the blob store, the events keeping
 * references — exactly what appending them today would store (`claimCheck.ts`).
 */
import { Clock, Effect } from "effect"
import { offload, storeBlobs } from "./claimCheck.js"
import type { DataMigration } from "./dataMigrations.js"

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8")

/** `offload-payloads` with payloads over `threshold` bytes moved out. */
export const offloadPayloads = (threshold: number): DataMigration => ({
  name: "offload-payloads",
  description: `moves event payloads over ${threshold} bytes into the blob store (events keep references)`,
  change: (events, write) =>
    Effect.gen(function*() {
      const out = offload(events, threshold, true)
      if (out.blobs.length === 0) return undefined
      const changed = out.events.filter((e, i) => e !== events[i])
      const before = events.filter((e, i) => e !== out.events[i])
      if (write) yield* storeBlobs(out.blobs, yield* Clock.currentTimeMillis)
      return {
        events: changed,
        bytesBefore: before.reduce((n, e) => n + bytesOf(e), 0),
        bytesAfter: changed.reduce((n, e) => n + bytesOf(e), 0)
      }
    })
})
