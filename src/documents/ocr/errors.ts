/**
 * The one error type of OCR: `OcrError` with a literal `reason` and, where it applies, the location of the bad
 * input (a tool argument, a page index).
 */
import { Schema } from "effect"

/** Why OCR failed. */
export const OcrErrorReason = Schema.Literal(
  /** An optional package (tesseract.js, its language data, mupdf) is not installed: the message names it. */
  "missing-package",
  /** The input is not an image or PDF we can read (corrupt, truncated, an unsupported format). */
  "bad-image",
  /** The PDF is corrupt, encrypted, or has no such page. */
  "bad-pdf",
  /** Bad settings or arguments (a dpi out of range, an unknown backend, an unsafe language name). */
  "bad-input",
  /** The backend failed (Tesseract's engine, the vision model's answer or its provider). */
  "backend"
)
/** The reason of an `OcrError`. */
export type OcrErrorReason = typeof OcrErrorReason.Type

/** An OCR failure: a reason, a one-line message, and where (`base64`, `pageIndex`) when known. */
export class OcrError extends Schema.TaggedError<OcrError>()("OcrError", {
  reason: OcrErrorReason,
  message: Schema.String,
  location: Schema.optionalWith(Schema.String, { exact: true })
}) {
  /** The message prefixed with its location. */
  get display(): string {
    return this.location === undefined ? this.message : `${this.location}: ${this.message}`
  }
}
