/**
 * Tables from span geometry. A table is a run of at least three
 * consecutive rows (two when ruling lines frame them), each with at least
 * two segments of short text (at most `MAX_CELL_CHARS` characters on
 * average: text columns have long lines), no row further below the previous
 * one than twice the font size. Columns are the x-ranges that the segments
 * of the fullest rows cover, merged where they overlap; a segment crossing
 * the midpoint between two columns spans both (a merged cell). Header rows:
 * leading rows with a merged cell, then the row after them; or a first row
 * set in another font than the body, or with no number in it but numbers
 * below. A header cell with nothing under it in the next header row spans
 * down. Body cells get their number parsed (`numbers.ts`). Pure.
 */
import type { Box } from "./geometry.js"
import { overlap1, round, union } from "./geometry.js"
import type { Segment } from "./lines.js"
import { rowsOf } from "./lines.js"
import type { Cell, Table } from "./model.js"
import { parseNumber } from "./numbers.js"

/** The longest average cell text (characters) of a table row. @default 24 */
const MAX_CELL_CHARS = 24

/** A table found on a page with the segments it is made of. */
interface FoundTable {
  readonly table: Table
  readonly segments: ReadonlyArray<Segment>
}

const avgChars = (row: ReadonlyArray<Segment>) => row.reduce((n, s) => n + s.text.length, 0) / row.length
const isTableRow = (row: ReadonlyArray<Segment>) => row.length >= 2 && avgChars(row) <= MAX_CELL_CHARS
const rowBox = (row: ReadonlyArray<Segment>): Box => union(row.map((s) => s.box))!

/** Horizontal rules crossing most of a box's width, within its vertical extent (± 4). */
const rulesAcross = (box: Box, rules: ReadonlyArray<Box>) =>
  rules.filter((r) =>
    r[3] - r[1] <= 3 && r[1] >= box[1] - 4 && r[3] <= box[3] + 4 &&
    overlap1(r[0], r[2], box[0], box[2]) >= 0.8 * (box[2] - box[0])
  ).length

/** Column x-ranges from the rows with the most segments. */
const columnsOf = (rows: ReadonlyArray<ReadonlyArray<Segment>>): ReadonlyArray<readonly [number, number]> => {
  const most = Math.max(...rows.map((r) => r.length))
  const ranges = rows.filter((r) => r.length === most).flatMap((r) =>
    r.map((s) => [s.box[0], s.box[2]] as [number, number])
  )
  ranges.sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const r of ranges) {
    const last = merged[merged.length - 1]
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1])
    else merged.push([r[0], r[1]])
  }
  return merged
}

const isBold = (font: string) => /bold|black|heavy|semibold|demi/i.test(font)

/** Builds the table of a run of rows. */
const buildTable = (rows: ReadonlyArray<ReadonlyArray<Segment>>, page: number, index: number): Table => {
  const cols = columnsOf(rows)
  const bounds = cols.map((c, i) =>
    [
      i === 0 ? -Infinity : (cols[i - 1]![1] + c[0]) / 2,
      i === cols.length - 1 ? Infinity : (c[1] + cols[i + 1]![0]) / 2
    ] as const
  )
  // Place each segment: the columns whose extended ranges it overlaps by more than 1 unit (or the nearest).
  const placed = rows.map((row) =>
    row.map((s) => {
      const hit = bounds.map((b, i) => ({ i, o: overlap1(b[0], b[1], s.box[0], s.box[2]) })).filter((x) => x.o > 1)
      const first = hit.length === 0 ? nearest(cols, s) : hit[0]!.i
      const last = hit.length === 0 ? first : hit[hit.length - 1]!.i
      return { s, first, span: last - first + 1 }
    })
  )
  const bodyFont = rows[rows.length - 1]![0]!.font
  let headerRows = 0
  while (headerRows < rows.length - 1 && placed[headerRows]!.some((p) => p.span > 1)) headerRows++
  if (headerRows > 0) headerRows = Math.min(rows.length - 1, headerRows + 1)
  else {
    const first = rows[0]!
    const numbersBelow = rows.slice(1).some((r) => r.some((s) => parseNumber(s.text) !== null))
    const fontDiffers = first.every((s) => s.font !== bodyFont) && (isBold(first[0]!.font) || !isBold(bodyFont))
    if (fontDiffers || (numbersBelow && first.every((s) => parseNumber(s.text) === null))) headerRows = 1
  }
  const grid: Array<Array<string>> = rows.map(() => cols.map(() => ""))
  const cells: Array<Cell & { rowSpan: number }> = []
  placed.forEach((row, r) =>
    row.forEach(({ first, s, span }) => {
      const header = r < headerRows
      cells.push({
        row: r,
        column: first,
        rowSpan: 1,
        colSpan: span,
        text: s.text,
        header,
        box: round(s.box),
        number: header ? null : parseNumber(s.text)
      })
    })
  )
  // A header cell with an empty position below it (still in the header) spans down.
  const covered = (r: number, c: number) =>
    cells.some((x) => x.row <= r && r < x.row + x.rowSpan && x.column <= c && c < x.column + x.colSpan)
  for (const cell of cells) {
    if (!cell.header) continue
    while (
      cell.row + cell.rowSpan < headerRows &&
      Array.from({ length: cell.colSpan }, (_, k) => cell.column + k).every((c) => !covered(cell.row + cell.rowSpan, c))
    ) cell.rowSpan++
  }
  for (const cell of cells) {
    for (let r = cell.row; r < cell.row + cell.rowSpan; r++) {
      for (let c = cell.column; c < cell.column + cell.colSpan; c++) {
        grid[r]![c] = grid[r]![c] === ""
          ? cell.text
          : `${grid[r]![c]} ${cell.text}`
      }
    }
  }
  cells.sort((a, b) => a.row - b.row || a.column - b.column)
  return {
    id: `p${page}:t${index}`,
    page,
    box: round(union(rows.map(rowBox))!),
    rows: rows.length,
    columns: cols.length,
    headerRows,
    cells,
    grid
  }
}

const nearest = (cols: ReadonlyArray<readonly [number, number]>, s: Segment) => {
  const c = (s.box[0] + s.box[2]) / 2
  let best = 0
  cols.forEach((col, i) => {
    if (Math.abs((col[0] + col[1]) / 2 - c) < Math.abs((cols[best]![0] + cols[best]![1]) / 2 - c)) best = i
  })
  return best
}

/** The tables of a page, from its segments and ruling lines. */
export const findTables = (
  segments: ReadonlyArray<Segment>,
  rules: ReadonlyArray<Box>,
  page: number
): ReadonlyArray<FoundTable> => {
  const rows = rowsOf(segments)
  const found: Array<FoundTable> = []
  let i = 0
  while (i < rows.length) {
    if (!isTableRow(rows[i]!)) {
      i++
      continue
    }
    let j = i + 1
    while (j < rows.length && isTableRow(rows[j]!)) {
      const prev = rowBox(rows[j - 1]!)
      const next = rowBox(rows[j]!)
      const size = Math.max(...rows[j]!.map((s) => s.size))
      if (next[1] - prev[3] > 2 * size || overlap1(prev[0], prev[2], next[0], next[2]) <= 0) break
      j++
    }
    const run = rows.slice(i, j)
    const box = union(run.map(rowBox))!
    if (run.length >= 3 || (run.length === 2 && rulesAcross(box, rules) >= 2)) {
      found.push({ table: buildTable(run, page, found.length), segments: run.flat() })
    }
    i = j
  }
  return found
}
