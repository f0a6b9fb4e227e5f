/**
 * Run events (SPEC §5): one `effect/Schema` class per event type, the
 * `RunEvent` union, `makeEvent` (the runtime's trusted, validation-free
 * constructor: a genuine class instance at plain-object cost), and the
 * `EventSink` service the runtime appends them to. Every event is
 * `{ runId, seq, at, type, node?, attempt?, data }` on the wire; `seq` is
 * contiguous from 0 within a run, `at` is milliseconds since the epoch read
 * from Effect's `Clock`, `node` is the node path (`n3/2/n4`: node `n4` in
 * item 2 of map `n3`; see README.md).
 */
import { Context, Effect, Layer, PubSub, Schema, Stream } from "effect"
import { canonicalJson, compareCodeUnits } from "../ir/canonical.js"
import type { Json } from "../ir/eval.js"
import { ErrorKind, FiniteNumber } from "../ir/schema.js"
import type { StoreError } from "./errors.js"

/** A JSON value as carried in event data. */
const JsonValue = Schema.Unknown

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** Numbers in events are finite (JSON cannot carry NaN or ±Infinity); counters are integers. */
const Num = FiniteNumber
const Seq = Schema.NonNegativeInt
const Attempt = Schema.Int.pipe(Schema.positive())
const BreakerStatus = Schema.Literal("closed", "open", "half-open")

/**
 * The fields of the event class of type `type`, in wire order: the
 * envelope, the `type` literal (defaulted in the constructor, so
 * `new NodeCompleted({ runId, seq, at, node, data })` needs no `type`), and
 * `data`.
 */
const eventFields = <T extends string, D extends Schema.Struct.Fields>(type: T, data: D) => ({
  runId: Schema.String,
  seq: Seq,
  at: Num,
  type: Schema.Literal(type).pipe(Schema.propertySignature, Schema.withConstructorDefault((): T => type)),
  node: opt(Schema.String),
  attempt: opt(Attempt),
  data: Schema.Struct(data)
})

/** The run began: program hash, inputs hash, seed (null when unseeded) and mode. */
export class RunStarted extends Schema.Class<RunStarted>("RunStarted")(
  eventFields("RunStarted", {
    programHash: Schema.String,
    inputsHash: Schema.String,
    seed: Schema.NullOr(Num),
    mode: Schema.Literal("live", "replay", "resume"),
    inputs: opt(JsonValue),
    /** The version of each tool the program calls, as the run began (resume and replay check them). */
    toolVersions: opt(Schema.Record({ key: Schema.String, value: Schema.String })),
    /** The patch ids (`patched("id")`) in force for the run: its program's when it began (see docs/history.md). */
    patches: opt(Schema.Array(Schema.String))
  })
) {}

/** A node's inputs are all available; it may start (subject to concurrency caps). */
export class NodeReady extends Schema.Class<NodeReady>("NodeReady")(
  eventFields("NodeReady", { kind: Schema.String, label: opt(Schema.String) })
) {}

/** A node started executing. */
export class NodeStarted extends Schema.Class<NodeStarted>("NodeStarted")(
  eventFields("NodeStarted", { kind: Schema.String })
) {}

/**
 * A tool was called (one event per attempt): tool name, args hash, and the
 * idempotency key when the call is keyed (the program gave a key, or the
 * tool is not idempotent and its result is recorded in the idempotency store).
 * An llm step records its attempts with the same event (tool `llm:<Signature>`),
 * plus the model asked for and the prompt hash.
 */
export class ToolCalled extends Schema.Class<ToolCalled>("ToolCalled")(
  eventFields("ToolCalled", {
    tool: Schema.String,
    argsHash: Schema.String,
    idempotencyKey: opt(Schema.String),
    /** llm steps (`tool` is `llm:<Signature>`): the model name asked for. */
    model: opt(Schema.String),
    /** llm steps: the hash of the prompt sent (a replay with a different prompt diverges here). */
    promptHash: opt(Schema.String)
  })
) {}

/**
 * A tool call returned: output hash, latency, cost, tokens (when the call
 * reported any), where the result came from, and the output itself (replay
 * stubs tools with it).
 */
export class ToolReturned extends Schema.Class<ToolReturned>("ToolReturned")(
  eventFields("ToolReturned", {
    tool: Schema.String,
    outputHash: Schema.String,
    latencyMs: Num,
    cost: Num,
    /** Tokens spent by the call, when it reported any. */
    tokens: opt(Num),
    /** Where the result came from: the tool, the idempotency store or the result cache. */
    source: Schema.Literal("tool", "idempotency", "cache"),
    output: JsonValue,
    /** llm steps: the route (`provider/model`) that answered, when the runner reported it. */
    route: opt(Schema.String)
  })
) {}

/**
 * An attempt failed and will be retried after `delayMs`. `attempt` is the attempt that failed; `retryAfterMs`
 * is the failure's own (RateLimited, CircuitOpen), when it had one, so a replay waits the same.
 */
export class NodeRetrying extends Schema.Class<NodeRetrying>("NodeRetrying")(
  eventFields("NodeRetrying", {
    attempt: Attempt,
    delayMs: Num,
    errorKind: ErrorKind,
    message: Schema.String,
    retryAfterMs: opt(Num)
  })
) {}

/** A node failed for good. */
export class NodeFailed extends Schema.Class<NodeFailed>("NodeFailed")(
  eventFields("NodeFailed", { errorKind: ErrorKind, message: Schema.String })
) {}

/** A node completed with an output (its canonical-JSON hash). */
export class NodeCompleted extends Schema.Class<NodeCompleted>("NodeCompleted")(
  eventFields("NodeCompleted", { outputHash: Schema.String })
) {}

/**
 * A `choose` node picked an option: key, option, policy, its version and the option's propensity; a contextual
 * policy (LinUCB) also records the context (feature vector) it chose in, so feedback can teach the policy online.
 */
export class ChoiceMade extends Schema.Class<ChoiceMade>("ChoiceMade")(
  eventFields("ChoiceMade", {
    key: Schema.String,
    option: Schema.String,
    policy: Schema.String,
    version: Num,
    propensity: Num,
    context: opt(Schema.Array(Num))
  })
) {}

/**
 * A fan-in that does not wait for all settled (a `race`, a map with `take`): `picked` are the option labels
 * (race) or item indices (take) whose results make the node's value, in the order they finished; `dropped`
 * are the ones started and not picked (failed or cancelled). Resume and replay follow this record.
 */
export class FanInSettled extends Schema.Class<FanInSettled>("FanInSettled")(
  eventFields("FanInSettled", { picked: Schema.Array(Schema.String), dropped: Schema.Array(Schema.String) })
) {}

/**
 * A map with `fold` combined one more item result: `step` counts from 0 in completion order, `value` is the
 * accumulator so far (the partial value a live subscriber shows) and `valueHash` its hash.
 */
export class FoldUpdated extends Schema.Class<FoldUpdated>("FoldUpdated")(
  eventFields("FoldUpdated", { step: Schema.NonNegativeInt, valueHash: Schema.String, value: JsonValue })
) {}

/** A streamed piece of a node's output (tool `emit`, llm deltas), numbered from 0 per node. */
export class Chunk extends Schema.Class<Chunk>("Chunk")(
  eventFields("Chunk", { index: Schema.NonNegativeInt, text: Schema.String })
) {}

/**
 * A `wait` step was reached (SPEC §11): the signal it waits for (`name`,
 * null for a durable sleep), the payload it shows, the deadline (clock ms;
 * null when it waits without one) and the declared answer type, if any.
 */
export class Waiting extends Schema.Class<Waiting>("Waiting")(
  eventFields("Waiting", {
    name: Schema.NullOr(Schema.String),
    payload: JsonValue,
    deadline: Schema.NullOr(Num),
    answer: opt(JsonValue)
  })
) {}

/** A signal answered a `wait` step: its name, its dedupe id, and its payload (the step's value). */
export class Signalled extends Schema.Class<Signalled>("Signalled")(
  eventFields("Signalled", { name: Schema.String, signalId: Schema.String, payload: JsonValue })
) {}

/** A wait's deadline (or a durable sleep's time) passed. */
export class TimerFired extends Schema.Class<TimerFired>("TimerFired")(
  eventFields("TimerFired", { deadline: Num })
) {}

/** The run completed with an output. */
export class RunCompleted extends Schema.Class<RunCompleted>("RunCompleted")(
  eventFields("RunCompleted", { outputHash: Schema.String, output: JsonValue })
) {}

/** The run failed: the error kind, message and failing node path (when one node caused it). */
export class RunFailed extends Schema.Class<RunFailed>("RunFailed")(
  eventFields("RunFailed", { errorKind: ErrorKind, message: Schema.String, failedNode: opt(Schema.String) })
) {}

/**
 * A circuit breaker changed state while this run called through it (issue 17): `breaker` names it
 * (`tool:<name>`, `llm:<provider>`), `node` the call that saw the change, `calls`/`failures` the window that
 * opened it (closed → open). Run-level: it describes state shared with other runs, which a replay (answered from
 * the record) does not consult, so replay comparison and the canonical trace leave it out.
 */
export class BreakerChanged extends Schema.Class<BreakerChanged>("BreakerChanged")(
  eventFields("BreakerChanged", {
    breaker: Schema.String,
    from: BreakerStatus,
    to: BreakerStatus,
    node: opt(Schema.String),
    calls: opt(Schema.NonNegativeInt),
    failures: opt(Schema.NonNegativeInt)
  })
) {}

/** The run was cancelled (interrupted); in-flight nodes were interrupted. */
export class RunCancelled extends Schema.Class<RunCancelled>("RunCancelled")(
  eventFields("RunCancelled", { reason: Schema.String })
) {}

/** Every event class, by its `type`. */
export const EVENT_CLASSES = {
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
  Waiting,
  Signalled,
  TimerFired,
  RunCompleted,
  RunFailed,
  RunCancelled,
  FanInSettled,
  FoldUpdated,
  BreakerChanged
} as const

/** Any run event (decoding yields instances of the event classes). */
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
  Waiting,
  Signalled,
  TimerFired,
  RunCompleted,
  RunFailed,
  RunCancelled,
  FanInSettled,
  FoldUpdated,
  BreakerChanged
)
/** Any run event. */
export type RunEvent = typeof RunEvent.Type

/** The `type` of a run event. */
export type RunEventType = RunEvent["type"]

/** Every event type, in the order of SPEC §5. */
export const EVENT_TYPES: ReadonlyArray<RunEventType> = Object.keys(EVENT_CLASSES) as Array<RunEventType>

/** The event of type `T`. */
export type EventOf<T extends RunEventType> = Extract<RunEvent, { readonly type: T }>

/** The `data` of events of type `T`. */
export type EventData<T extends RunEventType> = EventOf<T>["data"]

/** What `makeEvent` builds an event of type `T` from: the envelope (an undefined `node` / `attempt` is absent) and `data`. */
export interface EventProps<T extends RunEventType> {
  readonly runId: string
  readonly seq: number
  readonly at: number
  readonly node?: string | undefined
  readonly attempt?: number | undefined
  readonly data: EventData<T>
}

/** `EventProps` of any type, data unchecked (what the per-type constructors take). */
type AnyEventProps = Omit<EventProps<RunEventType>, "data"> & { readonly data: unknown }

/**
 * The trusted constructor of one event class: a plain constructor function
 * sharing the class's prototype, so `new` yields a genuine instance
 * (`instanceof`, `Schema.is`, `Schema.encodeSync`, `Equal.equals` and
 * `JSON.stringify` behave as for `new Cls(props)`) without the Schema
 * class constructor's copy and validation. Own properties are assigned in
 * wire order, as decoding assigns them.
 */
const fastConstructor = (type: RunEventType, prototype: object) => {
  function FastEvent(this: Record<string, unknown>, p: AnyEventProps) {
    this.runId = p.runId
    this.seq = p.seq
    this.at = p.at
    this.type = type
    if (p.node !== undefined) this.node = p.node
    if (p.attempt !== undefined) this.attempt = p.attempt
    this.data = p.data
  }
  FastEvent.prototype = prototype
  return FastEvent as unknown as new(p: AnyEventProps) => RunEvent
}

const fastConstructors = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, fastConstructor(type, EVENT_CLASSES[type].prototype)])
) as unknown as Record<RunEventType, new(p: AnyEventProps) => RunEvent>

/**
 * Builds an event of type `type` WITHOUT validation (the runtime's hot
 * path: ~15 ns, as cheap as a plain object; `new Cls(props, true)` costs
 * 1–3 µs): an instance of the event's class, equal in every respect to one
 * built by its constructor. Trusted input only; use `decodeEvent` for
 * anything read from outside.
 */
export const makeEvent = <T extends RunEventType>(type: T, props: EventProps<T>): EventOf<T> =>
  new fastConstructors[type](props) as EventOf<T>

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
 * completion order of tools. `BreakerChanged` events are left out (they
 * describe state shared with other runs).
 */
export const canonicalTrace = (events: ReadonlyArray<RunEvent>): ReadonlyArray<string> => {
  const groups = new Map<string, Array<string>>()
  for (const e of events) {
    if (e.type === "BreakerChanged") continue
    const key = e.node ?? ""
    const line = canonicalJson(stable(e))
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [line])
    else group.push(line)
  }
  const keys = [...groups.keys()].sort(compareCodeUnits)
  return keys.flatMap((k) => groups.get(k)!)
}

/**
 * The JSON form of an event (what JSONL files and the wire carry): a plain
 * object in wire order. Accepts class instances and plain objects of the
 * event's shape alike; throws a `ParseError` on anything else.
 */
export const encodeEvent = (event: RunEvent): unknown => Schema.encodeSync(RunEvent)(event)

/** Reads an event from its JSON form, as an instance of its class; fails with a `ParseError`. */
export const decodeEvent = Schema.decodeUnknown(RunEvent)

/** How a run ended, as its record keeps it (committed with its last events by `EventSink.appendClosing`). */
export interface RunClosing {
  readonly runId: string
  readonly status: "completed" | "failed" | "cancelled"
  readonly endedAt: number
  readonly output?: Json
  readonly error?: { readonly kind: string; readonly message: string; readonly node?: string }
  readonly state: Json
}

/**
 * Where the runtime writes events. Batches arrive in `seq` order; an append
 * is acknowledged when it succeeds (a durable sink has committed it by then);
 * a failed append ends the run in this process (see `StoreError`).
 */
export class EventSink extends Context.Tag("trellis/EventSink")<
  EventSink,
  {
    readonly append: (events: ReadonlyArray<RunEvent>) => Effect.Effect<void, StoreError>
    /**
     * Appends a run's last batch (its terminal event) and records how the
     * run ended in ONE commit — a durable store that also keeps run records
     * offers it; absent, the caller appends, then records the ending.
     */
    readonly appendClosing?: (
      events: ReadonlyArray<RunEvent>,
      closing: RunClosing
    ) => Effect.Effect<void, StoreError>
  }
>() {
  /** An in-memory sink that keeps every event and publishes it to `EventLog` subscribers. */
  static readonly layerMemory: Layer.Layer<EventSink | EventLog> = Layer.effectContext(
    Effect.gen(function*() {
      const log = yield* makeMemoryLog
      return Context.make(EventSink, { append: log.append }).pipe(Context.add(EventLog, log.reader))
    })
  )

  /** A sink that drops every event. */
  static readonly layerDiscard: Layer.Layer<EventSink> = Layer.succeed(EventSink, { append: () => Effect.void })
}

/** Options of `EventLog.stream`. */
export interface StreamOptions {
  readonly local?: boolean
}

/** Reads events back: a run's recorded events and a live stream of events as they are appended. */
export class EventLog extends Context.Tag("trellis/EventLog")<
  EventLog,
  {
    /** The events recorded so far for a run, in `seq` order. */
    readonly events: (runId: string) => Effect.Effect<ReadonlyArray<RunEvent>, StoreError>
    /**
     * The events of a run: those recorded so far, then live ones, ending after the run's terminal event.
     * `local`: the run executes in this process (its events arrive from memory), so a log that also polls
     * for other processes' appends may poll rarely.
     */
    readonly stream: (runId: string, options?: StreamOptions) => Stream.Stream<RunEvent, StoreError>
    /**
     * What `stream` gives, without a `Stream` (for a server following many runs): each piece (the events of
     * one commit, contiguous and in `seq` order) is handed to `onPiece`; ends after the terminal event. A log
     * without it is followed through `stream` (`followLog`).
     */
    readonly follow?: (
      runId: string,
      onPiece: (events: ReadonlyArray<RunEvent>) => void,
      options?: StreamOptions
    ) => Effect.Effect<void, StoreError>
    /** Every event appended from now on, of every run. */
    readonly live: Stream.Stream<RunEvent>
  }
>() {}

/** Follows a run's events with the log's `follow` when it has one, else through its `stream` (piece by piece). */
export const followLog = (
  log: EventLog["Type"],
  runId: string,
  onPiece: (events: ReadonlyArray<RunEvent>) => void,
  options: StreamOptions = {}
): Effect.Effect<void, StoreError> =>
  log.follow !== undefined
    ? log.follow(runId, onPiece, options)
    : Stream.runForEachChunk(log.stream(runId, options), (chunk) => Effect.sync(() => onPiece(Array.from(chunk))))

/** The in-memory log behind `EventSink.layerMemory`. */
const makeMemoryLog = Effect.gen(function*() {
  const runs = new Map<string, Array<RunEvent>>()
  const hub = yield* PubSub.unbounded<RunEvent>()
  const record = (events: ReadonlyArray<RunEvent>): void => {
    // A batch is usually one run's: look its list up once.
    let runId: string | undefined
    let list: Array<RunEvent> | undefined
    for (const e of events) {
      if (e.runId !== runId) {
        runId = e.runId
        list = runs.get(runId)
        if (list === undefined) runs.set(runId, list = [])
      }
      list!.push(e)
    }
  }
  const append = (events: ReadonlyArray<RunEvent>): Effect.Effect<void, StoreError> =>
    events.length === 0
      ? Effect.void
      : Effect.zipRight(Effect.sync(() => record(events)), PubSub.publishAll(hub, events))
  const events = (runId: string): Effect.Effect<ReadonlyArray<RunEvent>, StoreError> =>
    Effect.sync(() => (runs.get(runId) ?? []).slice())
  const stream = (runId: string): Stream.Stream<RunEvent, StoreError> =>
    Stream.unwrapScoped(
      Effect.gen(function*() {
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
