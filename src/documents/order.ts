/**
 * Reading order from geometry. Units (text segments, and tables as one
 * unit each) are ordered by a recursive cut: where a vertical gutter (an
 * x-range no unit covers, at least `MIN_GUTTER` wide, with at least 12% of
 * the region's width on each side) separates the units, the region is read
 * column by column, left to right; units wider than 55% of the region
 * (titles, full-width paragraphs) that block a gutter split the region into
 * bands read top to bottom, each band cut again; a region with no gutter is
 * read line by line, top to bottom and left to right. Pure.
 */
import type { Box } from "./geometry.js"

/** Something to place in reading order. */
export interface Unit {
  readonly box: Box
}

/** The narrowest gap read as a column gutter, in PDF units. @default 8 */
const MIN_GUTTER = 8

const bounds = (units: ReadonlyArray<Unit>): Box => {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity
  for (const u of units) {
    x0 = Math.min(x0, u.box[0])
    y0 = Math.min(y0, u.box[1])
    x1 = Math.max(x1, u.box[2])
    y1 = Math.max(y1, u.box[3])
  }
  return [x0, y0, x1, y1]
}

/** The x positions (gap midpoints) of the gutters between the units. */
const gutters = (units: ReadonlyArray<Unit>, region: Box): ReadonlyArray<number> => {
  const sorted = [...units].sort((a, b) => a.box[0] - b.box[0])
  const found: Array<number> = []
  let reach = -Infinity
  for (const u of sorted) {
    if (reach !== -Infinity && u.box[0] - reach >= MIN_GUTTER) found.push((u.box[0] + reach) / 2)
    reach = Math.max(reach, u.box[2])
  }
  const w = region[2] - region[0]
  // Each column must be wide enough to be one (a bullet or a line number is not).
  const cuts = [region[0], ...found, region[2]]
  return found.filter((_, i) => cuts[i + 1]! - cuts[i]! >= 0.12 * w && cuts[i + 2]! - cuts[i + 1]! >= 0.12 * w)
}

/** Units of one line (vertical centres within half a height) left to right; lines top to bottom. */
const lineOrder = <U extends Unit>(units: ReadonlyArray<U>): Array<U> => {
  const sorted = [...units].sort((a, b) => a.box[1] - b.box[1])
  const lines: Array<Array<U>> = []
  for (const u of sorted) {
    const last = lines[lines.length - 1]
    const c = (u.box[1] + u.box[3]) / 2
    if (last !== undefined) {
      const ref = last[0]!
      const h = Math.min(ref.box[3] - ref.box[1], u.box[3] - u.box[1])
      if (Math.abs(c - (ref.box[1] + ref.box[3]) / 2) <= h / 2) {
        last.push(u)
        continue
      }
    }
    lines.push([u])
  }
  return lines.flatMap((l) => l.sort((a, b) => a.box[0] - b.box[0]))
}

/** The result of ordering: the units in reading order and the most columns found side by side. */
export interface Ordered<U> {
  readonly units: ReadonlyArray<U>
  readonly columns: number
}

/** Orders units for reading (see the module comment). */
export const readingOrder = <U extends Unit>(units: ReadonlyArray<U>, depth = 0): Ordered<U> => {
  if (units.length <= 1 || depth > 30) return { units: lineOrder(units), columns: 1 }
  const region = bounds(units)
  const direct = gutters(units, region)
  if (direct.length > 0) {
    const cuts = [...direct, Infinity]
    const parts: Array<Array<U>> = cuts.map(() => [])
    for (const u of units) parts[cuts.findIndex((x) => (u.box[0] + u.box[2]) / 2 < x)]!.push(u)
    const orderedParts = parts.filter((p) => p.length > 0).map((p) => readingOrder(p, depth + 1))
    return {
      units: orderedParts.flatMap((p) => p.units),
      columns: Math.max(orderedParts.length, ...orderedParts.map((p) => p.columns))
    }
  }
  const w = region[2] - region[0]
  const wide = units.filter((u) => u.box[2] - u.box[0] > 0.55 * w)
  const narrow = units.filter((u) => u.box[2] - u.box[0] <= 0.55 * w)
  if (wide.length === 0 || narrow.length < 2 || gutters(narrow, bounds(narrow)).length === 0) {
    return { units: lineOrder(units), columns: 1 }
  }
  // Bands: each wide unit on its own, the narrow units between two wide ones together.
  const wideSorted = [...wide].sort((a, b) => a.box[1] - b.box[1])
  const bands: Array<Array<U>> = []
  const between: Array<Array<U>> = wideSorted.map(() => [])
  const after: Array<U> = []
  for (const u of narrow) {
    const c = (u.box[1] + u.box[3]) / 2
    const i = wideSorted.findIndex((wu) => c < (wu.box[1] + wu.box[3]) / 2)
    if (i < 0) after.push(u)
    else between[i]!.push(u)
  }
  wideSorted.forEach((wu, i) => {
    if (between[i]!.length > 0) bands.push(between[i]!)
    bands.push([wu])
  })
  if (after.length > 0) bands.push(after)
  const orderedBands = bands.map((b) => readingOrder(b, depth + 1))
  return {
    units: orderedBands.flatMap((b) => b.units),
    columns: Math.max(1, ...orderedBands.map((b) => b.columns))
  }
}
