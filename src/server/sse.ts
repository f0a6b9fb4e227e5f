/**
 * Server-Sent Events of a run (SPEC §8): each event as `id: <seq>`,
 * `event: <type>`, `data: <the encoded event JSON>`; the recorded events
 * first, then live ones, from the durable `EventLog`; `lastEventId` skips
 * what the client already has; a comment line every `heartbeatMs`; the
 * stream ends after the run's terminal event, and a reconnect whose
 * `Last-Event-ID` is at or past it is answered 204 (an `EventSource` stops
 * there). A failing event log sends `event: stream-error`. A client that
 * disconnects interrupts the stream (its subscription is released); the run
 * goes on.
 */
import { Headers, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Stream } from "effect"
import { EventLog } from "../trace/events.js"
import type { RunEvent } from "../trace/events.js"

/** The event name of the frame sent when the event log fails mid-stream (the client reconnects to resume). */
export const STREAM_ERROR = "stream-error"

/**
 * One SSE frame of a run event. `JSON.stringify` of an event IS its encoded
 * JSON, in wire order (test/store/encoding.test.ts checks every event type):
 * no Schema encoding per event.
 */
const frameOf = (event: RunEvent): string =>
  `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`

/** The seq after which to resume, from a `Last-Event-ID` value; -1 (from the start) when absent or not a seq. */
export const parseLastEventId = (value: string | undefined): number => {
  if (value === undefined) return -1
  const t = value.trim()
  return /^\d{1,15}$/.test(t) ? Number(t) : -1
}

/** Options of `sseStream`. */
export interface SseOptions {
  readonly after: number
  readonly heartbeatMs: number
  /** Counts open streams (incremented while the stream is consumed). */
  readonly gauge: { clients: number }
}

const encoder = new TextEncoder()

/** The byte stream of a run's events as SSE. */
const sseStream = (runId: string, options: SseOptions): Stream.Stream<Uint8Array, never, EventLog> => {
  const events = Stream.unwrap(Effect.map(EventLog, (log) => log.stream(runId))).pipe(
    Stream.filter((e) => e.seq > options.after),
    Stream.map(frameOf),
    // Not `event: error`: that name is EventSource's own connection-error event.
    Stream.catchAll(() =>
      Stream.make(`event: ${STREAM_ERROR}\ndata: {"message":"the event log failed; reconnect to resume"}\n\n`)
    )
  )
  const heartbeat = Stream.tick(Duration.millis(options.heartbeatMs)).pipe(Stream.drop(1), Stream.as(": heartbeat\n\n"))
  const body = Stream.concat(Stream.make("retry: 2000\n\n"), Stream.merge(events, heartbeat, { haltStrategy: "left" }))
  return Stream.unwrapScoped(
    Effect.as(
      Effect.acquireRelease(
        Effect.sync(() => void options.gauge.clients++),
        () => Effect.sync(() => void options.gauge.clients--)
      ),
      Stream.map(body, (s) => encoder.encode(s))
    )
  )
}

/** 204: nothing follows `after` in an ended run (an `EventSource` reconnecting past the end stops here). */
export const endedResponse = (): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.empty({ status: 204, headers: Headers.fromInput({ "cache-control": "no-cache" }) })

/** The SSE response of a run. */
export const sseResponse = (runId: string, options: SseOptions) =>
  Effect.map(
    Effect.context<EventLog>(),
    (context) =>
      HttpServerResponse.stream(Stream.provideContext(sseStream(runId, options), context), {
        contentType: "text/event-stream",
        headers: Headers.fromInput({ "cache-control": "no-cache", "x-accel-buffering": "no" })
      })
  )
