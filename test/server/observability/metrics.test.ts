/**
 * Metrics: the Prometheus text of Effect's metrics, read back by a real
 * Prometheus-format parser (parse-prometheus-text-format); label escaping;
 * per-workspace filtering; `observeEvents` derives runs by status, tool
 * latency, tokens and errors by kind from the events a durable run records.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, MetricBoundaries, Schema } from "effect"
import { createRequire } from "node:module"
import * as Durable from "../../../src/runtime/durable.js"
import { RunStore } from "../../../src/runtime/runStore.js"
import {
  observeEvents,
  recordRequest,
  renderMetrics,
  renderMetricsFor,
  setQueueDepth
} from "../../../src/server/observability/metrics.js"
import { routeMatcher } from "../../../src/server/observability/middleware.js"
import { make, Permanent } from "../../../src/tools/index.js"
import type { AnyTool } from "../../../src/tools/index.js"
import { compileProgram, testLayer } from "../../support/runtime.js"

interface Sample {
  readonly value?: string
  readonly labels?: Record<string, string>
  readonly buckets?: Record<string, string>
  readonly count?: string
  readonly sum?: string
}
interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED"
  readonly metrics: ReadonlyArray<Sample>
}
const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => Array<MetricFamily>

const family = (families: ReadonlyArray<MetricFamily>, name: string): MetricFamily => {
  const f = families.find((x) => x.name === name)
  if (f === undefined) throw new Error(`no family ${name} in ${families.map((x) => x.name).join(", ")}`)
  return f
}
const sampleWith = (f: MetricFamily, labels: Record<string, string>): Sample | undefined =>
  f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))

/** One labelled series of a histogram: its labels, buckets by `le`, count and sum. */
interface Series {
  readonly labels: Record<string, string>
  readonly buckets: Record<string, string>
  count?: string
  sum?: string
}

/**
 * The series of histogram `name`, read by the parser. The parser folds the
 * label sets of a histogram together (it keeps `le` only), so the family is
 * parsed a second time declared `untyped`: then `_bucket`, `_sum` and
 * `_count` come back as samples with every label, grouped here by labels.
 */
const histogram = (text: string, name: string): ReadonlyArray<Series> => {
  const families = parse(text.replace(`# TYPE ${name} histogram`, `# TYPE ${name} untyped`))
  const series = new Map<string, Series>()
  const seriesOf = (labels: Record<string, string>): Series => {
    const key = JSON.stringify(Object.entries(labels).sort())
    let s = series.get(key)
    if (s === undefined) series.set(key, s = { labels, buckets: {} })
    return s
  }
  // An untyped family ends where another name starts: the same name may come back as several families.
  const samples = (n: string) => families.filter((f) => f.name === n).flatMap((f) => f.metrics)
  for (const m of samples(`${name}_bucket`)) {
    const { le, ...labels } = m.labels ?? {}
    seriesOf(labels).buckets[le!] = m.value!
  }
  for (const m of samples(`${name}_sum`)) seriesOf(m.labels ?? {}).sum = m.value!
  for (const m of samples(`${name}_count`)) seriesOf(m.labels ?? {}).count = m.value!
  return [...series.values()]
}

describe("renderMetrics", () => {
  it.effect("renders counters, gauges and histograms that a Prometheus parser reads back", () =>
    Effect.gen(function*() {
      const hist = Metric.histogram(
        "test_latency_seconds",
        MetricBoundaries.fromIterable([0.1, 1]),
        "A test histogram."
      )
      yield* Metric.update(Metric.tagged(hist, "route", "/a"), 0.05)
      yield* Metric.update(Metric.tagged(hist, "route", "/a"), 0.5)
      yield* Metric.update(Metric.tagged(hist, "route", "/a"), 7)
      const counter = Metric.counter("test_things_total", { description: "Things.\nCounted." })
      yield* Metric.update(Metric.tagged(counter, "odd", "a \"quoted\" \\ back\nslash"), 2)
      yield* setQueueDepth(7)
      const text = yield* renderMetrics
      expect(text).toContain("# TYPE test_latency_seconds histogram\n")
      expect(text).toContain("# HELP test_things_total Things.\\nCounted.\n")
      expect(text).toContain("test_things_total{odd=\"a \\\"quoted\\\" \\\\ back\\nslash\"} 2\n")
      const families = parse(text)
      const h = family(families, "test_latency_seconds")
      expect(h.type).toBe("HISTOGRAM")
      expect(h.help).toBe("A test histogram.")
      expect(h.metrics.map((m) => m.buckets)).toEqual([{ "0.1": "1", "1": "2", "+Inf": "3" }])
      expect(histogram(text, "test_latency_seconds")).toEqual([
        { labels: { route: "/a" }, buckets: { "0.1": "1", "1": "2", "+Inf": "3" }, count: "3", sum: "7.55" }
      ])
      const c = family(families, "test_things_total")
      expect(c.type).toBe("COUNTER")
      expect(c.metrics).toEqual([{ labels: { odd: "a \"quoted\" \\ back\nslash" }, value: "2" }])
      const q = family(families, "trellis_run_queue_depth")
      expect(q.type).toBe("GAUGE")
      expect(q.metrics).toEqual([{ value: "7" }])
      // Every line is a comment or a sample: nothing else leaks into the text.
      for (const line of text.trimEnd().split("\n")) {
        expect(line).toMatch(/^(# (HELP|TYPE) \S+ .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+)$/)
      }
    }))

  it.effect("a workspace's rendering holds no other workspace's label values", () =>
    Effect.gen(function*() {
      recordRequest({ method: "GET", route: "/v1/runs/:id", status: 200, workspace: "acme", seconds: 0.002 })
      recordRequest({
        method: "GET",
        route: "/v1/runs/:id",
        status: 404,
        workspace: "globex-secret-name",
        seconds: 0.004
      })
      const all = yield* renderMetrics
      expect(all).toContain("globex-secret-name")
      const acme = yield* renderMetricsFor("acme")
      expect(acme).not.toContain("globex-secret-name")
      expect(family(parse(acme), "trellis_http_request_duration_seconds").type).toBe("HISTOGRAM")
      const series = histogram(acme, "trellis_http_request_duration_seconds")
      expect(series.map((s) => [s.labels, s.count])).toEqual([
        [{ method: "GET", route: "/v1/runs/:id", status: "200", workspace: "acme" }, "1"]
      ])
      expect(histogram(all, "trellis_http_request_duration_seconds").map((s) => s.labels["workspace"]).sort()).toEqual([
        "acme",
        "globex-secret-name"
      ])
      // Series without a workspace label (the queue gauge) are shared.
      expect(acme).toContain("trellis_run_queue_depth ")
    }))
})

describe("routeMatcher", () => {
  it("picks the most specific pattern and never the raw path", () => {
    const match = routeMatcher(["/v1/runs/:id", "/v1/runs", "/v1/runs/:id/events", "/v1/runs/export", "/docs/*", "/"])
    expect(match("/v1/runs")).toBe("/v1/runs")
    expect(match("/v1/runs/r-123")).toBe("/v1/runs/:id")
    expect(match("/v1/runs/export")).toBe("/v1/runs/export")
    expect(match("/v1/runs/r-1/events?x=1")).toBe("/v1/runs/:id/events")
    expect(match("/docs/a/b.css")).toBe("/docs/*")
    expect(match("/")).toBe("/")
    expect(match("/v1/runs/a/b/c")).toBeUndefined()
    expect(match("/nope")).toBeUndefined()
  })
})

describe("observeEvents", () => {
  const slow = make({
    name: "t.slow",
    description: "Waits a millisecond and reports tokens.",
    input: Schema.Struct({ x: Schema.Number }),
    output: Schema.Number,
    idempotent: true,
    handler: (args) => Effect.as(Effect.sleep("1 millis"), args.x + 1)
  })
  const broken = make({
    name: "t.broken",
    description: "Always fails Permanent.",
    input: Schema.Struct({ x: Schema.Number }),
    output: Schema.Number,
    idempotent: true,
    handler: () => Effect.fail(new Permanent({ message: "no" }))
  })
  const tools = [slow, broken] as unknown as ReadonlyArray<AnyTool>
  const layer = Layer.provideMerge(observeEvents, Layer.merge(testLayer(tools), RunStore.layerMemory))

  it.live("counts runs by status, tool latency and errors by kind per workspace", () =>
    Effect.gen(function*() {
      const ok = compileProgram(
        `program main(x: number = 1) { a = tool t.slow(x: x)\n b = tool t.slow(x: a)\n return b }`,
        tools
      )
      const bad = compileProgram(`program main(x: number = 1) { a = tool t.broken(x: x)\n return a }`, tools)
      const done = yield* Durable.start(ok, {}, { workspace: "acme" })
      expect(done.output).toBe(3)
      const failed = yield* Effect.flip(Durable.start(bad, {}, { workspace: "beta" }))
      expect(failed.kind).toBe("Permanent")
      const text = yield* renderMetrics
      const families = parse(text)
      const runs = family(families, "trellis_runs_total")
      expect(sampleWith(runs, { status: "started", workspace: "acme" })?.value).toBe("1")
      expect(sampleWith(runs, { status: "completed", workspace: "acme" })?.value).toBe("1")
      expect(sampleWith(runs, { status: "failed", workspace: "beta" })?.value).toBe("1")
      expect(sampleWith(runs, { status: "failed", workspace: "acme" })).toBeUndefined()
      expect(family(families, "trellis_tool_latency_seconds").type).toBe("HISTOGRAM")
      const latency = histogram(text, "trellis_tool_latency_seconds")
      expect(latency.map((s) => [s.labels, s.count])).toEqual([[{ tool: "t.slow", workspace: "acme" }, "2"]])
      expect(Number(latency[0]!.sum)).toBeGreaterThan(0)
      const errors = family(families, "trellis_errors_total")
      expect(sampleWith(errors, { kind: "Permanent", source: "node", workspace: "beta" })?.value).toBe("1")
      expect(sampleWith(errors, { kind: "Permanent", source: "run", workspace: "beta" })?.value).toBe("1")
      const acmeOnly = yield* renderMetricsFor("acme")
      expect(acmeOnly).not.toContain("beta")
    }).pipe(Effect.provide(layer)))
})
