/**
 * Reading a PDF with pdf.js (`pdfjs-dist`, an optional dependency loaded with
 * a dynamic `import()`): every page's text items with boxes (PDF units,
 * top-left origin), fonts and sizes, the boxes of its images and its ruling
 * lines. pdf.js's failures become `DocumentError`s: an invalid file is
 * `corrupt`, a password-protected one `encrypted`, a page that cannot be read
 * `corrupt` at `page N`.
 */
import { Effect } from "effect"
import { DocumentError, missingPackageMessage } from "./errors.js"
import type { Box } from "./geometry.js"

/** The pinned version of the optional package, named in the install message. */
export const PDFJS_VERSION = "5.6.205"

/** A text item as drawn, before any analysis. */
export interface RawSpan {
  readonly text: string
  readonly box: Box
  readonly font: string
  readonly size: number
}

/** A page as pdf.js reads it. */
export interface RawPage {
  /** 1-based. */
  readonly page: number
  readonly width: number
  readonly height: number
  readonly spans: ReadonlyArray<RawSpan>
  /** Boxes of the images painted on the page. */
  readonly images: ReadonlyArray<Box>
  /** Thin filled or stroked rectangles and lines (ruling lines of tables). */
  readonly rules: ReadonlyArray<Box>
}

// The few pdf.js shapes used here (so the module type-checks without the package installed).
interface TextItem {
  readonly str?: string
  readonly transform?: ReadonlyArray<number>
  readonly width?: number
  readonly fontName?: string
}
interface Viewport {
  readonly width: number
  readonly height: number
  convertToViewportPoint(x: number, y: number): Array<number>
}
interface PdfPage {
  getViewport(o: { scale: number }): Viewport
  getTextContent(): Promise<{
    items: ReadonlyArray<TextItem>
    styles: Record<string, { ascent?: number; descent?: number }>
  }>
  getOperatorList(): Promise<{ fnArray: ReadonlyArray<number>; argsArray: ReadonlyArray<unknown> }>
  readonly commonObjs: { has(id: string): boolean; get(id: string): unknown }
  cleanup(): void
}
interface PdfDocument {
  readonly numPages: number
  getPage(n: number): Promise<PdfPage>
  destroy(): Promise<void>
}
interface PdfJs {
  getDocument(o: Record<string, unknown>): { promise: Promise<PdfDocument>; destroy(): Promise<void> }
  readonly OPS: Record<string, number>
}

/**
 * Imports an optional package at run time; when it cannot be loaded, one
 * `missing-package` error naming the package, its pinned version and what
 * needs it (followed by the import's own message).
 */
export const importOptional = <A>(
  load: () => Promise<A>,
  pkg: string,
  version: string,
  what: string
): Effect.Effect<A, DocumentError> =>
  Effect.tryPromise({
    try: load,
    catch: (e) =>
      new DocumentError({
        reason: "missing-package",
        message: `${missingPackageMessage(pkg, version, what)} (${describe(e)})`
      })
  })

const MODULE = "pdfjs-dist/legacy/build/pdf.mjs"
let loaded: Promise<PdfJs> | undefined

/** Loads pdf.js once; a missing package is a `missing-package` error naming what to install. */
export const loadPdfJs: Effect.Effect<PdfJs, DocumentError> = importOptional(
  () => (loaded ??= import(/* @vite-ignore */ MODULE).then((m) => m as PdfJs)),
  "pdfjs-dist",
  PDFJS_VERSION,
  "reading PDFs"
).pipe(Effect.tapError(() => Effect.sync(() => (loaded = undefined))))

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** A pdf.js failure as a `DocumentError`. */
const toError = (location: string | undefined) => (e: unknown): DocumentError => {
  const name = typeof e === "object" && e !== null && "name" in e ? String(e.name) : ""
  const reason = name === "PasswordException" ? "encrypted" : "corrupt"
  const message = reason === "encrypted"
    ? "the PDF is encrypted with a password; decrypt it first"
    : `not a readable PDF (${describe(e)})`
  return location === undefined
    ? new DocumentError({ reason, message })
    : new DocumentError({ reason, message, location })
}

type Matrix = readonly [number, number, number, number, number, number]
const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0]
const multiply = (m: Matrix, n: Matrix): Matrix => [
  m[0] * n[0] + m[1] * n[2],
  m[0] * n[1] + m[1] * n[3],
  m[2] * n[0] + m[3] * n[2],
  m[2] * n[1] + m[3] * n[3],
  m[4] * n[0] + m[5] * n[2] + n[4],
  m[4] * n[1] + m[5] * n[3] + n[5]
]
const apply = (
  m: Matrix,
  x: number,
  y: number
): [number, number] => [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]

/** A box in the viewport (top-left origin) from PDF user-space corners. */
const toViewport = (vp: Viewport, points: ReadonlyArray<readonly [number, number]>): Box => {
  const xs: Array<number> = []
  const ys: Array<number> = []
  for (const [x, y] of points) {
    const [vx, vy] = vp.convertToViewportPoint(x, y)
    xs.push(vx!)
    ys.push(vy!)
  }
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]
}

const fontNameOf = (page: PdfPage, id: string): string => {
  try {
    if (!page.commonObjs.has(id)) return id
    const font = page.commonObjs.get(id) as { name?: unknown } | undefined
    return typeof font?.name === "string" && font.name !== "" ? font.name.replace(/^[A-Z]{6}\+/, "") : id
  } catch {
    return id
  }
}

/** Images and ruling lines from the operator list, tracking the transformation matrix. */
const graphicsOf = (
  ops: PdfJs["OPS"],
  list: { fnArray: ReadonlyArray<number>; argsArray: ReadonlyArray<unknown> },
  vp: Viewport
) => {
  const images: Array<Box> = []
  const rules: Array<Box> = []
  const stack: Array<Matrix> = []
  let ctm: Matrix = IDENTITY
  for (let i = 0; i < list.fnArray.length; i++) {
    const fn = list.fnArray[i]
    const args = list.argsArray[i] as ReadonlyArray<unknown> | null
    if (fn === ops["save"]) stack.push(ctm)
    else if (fn === ops["restore"]) ctm = stack.pop() ?? IDENTITY
    else if (fn === ops["transform"] && args !== null) ctm = multiply(args.map(Number) as unknown as Matrix, ctm)
    else if (fn === ops["paintImageXObject"] || fn === ops["paintInlineImageXObject"]) {
      images.push(toViewport(vp, [apply(ctm, 0, 0), apply(ctm, 1, 0), apply(ctm, 0, 1), apply(ctm, 1, 1)]))
    } else if (fn === ops["constructPath"] && args !== null) {
      const minMax = args[2] as ArrayLike<number> | null | undefined
      if (minMax === null || minMax === undefined || minMax.length < 4) continue
      const [x0, y0, x1, y1] = [minMax[0]!, minMax[1]!, minMax[2]!, minMax[3]!]
      const box = toViewport(vp, [apply(ctm, x0, y0), apply(ctm, x1, y0), apply(ctm, x0, y1), apply(ctm, x1, y1)])
      if (Math.min(box[2] - box[0], box[3] - box[1]) <= 3) rules.push(box)
    }
  }
  return { images, rules }
}

const readPage = (pdfjs: PdfJs, doc: PdfDocument, n: number): Effect.Effect<RawPage, DocumentError> =>
  Effect.tryPromise({
    try: async () => {
      const page = await doc.getPage(n)
      const vp = page.getViewport({ scale: 1 })
      const ops = await page.getOperatorList()
      const content = await page.getTextContent()
      const spans: Array<RawSpan> = []
      for (const item of content.items) {
        const text = item.str ?? ""
        if (text.trim() === "" || item.transform === undefined) continue
        const [a, b, c, d, e, f] = item.transform as [number, number, number, number, number, number]
        const size = Math.hypot(c, d) || Math.hypot(a, b)
        const style = content.styles[item.fontName ?? ""]
        const ascent = style?.ascent ?? 0.8
        const descent = style?.descent ?? -0.2
        const w = item.width ?? 0
        // The item's own frame: x along the baseline, y up; a unit of text space is `size`.
        const ux = Math.hypot(a, b) === 0 ? 1 : a / Math.hypot(a, b)
        const uy = Math.hypot(a, b) === 0 ? 0 : b / Math.hypot(a, b)
        const at = (dx: number, dy: number): [number, number] => [e + ux * dx - uy * dy, f + uy * dx + ux * dy]
        const box = toViewport(vp, [
          at(0, descent * size),
          at(w, descent * size),
          at(0, ascent * size),
          at(w, ascent * size)
        ])
        spans.push({ text, box, font: fontNameOf(page, item.fontName ?? ""), size })
      }
      const { images, rules } = graphicsOf(pdfjs.OPS, ops, vp)
      page.cleanup()
      return { page: n, width: vp.width, height: vp.height, spans, images, rules } satisfies RawPage
    },
    catch: toError(`page ${n}`)
  })

/** The largest PDF read, in bytes. @default 52_428_800 */
export const MAX_PDF_BYTES = 50 * 1024 * 1024

/** Reads every page of a PDF (or the pages listed, 1-based). */
export const readPdf = (
  bytes: Uint8Array,
  options: { readonly pages?: ReadonlyArray<number> | undefined } = {}
): Effect.Effect<{ readonly pageCount: number; readonly pages: ReadonlyArray<RawPage> }, DocumentError> =>
  Effect.gen(function*() {
    if (bytes.length > MAX_PDF_BYTES) {
      return yield* new DocumentError({
        reason: "too-large",
        message: `the PDF has ${bytes.length} bytes; the most read is ${MAX_PDF_BYTES}`
      })
    }
    const pdfjs = yield* loadPdfJs
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        // pdf.js takes ownership of (detaches) the buffer it is given: pass a copy.
        try: () =>
          pdfjs.getDocument({
            data: new Uint8Array(bytes),
            isEvalSupported: false,
            useSystemFonts: false,
            disableFontFace: true,
            stopAtErrors: true,
            verbosity: 0
          }).promise,
        catch: toError(undefined)
      }),
      (doc) =>
        Effect.gen(function*() {
          const wanted = options.pages ?? Array.from({ length: doc.numPages }, (_, i) => i + 1)
          for (const n of wanted) {
            if (!Number.isInteger(n) || n < 1 || n > doc.numPages) {
              return yield* new DocumentError({
                reason: "bad-input",
                message: `there is no page ${n}: the PDF has ${doc.numPages} pages`,
                location: "pages"
              })
            }
          }
          const pages = yield* Effect.forEach(wanted, (n) => readPage(pdfjs, doc, n))
          return { pageCount: doc.numPages, pages }
        }),
      (doc) => Effect.promise(() => doc.destroy().catch(() => undefined))
    )
  })
