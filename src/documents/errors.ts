/**
 * The one error type of documents: `DocumentError` with a literal `reason`
 * and, where known, a location (`page 3`, `base64`, a file path).
 */
import { Schema } from "effect"

/** Why reading a document failed. */
export const DocumentErrorReason = Schema.Literal(
  "missing-package",
  "bad-input",
  "refused",
  "fetch",
  "corrupt",
  "encrypted",
  "too-large"
)
/** The reason of a `DocumentError`. */
export type DocumentErrorReason = typeof DocumentErrorReason.Type

/** A document failure: a reason, a one-line message, and where when known. */
export class DocumentError extends Schema.TaggedError<DocumentError>()("DocumentError", {
  reason: DocumentErrorReason,
  message: Schema.String,
  location: Schema.optionalWith(Schema.String, { exact: true })
}) {
  /** The message prefixed with its location, as the CLI prints it. */
  get display(): string {
    return this.location === undefined ? this.message : `${this.location}: ${this.message}`
  }
}

/** The message of a missing optional package: what to install. */
export const missingPackageMessage = (pkg: string, version: string, what: string): string =>
  `${what} needs the optional package ${pkg}: install it with \`npm install ${pkg}@${version}\` (or the full install, see docs/documents.md)`
