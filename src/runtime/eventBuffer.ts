/**
 * The event buffer of a run: assigns `seq`, drops what a resumed run's
 * record already holds, keeps events until the driver takes them to the
 * `EventSink`, and records nothing after the terminal event.
 */
import { makeEvent } from "../trace/events.js"
import type { EventData, RunEvent, RunEventType } from "../trace/events.js"
import { Suppressor } from "./recorded.js"
import type { Recorded } from "./recorded.js"

/** Events recorded and not yet flushed, numbered contiguously. */
export class EventBuffer {
  private seq: number
  private readonly suppressor: Suppressor | undefined
  private closed = false
  private pending: Array<RunEvent> = []

  constructor(
    private readonly runId: string,
    recorded: Recorded | undefined,
    recordedEvents?: ReadonlyArray<RunEvent>
  ) {
    // A resumed run continues its record's seq; a replay records a fresh log from 0.
    this.seq = recorded?.mode === "resume" ? recorded.lastSeq + 1 : 0
    this.suppressor = recorded?.mode === "resume" && recordedEvents !== undefined
      ? new Suppressor(recordedEvents)
      : undefined
  }

  /** How many events wait to be flushed. */
  get size(): number {
    return this.pending.length
  }

  /** Records an event at clock time `at`; false when nothing was recorded (closed, or already in the record). */
  record<T extends RunEventType>(
    type: T,
    node: string | undefined,
    attempt: number | undefined,
    data: EventData<T>,
    at: number
  ): boolean {
    // Nothing is recorded after the terminal event (seq stays contiguous and ends there).
    if (this.closed) return false
    const event = makeEvent(type, { runId: this.runId, seq: this.seq, at, node, attempt, data })
    // A resumed run does not record again what its record already holds.
    if (this.suppressor !== undefined && this.suppressor.drop(event)) return false
    this.seq++
    this.pending.push(event)
    return true
  }

  /** Records nothing more (the terminal event was recorded). */
  close(): void {
    this.closed = true
  }

  /** Takes the events recorded since the last call. */
  take(): ReadonlyArray<RunEvent> {
    const out = this.pending
    this.pending = []
    return out
  }
}
