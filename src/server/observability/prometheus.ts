/**
 * The Prometheus text exposition format (version 0.0.4) of Effect's metric
 * registry: every metric in `Metric.snapshot` as a family with `# HELP` and
 * `# TYPE` lines; counters and gauges as one sample per label set;
 * histograms as cumulative `_bucket{le="…"}` samples plus `_sum` and
 * `_count`; summaries as `{quantile="…"}` samples plus `_sum` and `_count`;
 * frequencies as a counter with a `key` label. Names are sanitized to
 * `[a-zA-Z_:][a-zA-Z0-9_:]*`, label values escaped (`\\`, `\"`, `\n`).
 * Every family has HELP; counters end in `_total`; a histogram with a
 * `time_unit` label is rendered in seconds (`…_seconds`, label dropped);
 * Effect's `effect_fiber_*` get names, types and HELP that pass
 * `promtool check metrics` (`effect_fiber_active` is a gauge).
 */
import { Effect, Metric, MetricState, Option } from "effect"
import type { MetricLabel, MetricPair } from "effect"

/** Content type of the text format, for the `/metrics` response. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/** Which series to render. */
export interface RenderOptions {
  /**
   * Render only what this workspace may see: series whose `workspace` label
   * is another workspace are left out (series without that label are kept).
   * @default undefined (every series)
   */
  readonly workspace?: string | undefined
}

/** A metric or label name made valid for Prometheus. */
const sanitizeName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const sanitizeLabelName = (name: string): string => sanitizeName(name).replace(/:/g, "_")

/** A label value escaped for the text format. */
const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

/** HELP text escaped for the text format. */
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value in the text format (`+Inf`, `-Inf`, `NaN` included). */
const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const labelText = (labels: ReadonlyArray<readonly [string, string]>): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

type Family = {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  help: string | undefined
  readonly lines: Array<string>
}

/** Whether the pair is visible to `options.workspace`. */
const visible = (tags: ReadonlyArray<MetricLabel.MetricLabel>, options: RenderOptions): boolean => {
  if (options.workspace === undefined) return true
  // Series of requests refused before authentication (workspace "none") hold no tenant data: every workspace sees them.
  for (const tag of tags) {
    if (tag.key === "workspace" && tag.value !== options.workspace && tag.value !== "none") return false
  }
  return true
}

/**
 * Effect's own runtime metrics (`effect_fiber_*`, on by default) as Prometheus wants them: counters named
 * `_total`, the active-fiber count (an Effect counter that goes down) as a gauge, lifetimes in seconds.
 */
const RUNTIME_METRICS: {
  readonly [name: string]: { readonly name: string; readonly type?: Family["type"]; readonly help: string }
} = {
  effect_fiber_started: { name: "effect_fiber_started_total", help: "Effect fibers started." },
  effect_fiber_successes: { name: "effect_fiber_successes_total", help: "Effect fibers that ended successfully." },
  effect_fiber_failures: { name: "effect_fiber_failures_total", help: "Effect fibers that ended with a failure." },
  effect_fiber_active: { name: "effect_fiber_active", type: "gauge", help: "Effect fibers running now." },
  effect_fiber_lifetimes: {
    name: "effect_fiber_lifetime_seconds",
    help: "Lifetimes of ended Effect fibers in seconds."
  }
}

/** Factors to seconds of a histogram's `time_unit` label (Effect's fiber lifetimes are tagged `milliseconds`). */
const TIME_UNITS: { readonly [unit: string]: number } = {
  nanoseconds: 1e-9,
  microseconds: 1e-6,
  milliseconds: 1e-3,
  seconds: 1
}

/** Adds one metric pair's samples to its family (created on first use). */
const addPair = (families: Map<string, Family>, pair: MetricPair.MetricPair.Untyped): void => {
  const key = pair.metricKey
  const runtime = RUNTIME_METRICS[key.name]
  const state = pair.metricState
  let base = sanitizeName(runtime?.name ?? key.name)
  // A counter's samples end in `_total` (Prometheus naming; `promtool check metrics`).
  const counter = MetricState.isCounterState(state) || MetricState.isFrequencyState(state)
  if (counter && runtime?.type === undefined && !base.endsWith("_total")) base = `${base}_total`
  // A histogram of durations with a `time_unit` label is rendered in seconds, the unit in its name.
  const unit = MetricState.isHistogramState(state) ? key.tags.find((t) => t.key === "time_unit") : undefined
  const scale = unit === undefined ? 1 : TIME_UNITS[unit.value] ?? 1
  if (unit !== undefined && unit.value in TIME_UNITS && !base.endsWith("_seconds")) base = `${base}_seconds`
  const name = base
  const labels = key.tags
    .filter((t) => unit === undefined || t !== unit)
    .map((t): readonly [string, string] => [sanitizeLabelName(t.key), t.value])
  const family = (type: Family["type"]): Family => {
    let f = families.get(name)
    if (f === undefined) {
      f = { type: runtime?.type ?? type, help: undefined, lines: [] }
      families.set(name, f)
    }
    if (f.help === undefined) {
      f.help = runtime?.help ??
        (Option.isSome(key.description) ? key.description.value : `${key.name.replace(/_/g, " ")}.`)
    }
    return f
  }
  if (MetricState.isCounterState(state)) {
    family("counter").lines.push(`${name}${labelText(labels)} ${formatValue(state.count)}`)
  } else if (MetricState.isGaugeState(state)) {
    family("gauge").lines.push(`${name}${labelText(labels)} ${formatValue(state.value)}`)
  } else if (MetricState.isHistogramState(state)) {
    const f = family("histogram")
    let sawInf = false
    for (const [bound, cumulative] of state.buckets) {
      if (bound === Number.POSITIVE_INFINITY) sawInf = true
      f.lines.push(
        `${name}_bucket${labelText([...labels, ["le", formatValue(bound * scale)]])} ${formatValue(cumulative)}`
      )
    }
    if (!sawInf) f.lines.push(`${name}_bucket${labelText([...labels, ["le", "+Inf"]])} ${formatValue(state.count)}`)
    f.lines.push(`${name}_sum${labelText(labels)} ${formatValue(state.sum * scale)}`)
    f.lines.push(`${name}_count${labelText(labels)} ${formatValue(state.count)}`)
  } else if (MetricState.isSummaryState(state)) {
    const f = family("summary")
    for (const [q, value] of state.quantiles) {
      if (Option.isSome(value)) {
        f.lines.push(`${name}${labelText([...labels, ["quantile", formatValue(q)]])} ${formatValue(value.value)}`)
      }
    }
    f.lines.push(`${name}_sum${labelText(labels)} ${formatValue(state.sum)}`)
    f.lines.push(`${name}_count${labelText(labels)} ${formatValue(state.count)}`)
  } else if (MetricState.isFrequencyState(state)) {
    const f = family("counter")
    for (const [k, count] of state.occurrences) {
      f.lines.push(`${name}${labelText([...labels, ["key", k]])} ${formatValue(count)}`)
    }
  }
}

/** Renders metric pairs in the text format, families sorted by name. */
export const renderPairs = (pairs: Iterable<MetricPair.MetricPair.Untyped>, options: RenderOptions = {}): string => {
  const families = new Map<string, Family>()
  const sortKey = (p: MetricPair.MetricPair.Untyped): string =>
    `${p.metricKey.name}\u0000${p.metricKey.tags.map((t) => `${t.key}=${t.value}`).join("\u0000")}`
  const chosen = [...pairs].filter((p) => visible(p.metricKey.tags, options)).map((p) => [sortKey(p), p] as const)
  chosen.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  for (const [, pair] of chosen) addPair(families, pair)
  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!
    if (f.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(f.help)}`)
    out.push(`# TYPE ${name} ${f.type}`)
    for (const line of f.lines) out.push(line)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/** Every Effect metric of the process in the Prometheus text format. */
export const renderMetrics: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => renderPairs(pairs))

/** The metrics one workspace may see (no other workspace's label values) in the Prometheus text format. */
export const renderMetricsFor = (workspace: string): Effect.Effect<string> =>
  Effect.map(Metric.snapshot, (pairs) => renderPairs(pairs, { workspace }))
