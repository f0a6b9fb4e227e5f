/**
 * The Schemas of what documents produce: spans, blocks, tables, pages and
 * the evidence package. Coordinates are PDF units (1/72 inch) with a
 * top-left origin (see `geometry.ts`); pages are numbered from 1.
 */
import { Schema } from "effect"

/** A box `[x0, y0, x1, y1]`: PDF units, origin at the top-left corner of the page, y downwards. */
export const BoxSchema = Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number)

/** A run of text as the PDF draws it, with its box, font and place in reading order. */
export const SpanSchema = Schema.Struct({
  /** `p<page>:s<index>`, stable for a given file. */
  id: Schema.String,
  text: Schema.String,
  box: BoxSchema,
  /** The font's PostScript name when the PDF gives one (e.g. `Helvetica-Bold`), else pdf.js's id. */
  font: Schema.String,
  /** The font size in PDF units. */
  size: Schema.Number,
  /** 0-based position in the page's reading order. */
  order: Schema.Number
})
/** A span. */
export type Span = typeof SpanSchema.Type

/** The kinds of layout block. */
export const BlockKind = Schema.Literal("title", "paragraph", "list", "table", "figure", "header", "footer")
/** A layout block kind. */
export type BlockKind = typeof BlockKind.Type

/** A region of the page with a kind, its text (in reading order) and the spans it holds. */
export const BlockSchema = Schema.Struct({
  id: Schema.String,
  kind: BlockKind,
  box: BoxSchema,
  text: Schema.String,
  spans: Schema.Array(Schema.String)
})
/** A layout block. */
export type Block = typeof BlockSchema.Type

/** A number read from a cell: value, unit (currency symbol, `%`, a word such as `kg`) or null. */
export const ParsedNumberSchema = Schema.Struct({
  value: Schema.Number,
  unit: Schema.NullOr(Schema.String)
})
/** A parsed number. */
export type ParsedNumber = typeof ParsedNumberSchema.Type

/** One cell of a table; a merged cell spans `rowSpan` × `colSpan` grid positions from (`row`, `column`). */
export const CellSchema = Schema.Struct({
  row: Schema.Number,
  column: Schema.Number,
  rowSpan: Schema.Number,
  colSpan: Schema.Number,
  text: Schema.String,
  header: Schema.Boolean,
  box: BoxSchema,
  number: Schema.NullOr(ParsedNumberSchema)
})
/** A table cell. */
export type Cell = typeof CellSchema.Type

/** A table normalized to rows × columns. */
export const TableSchema = Schema.Struct({
  id: Schema.String,
  page: Schema.Number,
  box: BoxSchema,
  rows: Schema.Number,
  columns: Schema.Number,
  headerRows: Schema.Number,
  /** Every cell once (a merged cell appears once, at its top-left position). */
  cells: Schema.Array(CellSchema),
  /** `rows` × `columns` texts; a merged cell's text fills every position it covers. */
  grid: Schema.Array(Schema.Array(Schema.String))
})
/** A table. */
export type Table = typeof TableSchema.Type

/** One page: size, whether it needs OCR (no text layer), spans, blocks and tables. */
export const PageSchema = Schema.Struct({
  page: Schema.Number,
  width: Schema.Number,
  height: Schema.Number,
  /** No text layer: render and OCR the page to read it. */
  needsOcr: Schema.Boolean,
  /** Text columns found on the page (1 for a single column). */
  columns: Schema.Number,
  spans: Schema.Array(SpanSchema),
  blocks: Schema.Array(BlockSchema),
  tables: Schema.Array(TableSchema)
})
/** A page. */
export type Page = typeof PageSchema.Type

/** A fact: one number of a table with its row and column labels, and where it is. */
export const FactSchema = Schema.Struct({
  id: Schema.String,
  page: Schema.Number,
  box: BoxSchema,
  table: Schema.String,
  row: Schema.Number,
  column: Schema.Number,
  /** The row's label (its first non-numeric cell). */
  subject: Schema.String,
  /** The column's header texts joined with ` / ` (merged headers first). */
  attribute: Schema.String,
  text: Schema.String,
  value: Schema.Number,
  unit: Schema.NullOr(Schema.String)
})
/** A fact. */
export type Fact = typeof FactSchema.Type

/** A character range of `document.text` and the page region it came from (`[start, end, page, x0, y0, x1, y1]`). */
export const RegionSchema = Schema.Tuple(
  Schema.Number,
  Schema.Number,
  Schema.Number,
  Schema.Number,
  Schema.Number,
  Schema.Number,
  Schema.Number
)

/** The document as `retrieval.ingest` takes it: normalized text and the regions of its blocks in `metadata.regions`. */
export const RetrievalDocumentSchema = Schema.Struct({
  id: Schema.String,
  title: Schema.String,
  text: Schema.String,
  metadata: Schema.Struct({
    source: Schema.String,
    sha256: Schema.String,
    pages: Schema.Number,
    regions: Schema.Array(RegionSchema)
  })
})
/** A document ready for retrieval ingestion. */
export type RetrievalDocument = typeof RetrievalDocumentSchema.Type

/** The evidence package of one PDF: pages (spans, blocks, tables), facts and the retrieval document. */
export const EvidenceSchema = Schema.Struct({
  /** `pdf:<first 16 hex digits of the sha256>` unless an id was given. */
  id: Schema.String,
  sha256: Schema.String,
  /** Where it came from: the path, the URL, or `base64`. */
  source: Schema.String,
  pageCount: Schema.Number,
  pages: Schema.Array(PageSchema),
  tables: Schema.Array(TableSchema),
  facts: Schema.Array(FactSchema),
  /** The pages that have no text layer. */
  needsOcr: Schema.Array(Schema.Number),
  document: RetrievalDocumentSchema
})
/** An evidence package. */
export type Evidence = typeof EvidenceSchema.Type
