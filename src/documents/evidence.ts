/**
 * The evidence package of a PDF from its pages: layout per page, the
 * tables, the facts (every number of a table body with its row label and
 * column header, its page and box) and the document as retrieval ingests it
 * — the text of every block but headers and footers, in reading order, with
 * `metadata.regions` mapping each block's character range to its page and
 * box, so a search hit can cite them. Pure.
 */
import { normalizeText } from "../retrieval/textNormalize.js"
import type { PageContent } from "./layout.js"
import { bodySize, layoutPage, repeatedMargins } from "./layout.js"
import type { Evidence, Fact, Page, Table } from "./model.js"

/** Where a PDF came from and what it is. */
export interface EvidenceSource {
  /** The path, the URL, or `base64`. */
  readonly source: string
  /** sha256 of the PDF's bytes, hex. */
  readonly sha256: string
  /** @default `pdf:<first 16 hex digits of sha256>` */
  readonly id?: string | undefined
  readonly pageCount: number
}

/** The facts of a table: every body cell holding a number. */
export const factsOf = (table: Table): ReadonlyArray<Fact> => {
  const facts: Array<Fact> = []
  for (const cell of table.cells) {
    if (cell.header || cell.number === null) continue
    const label = table.cells.find((c) =>
      c.row === cell.row && c.column < cell.column && !c.header && c.number === null
    )
    const heads: Array<string> = []
    for (let r = 0; r < table.headerRows; r++) {
      const t = table.grid[r]?.[cell.column] ?? ""
      if (t !== "" && heads[heads.length - 1] !== t) heads.push(t)
    }
    facts.push({
      id: `${table.id}:r${cell.row}c${cell.column}`,
      page: table.page,
      box: cell.box,
      table: table.id,
      row: cell.row,
      column: cell.column,
      subject: label?.text ?? "",
      attribute: heads.join(" / "),
      text: cell.text,
      value: cell.number.value,
      unit: cell.number.unit
    })
  }
  return facts
}

/** Builds the evidence package of a PDF's pages. */
export const evidenceOf = (contents: ReadonlyArray<PageContent>, source: EvidenceSource): Evidence => {
  const repeated = repeatedMargins(contents)
  const body = bodySize(contents)
  const pages: Array<Page> = contents.map((c) => {
    const layout = layoutPage(c, repeated, body)
    return {
      page: c.page,
      width: Math.round(c.width * 100) / 100,
      height: Math.round(c.height * 100) / 100,
      needsOcr: c.spans.length === 0,
      columns: layout.columns,
      spans: layout.spans,
      blocks: layout.blocks,
      tables: layout.tables
    }
  })
  let text = ""
  const regions: Array<readonly [number, number, number, number, number, number, number]> = []
  let title = ""
  for (const page of pages) {
    for (const block of page.blocks) {
      if (block.kind === "header" || block.kind === "footer") continue
      const t = normalizeText(block.text)
      if (t === "") continue
      if (title === "" && block.kind === "title") title = t.replace(/\n+/g, " ")
      if (text !== "") text += "\n\n"
      regions.push([text.length, text.length + t.length, page.page, ...block.box])
      text += t
    }
  }
  const tables = pages.flatMap((p) => p.tables)
  const id = source.id ?? `pdf:${source.sha256.slice(0, 16)}`
  return {
    id,
    sha256: source.sha256,
    source: source.source,
    pageCount: source.pageCount,
    pages,
    tables,
    facts: tables.flatMap(factsOf),
    needsOcr: pages.filter((p) => p.needsOcr).map((p) => p.page),
    document: {
      id,
      title,
      text,
      metadata: { source: source.source, sha256: source.sha256, pages: source.pageCount, regions }
    }
  }
}
