/**
 * The reliability diagram as an SVG document (a pure function of the
 * reliability table): mean forecast (x) against observed frequency (y) per
 * non-empty bin, the diagonal of perfect calibration, and a bar per bin for
 * how many forecasts it holds. The same string is written by the CLI and can
 * be embedded by a viewer.
 */
import type { ReliabilityBin } from "./metrics.js"

/** Options of `reliabilitySvg`. */
export interface SvgOptions {
  /** The title above the plot. @default "Reliability diagram" */
  readonly title?: string
  /** Width and height in pixels. @default 360 */
  readonly size?: number
  /** A second table drawn over the first in another colour (e.g. the same forecasts after recalibration). */
  readonly after?: ReadonlyArray<ReliabilityBin>
  /** Legend labels of the two tables. @default ["before", "after"] */
  readonly labels?: readonly [string, string]
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "\"": "&quot;", "'": "&apos;" })[c]!)

const fmt = (n: number): string => (Math.round(n * 100) / 100).toString()

/** An SVG reliability diagram of `bins`. */
export const reliabilitySvg = (bins: ReadonlyArray<ReliabilityBin>, options: SvgOptions = {}): string => {
  const size = options.size ?? 360
  const margin = 40
  const plot = size - 2 * margin
  const x = (v: number) => fmt(margin + v * plot)
  const y = (v: number) => fmt(size - margin - v * plot)
  const most = Math.max(1, ...bins.map((b) => b.count))
  const bars = bins.map((b) =>
    `<rect class="count" x="${x(b.lo)}" y="${y((0.25 * b.count) / most)}" width="${
      fmt((b.hi - b.lo) * plot)
    }" height="${fmt((0.25 * b.count * plot) / most)}" fill="#cbd5e1"><title>${b.count} in [${fmt(b.lo)}, ${
      fmt(b.hi)
    })</title></rect>`
  )
  const series = (table: ReadonlyArray<ReliabilityBin>, colour: string, cls: string): ReadonlyArray<string> => {
    const filled = table.filter((b) => b.count > 0)
    const line = filled.map((b) => `${x(b.meanPredicted!)},${y(b.observed!)}`).join(" ")
    return [
      filled.length > 1
        ? `<polyline class="${cls}" points="${line}" fill="none" stroke="${colour}" stroke-width="1.5"/>`
        : "",
      ...filled.map((b) =>
        `<circle class="${cls}" cx="${x(b.meanPredicted!)}" cy="${
          y(b.observed!)
        }" r="4" fill="${colour}"><title>predicted ${fmt(b.meanPredicted!)}, observed ${
          fmt(b.observed!)
        }, n=${b.count}</title></circle>`
      )
    ]
  }
  const labels = options.labels ?? ["before", "after"]
  const legend = options.after === undefined ? [] : [
    `<circle cx="${margin + 10}" cy="${margin + 12}" r="4" fill="#2563eb"/><text x="${margin + 18}" y="${
      margin + 16
    }">${escapeXml(labels[0])}</text>`,
    `<circle cx="${margin + 10}" cy="${margin + 28}" r="4" fill="#ea580c"/><text x="${margin + 18}" y="${
      margin + 32
    }">${escapeXml(labels[1])}</text>`
  ]
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) =>
    `<text x="${x(t)}" y="${fmt(size - margin + 14)}" text-anchor="middle">${t}</text>` +
    `<text x="${fmt(margin - 6)}" y="${y(t)}" text-anchor="end" dominant-baseline="middle">${t}</text>`
  )
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="11">`,
    `<text x="${fmt(size / 2)}" y="20" text-anchor="middle" font-size="13">${
      escapeXml(options.title ?? "Reliability diagram")
    }</text>`,
    `<rect x="${margin}" y="${margin}" width="${plot}" height="${plot}" fill="none" stroke="#64748b"/>`,
    ...bars,
    `<line class="diagonal" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${
      y(1)
    }" stroke="#94a3b8" stroke-dasharray="4 3"/>`,
    ...series(bins, "#2563eb", "bin"),
    ...(options.after === undefined ? [] : series(options.after, "#ea580c", "bin-after")),
    ...legend,
    ...ticks,
    `<text x="${fmt(size / 2)}" y="${fmt(size - 6)}" text-anchor="middle">mean predicted probability</text>`,
    `<text x="12" y="${fmt(size / 2)}" text-anchor="middle" transform="rotate(-90 12 ${
      fmt(size / 2)
    })">observed frequency</text>`,
    `</svg>`
  ].filter((s) => s !== "").join("\n") + "\n"
}
