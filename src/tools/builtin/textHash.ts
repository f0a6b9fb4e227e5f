/** `text.hash(text)`: the SHA-256 of a text. */
import { Schema } from "effect"
import { sha256Hex } from "../../ir/hash.js"
import { make } from "../tool.js"

/** SHA-256 of the UTF-8 bytes of `text`, as 64 lowercase hex digits. */
export const textHash = make({
  name: "text.hash",
  description: "SHA-256 of the UTF-8 encoding of the text, as lowercase hex.",
  input: Schema.Struct({ text: Schema.String }),
  output: Schema.String,
  idempotent: true,
  run: (args) => sha256Hex(args.text)
})
