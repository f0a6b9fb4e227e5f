/**
 * Server-Sent Events of a run (SPEC §8): each event as `id: <seq>`,
 * `event: <type>`, `data: <the encoded event JSON>`; the recorded events
 * first, then live ones, from the durable `EventLog`; `lastEventId` skips
 * what the client already has; a comment line every `heartbeatMs`; the
 * stream ends after the run's terminal event, and a reconnect whose
 * `Last-Event-ID` is at or past it is answered 204 (an `EventSource` stops
 * there). A failing event log sends `event: stream-error`. A client that
 * disconnects interrupts the stream (its subscription is released); the run
 * goes on. The body is a Node `Readable` written by one fiber per subscriber
 * (the frames of each piece the log hands over as one chunk, through the
 * log's `follow` callback), not a chain of stream combinators: per event, a
 * string append.
 */
import { Headers, HttpServerResponse } from "@effect/platform"
import { Effect, FiberId, Runtime } from "effect"
import type { Fiber } from "effect"
import { Readable } from "node:stream"
import { EventLog, followLog } from "../trace/events.js"
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
  /** The run executes in this server: its events come from memory (the log polls the store rarely). */
  readonly local?: boolean
}

/** The frame sent when the event log fails mid-stream. */
const STREAM_ERROR_FRAME = `event: ${STREAM_ERROR}\ndata: {"message":"the event log failed; reconnect to resume"}\n\n`

/**
 * The body of a run's SSE response: a Node `Readable` fed by one fiber that
 * follows the run's events, writing each piece the log hands over (often
 * all the events of one commit) as one chunk of frames, and a heartbeat
 * timer. No stream combinators per subscriber or per event: the fiber
 * starts when the response is first read, and a client that disconnects
 * destroys the body, which interrupts the fiber and stops the timer.
 */
const sseBody = (runtime: Runtime.Runtime<EventLog>, runId: string, options: SseOptions): Readable => {
  let fiber: Fiber.RuntimeFiber<void> | undefined
  let heartbeat: ReturnType<typeof setInterval> | undefined
  let counted = false
  let started = false
  const stop = () => {
    if (heartbeat !== undefined) clearInterval(heartbeat)
    heartbeat = undefined
    if (fiber !== undefined) fiber.unsafeInterruptAsFork(FiberId.none)
    fiber = undefined
    if (counted) options.gauge.clients--
    counted = false
  }
  const body = new Readable({
    read() {
      if (started || body.destroyed) return
      started = true
      counted = true
      options.gauge.clients++
      body.push("retry: 2000\n\n")
      heartbeat = setInterval(() => body.push(": heartbeat\n\n"), options.heartbeatMs)
      const follow = Effect.flatMap(
        EventLog,
        (log) =>
          followLog(log, runId, (piece) => {
            let text = ""
            for (const e of piece) if (e.seq > options.after) text += frameOf(e)
            if (text.length > 0) body.push(text)
          }, { local: options.local === true })
      ).pipe(
        // Not `event: error`: that name is EventSource's own connection-error event.
        Effect.catchAll(() => Effect.sync(() => void body.push(STREAM_ERROR_FRAME))),
        Effect.zipRight(Effect.sync(() => {
          fiber = undefined
          stop()
          body.push(null)
        }))
      )
      fiber = Runtime.runFork(runtime)(follow)
    },
    destroy(error, callback) {
      stop()
      callback(error)
    }
  })
  return body
}

/** 204: nothing follows `after` in an ended run (an `EventSource` reconnecting past the end stops here). */
export const endedResponse = (): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.empty({ status: 204, headers: Headers.fromInput({ "cache-control": "no-cache" }) })

/** The SSE response of a run. */
export const sseResponse = (runId: string, options: SseOptions) =>
  Effect.map(
    Effect.runtime<EventLog>(),
    (runtime) =>
      HttpServerResponse.raw(sseBody(runtime, runId, options), {
        contentType: "text/event-stream",
        headers: Headers.fromInput({ "cache-control": "no-cache", "x-accel-buffering": "no" })
      })
  )
