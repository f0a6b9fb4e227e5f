/**
 * Document normalization and content hashing. Normalizing makes equal
 * documents byte-equal (Unicode NFC, line endings, control characters,
 * runs of blanks), so the content hash decides whether re-ingesting a
 * document changes anything. Chunk offsets point into the normalized text.
 */
import { canonicalJson } from "../ir/canonical.js"
import { sha256Hex } from "../ir/hash.js"

// C0 and C1 controls except tab and newline, plus zero-width and BOM characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B\u2060\uFEFF]/g
const BLANKS = /[ \t\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]+/g

/**
 * Normalizes a text: Unicode NFC; `\r\n`, `\r`, U+2028 and U+2029 become `\n`;
 * control and zero-width characters are removed; each run of blanks (spaces,
 * tabs, no-break and other Unicode spaces) becomes one space; blanks at the
 * ends of lines are dropped; three or more line breaks become two (a paragraph
 * break); the whole text is trimmed. Idempotent.
 */
export const normalizeText = (text: string): string =>
  text
    .normalize("NFC")
    .replace(/\r\n?|[\u2028\u2029]/g, "\n")
    .replace(CONTROL, "")
    .replace(BLANKS, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()

/** A document as given to ingestion. */
export interface DocumentInput {
  /** Unique within the store; re-ingesting the same id replaces or keeps the document. */
  readonly id: string
  readonly text: string
  /** @default "" */
  readonly title?: string
  /** Any JSON object; part of the content hash. @default {} */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** A document after normalization, with its content hash. */
export interface NormalizedDocument {
  readonly id: string
  readonly title: string
  readonly text: string
  readonly metadata: Readonly<Record<string, unknown>>
  /** sha256 (hex) of the normalized title, text and canonical metadata. */
  readonly contentHash: string
}

/** Normalizes a document and computes its content hash. */
export const normalizeDocument = (doc: DocumentInput): NormalizedDocument => {
  const title = normalizeText(doc.title ?? "").replace(/\n+/g, " ")
  const text = normalizeText(doc.text)
  const metadata = doc.metadata ?? {}
  const contentHash = sha256Hex(`${title}\u0000${text}\u0000${canonicalJson(metadata)}`)
  return { id: doc.id, title, text, metadata, contentHash }
}
