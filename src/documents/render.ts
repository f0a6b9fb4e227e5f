/**
 * PDF pages rendered to PNG images with MuPDF (`mupdf`, WASM; an optional dependency loaded on first use), for
 * pages without a text layer that need OCR. Also: the page count, a page's size in points and whether it has a
 * text layer. Pages are addressed by a 0-based `pageIndex`. Bad input is a `RenderError` with a literal `reason`:
 * a corrupt file, an encrypted one (a wrong or missing password), a page index out of range, bad options, or
 * `mupdf` not installed — never a crash.
 */
import { Effect, Schema } from "effect"

/**
 * The part of mupdf's API used here. Declared here rather than imported from mupdf's types, so that the library
 * type-checks and builds on a lean install without mupdf.
 */
declare namespace MuPdf {
  interface Pixmap {
    getWidth(): number
    getHeight(): number
    asPNG(): Uint8Array
    destroy(): void
  }
  interface StructuredText {
    asText(): string
    destroy(): void
  }
  interface Page {
    getBounds(): [number, number, number, number]
    toPixmap(matrix: Matrix, colorspace: ColorSpace, alpha?: boolean, showExtras?: boolean): Pixmap
    toStructuredText(options?: string): StructuredText
    destroy(): void
  }
  interface Document {
    needsPassword(): boolean
    authenticatePassword(password: string): number
    countPages(): number
    loadPage(index: number): Page
    asPDF(): { wasRepaired(): boolean } | null
    destroy(): void
  }
  type Matrix = [number, number, number, number, number, number]
  interface ColorSpace {
    getName(): string
  }
  interface Module {
    readonly Document: { openDocument(data: Uint8Array, magic: string): Document }
    readonly Matrix: { scale(sx: number, sy: number): Matrix }
    readonly ColorSpace: { readonly DeviceRGB: ColorSpace }
    setLog(log: { warning?: (message: string) => void; error?: (message: string) => void }): void
  }
}

/** The package name, in a variable so the compiler does not look for its types. */
const MUPDF_PACKAGE: string = "mupdf"

/** Why rendering failed. */
export const RenderErrorReason = Schema.Literal(
  "missing-package",
  "corrupt",
  "encrypted",
  "page-out-of-range",
  "bad-options"
)

/** A rendering failure; `pageIndex` says which page when one was asked for. */
export class RenderError extends Schema.TaggedError<RenderError>()("RenderError", {
  reason: RenderErrorReason,
  message: Schema.String,
  pageIndex: Schema.optionalWith(Schema.Number, { exact: true })
}) {}

/** The exact `mupdf` version this package was tested with (what the missing-package message asks for). */
export const MUPDF_VERSION = "1.28.1"

/** The message of a missing `mupdf`. */
export const MUPDF_MISSING =
  `rendering PDF pages needs the optional package mupdf: npm install --save-exact mupdf@${MUPDF_VERSION}`

/** Options of `renderPage`. */
export interface RenderOptions {
  /** Resolution of the image in dots per inch (36–600). @default 200 */
  readonly dpi?: number
  /** The password of an encrypted PDF. @default none */
  readonly password?: string
}

/** A rendered page. */
export interface RenderedPage {
  /** The PNG image (RGB, white background). */
  readonly png: Uint8Array
  /** Its size in pixels. */
  readonly width: number
  readonly height: number
  readonly dpi: number
  readonly pageIndex: number
  /** Pages in the document. */
  readonly pageCount: number
  /** The page's size in PDF points (1/72 inch). */
  readonly pageWidth: number
  readonly pageHeight: number
  /** Whether MuPDF had to repair the file (a damaged or truncated PDF it could still read). */
  readonly repaired: boolean
}

/** The default rendering resolution (dots per inch). */
export const DEFAULT_DPI = 200
/** The lowest and highest resolutions `renderPage` accepts. */
export const MIN_DPI = 36
export const MAX_DPI = 600

let loaded: Promise<MuPdf.Module> | undefined

/** Whether an import failure means the package itself is absent (not a broken package). */
export const isMissingModule = (cause: unknown, name: string): boolean => {
  const e = cause as { code?: unknown; message?: unknown }
  return (e?.code === "ERR_MODULE_NOT_FOUND" || e?.code === "MODULE_NOT_FOUND") &&
    typeof e.message === "string" && e.message.includes(name)
}

/** `mupdf`, imported once per process (its WASM module is large). */
const mupdf: Effect.Effect<MuPdf.Module, RenderError> = Effect.tryPromise({
  try: () => {
    loaded ??= (import(MUPDF_PACKAGE) as Promise<MuPdf.Module>).catch((cause: unknown) => {
      loaded = undefined
      throw cause
    })
    return loaded
  },
  catch: (cause) =>
    new RenderError({
      reason: "missing-package",
      message: isMissingModule(cause, "mupdf") ? MUPDF_MISSING : `mupdf could not be loaded: ${String(cause)}`
    })
})

/** Runs `f` with MuPDF's warnings collected (they would go to stderr); they end a failure's message. */
const collectingWarnings = <A>(lib: MuPdf.Module, f: (warnings: Array<string>) => A): A => {
  const warnings: Array<string> = []
  lib.setLog({ warning: (m) => warnings.push(m), error: (m) => warnings.push(m) })
  try {
    return f(warnings)
  } finally {
    lib.setLog({ warning: () => undefined, error: () => undefined })
  }
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const corrupt = (what: string, cause: unknown, warnings: ReadonlyArray<string>, pageIndex?: number): RenderError =>
  new RenderError({
    reason: "corrupt",
    message: `${what}: ${messageOf(cause)}${warnings.length > 0 ? ` (${warnings.slice(0, 3).join("; ")})` : ""}`,
    ...(pageIndex === undefined ? {} : { pageIndex })
  })

/** Opens a PDF: a corrupt file, an encrypted one without the right password and an empty document are refused. */
const open = (lib: MuPdf.Module, pdf: Uint8Array, password: string | undefined): Either<MuPdf.Document> =>
  collectingWarnings(lib, (warnings) => {
    if (!isPdf(pdf)) {
      return {
        error: new RenderError({ reason: "corrupt", message: "not a PDF: the data does not start with %PDF-" })
      }
    }
    let doc: MuPdf.Document
    try {
      doc = lib.Document.openDocument(pdf, "application/pdf")
    } catch (cause) {
      return { error: corrupt("the PDF cannot be read", cause, warnings) }
    }
    if (doc.needsPassword()) {
      if (password === undefined) {
        doc.destroy()
        return {
          error: new RenderError({ reason: "encrypted", message: "the PDF is encrypted: give its password" })
        }
      }
      if (doc.authenticatePassword(password) === 0) {
        doc.destroy()
        return {
          error: new RenderError({ reason: "encrypted", message: "the PDF is encrypted and the password is wrong" })
        }
      }
    }
    let pages: number
    try {
      pages = doc.countPages()
    } catch (cause) {
      doc.destroy()
      return { error: corrupt("the PDF's pages cannot be read", cause, warnings) }
    }
    if (pages === 0) {
      doc.destroy()
      return { error: corrupt("the PDF cannot be read", "it has no pages", warnings) }
    }
    return { value: doc }
  })

type Either<A> = { readonly value: A; readonly error?: undefined } | { readonly error: RenderError }

/** Whether `bytes` start like a PDF (`%PDF-`, within the first 1024 bytes as readers allow). */
export const isPdf = (bytes: Uint8Array): boolean => {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString("latin1")
  return head.includes("%PDF-")
}

const withDocument = <A>(
  pdf: Uint8Array,
  password: string | undefined,
  f: (lib: MuPdf.Module, doc: MuPdf.Document) => A | RenderError
): Effect.Effect<A, RenderError> =>
  Effect.flatMap(mupdf, (lib) =>
    Effect.suspend(() => {
      const opened = open(lib, pdf, password)
      if (opened.error !== undefined) return Effect.fail(opened.error)
      const doc = opened.value
      try {
        const result = f(lib, doc)
        return result instanceof RenderError ? Effect.fail(result) : Effect.succeed(result)
      } finally {
        doc.destroy()
      }
    }))

const checkIndex = (doc: MuPdf.Document, pageIndex: number): RenderError | number => {
  const count = doc.countPages()
  if (!Number.isInteger(pageIndex) || pageIndex < 0 || pageIndex >= count) {
    return new RenderError({
      reason: "page-out-of-range",
      message: `page index ${pageIndex} is out of range: the PDF has ${count} page${
        count === 1 ? "" : "s"
      } (indices 0–${count - 1})`,
      pageIndex
    })
  }
  return count
}

/** The number of pages of a PDF. */
export const pageCount = (pdf: Uint8Array, options: { readonly password?: string } = {}) =>
  withDocument(pdf, options.password, (_lib, doc) => doc.countPages())

/** Renders page `pageIndex` (0-based) of a PDF to a PNG at `dpi`. */
export const renderPage = (
  pdf: Uint8Array,
  pageIndex: number,
  options: RenderOptions = {}
): Effect.Effect<RenderedPage, RenderError> => {
  const dpi = options.dpi ?? DEFAULT_DPI
  if (!(Number.isFinite(dpi) && dpi >= MIN_DPI && dpi <= MAX_DPI)) {
    return Effect.fail(
      new RenderError({ reason: "bad-options", message: `dpi must be between ${MIN_DPI} and ${MAX_DPI}, got ${dpi}` })
    )
  }
  return withDocument(pdf, options.password, (lib, doc) => {
    const count = checkIndex(doc, pageIndex)
    if (count instanceof RenderError) return count
    return collectingWarnings(lib, (warnings) => {
      let page: MuPdf.Page | undefined
      let pixmap: MuPdf.Pixmap | undefined
      try {
        page = doc.loadPage(pageIndex)
        const [x0, y0, x1, y1] = page.getBounds()
        const scale = dpi / 72
        pixmap = page.toPixmap(lib.Matrix.scale(scale, scale), lib.ColorSpace.DeviceRGB, false, true)
        return {
          png: pixmap.asPNG(),
          width: pixmap.getWidth(),
          height: pixmap.getHeight(),
          dpi,
          pageIndex,
          pageCount: count,
          pageWidth: x1 - x0,
          pageHeight: y1 - y0,
          repaired: doc.asPDF()?.wasRepaired() ?? false
        }
      } catch (cause) {
        return corrupt(`page index ${pageIndex} cannot be rendered`, cause, warnings, pageIndex)
      } finally {
        pixmap?.destroy()
        page?.destroy()
      }
    })
  })
}

/**
 * Whether page `pageIndex` has a text layer (any character MuPDF can extract): a page without one is a scan or
 * an image and needs OCR.
 */
export const hasTextLayer = (
  pdf: Uint8Array,
  pageIndex: number,
  options: { readonly password?: string } = {}
): Effect.Effect<boolean, RenderError> =>
  withDocument(pdf, options.password, (lib, doc) => {
    const count = checkIndex(doc, pageIndex)
    if (count instanceof RenderError) return count
    return collectingWarnings(lib, (warnings) => {
      let page: MuPdf.Page | undefined
      let text: MuPdf.StructuredText | undefined
      try {
        page = doc.loadPage(pageIndex)
        text = page.toStructuredText("preserve-whitespace")
        return text.asText().trim().length > 0
      } catch (cause) {
        return corrupt(`page index ${pageIndex} cannot be read`, cause, warnings, pageIndex)
      } finally {
        text?.destroy()
        page?.destroy()
      }
    })
  })
