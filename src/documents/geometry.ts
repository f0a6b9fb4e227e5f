/**
 * Boxes in PDF units (1/72 inch) with a top-left origin: `[x0, y0, x1, y1]`,
 * x to the right, y downwards, `x0 <= x1`, `y0 <= y1`. Pure.
 */

/** A box `[x0, y0, x1, y1]` in PDF units, top-left origin. */
export type Box = readonly [number, number, number, number]

/** The width of a box. */
const width = (b: Box): number => b[2] - b[0]
/** The height of a box. */
const height = (b: Box): number => b[3] - b[1]
/** The area of a box (0 for a degenerate one). */
export const area = (b: Box): number => Math.max(0, width(b)) * Math.max(0, height(b))

/** The smallest box containing every box given (undefined for none). */
export const union = (boxes: ReadonlyArray<Box>): Box | undefined => {
  if (boxes.length === 0) return undefined
  let [x0, y0, x1, y1] = boxes[0]!
  for (const b of boxes) {
    x0 = Math.min(x0, b[0])
    y0 = Math.min(y0, b[1])
    x1 = Math.max(x1, b[2])
    y1 = Math.max(y1, b[3])
  }
  return [x0, y0, x1, y1]
}

/** The intersection of two boxes, undefined when they do not overlap. */
export const intersection = (a: Box, b: Box): Box | undefined => {
  const x0 = Math.max(a[0], b[0])
  const y0 = Math.max(a[1], b[1])
  const x1 = Math.min(a[2], b[2])
  const y1 = Math.min(a[3], b[3])
  return x0 < x1 && y0 < y1 ? [x0, y0, x1, y1] : undefined
}

/** How much two intervals `[a0, a1]` and `[b0, b1]` overlap (0 when apart). */
export const overlap1 = (a0: number, a1: number, b0: number, b1: number): number =>
  Math.max(0, Math.min(a1, b1) - Math.max(a0, b0))

/** A box rounded to 2 decimals (what outputs carry). */
export const round = (b: Box): Box => [r2(b[0]), r2(b[1]), r2(b[2]), r2(b[3])]

/** A number rounded to 2 decimals. */
const r2 = (n: number): number => Math.round(n * 100) / 100
