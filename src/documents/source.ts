/**
 * Where a PDF's bytes come from: a local file (`path`, only where
 * `DocumentFileAccess` allows it — the CLI does, the HTTP server does not),
 * a URL fetched through `http.get`'s SSRF guard, or base64 text.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect } from "effect"
import { getBytes } from "../tools/builtin/httpGet.js"
import type { ToolError } from "../tools/errors.js"
import { DocumentError } from "./errors.js"
import { MAX_PDF_BYTES } from "./pdfjs.js"

/** Whether `path` inputs may read local files. @default { allowed: false } (the CLI provides `true`) */
export class DocumentFileAccess extends Context.Reference<DocumentFileAccess>()("trellis/DocumentFileAccess", {
  defaultValue: (): { readonly allowed: boolean } => ({ allowed: false })
}) {}

/** One of `path`, `url` or `base64`. */
export interface PdfInput {
  readonly path?: string | undefined
  readonly url?: string | undefined
  readonly base64?: string | undefined
}

/** The bytes of a PDF and a name for where they came from. */
interface PdfBytes {
  readonly bytes: Uint8Array
  readonly source: string
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/** Reads a local file (when allowed). */
const fromPath = (path: string): Effect.Effect<PdfBytes, DocumentError> =>
  Effect.gen(function*() {
    const access = yield* DocumentFileAccess
    if (!access.allowed) {
      return yield* new DocumentError({
        reason: "refused",
        message: "reading local files is refused here (it is allowed under the CLI); pass `url` or `base64`",
        location: "path"
      })
    }
    const cannotRead = (why: string) =>
      new DocumentError({ reason: "bad-input", message: `cannot read the file: ${why}`, location: path })
    const bytes = yield* Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const info = yield* fs.stat(path)
      if (info.type !== "File") return yield* cannotRead("not a file")
      if (Number(info.size) > MAX_PDF_BYTES) {
        return yield* cannotRead(`the file has ${info.size} bytes; the most read is ${MAX_PDF_BYTES}`)
      }
      return yield* fs.readFile(path)
    }).pipe(
      Effect.catchTag("SystemError", "BadArgument", (e) => Effect.fail(cannotRead(e.message))),
      Effect.provide(NodeFileSystem.layer)
    )
    return { bytes, source: path }
  })

/** Decodes base64 (standard or URL alphabet; whitespace ignored). */
const fromBase64 = (text: string): Effect.Effect<PdfBytes, DocumentError> => {
  const clean = text.replace(/\s+/g, "")
  if (clean === "" || !BASE64.test(clean)) {
    return Effect.fail(new DocumentError({ reason: "bad-input", message: "not base64 text", location: "base64" }))
  }
  return Effect.succeed({
    bytes: new Uint8Array(Buffer.from(clean, clean.includes("-") || clean.includes("_") ? "base64url" : "base64")),
    source: "base64"
  })
}

/** Fetches a URL through the SSRF guard of `http.get` (its tool errors pass through). */
const fromUrl = (url: string): Effect.Effect<PdfBytes, ToolError> =>
  Effect.map(
    getBytes(url, { accept: "application/pdf" }, { maxBytes: MAX_PDF_BYTES }),
    (r) => ({ bytes: r.body, source: r.url })
  )

/** Resolves exactly one of `path`, `url` or `base64`. */
export const resolveInput = (input: PdfInput): Effect.Effect<PdfBytes, DocumentError | ToolError> => {
  const given = [input.path, input.url, input.base64].filter((x) => x !== undefined).length
  if (given !== 1) {
    return Effect.fail(
      new DocumentError({ reason: "bad-input", message: `give exactly one of path, url or base64 (got ${given})` })
    )
  }
  return input.path !== undefined
    ? fromPath(input.path)
    : input.url !== undefined
    ? fromUrl(input.url)
    : fromBase64(input.base64!)
}
