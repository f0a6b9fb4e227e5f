/**
 * The library entry points: `extractPdfBytes(bytes)` and `extractPdf({ path
 * | url | base64 })` → the evidence package (pages of spans with boxes, fonts
 * and reading order; blocks; tables; facts; the retrieval document).
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { ToolError } from "../tools/errors.js"
import type { DocumentError } from "./errors.js"
import { evidenceOf } from "./evidence.js"
import type { Evidence } from "./model.js"
import { readPdf } from "./pdfjs.js"
import type { PdfInput } from "./source.js"
import { resolveInput } from "./source.js"

/** Options of an extraction. */
export interface ExtractOptions {
  /** The document id. @default `pdf:<first 16 hex digits of the sha256>` */
  readonly id?: string | undefined
  /** The pages to read (1-based). @default every page */
  readonly pages?: ReadonlyArray<number> | undefined
  /** What to call the source in the output. @default "bytes" */
  readonly source?: string | undefined
}

/** Reads a PDF's bytes into an evidence package. */
export const extractPdfBytes = (
  bytes: Uint8Array,
  options: ExtractOptions = {}
): Effect.Effect<Evidence, DocumentError> =>
  Effect.map(readPdf(bytes, { pages: options.pages }), ({ pageCount, pages }) =>
    evidenceOf(pages, {
      source: options.source ?? "bytes",
      sha256: createHash("sha256").update(bytes).digest("hex"),
      id: options.id,
      pageCount
    })).pipe(Effect.withSpan("documents.pdf", { attributes: { "documents.bytes": bytes.length } }))

/** Reads a PDF from a path (where allowed), a URL (through the SSRF guard) or base64 into an evidence package. */
export const extractPdf = (
  input: PdfInput,
  options: Omit<ExtractOptions, "source"> = {}
): Effect.Effect<Evidence, DocumentError | ToolError> =>
  Effect.flatMap(resolveInput(input), ({ bytes, source }) => extractPdfBytes(bytes, { ...options, source }))
