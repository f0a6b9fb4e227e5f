/**
 * Run events (SPEC §5): one `effect/Schema` struct per event type (events
 * are plain readonly objects: building a `Schema.Class` instance costs
 * ~2 µs, more than the scheduler's whole budget per node), the `RunEvent`
 * union, and the `EventSink` service the runtime appends them
 * to. Every event is `{ runId, seq, at, type, node?, attempt?, data }`;
 * `seq` is contiguous from 0 within a run, `at` is milliseconds since the
 * epoch read from Effect's `Clock`, `node` is the node path
 * (`n3/2/n4`: node `n4` in item 2 of map `n3`; see README.md).
 */
import { Context, Effect, Layer, PubSub, Schema, Stream } from "effect"
import { canonicalJson, compareCodeUnits } from "../ir/canonical.js"
import { ErrorKind } from "../ir/schema.js"
import type { StoreError } from "./errors.js"

/** A JSON value as carried in event data. */
const JsonValue = Schema.Unknown

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** The fields every event has besides `type` and `data`. */
const envelope = {
  runId: Schema.String,
  seq: Schema.Number,
  at: Schema.Number,
  node: opt(Schema.String),
  attempt: opt(Schema.Number)
}

/** The run began: program hash, inputs hash, seed (null when unseeded) and mode. */
export const RunStarted = Schema.Struct({
  ...envelope,
  type: Schema.Literal("RunStarted"),
  data: Schema.Struct({
    programHash: Schema.String,
    inputsHash: Schema.String,
    seed: Schema.NullOr(Schema.Number),
    mode: Schema.Literal("live", "replay", "resume"),
    inputs: opt(JsonValue)
  })
}).annotations({ identifier: "RunStarted" })
/** The `RunStarted` event. */
export type RunStarted = typeof RunStarted.Type

/** A node's inputs are all available; it may start (subject to concurrency caps). */
export const NodeReady = Schema.Struct({
  ...envelope,
  type: Schema.Literal("NodeReady"),
  data: Schema.Struct({ kind: Schema.String, label: opt(Schema.String) })
}).annotations({ identifier: "NodeReady" })
/** The `NodeReady` event. */
export type NodeReady = typeof NodeReady.Type

/** A node started executing. */
export const NodeStarted = Schema.Struct({
  ...envelope,
  type: Schema.Literal("NodeStarted"),
  data: Schema.Struct({ kind: Schema.String })
}).annotations({ identifier: "NodeStarted" })
/** The `NodeStarted` event. */
export type NodeStarted = typeof NodeStarted.Type

/**
 * A tool was called (one event per attempt): tool name, args hash, and the
 * idempotency key when the call is keyed (the program gave a key, or the
 * tool is not idempotent and its result is recorded in the idempotency store).
 */
export const ToolCalled = Schema.Struct({
  ...envelope,
  type: Schema.Literal("ToolCalled"),
  data: Schema.Struct({ tool: Schema.String, argsHash: Schema.String, idempotencyKey: opt(Schema.String) })
}).annotations({ identifier: "ToolCalled" })
/** The `ToolCalled` event. */
export type ToolCalled = typeof ToolCalled.Type

/** A tool call returned: output hash, latency, cost, and the output itself (replay stubs tools with it). */
export const ToolReturned = Schema.Struct({
  ...envelope,
  type: Schema.Literal("ToolReturned"),
  data: Schema.Struct({
    tool: Schema.String,
    outputHash: Schema.String,
    latencyMs: Schema.Number,
    cost: Schema.Number,
    /** Where the result came from: the tool, the idempotency store or the result cache. */
    source: Schema.Literal("tool", "idempotency", "cache"),
    output: JsonValue
  })
}).annotations({ identifier: "ToolReturned" })
/** The `ToolReturned` event. */
export type ToolReturned = typeof ToolReturned.Type

/** An attempt failed and will be retried after `delayMs`. `attempt` is the attempt that failed. */
export const NodeRetrying = Schema.Struct({
  ...envelope,
  type: Schema.Literal("NodeRetrying"),
  data: Schema.Struct({ attempt: Schema.Number, delayMs: Schema.Number, errorKind: ErrorKind, message: Schema.String })
}).annotations({ identifier: "NodeRetrying" })
/** The `NodeRetrying` event. */
export type NodeRetrying = typeof NodeRetrying.Type

/** A node failed for good. */
export const NodeFailed = Schema.Struct({
  ...envelope,
  type: Schema.Literal("NodeFailed"),
  data: Schema.Struct({ errorKind: ErrorKind, message: Schema.String })
}).annotations({ identifier: "NodeFailed" })
/** The `NodeFailed` event. */
export type NodeFailed = typeof NodeFailed.Type

/** A node completed with an output (its canonical-JSON hash). */
export const NodeCompleted = Schema.Struct({
  ...envelope,
  type: Schema.Literal("NodeCompleted"),
  data: Schema.Struct({ outputHash: Schema.String })
}).annotations({ identifier: "NodeCompleted" })
/** The `NodeCompleted` event. */
export type NodeCompleted = typeof NodeCompleted.Type

/** A `choose` node picked an option: key, option, policy, its version and the option's propensity. */
export const ChoiceMade = Schema.Struct({
  ...envelope,
  type: Schema.Literal("ChoiceMade"),
  data: Schema.Struct({
    key: Schema.String,
    option: Schema.String,
    policy: Schema.String,
    version: Schema.Number,
    propensity: Schema.Number
  })
}).annotations({ identifier: "ChoiceMade" })
/** The `ChoiceMade` event. */
export type ChoiceMade = typeof ChoiceMade.Type

/** A streamed piece of a node's output (tool `emit`, llm deltas), numbered from 0 per node. */
export const Chunk = Schema.Struct({
  ...envelope,
  type: Schema.Literal("Chunk"),
  data: Schema.Struct({ index: Schema.Number, text: Schema.String })
}).annotations({ identifier: "Chunk" })
/** The `Chunk` event. */
export type Chunk = typeof Chunk.Type

/** The run completed with an output. */
export const RunCompleted = Schema.Struct({
  ...envelope,
  type: Schema.Literal("RunCompleted"),
  data: Schema.Struct({ outputHash: Schema.String, output: JsonValue })
}).annotations({ identifier: "RunCompleted" })
/** The `RunCompleted` event. */
export type RunCompleted = typeof RunCompleted.Type

/** The run failed: the error kind, message and failing node path (when one node caused it). */
export const RunFailed = Schema.Struct({
  ...envelope,
  type: Schema.Literal("RunFailed"),
  data: Schema.Struct({ errorKind: ErrorKind, message: Schema.String, failedNode: opt(Schema.String) })
}).annotations({ identifier: "RunFailed" })
/** The `RunFailed` event. */
export type RunFailed = typeof RunFailed.Type

/** The run was cancelled (interrupted); in-flight nodes were interrupted. */
export const RunCancelled = Schema.Struct({
  ...envelope,
  type: Schema.Literal("RunCancelled"),
  data: Schema.Struct({ reason: Schema.String })
}).annotations({ identifier: "RunCancelled" })
/** The `RunCancelled` event. */
export type RunCancelled = typeof RunCancelled.Type

/** Any run event. */
export const RunEvent = Schema.Union(
  RunStarted,
  NodeReady,
  NodeStarted,
  ToolCalled,
  ToolReturned,
  NodeRetrying,
  NodeFailed,
  NodeCompleted,
  ChoiceMade,
  Chunk,
  RunCompleted,
  RunFailed,
  RunCancelled
)
/** Any run event. */
export type RunEvent = typeof RunEvent.Type

/** The `type` of a run event. */
export type RunEventType = RunEvent["type"]

/** The `data` of events of type `T`. */
export type EventData<T extends RunEventType> = Extract<RunEvent, { readonly type: T }>["data"]

/** The event types that end a run. */
export const TERMINAL_TYPES: ReadonlySet<RunEventType> = new Set(["RunCompleted", "RunFailed", "RunCancelled"])

/** Whether an event ends its run. */
export const isTerminal = (event: RunEvent): boolean => TERMINAL_TYPES.has(event.type)

/** Drops what varies between runs of the same program, inputs and seed: `seq`, `at`, latencies. */
const stable = (event: RunEvent): unknown => {
  const { at: _at, seq: _seq, ...rest } = event
  if (rest.type !== "ToolReturned") return rest
  const { latencyMs: _latency, ...data } = rest.data
  return { ...rest, data }
}

/**
 * The canonical trace of a run (ARCHITECTURE, "Events and determinism"):
 * events grouped by node path (run-level events first), in each node's own
 * order, without `seq`, timestamps and latencies, one canonical JSON line
 * each. It is the same for the same program, inputs and seed, whatever the
 * completion order of tools.
 */
export const canonicalTrace = (events: ReadonlyArray<RunEvent>): ReadonlyArray<string> => {
  const groups = new Map<string, Array<string>>()
  for (const e of events) {
    const key = e.node ?? ""
    const line = canonicalJson(stable(e))
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [line])
    else group.push(line)
  }
  const keys = [...groups.keys()].sort(compareCodeUnits)
  return keys.flatMap((k) => groups.get(k)!)
}

/** The JSON form of an event (what JSONL files and the wire carry). */
export const encodeEvent = (event: RunEvent): unknown => Schema.encodeSync(RunEvent)(event)

/** Reads an event from its JSON form. */
export const decodeEvent = Schema.decodeUnknown(RunEvent)

/**
 * Where the runtime writes events. Batches arrive in `seq` order; an append
 * is acknowledged when it succeeds (a durable sink has committed it by then);
 * a failed append ends the run in this process (see `StoreError`).
 */
export class EventSink extends Context.Tag("trellis/EventSink")<
  EventSink,
  { readonly append: (events: ReadonlyArray<RunEvent>) => Effect.Effect<void, StoreError> }
>() {
  /** An in-memory sink that keeps every event and publishes it to `EventLog` subscribers. */
  static readonly layerMemory: Layer.Layer<EventSink | EventLog> = Layer.effectContext(
    Effect.gen(function* () {
      const log = yield* makeMemoryLog
      return Context.make(EventSink, { append: log.append }).pipe(Context.add(EventLog, log.reader))
    })
  )

  /** A sink that drops every event. */
  static readonly layerDiscard: Layer.Layer<EventSink> = Layer.succeed(EventSink, { append: () => Effect.void })
}

/** Reads events back: a run's recorded events and a live stream of events as they are appended. */
export class EventLog extends Context.Tag("trellis/EventLog")<
  EventLog,
  {
    /** The events recorded so far for a run, in `seq` order. */
    readonly events: (runId: string) => Effect.Effect<ReadonlyArray<RunEvent>, StoreError>
    /** The events of a run: those recorded so far, then live ones, ending after the run's terminal event. */
    readonly stream: (runId: string) => Stream.Stream<RunEvent, StoreError>
    /** Every event appended from now on, of every run. */
    readonly live: Stream.Stream<RunEvent>
  }
>() {}

/** The in-memory log behind `EventSink.layerMemory`. */
const makeMemoryLog = Effect.gen(function* () {
  const runs = new Map<string, Array<RunEvent>>()
  const hub = yield* PubSub.unbounded<RunEvent>()
  const record = (events: ReadonlyArray<RunEvent>): void => {
    for (const e of events) {
      const list = runs.get(e.runId)
      if (list === undefined) runs.set(e.runId, [e])
      else list.push(e)
    }
  }
  const append = (events: ReadonlyArray<RunEvent>): Effect.Effect<void, StoreError> =>
    events.length === 0 ? Effect.void : Effect.zipRight(Effect.sync(() => record(events)), PubSub.publishAll(hub, events))
  const events = (runId: string): Effect.Effect<ReadonlyArray<RunEvent>, StoreError> =>
    Effect.sync(() => (runs.get(runId) ?? []).slice())
  const stream = (runId: string): Stream.Stream<RunEvent, StoreError> =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        // Subscribe before reading the backlog so nothing falls between the two.
        const sub = yield* PubSub.subscribe(hub)
        const past = yield* events(runId)
        const last = past.length === 0 ? -1 : past[past.length - 1]!.seq
        const backlog = Stream.fromIterable(past)
        if (past.length > 0 && isTerminal(past[past.length - 1]!)) return backlog
        const future = Stream.fromQueue(sub).pipe(
          Stream.filter((e) => e.runId === runId && e.seq > last),
          Stream.takeUntil(isTerminal)
        )
        return Stream.concat(backlog, future)
      })
    )
  return {
    append,
    reader: { events, stream, live: Stream.fromPubSub(hub) }
  }
})
