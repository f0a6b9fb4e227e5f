/**
 * The version of the event schema. A trace carries it in its first event (`RunStarted`'s `data.eventSchema`);
 * absent means 1, the schema of this build, so every trace written so far is version 1 and carries nothing. A
 * later schema writes its number there, and its upgraders (`EVENT_UPGRADERS`, one pure step per version, applied
 * to each event's JSON before decoding) let this code read older traces; a trace newer than the build is refused
 * with a message naming both versions. Pure.
 */
import type { JsonDocument, Upgrader } from "../ir/versions.js"
import { upgradeWith } from "../ir/versions.js"

/** The event schema this build writes and reads. */
export const EVENT_SCHEMA_VERSION = 1

/** The upgraders of events, oldest first: none while version 1 is the only one. */
export const EVENT_UPGRADERS: ReadonlyArray<Upgrader<number>> = []

const isDocument = (u: unknown): u is JsonDocument => typeof u === "object" && u !== null && !Array.isArray(u)

/** The event schema version a trace's first event (as JSON) declares: its `data.eventSchema`, else 1. */
export const traceVersionOf = (first: unknown): number => {
  if (!isDocument(first) || first["type"] !== "RunStarted" || !isDocument(first["data"])) return 1
  const v = first["data"]["eventSchema"]
  return typeof v === "number" && Number.isInteger(v) && v >= 1 ? v : 1
}

/**
 * An event's JSON brought from schema `version` to `current` along `chain`: each step sees the event with
 * `schemaVersion` beside it (the chain's own bookkeeping, removed at the end).
 */
export const upgradeEventJson = (
  event: unknown,
  version: number,
  chain: ReadonlyArray<Upgrader<number>> = EVENT_UPGRADERS,
  current: number = EVENT_SCHEMA_VERSION
): unknown => {
  if (version === current || !isDocument(event)) return event
  const tagged = { ...event, [VERSION_KEY]: version }
  const up = upgradeWith(tagged, chain, current, (d) => typeof d[VERSION_KEY] === "number" ? d[VERSION_KEY] : undefined)
  if (!isDocument(up.document)) return up.document
  const { [VERSION_KEY]: _, ...rest } = up.document
  return rest
}

const VERSION_KEY = "schemaVersion"

/** Why a trace cannot be read by this build (its schema is newer), or undefined when it can. */
export const unsupportedTrace = (version: number, current: number = EVENT_SCHEMA_VERSION): string | undefined =>
  version > current
    ? `the trace was written with event schema ${version}; this build reads event schema ${current} (and older)`
    : undefined
