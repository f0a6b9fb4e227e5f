/**
 * The `doc.pdf` tool: `{ path | url | base64, id?, pages? }` → the evidence
 * package. `path` reads a local file only where `DocumentFileAccess` allows
 * it (the CLI); over HTTP it is refused. Document errors are `Permanent`
 * (with their location); fetch errors keep their kind (`Transient`,
 * `RateLimited`, `Permanent`).
 */
import { Effect, Schema } from "effect"
import { Permanent } from "../tools/errors.js"
import { make } from "../tools/tool.js"
import type { AnyTool } from "../tools/tool.js"
import { DocumentError } from "./errors.js"
import { extractPdf } from "./extract.js"
import { EvidenceSchema } from "./model.js"

/** `doc.pdf`: a PDF → pages of spans with boxes, fonts and reading order, blocks, tables, facts, the retrieval document. */
export const docPdf = make({
  name: "doc.pdf",
  description:
    "Reads a PDF (exactly one of path — a local file, CLI only —, url or base64) into pages of text spans with boxes (PDF units, top-left origin), fonts and reading order, layout blocks, tables, facts, and a document ready for retrieval.ingest. Pages without a text layer are listed in needsOcr.",
  input: Schema.Struct({
    path: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
    url: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
    base64: Schema.optional(Schema.String),
    id: Schema.optional(Schema.String.pipe(Schema.minLength(1))).annotations({
      description: "the document id (default pdf:<sha256 prefix>)"
    }),
    pages: Schema.optional(Schema.Array(Schema.Number.pipe(Schema.int(), Schema.positive())))
  }),
  output: EvidenceSchema,
  idempotent: true,
  retryable: true,
  limits: { timeout: "120s" },
  handler: (args) =>
    extractPdf(args, { id: args.id, pages: args.pages }).pipe(
      Effect.mapError((e) => (e instanceof DocumentError ? new Permanent({ message: `doc.pdf: ${e.display}` }) : e))
    )
})

/** The document tools, registry-ready (no requirements). */
export const documentTools: ReadonlyArray<AnyTool> = [docPdf]
