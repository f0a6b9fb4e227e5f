/**
 * The server's metrics (SPEC §8 Observability) as Effect `Metric`s, the
 * helpers that update them, and `observeEvents`, an `EventSink` wrapper
 * that derives the run-side metrics from the events a run records. Every
 * series that belongs to a workspace carries a `workspace` label with that
 * workspace's own name only, so `renderMetricsFor(ws)` can leave the other
 * workspaces' series out. Rendering is in `prometheus.ts` (re-exported).
 */
import { Effect, FiberRef, HashMap, Layer, Metric, MetricBoundaries, MetricLabel, Option } from "effect"
import type { StoreError } from "../../trace/errors.js"
import { EventSink } from "../../trace/events.js"
import type { RunClosing, RunEvent } from "../../trace/events.js"

export { CONTENT_TYPE, renderMetrics, renderMetricsFor, renderPairs } from "./prometheus.js"
export type { RenderOptions } from "./prometheus.js"

/** The workspace label of series whose workspace is not known (e.g. a request refused before auth). */
export const NO_WORKSPACE = "none"

/** Latency buckets in seconds: 1 ms … ~65 s. */
const secondsBuckets = MetricBoundaries.fromIterable([
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  65
])

/** HTTP request latency; labels `method`, `route` (the matched pattern, never the raw path), `status`, `workspace`. */
export const httpRequestDuration = Metric.histogram(
  "trellis_http_request_duration_seconds",
  secondsBuckets,
  "HTTP request latency in seconds, by method, matched route, status and workspace."
)

/** Runs by status (`started`, `resumed`, `completed`, `failed`, `cancelled`); label `workspace`. */
export const runsTotal = Metric.counter("trellis_runs_total", {
  description: "Runs by status (started, resumed, completed, failed, cancelled) and workspace."
})

/** Tool call latency (calls answered by the tool, not by the cache or idempotency store); labels `tool`, `workspace`. */
export const toolLatency = Metric.histogram(
  "trellis_tool_latency_seconds",
  secondsBuckets,
  "Latency of tool calls (node latency by tool) in seconds, by tool and workspace."
)

/** Errors by kind; labels `kind` (the error taxonomy, or an HTTP error tag), `source` (`attempt`, `node`, `run`, `http`), `workspace`. */
export const errorsTotal = Metric.counter("trellis_errors_total", {
  description: "Errors by kind and source (attempt, node, run, http) and workspace."
})

/** Tokens reported by tool and llm calls; labels `tool`, `workspace`. */
export const tokensTotal = Metric.counter("trellis_tokens_total", {
  description: "Tokens reported by calls, by tool and workspace."
})

/** Runs waiting in the server's run queue. */
export const runQueueDepth = Metric.gauge("trellis_run_queue_depth", {
  description: "Runs waiting in the run queue."
}).register()

/** Runs executing now. */
export const runsExecuting = Metric.gauge("trellis_runs_executing", {
  description: "Runs executing now."
}).register()

const labels = (pairs: Record<string, string>): ReadonlyArray<MetricLabel.MetricLabel> =>
  Object.entries(pairs).map(([k, v]) => MetricLabel.make(k, v))

/** Records one HTTP request. */
export const recordRequest = (request: {
  readonly method: string
  readonly route: string
  readonly status: number
  readonly workspace: string | undefined
  readonly seconds: number
}): void =>
  httpRequestDuration.unsafeUpdate(
    request.seconds,
    labels({
      method: request.method,
      route: request.route,
      status: String(request.status),
      workspace: request.workspace ?? NO_WORKSPACE
    })
  )

/** Counts an error of `kind` (e.g. a server-side error tag) from `source`. */
export const recordError = (kind: string, source: string, workspace: string | undefined): Effect.Effect<void> =>
  Effect.sync(() => errorsTotal.unsafeUpdate(1, labels({ kind, source, workspace: workspace ?? NO_WORKSPACE })))

/** Sets the run queue depth gauge. */
export const setQueueDepth = (depth: number): Effect.Effect<void> =>
  Effect.sync(() => runQueueDepth.unsafeUpdate(depth, []))

/** Sets the executing-runs gauge. */
export const setRunsExecuting = (count: number): Effect.Effect<void> =>
  Effect.sync(() => runsExecuting.unsafeUpdate(count, []))

/** Updates the run-side metrics from recorded events of one workspace. */
export const recordEvents = (events: ReadonlyArray<RunEvent>, workspace: string): void => {
  for (const e of events) {
    switch (e.type) {
      case "RunStarted":
        runsTotal.unsafeUpdate(1, labels({ status: e.data.mode === "resume" ? "resumed" : "started", workspace }))
        break
      case "RunCompleted":
        runsTotal.unsafeUpdate(1, labels({ status: "completed", workspace }))
        break
      case "RunFailed":
        runsTotal.unsafeUpdate(1, labels({ status: "failed", workspace }))
        errorsTotal.unsafeUpdate(1, labels({ kind: e.data.errorKind, source: "run", workspace }))
        break
      case "RunCancelled":
        runsTotal.unsafeUpdate(1, labels({ status: "cancelled", workspace }))
        break
      case "ToolReturned":
        if (e.data.source === "tool") {
          toolLatency.unsafeUpdate(e.data.latencyMs / 1000, labels({ tool: e.data.tool, workspace }))
        }
        if (e.data.tokens !== undefined && e.data.tokens > 0) {
          tokensTotal.unsafeUpdate(e.data.tokens, labels({ tool: e.data.tool, workspace }))
        }
        break
      case "NodeRetrying":
        errorsTotal.unsafeUpdate(1, labels({ kind: e.data.errorKind, source: "attempt", workspace }))
        break
      case "NodeFailed":
        errorsTotal.unsafeUpdate(1, labels({ kind: e.data.errorKind, source: "node", workspace }))
        break
      default:
        break
    }
  }
}

/** Options of `observeEventsWith`. */
export interface ObserveOptions {
  /**
   * The workspace of a run, when the appending fiber's log annotations do
   * not say (`Durable.start`/`resume` annotate `workspace`).
   * @default () => undefined (then "default")
   */
  readonly workspaceOf?: (runId: string) => string | undefined
}

/** The `workspace` log annotation of the current fiber, if any. */
const annotatedWorkspace: Effect.Effect<string | undefined> = Effect.map(
  FiberRef.get(FiberRef.currentLogAnnotations),
  (annotations) => {
    const value = HashMap.get(annotations, "workspace")
    return Option.isSome(value) && typeof value.value === "string" ? value.value : undefined
  }
)

/**
 * Wraps the `EventSink` in context: events are appended as before and, once
 * the append succeeded, update runs by status, tool latency, tokens and
 * errors by kind. The workspace comes from the appending fiber's `workspace`
 * log annotation, else `options.workspaceOf`, else `"default"`.
 */
export const observeEventsWith = (options: ObserveOptions = {}): Layer.Layer<EventSink, never, EventSink> =>
  Layer.effect(
    EventSink,
    Effect.map(EventSink, (sink) => {
      const observed = (events: ReadonlyArray<RunEvent>, write: Effect.Effect<void, StoreError>) =>
        events.length === 0 ? write : Effect.zipLeft(
          write,
          Effect.flatMap(
            annotatedWorkspace,
            (annotated) =>
              Effect.sync(() => recordEvents(events, annotated ?? options.workspaceOf?.(events[0]!.runId) ?? "default"))
          )
        )
      const appendClosing = sink.appendClosing
      return EventSink.of({
        append: (events) => observed(events, sink.append(events)),
        ...(appendClosing === undefined ? {} : {
          appendClosing: (events: ReadonlyArray<RunEvent>, closing: RunClosing) =>
            observed(events, appendClosing(events, closing))
        })
      })
    })
  )

/**
 * `observeEventsWith()`: put it over the store's layer so the runtime's
 * events pass through it, e.g. `Layer.provideMerge(observeEvents, storeLayer)`.
 */
export const observeEvents: Layer.Layer<EventSink, never, EventSink> = observeEventsWith()
