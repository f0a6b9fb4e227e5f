/** `text.chunk(text, size, overlap?)`: splits text into overlapping windows of code points. */
import { Schema } from "effect"
import { Permanent } from "../errors.js"
import { make } from "../tool.js"

/**
 * Splits `text` into chunks of at most `size` Unicode code points (never
 * splitting a surrogate pair), each starting `size - overlap` after the
 * previous one; the last chunk ends at the end of the text. Empty text gives `[]`.
 */
export const chunkText = (text: string, size: number, overlap: number): ReadonlyArray<string> => {
  const points = Array.from(text)
  const chunks: Array<string> = []
  const step = size - overlap
  for (let start = 0; start < points.length; start += step) {
    chunks.push(points.slice(start, start + size).join(""))
    if (start + size >= points.length) break
  }
  return chunks
}

const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive())
const NonNegativeInt = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** Splits text into chunks of `size` code points overlapping by `overlap` (default 0, less than `size`). */
export const textChunk = make({
  name: "text.chunk",
  description: "Splits text into chunks of at most `size` code points, consecutive chunks overlapping by `overlap`.",
  input: Schema.Struct({
    text: Schema.String,
    size: PositiveInt.annotations({ description: "code points per chunk" }),
    overlap: Schema.optional(NonNegativeInt.annotations({ description: "code points shared by consecutive chunks" }))
  }),
  output: Schema.Array(Schema.String),
  idempotent: true,
  run: (args) => {
    const overlap = args.overlap ?? 0
    if (overlap >= args.size) {
      throw new Permanent({ message: `overlap (${overlap}) must be less than size (${args.size})` })
    }
    return chunkText(args.text, args.size, overlap)
  }
})
