/**
 * The `Ocr` service: an image or a PDF page in, an `OcrResult` out, through one of its backends (Tesseract by
 * default; a vision model when configured). A PDF page is rendered first (`../render.ts`), so a page without a
 * text layer is read in one call; `recognizePdf` reads every such page of a document. Results are cached in the
 * `ResultCache` of the calling context (the store's under the CLI and the server, `ResultCache.layerMemory` for a
 * library user who wants one; none: no caching), keyed by the sha256 of the bytes, the backend, its version and
 * settings, and the page and resolution; a hit comes back with `cached: true`.
 */
import { Config, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import type { ConfigError } from "effect"
import { createHash } from "node:crypto"
import { canonicalJson } from "../../ir/canonical.js"
import type { Json } from "../../ir/eval.js"
import { ResultCache } from "../../runtime/policy/cache.js"
import { DEFAULT_DPI, hasTextLayer, isPdf, MAX_DPI, MIN_DPI, pageCount, renderPage } from "../render.js"
import type { RenderError } from "../render.js"
import type { BackendSettings, OcrBackend, OcrOptions, RawBlock } from "./backend.js"
import { OcrError } from "./errors.js"
import { readImage } from "./image.js"
import type { OcrImage } from "./image.js"
import { OcrResult } from "./result.js"
import type { Box, OcrBlock, OcrLine, OcrSource, OcrWord } from "./result.js"
import { tesseractBackend } from "./tesseract.js"

/** What to read: image bytes (PNG, JPEG) or PDF bytes (told apart by their signature). */
export interface OcrInput {
  readonly bytes: Uint8Array
  /** The page of a PDF (0-based). @default 0 */
  readonly pageIndex?: number
  /** The password of an encrypted PDF. @default none */
  readonly password?: string
}

/** Options of one request. */
export interface RecognizeOptions extends OcrOptions {
  /** The backend's name. @default the service's first backend */
  readonly backend?: string
  /**
   * A PDF page's rendering resolution; for an image, its resolution when the file records none (it scales
   * `pageBox`). @default 200 for a PDF page, 72 for an image
   */
  readonly dpi?: number
  /** Read and write the cache. @default true */
  readonly cache?: boolean
}

/** Which pages `recognizePdf` reads. */
export type PageSelection = "without-text" | "all" | ReadonlyArray<number>

/** The OCR service. */
export class Ocr extends Context.Tag("trellis/Ocr")<Ocr, {
  /** The backends' names; the first is the default. */
  readonly backends: ReadonlyArray<string>
  /** Reads an image or one PDF page. */
  readonly recognize: (input: OcrInput, options?: RecognizeOptions) => Effect.Effect<OcrResult, OcrError>
  /** Reads the pages of a PDF: those without a text layer (default), all, or the given indices. */
  readonly recognizePdf: (
    pdf: Uint8Array,
    options?: RecognizeOptions & { readonly pages?: PageSelection; readonly password?: string }
  ) => Effect.Effect<ReadonlyArray<OcrResult>, OcrError>
}>() {}

/** Options of `make`. */
export interface OcrServiceOptions {
  /** The backends, the default first. @default [tesseract] */
  readonly backends?: ReadonlyArray<OcrBackend>
  /** How long a cached result is kept. @default 30 days (`TRELLIS_OCR_CACHE_TTL` in the layers) */
  readonly cacheTtl?: Duration.DurationInput
}

/** `TRELLIS_OCR_CACHE_TTL`: how long OCR results stay in the result cache (a duration, e.g. `7 days`). */
export const ocrCacheTtl: Config.Config<Duration.Duration> = Config.duration("TRELLIS_OCR_CACHE_TTL").pipe(
  Config.withDefault(Duration.days(30))
)

/** The version of the cached result's shape (a change makes old entries unreadable, hence misses). */
const CACHE_VERSION = "ocr/1"

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const fromRender = (e: RenderError): OcrError =>
  e.reason === "missing-package"
    ? new OcrError({ reason: "missing-package", message: e.message })
    : e.reason === "bad-options"
    ? new OcrError({ reason: "bad-input", message: e.message, location: "dpi" })
    : new OcrError({
      reason: "bad-pdf",
      message: e.message,
      ...(e.reason === "page-out-of-range" ? { location: "pageIndex" } : {})
    })

const round = (n: number): number => Math.round(n * 100) / 100

const union = (boxes: ReadonlyArray<Box>): Box => [
  Math.min(...boxes.map((b) => b[0])),
  Math.min(...boxes.map((b) => b[1])),
  Math.max(...boxes.map((b) => b[2])),
  Math.max(...boxes.map((b) => b[3]))
]

const mean = (values: ReadonlyArray<number | null>): number | null => {
  const known = values.filter((v): v is number => v !== null)
  return known.length === 0 ? null : round(known.reduce((a, b) => a + b, 0) / known.length * 1000) / 1000
}

/** Flattens a backend's blocks into words, lines and blocks with page boxes (pixels × 72 / dpi). */
export const assemble = (raw: ReadonlyArray<RawBlock>, dpi: number) => {
  const scale = 72 / dpi
  const toPage = (b: Box): Box => [round(b[0] * scale), round(b[1] * scale), round(b[2] * scale), round(b[3] * scale)]
  const words: Array<OcrWord> = []
  const lines: Array<OcrLine> = []
  const blocks: Array<OcrBlock> = []
  for (const block of raw) {
    const firstLine = lines.length
    for (const line of block.lines) {
      const firstWord = words.length
      for (const w of line.words) {
        words.push({ text: w.text, confidence: w.confidence, box: w.box, pageBox: toPage(w.box), line: lines.length })
      }
      const own = words.slice(firstWord)
      if (own.length === 0) continue
      const box = union(own.map((w) => w.box))
      lines.push({
        text: own.map((w) => w.text).join(" "),
        confidence: line.confidence ?? mean(own.map((w) => w.confidence)),
        box,
        pageBox: toPage(box),
        block: blocks.length,
        firstWord,
        wordCount: own.length
      })
    }
    const own = lines.slice(firstLine)
    if (own.length === 0) continue
    const box = union(own.map((l) => l.box))
    blocks.push({
      text: own.map((l) => l.text).join("\n"),
      confidence: mean(own.map((l) => l.confidence)),
      box,
      pageBox: toPage(box),
      firstLine,
      lineCount: own.length
    })
  }
  return {
    text: blocks.map((b) => b.text).join("\n\n"),
    confidence: mean(words.map((w) => w.confidence)),
    words,
    lines,
    blocks
  }
}

const badInput = (message: string, location: string) => new OcrError({ reason: "bad-input", message, location })

const decodeCached = Schema.decodeUnknownOption(OcrResult)

/** An `Ocr` service over `backends` (the first is the default). */
export const make = (options: OcrServiceOptions = {}): Ocr["Type"] => {
  const backends = options.backends ?? [tesseractBackend]
  const ttlMs = Duration.toMillis(Duration.decode(options.cacheTtl ?? Duration.days(30)))
  const byName = new Map(backends.map((b) => [b.name, b]))

  const recognize = (input: OcrInput, opts: RecognizeOptions = {}): Effect.Effect<OcrResult, OcrError> =>
    Effect.gen(function*() {
      const backend = opts.backend === undefined ? backends[0] : byName.get(opts.backend)
      if (backend === undefined) {
        return yield* badInput(
          `unknown OCR backend ${JSON.stringify(opts.backend)}: this service has ${
            backends.map((b) => b.name).join(", ") || "none"
          }`,
          "backend"
        )
      }
      const pdf = isPdf(input.bytes)
      if (!pdf && input.pageIndex !== undefined) {
        return yield* badInput("pageIndex applies to a PDF, and this is not one", "pageIndex")
      }
      if (!pdf && input.password !== undefined) {
        return yield* badInput("password applies to a PDF, and this is not one", "password")
      }
      if (opts.dpi !== undefined && !(Number.isFinite(opts.dpi) && opts.dpi >= MIN_DPI && opts.dpi <= MAX_DPI)) {
        return yield* badInput(`dpi must be between ${MIN_DPI} and ${MAX_DPI}, got ${opts.dpi}`, "dpi")
      }
      const settings = yield* backend.settings(opts)
      const version = yield* backend.version
      const contentHash = sha256(input.bytes)
      const pageIndex = input.pageIndex ?? 0
      const dpi = opts.dpi ?? (pdf ? DEFAULT_DPI : undefined)
      const place = pdf ? { kind: "pdf", pageIndex, dpi } : { kind: "image", dpi: dpi ?? null }
      const key = createHash("sha256").update(
        canonicalJson([CACHE_VERSION, backend.name, version, settings, place, contentHash])
      ).digest("hex")
      const cache = opts.cache === false ? Option.none() : yield* Effect.serviceOption(ResultCache)
      if (Option.isSome(cache)) {
        const hit = yield* cache.value.get(key)
        if (Option.isSome(hit)) {
          const decoded = decodeCached(hit.value)
          if (Option.isSome(decoded)) return { ...decoded.value, cached: true }
        }
      }
      let image: OcrImage
      let source: OcrSource
      let pageWidth: number
      let pageHeight: number
      let usedDpi: number
      if (pdf) {
        const page = yield* Effect.mapError(
          renderPage(input.bytes, pageIndex, {
            dpi: dpi ?? DEFAULT_DPI,
            ...(input.password === undefined ? {} : { password: input.password })
          }),
          fromRender
        )
        image = { bytes: page.png, format: "png", width: page.width, height: page.height, dpi: page.dpi }
        source = { kind: "pdf", pageIndex, pageCount: page.pageCount }
        pageWidth = page.pageWidth
        pageHeight = page.pageHeight
        usedDpi = page.dpi
      } else {
        const read = readImage(input.bytes)
        if (read instanceof OcrError) return yield* read
        image = read
        source = { kind: "image", format: read.format }
        usedDpi = dpi ?? read.dpi ?? 72
        pageWidth = round(read.width * 72 / usedDpi)
        pageHeight = round(read.height * 72 / usedDpi)
      }
      const raw = yield* backend.recognize(image, settings)
      const result: OcrResult = {
        backend: backend.name,
        settings: { ...settings, version },
        source,
        contentHash,
        width: image.width,
        height: image.height,
        dpi: usedDpi,
        pageWidth,
        pageHeight,
        ...assemble(raw, usedDpi),
        cached: false
      }
      if (Option.isSome(cache)) {
        yield* cache.value.set(key, Schema.encodeSync(OcrResult)(result) as unknown as Json, ttlMs, "doc.ocr")
      }
      return result
    }).pipe(Effect.withSpan("documents.ocr", { attributes: { backend: opts.backend ?? backends[0]?.name ?? "" } }))

  const recognizePdf: Ocr["Type"]["recognizePdf"] = (pdf, opts = {}) =>
    Effect.gen(function*() {
      if (!isPdf(pdf)) {
        return yield* new OcrError({ reason: "bad-pdf", message: "not a PDF: the data does not start with %PDF-" })
      }
      const password = opts.password === undefined ? {} : { password: opts.password }
      const selection = opts.pages ?? "without-text"
      const count = yield* Effect.mapError(
        pageCount(pdf, password),
        fromRender
      )
      const all = Array.from({ length: count }, (_, i) => i)
      let indices: ReadonlyArray<number>
      if (selection === "all") indices = all
      else if (selection === "without-text") {
        indices = yield* Effect.filter(
          all,
          (i) => Effect.map(Effect.mapError(hasTextLayer(pdf, i, password), fromRender), (has) => !has)
        )
      } else indices = selection
      return yield* Effect.forEach(indices, (pageIndex) => recognize({ bytes: pdf, pageIndex, ...password }, opts))
    })

  return Ocr.of({ backends: backends.map((b) => b.name), recognize, recognizePdf })
}

/** The `Ocr` service with `backends` (Tesseract when none), the cache TTL from `TRELLIS_OCR_CACHE_TTL`. */
export const layer = (backends?: ReadonlyArray<OcrBackend>): Layer.Layer<Ocr, ConfigError.ConfigError> =>
  Layer.effect(
    Ocr,
    Effect.map(
      ocrCacheTtl,
      (cacheTtl) => make({ ...(backends === undefined ? {} : { backends }), cacheTtl })
    )
  )

/** The `Ocr` service with the Tesseract backend only. */
export const layerTesseract: Layer.Layer<Ocr, ConfigError.ConfigError> = layer()

/** The settings type, re-exported for backends defined elsewhere. */
export type { BackendSettings }
