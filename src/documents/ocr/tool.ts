/**
 * The `doc.ocr` tool: an image (PNG, JPEG) or a PDF page, given as `base64` (anywhere) or as a local `path` (only
 * where the tool was made with a file reader: the CLI, never the server), read by the `Ocr` service. A PDF page is
 * rendered first, so a page without a text layer is read in one call. Failures are `Permanent` tool errors whose
 * message starts with the argument at fault (`base64: …`, `pageIndex: …`); a backend failure is `Transient`.
 */
import { Effect, Schema } from "effect"
import { Permanent, Transient } from "../../tools/errors.js"
import * as Tool from "../../tools/tool.js"
import type { OcrError } from "./errors.js"
import { OcrResult } from "./result.js"
import type { Ocr } from "./service.js"

/** The largest input the tool accepts, in bytes (decoded). */
export const MAX_INPUT_BYTES = 50 * 1024 * 1024

/** The arguments of `doc.ocr`. */
export const OcrToolInput = Schema.Struct({
  /** A local file (CLI only). */
  path: Schema.optional(Schema.String),
  /** The file's bytes in base64 (a `data:…;base64,` prefix is allowed). */
  base64: Schema.optional(Schema.String),
  /** The page of a PDF, 0-based. @default 0 */
  pageIndex: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** The password of an encrypted PDF. */
  password: Schema.optional(Schema.String),
  /** Rendering resolution of a PDF page (an image's resolution when the file records none). @default 200 / 72 */
  dpi: Schema.optional(Schema.Number.pipe(Schema.between(36, 600))),
  /** The backend (`tesseract`, `vision` when configured). @default the service's first */
  backend: Schema.optional(Schema.String),
  /** Tesseract language code. @default "eng" */
  lang: Schema.optional(Schema.String),
  /** Page segmentation. @default "auto" */
  mode: Schema.optional(Schema.Literal("auto", "block", "line", "sparse"))
})

/** How the tool reads a local file (given only where local files may be read). */
export type ReadFile = (path: string) => Effect.Effect<Uint8Array, unknown>

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/

/** Decodes base64 (or base64url), refusing other characters; a `data:` URL prefix is dropped. */
export const decodeBase64 = (text: string): Uint8Array | string => {
  const body = text.replace(/^data:[^,]*;base64,/, "").replace(/\s+/g, "")
  if (body.length === 0) return "is empty"
  if (!BASE64.test(body) && !BASE64URL.test(body)) return "is not base64 (characters outside the base64 alphabet)"
  if (body.length % 4 === 1) return "is not base64 (its length is not possible)"
  if (Math.floor(body.length * 3 / 4) > MAX_INPUT_BYTES) return `is larger than ${MAX_INPUT_BYTES} bytes`
  return new Uint8Array(Buffer.from(body, BASE64.test(body) ? "base64" : "base64url"))
}

const toToolError = (e: OcrError): Permanent | Transient =>
  e.reason === "backend" ? new Transient({ message: e.display }) : new Permanent({ message: e.display })

/** `doc.ocr` over an `Ocr` service; with `readFile`, `path` is accepted too. */
export const makeOcrTool = (ocr: Ocr["Type"], options: { readonly readFile?: ReadFile } = {}) =>
  Tool.make({
    name: "doc.ocr",
    description:
      "Reads the text of an image (PNG, JPEG) or a PDF page with OCR: words with boxes (pixels and PDF points) " +
      "and confidence, lines and blocks. Input: base64 (or path, CLI only), pageIndex for a PDF.",
    input: OcrToolInput,
    output: OcrResult,
    idempotent: true,
    limits: { timeout: "300s" },
    handler: (args) =>
      Effect.gen(function*() {
        if ((args.path === undefined) === (args.base64 === undefined)) {
          return yield* new Permanent({ message: "give exactly one of path or base64" })
        }
        let bytes: Uint8Array
        if (args.base64 !== undefined) {
          const decoded = decodeBase64(args.base64)
          if (typeof decoded === "string") return yield* new Permanent({ message: `base64: ${decoded}` })
          bytes = decoded
        } else {
          const path = args.path!
          if (options.readFile === undefined) {
            return yield* new Permanent({
              message: "path: local files are read only under the CLI; send the file's bytes as base64"
            })
          }
          bytes = yield* options.readFile(path).pipe(
            Effect.mapError((e) =>
              new Permanent({
                message: `path: cannot read ${path}: ${String((e as { message?: unknown })?.message ?? e)}`
              })
            )
          )
          if (bytes.length > MAX_INPUT_BYTES) {
            return yield* new Permanent({ message: `path: ${path} is larger than ${MAX_INPUT_BYTES} bytes` })
          }
        }
        return yield* ocr.recognize(
          {
            bytes,
            ...(args.pageIndex === undefined ? {} : { pageIndex: args.pageIndex }),
            ...(args.password === undefined ? {} : { password: args.password })
          },
          {
            ...(args.dpi === undefined ? {} : { dpi: args.dpi }),
            ...(args.backend === undefined ? {} : { backend: args.backend }),
            ...(args.lang === undefined ? {} : { lang: args.lang }),
            ...(args.mode === undefined ? {} : { mode: args.mode })
          }
        ).pipe(Effect.mapError(toToolError))
      })
  })
