/**
 * `EventSink` + `EventLog` over SQL (history records, `history.ts`). An append goes to
 * the store's writer (`groupCommit.ts`), which commits it with the other
 * runs' writes queued at the same time, in one statement, and acknowledges
 * it once committed; a batch that repeats a stored `(run_id, seq)` is
 * rejected whole (and alone). Readers get a run's events in `seq` order,
 * and `stream` follows a live run: the table is read once for the past,
 * then events appended in this process come from memory as they commit
 * (routed to the subscribers of their run only: a subscriber is a buffer
 * and a wake-up callback), and events appended by another process are found
 * by polling the table when a poll interval passes without news (one ticker
 * per stream; rarely for a stream marked `local`: the run executes in this
 * process); `follow` is `stream` without a `Stream` (pieces to a callback);
 * either way the stream is contiguous in `seq` (no gap, no duplicate, never
 * out of order) and ends after the run's terminal event.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Chunk, Clock, Context, Duration, Effect, Layer, Option, PubSub, Stream } from "effect"
import type { Scope } from "effect"
import { StoreError } from "../trace/errors.js"
import { decodeEvent, EventLog, EventSink, isTerminal } from "../trace/events.js"
import type { RunClosing, RunEvent, StreamOptions } from "../trace/events.js"
import { BlobStore } from "./blobs.js"
import { offload, resolve, storeBlobs } from "./claimCheck.js"
import { storeOp } from "./failure.js"
import { GroupCommit } from "./groupCommit.js"
import { ALL, readStored } from "./history.js"
import * as Settings from "./settings.js"

/** Options of the SQL event log. */
export interface EventStoreOptions {
  /** How often a live `stream` looks for events appended by other processes. @default 200 ms */
  readonly pollInterval?: Duration.DurationInput
  /** Most events read per query while a stream catches up. @default 5000 */
  readonly readBatch?: number
  /**
   * Payloads larger than this (bytes of JSON text) are stored in the blob store, the event keeping a
   * reference (`claimCheck.ts`). @default `TRELLIS_BLOB_THRESHOLD_BYTES` (65536)
   */
  readonly blobThreshold?: number
}

/** The default polling interval of `stream`. */
export const DEFAULT_POLL_INTERVAL: Duration.DurationInput = "200 millis"

/**
 * The polling interval of a `local` stream (the run executes in this process, its events come from memory):
 * the poll only matters should the run move to another process, so it is rare.
 */
export const LOCAL_POLL_INTERVAL: Duration.DurationInput = "2 seconds"

const decodeRow = (runId: string, body: unknown): Effect.Effect<RunEvent, StoreError> =>
  Effect.mapError(decodeEvent(body), (e) =>
    new StoreError({
      operation: "read events",
      message: `a stored event of run ${runId} cannot be decoded: ${e.message}`
    }))

/**
 * A run's events as stored (`seq > afterSeq`, at most `limit`, in seq order), expanded from its history records
 * (`history.ts`): payloads in the blob store appear as references (`claimCheck.ts`).
 */
export const storedEvents = (
  runId: string,
  afterSeq = -1,
  limit = ALL
): Effect.Effect<ReadonlyArray<RunEvent>, StoreError, SqlClient> =>
  storeOp("read events", readStored(runId, afterSeq, limit)).pipe(
    Effect.flatMap((bodies) => Effect.forEach(bodies, (body) => decodeRow(runId, body)))
  )

/** A live subscriber of one run's stream: what `route` handed it since it last looked, and how to wake it. */
interface Subscriber {
  /** Events committed in this process, not yet taken by the stream. */
  readonly received: Array<RunEvent>
  /** Resumes the stream waiting for news (set while it waits). */
  wake: (() => void) | undefined
  /** Something was received since the poll ticker last looked. */
  news: boolean
  /** The poll ticker asks for a read of the table. */
  pollDue: boolean
}

/** Wakes a subscriber waiting for news (no-op when it is busy: it looks at its buffer before waiting again). */
const wakeUp = (sub: Subscriber): void => {
  const wake = sub.wake
  sub.wake = undefined
  wake?.()
}

/** The SQL `EventSink` and `EventLog`: appends through the store's writer (`groupCommit.ts`), live events from memory. */
export const make = (
  options: EventStoreOptions = {}
): Effect.Effect<
  { readonly sink: EventSink["Type"]; readonly log: EventLog["Type"] },
  never,
  SqlClient | GroupCommit | BlobStore | Scope.Scope
> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    const writer = yield* GroupCommit
    const blobs = yield* BlobStore
    const threshold = options.blobThreshold ?? (yield* Effect.orDie(Settings.blobThresholdBytes))
    /** The events as stored: large payloads in the blob store (written first), references in their place. */
    const stored = (events: ReadonlyArray<RunEvent>) => {
      const out = offload(events, threshold)
      return out.blobs.length === 0 ? Effect.succeed(out.events) : Effect.as(
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          storeBlobs(out.blobs, now).pipe(
            Effect.provideService(SqlClient, sql),
            Effect.provideService(BlobStore, blobs)
          )),
        out.events
      )
    }
    const readable = (events: ReadonlyArray<RunEvent>) => resolve(events, blobs)
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<RunEvent>(), PubSub.shutdown)
    /** The live subscribers of each run: a committed event goes to its run's subscribers only. */
    const subscribers = new Map<string, Set<Subscriber>>()
    const pollInterval = Duration.decode(options.pollInterval ?? DEFAULT_POLL_INTERVAL)
    const localPoll = Duration.max(pollInterval, Duration.decode(LOCAL_POLL_INTERVAL))
    const readBatch = Math.max(1, Math.floor(options.readBatch ?? 5000))

    /** Hands committed events to their runs' live subscribers (and to `live`). */
    const route = (events: ReadonlyArray<RunEvent>) =>
      Effect.suspend(() => {
        if (subscribers.size > 0) {
          let woken: Set<Subscriber> | undefined
          for (const e of events) {
            const subs = subscribers.get(e.runId)
            if (subs !== undefined) {
              for (const sub of subs) {
                sub.received.push(e)
                sub.news = true
                ;(woken ??= new Set()).add(sub)
              }
            }
          }
          // Woken once the whole batch is in their buffers (a batch is one commit: one piece of the stream).
          if (woken !== undefined) { for (const sub of woken) wakeUp(sub) }
        }
        return PubSub.publishAll(hub, events)
      })

    // The batch is acknowledged once the writer committed it (with other runs' writes: group commit);
    // a batch repeating a stored (run_id, seq) fails alone and whole (see `groupCommit.ts`).
    const append = (events: ReadonlyArray<RunEvent>): Effect.Effect<void, StoreError> =>
      events.length === 0
        ? Effect.void
        : Effect.flatMap(stored(events), (kept) => writer.submit({ _tag: "Append", events: kept })).pipe(
          Effect.zipRight(route(events)),
          Effect.asVoid
        )

    // A run's last events and its ending: one write, so one commit (atomic), then the events go live.
    const appendClosing = (
      events: ReadonlyArray<RunEvent>,
      closing: RunClosing
    ): Effect.Effect<void, StoreError> => {
      const { runId, ...ending } = closing
      return Effect.zipRight(
        Effect.flatMap(
          stored(events),
          (kept) => writer.submit({ _tag: "Finish", runId, ending, ...(kept.length === 0 ? {} : { events: kept }) })
        ),
        route(events)
      )
    }

    /** Stored events of `runId` with `seq > after`, in order, at most `limit`. */
    const after = (
      runId: string,
      afterSeq: number,
      limit: number
    ): Effect.Effect<ReadonlyArray<RunEvent>, StoreError> =>
      Effect.provideService(storedEvents(runId, afterSeq, limit), SqlClient, sql).pipe(Effect.flatMap(readable))

    const events = (runId: string): Effect.Effect<ReadonlyArray<RunEvent>, StoreError> =>
      Effect.flatMap(Effect.provideService(storedEvents(runId), SqlClient, sql), readable)

    /**
     * Follows a run's events: gives the effect that yields the next non-empty piece of them (contiguous in seq after
     * the previous piece), or `None` once the terminal event went out; the subscription and the poll ticker live
     * in the scope.
     */
    const cursor = (
      runId: string,
      streamOptions: StreamOptions
    ): Effect.Effect<Effect.Effect<Option.Option<ReadonlyArray<RunEvent>>, StoreError>, never, Scope.Scope> =>
      Effect.gen(function*() {
        // Subscribe before the first read so nothing falls between the two.
        const sub: Subscriber = { received: [], wake: undefined, news: false, pollDue: false }
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            const subs = subscribers.get(runId) ?? new Set()
            subs.add(sub)
            subscribers.set(runId, subs)
          }),
          () =>
            Effect.sync(() => {
              const subs = subscribers.get(runId)
              subs?.delete(sub)
              if (subs?.size === 0) subscribers.delete(runId)
            })
        )
        // One poll ticker per stream (not a timer per wait): a tick that finds no news since the previous one
        // asks for a read of the table (at most two intervals of silence go by before it is read).
        const interval = streamOptions.local === true ? localPoll : pollInterval
        yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
          Effect.sleep(interval),
          Effect.sync(() => {
            if (sub.news) sub.news = false
            else {
              sub.pollDue = true
              wakeUp(sub)
            }
          })
        )))
        let last = -1
        let done = false
        /** The contiguous run of `xs` (sorted by seq) after `last`; updates `last` and `done`. */
        const take = (xs: ReadonlyArray<RunEvent>): Array<RunEvent> => {
          const out: Array<RunEvent> = []
          for (const e of xs) {
            if (done) break
            if (e.seq <= last) continue
            if (e.seq !== last + 1) break
            out.push(e)
            last = e.seq
            if (isTerminal(e)) done = true
          }
          return out
        }
        /** Until an append in this process or the poll ticker wakes the stream (at once when either already did). */
        const woken = Effect.async<void>((resume) => {
          if (sub.received.length > 0 || sub.pollDue) return resume(Effect.void)
          sub.wake = () => resume(Effect.void)
          return Effect.sync(() => {
            sub.wake = undefined
          })
        })
        // The table is read first (the backlog), after a gap in what was received live,
        // and whenever the poll ticker finds no news.
        let needRead = true
        /** The next non-empty piece of the stream, or `None` once the terminal event went out. */
        const next: Effect.Effect<Option.Option<ReadonlyArray<RunEvent>>, StoreError> = Effect
          .gen(
            function*() {
              while (!done) {
                // Events received live, by seq.
                const live = sub.received.length === 0 ? [] : sub.received.splice(0).sort((a, b) => a.seq - b.seq)
                if (sub.pollDue) {
                  sub.pollDue = false
                  needRead = true
                }
                const out = take(live)
                if (!done && live.some((e) => e.seq > last)) needRead = true
                if (needRead && !done) {
                  const stored = yield* after(runId, last, readBatch)
                  const taken = take(stored)
                  for (const e of taken) out.push(e)
                  // Read again next time when the page was full, or when stored events lie beyond a gap
                  // (the gap may be filled by this process's appends, which do not republish them).
                  needRead = stored.length === readBatch || (taken.length < stored.length && !done)
                }
                if (out.length > 0) return Option.some(out)
                // Nothing new: wait for an append in this process, or for the poll ticker.
                yield* woken
              }
              return Option.none()
            }
          )
        return next
      })

    const stream = (runId: string, streamOptions: StreamOptions = {}): Stream.Stream<RunEvent, StoreError> =>
      Stream.unwrapScoped(
        Effect.map(cursor(runId, streamOptions), (next) =>
          Stream.unfoldChunkEffect(undefined, () =>
            Effect.map(
              next,
              Option.map((piece) => [Chunk.unsafeFromArray(piece as Array<RunEvent>), undefined] as const)
            )))
      )

    const follow = (
      runId: string,
      onPiece: (events: ReadonlyArray<RunEvent>) => void,
      streamOptions: StreamOptions = {}
    ): Effect.Effect<void, StoreError> =>
      Effect.scoped(Effect.flatMap(cursor(runId, streamOptions), (next) => {
        const loop: Effect.Effect<void, StoreError> = Effect.flatMap(next, (piece) => {
          if (Option.isNone(piece)) return Effect.void
          onPiece(piece.value)
          return loop
        })
        return loop
      }))

    return {
      sink: EventSink.of({ append, appendClosing }),
      log: EventLog.of({ events, stream, follow, live: Stream.fromPubSub(hub) })
    }
  })

/** `EventSink` + `EventLog` on the `SqlClient` in context (schema from `migrations.ts`). */
export const layer = (
  options: EventStoreOptions = {}
): Layer.Layer<EventSink | EventLog, never, SqlClient | GroupCommit | BlobStore> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ log, sink }) => Context.make(EventSink, sink).pipe(Context.add(EventLog, log)))
  )
