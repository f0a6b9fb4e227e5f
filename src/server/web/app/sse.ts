/**
 * Follows a run's events (`GET /v1/runs/:id/events`) with fetch, not
 * EventSource — EventSource cannot send the Authorization header. Parses
 * SSE frames (eventsource-parser), delivers events in batches, reconnects with `Last-Event-ID`
 * after a dropped connection, and stops after the run's terminal event, on
 * a 204 (nothing after its Last-Event-ID in an ended run) or when closed
 * (browser code). A `stream-error` frame is reported, then it reconnects.
 */
import { createParser } from "eventsource-parser"
import type { RunEvent } from "../../../trace/events.js"
import { authHeaders } from "./api.js"

const TERMINAL = new Set(["RunCompleted", "RunFailed", "RunCancelled"])

/** What `follow` reports. */
export interface FollowHandlers {
  /** Events in seq order, a batch per chunk read. */
  readonly onEvents: (events: ReadonlyArray<RunEvent>) => void
  /** The stream ended after the run's terminal event. */
  readonly onEnd?: () => void
  /** A connection problem (it retries by itself); `fatal` for 401/404. */
  readonly onError?: (message: string, fatal: boolean) => void
}

/** Follows run `runId`'s events; returns a function that stops following. */
export const follow = (runId: string, handlers: FollowHandlers): () => void => {
  const abort = new AbortController()
  let last = -1
  let stopped = false
  const run = async (): Promise<void> => {
    let delay = 500
    while (!stopped) {
      let finished = false
      try {
        const headers: Record<string, string> = { accept: "text/event-stream", ...authHeaders() }
        if (last >= 0) headers["last-event-id"] = String(last)
        const response = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, { headers, signal: abort.signal })
        if (response.status === 401 || response.status === 404) {
          handlers.onError?.(response.status === 401 ? "a valid API key is required" : "no such run", true)
          return
        }
        if (response.status === 204) {
          // Nothing after our Last-Event-ID in an ended run: we have its terminal event.
          handlers.onEnd?.()
          return
        }
        if (!response.ok || response.body === null) throw new Error(`the server answered ${response.status}`)
        delay = 500
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        const batch: Array<RunEvent> = []
        const parser = createParser({
          onEvent: (message) => {
            if (message.event === "stream-error") {
              handlers.onError?.("the server's event log failed; reconnecting", false)
              return
            }
            let event: RunEvent
            try {
              event = JSON.parse(message.data) as RunEvent
            } catch {
              return
            }
            if (typeof event.seq !== "number" || event.seq <= last) return
            last = event.seq
            batch.push(event)
            if (TERMINAL.has(event.type)) finished = true
          }
        })
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          parser.feed(value)
          if (batch.length > 0) handlers.onEvents(batch.splice(0))
        }
      } catch (e) {
        if (stopped || (e instanceof DOMException && e.name === "AbortError")) return
        handlers.onError?.(
          `the event stream broke (${e instanceof Error ? e.message : String(e)}); reconnecting`,
          false
        )
      }
      if (finished) {
        handlers.onEnd?.()
        return
      }
      if (stopped) return
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 5000)
    }
  }
  void run()
  return () => {
    stopped = true
    abort.abort()
  }
}
