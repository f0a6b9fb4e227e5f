/**
 * The eval page's plots (browser code, SVG): a mean with its confidence
 * interval on an axis, and the paired differences of an A/B comparison — a
 * histogram of candidate − baseline per example with a strip of the pairs
 * under it, the zero line, the mean difference and its CI as a band.
 */
import { s } from "./dom.js"

const W = 640
const PAD = 28

const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  return a !== 0 && (a < 0.001 || a >= 1e5) ? x.toExponential(2) : String(Math.round(x * 1000) / 1000)
}

/** Tick values for [lo, hi]: about five round numbers. */
const ticks = (lo: number, hi: number): ReadonlyArray<number> => {
  const span = hi - lo
  if (!(span > 0)) return [lo]
  const step0 = span / 5
  const mag = 10 ** Math.floor(Math.log10(step0))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= step0) ?? step0
  const out: Array<number> = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.round(t / step) * step)
  return out
}

/** A mean and its CI on an axis from `lo` to `hi` (a 0–1 score by default). */
export const ciBar = (
  mean: number,
  ci: readonly [number, number],
  label: string
): SVGSVGElement => {
  const lo = Math.min(0, ci[0], mean)
  const hi = Math.max(1, ci[1], mean)
  const height = 44
  const width = 320
  const x = (v: number) => 14 + ((v - lo) / (hi - lo || 1)) * (width - 28)
  return s(
    "svg",
    {
      class: "ci-bar",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `${label}: mean ${fmt(mean)}, 95% CI ${fmt(ci[0])} to ${fmt(ci[1])}`
    },
    s("line", { class: "axis", x1: x(lo), x2: x(hi), y1: 16, y2: 16 }),
    ticks(lo, hi).flatMap((t) => [
      s("line", { class: "tick", x1: x(t), x2: x(t), y1: 12, y2: 20 }),
      s("text", { class: "tick-label", x: x(t), y: 36, "text-anchor": "middle" }, fmt(t))
    ]),
    s("rect", { class: "ci-band", x: x(ci[0]), y: 9, width: Math.max(2, x(ci[1]) - x(ci[0])), height: 14, rx: 3 }),
    s("circle", { class: "mean-dot", cx: x(mean), cy: 16, r: 5 })
  )
}

/** The paired differences plotted: histogram, strip of pairs, zero line, mean difference and its CI band. */
export const diffPlot = (
  diffs: ReadonlyArray<number>,
  delta: number,
  ci: readonly [number, number],
  level: number
): SVGSVGElement => {
  const extent = Math.max(1e-9, ...diffs.map(Math.abs), Math.abs(ci[0]), Math.abs(ci[1]))
  const lo = -extent
  const hi = extent
  const histH = 150
  const stripH = 46
  const top = 14
  const height = top + histH + stripH + 34
  const x = (v: number) => PAD + ((v - lo) / (hi - lo)) * (W - 2 * PAD)
  // Few distinct differences (a 0/1 metric gives −1, 0, 1): one bar each; otherwise 25 equal-width bins.
  const distinct = [...new Set(diffs)].sort((a, b) => a - b)
  const bins: Array<{ lo: number; hi: number; count: number; at?: number }> = []
  if (distinct.length <= 11) {
    const width = Math.min((hi - lo) / 12, ...distinct.slice(1).map((d, i) => (d - distinct[i]!) * 0.8))
    for (const d of distinct) {
      bins.push({ lo: d - width / 2, hi: d + width / 2, count: diffs.filter((v) => v === d).length, at: d })
    }
  } else {
    const n = 25
    const w = (hi - lo) / n
    for (let i = 0; i < n; i++) bins.push({ lo: lo + i * w, hi: lo + (i + 1) * w, count: 0 })
    for (const d of diffs) bins[Math.min(n - 1, Math.max(0, Math.floor((d - lo) / w)))]!.count++
  }
  const most = Math.max(1, ...bins.map((b) => b.count))
  const base = top + histH
  const jitter = (i: number) => ((i * 2654435761) % 1000) / 1000
  return s(
    "svg",
    {
      class: "diff-plot",
      viewBox: `0 0 ${W} ${height}`,
      role: "img",
      "aria-label": `Paired differences of ${diffs.length} examples: mean ${fmt(delta)}, ${
        Math.round(level * 100)
      }% CI ${fmt(ci[0])} to ${fmt(ci[1])}`
    },
    s("rect", {
      class: "ci-band",
      x: x(ci[0]),
      y: top - 6,
      width: Math.max(2, x(ci[1]) - x(ci[0])),
      height: histH + stripH + 6,
      "data-lo": ci[0],
      "data-hi": ci[1]
    }, s("title", {}, `${Math.round(level * 100)}% CI of the mean difference: ${fmt(ci[0])} to ${fmt(ci[1])}`)),
    bins.filter((b) => b.count > 0).map((b) =>
      s(
        "rect",
        {
          class: "bar",
          x: x(b.lo) + 1,
          y: base - (b.count / most) * (histH - 16),
          width: Math.max(1, x(b.hi) - x(b.lo) - 2),
          height: (b.count / most) * (histH - 16),
          "data-count": b.count
        },
        s(
          "title",
          {},
          `${b.count} example(s) with a difference ${
            b.at === undefined ? `in [${fmt(b.lo)}, ${fmt(b.hi)})` : `of ${fmt(b.at)}`
          }`
        )
      )
    ),
    bins.filter((b) => b.count > 0).map((b) =>
      s(
        "text",
        {
          class: "bar-count",
          x: (x(b.lo) + x(b.hi)) / 2,
          y: base - (b.count / most) * (histH - 16) - 3,
          "text-anchor": "middle"
        },
        String(b.count)
      )
    ),
    s("line", { class: "axis", x1: x(lo), x2: x(hi), y1: base, y2: base }),
    diffs.map((d, i) => s("circle", { class: "pair", cx: x(d), cy: base + 8 + jitter(i) * (stripH - 16), r: 2.5 })),
    s("line", { class: "zero-line", x1: x(0), x2: x(0), y1: top - 6, y2: base + stripH }),
    s("line", { class: "delta-line", x1: x(delta), x2: x(delta), y1: top - 6, y2: base + stripH, "data-delta": delta }),
    ticks(lo, hi).flatMap((t) => [
      s("line", { class: "tick", x1: x(t), x2: x(t), y1: base + stripH, y2: base + stripH + 5 }),
      s("text", { class: "tick-label", x: x(t), y: base + stripH + 18, "text-anchor": "middle" }, fmt(t))
    ]),
    s(
      "text",
      { class: "axis-title", x: W / 2, y: height - 2, "text-anchor": "middle" },
      "candidate − baseline, per example"
    )
  )
}
