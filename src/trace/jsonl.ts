/**
 * Trace files: one run's events as JSON Lines — what `trellis trace export`
 * writes and `trellis replay <file>` reads. Each line is the canonical JSON
 * (sorted keys, no spaces) of one encoded event, terminated by `\n`.
 *
 * `fromJsonl` checks a file completely and reports the first problem with
 * its 1-based line number: a line that is not JSON, a line that is not a run
 * event (with the Schema's own message), a `seq` that is not contiguous, or
 * an event of another run than the first line's. A trace starts at seq 0,
 * unless it is the export of a run compacted by retention: its first event
 * is then the first one kept (the events before it were dropped), and a
 * replay of it says so. Blank lines are
 * skipped (they still count for line numbers) and a `\r` before `\n` is
 * ignored, so files edited on Windows read back too.
 */
import { Either, ParseResult, Schema } from "effect"
import { canonicalJson } from "../ir/canonical.js"
import { encodeEvent, EVENT_CLASSES, RunEvent } from "./events.js"
import { EVENT_SCHEMA_VERSION, traceVersionOf, unsupportedTrace, upgradeEventJson } from "./versions.js"

/** Why a trace file could not be read. */
export type JsonlErrorReason = "BadJson" | "BadEvent" | "SeqGap" | "MixedRun" | "NewerSchema"

/** A trace file could not be read: what is wrong (`message`) and where (`line`, 1-based). */
export class JsonlError extends Schema.TaggedError<JsonlError>()("JsonlError", {
  line: Schema.Number,
  reason: Schema.Literal("BadJson", "BadEvent", "SeqGap", "MixedRun", "NewerSchema"),
  message: Schema.String
}) {}

/** The text of a trace file: one canonical JSON event per line, each line ending in `\n` ("" for no events). */
export const toJsonl = (events: Iterable<RunEvent>): string => {
  let out = ""
  for (const e of events) out += canonicalJson(encodeEvent(e)) + "\n"
  return out
}

const decodeLine = Schema.decodeUnknownEither(RunEvent, { errors: "all", onExcessProperty: "ignore" })

const fail = (line: number, reason: JsonlErrorReason, what: string): Either.Either<never, JsonlError> =>
  Either.left(new JsonlError({ line, reason, message: `line ${line}: ${what}` }))

const describeJsonError = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const EXPECTED = /^Expected (.*), actual (.*)$/s

/**
 * The Schema's messages in one line: `path: message` per problem, the
 * alternatives of a failed literal union merged into one
 * `Expected "a" | "b", actual "c"`.
 */
const formatParseError = (error: ParseResult.ParseError): string => {
  const groups = new Map<string, Array<string>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = issue.path.map(String).join(".")
    const list = groups.get(key)
    if (list === undefined) groups.set(key, [issue.message])
    else list.push(issue.message)
  }
  const parts: Array<string> = []
  for (const [path, messages] of groups) {
    const matches = messages.map((m) => EXPECTED.exec(m))
    const actual = matches[0]?.[2]
    const merged = messages.length > 1 && matches.every((m) => m !== null && m[2] === actual)
      ? `Expected ${matches.map((m) => m![1]).join(" | ")}, actual ${actual}`
      : messages.join("; ")
    parts.push(path === "" ? merged : `${path}: ${merged}`)
  }
  return parts.join("; ")
}

/** "a NodeCompleted event" when the JSON names a known type, else "a run event". */
const what = (json: unknown): string => {
  const type = typeof json === "object" && json !== null ? (json as { readonly type?: unknown }).type : undefined
  return typeof type === "string" && Object.prototype.hasOwnProperty.call(EVENT_CLASSES, type)
    ? `a valid ${type} event`
    : "a run event"
}

/**
 * Reads a trace file: the events of one run in `seq` order (instances of
 * their classes), or a `JsonlError` naming the first bad line.
 */
export const fromJsonl = (text: string): Either.Either<ReadonlyArray<RunEvent>, JsonlError> => {
  const lines = text.split("\n")
  const events: Array<RunEvent> = []
  let runId: string | undefined
  let version: number | undefined
  let first: number | undefined
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    const raw = lines[i]!
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (line.trim() === "") continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (e) {
      return fail(lineNo, "BadJson", `not valid JSON: ${describeJsonError(e)}`)
    }
    // The first event says which event schema the trace was written with; older events are upgraded first.
    if (version === undefined) {
      version = traceVersionOf(json)
      const newer = unsupportedTrace(version)
      if (newer !== undefined) return fail(lineNo, "NewerSchema", newer)
    }
    if (version !== EVENT_SCHEMA_VERSION) json = upgradeEventJson(json, version)
    const decoded = decodeLine(json)
    if (Either.isLeft(decoded)) {
      return fail(lineNo, "BadEvent", `not ${what(json)}: ${formatParseError(decoded.left)}`)
    }
    const event = decoded.right
    if (runId === undefined) runId = event.runId
    else if (event.runId !== runId) {
      return fail(
        lineNo,
        "MixedRun",
        `event of run ${JSON.stringify(event.runId)} in a trace of run ${JSON.stringify(runId)}`
      )
    }
    // The first seq is 0, or a compacted run's first kept one; each next seq follows.
    first ??= event.seq
    if (event.seq !== first + events.length) {
      return fail(
        lineNo,
        "SeqGap",
        `seq ${event.seq} where ${first + events.length} was expected (seq is contiguous)`
      )
    }
    events.push(event)
  }
  return Either.right(events)
}
