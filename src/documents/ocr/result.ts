/**
 * What OCR returns, whatever the backend: words with boxes and confidence, grouped into lines and blocks, plus the
 * text in reading order. Boxes are `[x0, y0, x1, y1]` with the origin at the top left and y growing down: `box` in
 * pixels of the image that was read, `pageBox` in page units — PDF points (1/72 inch), computed from the image's
 * resolution — so OCR words line up with the boxes of a PDF's own text layer.
 */
import { Schema } from "effect"

/** A box `[x0, y0, x1, y1]`, top-left origin, y down. */
export const Box = Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number)
/** A box `[x0, y0, x1, y1]`. */
export type Box = typeof Box.Type

/** A confidence in [0, 1], or null when the backend gives none (a vision model that did not say). */
export const Confidence = Schema.NullOr(Schema.Number)

/** A recognized word. */
export const OcrWord = Schema.Struct({
  text: Schema.String,
  confidence: Confidence,
  /** In pixels of the image. */
  box: Box,
  /** In page units (points). */
  pageBox: Box,
  /** The index of its line in `lines`. */
  line: Schema.Int
})

/** A line of words. */
export const OcrLine = Schema.Struct({
  text: Schema.String,
  confidence: Confidence,
  box: Box,
  pageBox: Box,
  /** The index of its block in `blocks`. */
  block: Schema.Int,
  /** Its words: `words.slice(firstWord, firstWord + wordCount)`. */
  firstWord: Schema.Int,
  wordCount: Schema.Int
})

/** A block of lines (a paragraph or a column, as the backend segments the page). */
export const OcrBlock = Schema.Struct({
  text: Schema.String,
  confidence: Confidence,
  box: Box,
  pageBox: Box,
  /** Its lines: `lines.slice(firstLine, firstLine + lineCount)`. */
  firstLine: Schema.Int,
  lineCount: Schema.Int
})

/** Where the image came from. */
export const OcrSource = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("image"), format: Schema.Literal("png", "jpeg") }),
  Schema.Struct({ kind: Schema.Literal("pdf"), pageIndex: Schema.Int, pageCount: Schema.Int })
)

/** The result of reading one image or one PDF page. */
export const OcrResult = Schema.Struct({
  /** The backend that read it (`tesseract`, `vision`). */
  backend: Schema.String,
  /** The backend's settings, as they entered the cache key. */
  settings: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  source: OcrSource,
  /** sha256 of the bytes read (the image, or the whole PDF for a page). */
  contentHash: Schema.String,
  /** The image's size in pixels and resolution; the page's size in points. */
  width: Schema.Int,
  height: Schema.Int,
  dpi: Schema.Number,
  pageWidth: Schema.Number,
  pageHeight: Schema.Number,
  /** The text in reading order: words joined by spaces, lines by newlines, blocks by blank lines. */
  text: Schema.String,
  /** The mean word confidence (null without any). */
  confidence: Confidence,
  words: Schema.Array(OcrWord),
  lines: Schema.Array(OcrLine),
  blocks: Schema.Array(OcrBlock),
  /** Whether this came from the cache. */
  cached: Schema.Boolean
})

/** A recognized word. */
export type OcrWord = typeof OcrWord.Type
/** A line of words. */
export type OcrLine = typeof OcrLine.Type
/** A block of lines. */
export type OcrBlock = typeof OcrBlock.Type
/** Where the image came from. */
export type OcrSource = typeof OcrSource.Type
/** The result of reading one image or one PDF page. */
export type OcrResult = typeof OcrResult.Type
