/**
 * Tables as CSV (RFC 4180: fields separated by commas, records by CRLF, a
 * field quoted when it holds a comma, a quote, CR or LF, quotes doubled) and
 * as JSON rows keyed by header. Pure.
 */
import type { Table } from "./model.js"

/** One CSV field. */
export const csvField = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, "\"\"")}"` : text)

/** Rows of fields as RFC 4180 CSV (every record ends with CRLF). */
export const toCsvRows = (rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  rows.map((r) => r.map(csvField).join(",") + "\r\n").join("")

/** A table's grid as CSV (a merged cell's text repeated in every position it covers). */
export const tableToCsv = (table: Table): string => toCsvRows(table.grid)

/** The column names of a table: its header rows' texts per column joined with ` / ` (duplicates once), else `column N`. */
export const columnNames = (table: Table): ReadonlyArray<string> =>
  Array.from({ length: table.columns }, (_, c) => {
    const parts: Array<string> = []
    for (let r = 0; r < table.headerRows; r++) {
      const t = table.grid[r]?.[c] ?? ""
      if (t !== "" && parts[parts.length - 1] !== t) parts.push(t)
    }
    return parts.length === 0 ? `column ${c + 1}` : parts.join(" / ")
  })

/** A table's body rows as JSON objects keyed by column name; numbers parsed where the cell holds one. */
export const tableToJson = (table: Table): ReadonlyArray<Record<string, string | number>> => {
  const names = columnNames(table)
  const rows: Array<Record<string, string | number>> = []
  for (let r = table.headerRows; r < table.rows; r++) {
    const row: Record<string, string | number> = {}
    for (let c = 0; c < table.columns; c++) {
      const cell = table.cells.find((x) =>
        x.row <= r && r < x.row + x.rowSpan && x.column <= c && c < x.column + x.colSpan
      )
      row[names[c]!] = cell?.number != null && cell.number.unit === null ? cell.number.value : table.grid[r]?.[c] ?? ""
    }
    rows.push(row)
  }
  return rows
}
