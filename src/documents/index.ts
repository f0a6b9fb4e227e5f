/** The documents surface, exported from the package as `Documents`. */
export { columnNames, csvField, tableToCsv, tableToJson, toCsvRows } from "./csv.js"
export { DocumentError, DocumentErrorReason } from "./errors.js"
export { evaluateDocuments, readDataset, scoreDataset, scoreDocument, TruthSchema } from "./evaluate.js"
export type {
  Dataset,
  DocumentScores,
  OcrScoreOptions,
  PageTextScore,
  ScannedPage,
  SkippedPage,
  TextMeans,
  TextSource,
  Truth
} from "./evaluate.js"
export { evidenceOf, factsOf } from "./evidence.js"
export type { EvidenceSource } from "./evidence.js"
export { extractPdf, extractPdfBytes } from "./extract.js"
export type { ExtractOptions } from "./extract.js"
export type { Box } from "./geometry.js"
export { bodySize, layoutPage, repeatedMargins } from "./layout.js"
export type { PageContent, PageLayout } from "./layout.js"
export { cellAccuracy, cer, detectionScore, editDistance, iou, wer } from "./metrics.js"
export type { DetectionScore, Labeled } from "./metrics.js"
export {
  BlockKind,
  BlockSchema,
  BoxSchema,
  CellSchema,
  EvidenceSchema,
  FactSchema,
  PageSchema,
  ParsedNumberSchema,
  RegionSchema,
  RetrievalDocumentSchema,
  SpanSchema,
  TableSchema
} from "./model.js"
export type { Block, Cell, Evidence, Fact, Page, ParsedNumber, RetrievalDocument, Span, Table } from "./model.js"
export { parseNumber } from "./numbers.js"
export { readingOrder } from "./order.js"
export { loadPdfJs, PDFJS_VERSION, readPdf } from "./pdfjs.js"
export type { RawPage, RawSpan } from "./pdfjs.js"
export { DocumentFileAccess, resolveInput } from "./source.js"
export type { PdfInput } from "./source.js"
export { findTables } from "./tables.js"
export { docPdf, documentTools } from "./tool.js"
