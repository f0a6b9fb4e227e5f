/**
 * The interface every OCR backend implements: a name, a version (what identifies the engine and its data), the
 * settings it would use for a request's options, and `recognize` (an image → blocks of lines of words, boxes in
 * pixels). Both enter the cache key, so a new engine version or a changed setting never reads an old result.
 */
import type { Effect } from "effect"
import type { OcrError } from "./errors.js"
import type { OcrImage } from "./image.js"
import type { Box } from "./result.js"

/** How the page is segmented: Tesseract's page segmentation modes 3, 6, 7 and 11. */
export type OcrMode = "auto" | "block" | "line" | "sparse"

/** Options of one OCR request (a backend ignores what it has no use for). */
export interface OcrOptions {
  /** The language (Tesseract's code: `eng`, `deu`, …). @default "eng" */
  readonly lang?: string
  /** Page segmentation. @default "auto" */
  readonly mode?: OcrMode
}

/** A word as a backend recognized it (box in pixels, confidence in [0, 1] or null). */
export interface RawWord {
  readonly text: string
  readonly confidence: number | null
  readonly box: Box
}

/** A line of words (its box and confidence are derived from its words when not given). */
export interface RawLine {
  readonly words: ReadonlyArray<RawWord>
  readonly confidence?: number | null
}

/** A block of lines. */
export interface RawBlock {
  readonly lines: ReadonlyArray<RawLine>
}

/** The settings a backend uses, as JSON values (part of the cache key and of the result). */
export type BackendSettings = Readonly<Record<string, string | number | boolean>>

/** An OCR engine. */
export interface OcrBackend {
  /** The name requests choose it by (`tesseract`, `vision`). */
  readonly name: string
  /** What identifies the engine and its data (package versions, the model): part of the cache key. */
  readonly version: Effect.Effect<string, OcrError>
  /** The settings for `options`, or a `bad-input` error. */
  readonly settings: (options: OcrOptions) => Effect.Effect<BackendSettings, OcrError>
  /** Reads an image. */
  readonly recognize: (image: OcrImage, settings: BackendSettings) => Effect.Effect<ReadonlyArray<RawBlock>, OcrError>
}
