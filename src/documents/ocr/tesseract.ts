/**
 * The Tesseract backend: `tesseract.js` (Tesseract compiled to WASM, in a worker thread) with its language data
 * read from the installed `@tesseract.js-data/<lang>` package — nothing is downloaded and nothing is written to
 * the working directory. One worker per language per process, created on first use and reused by every later
 * call (jobs on a worker run one at a time); the worker thread holds the process open only while a job runs.
 * Both packages are optional dependencies, imported on first use: a missing one is an `OcrError` naming the
 * command that installs it.
 */
import { Effect } from "effect"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { isMissingModule } from "../render.js"
import type { BackendSettings, OcrBackend, OcrMode, RawBlock, RawWord } from "./backend.js"
import { OcrError } from "./errors.js"
import type { OcrImage } from "./image.js"

/** The versions this backend was tested with (what missing-package messages ask for). */
export const TESSERACT_VERSION = "7.0.0"
export const LANG_DATA_VERSION = "1.0.0"

/** The traineddata variant used: LSTM models, integer-quantized "best" (tesseract.js's own default). */
const DATA_DIR = "4.0.0_best_int"

const PSM: Record<OcrMode, string> = { auto: "3", block: "6", line: "7", sparse: "11" }

const LANG = /^[a-z]{3}(_[a-z]+)?$/

const require = createRequire(import.meta.url)

interface TesseractWord {
  readonly text: string
  readonly confidence: number
  readonly bbox: { readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number }
}
interface TesseractLine {
  readonly words: ReadonlyArray<TesseractWord>
  readonly confidence: number
}
interface TesseractBlock {
  readonly paragraphs: ReadonlyArray<{ readonly lines: ReadonlyArray<TesseractLine> }>
}
interface TesseractWorker {
  readonly worker?: { ref?: () => void; unref?: () => void }
  setParameters(params: Record<string, string>): Promise<unknown>
  recognize(
    image: Buffer,
    options: Record<string, unknown>,
    output: Record<string, boolean>
  ): Promise<{ readonly data: { readonly blocks: ReadonlyArray<TesseractBlock> | null } }>
  terminate(): Promise<unknown>
}
interface TesseractModule {
  createWorker(
    langs: string,
    oem: number,
    options: Record<string, unknown>
  ): Promise<TesseractWorker>
}

const missing = (pkg: string, version: string, what: string) =>
  new OcrError({
    reason: "missing-package",
    message: `${what} needs the optional package ${pkg}: npm install --save-exact ${pkg}@${version}`
  })

/** The directory of a language's traineddata, from its installed package. */
const langDir = (lang: string): Effect.Effect<{ readonly dir: string; readonly version: string }, OcrError> =>
  Effect.try({
    try: () => {
      const pkg = require.resolve(`@tesseract.js-data/${lang}/package.json`)
      const version = (require(pkg) as { version: string }).version
      return { dir: join(dirname(pkg), DATA_DIR), version }
    },
    catch: (cause) =>
      isMissingModule(cause, `@tesseract.js-data/${lang}`)
        ? missing(`@tesseract.js-data/${lang}`, LANG_DATA_VERSION, `OCR in language "${lang}"`)
        : new OcrError({
          reason: "backend",
          message: `the language data of "${lang}" cannot be read: ${String(cause)}`
        })
  })

/** The package name, in a variable so the compiler does not look for its types (a lean install has none). */
const TESSERACT_PACKAGE: string = "tesseract.js"

let module: Promise<TesseractModule> | undefined

const tesseractModule: Effect.Effect<TesseractModule, OcrError> = Effect.tryPromise({
  try: () => {
    module ??= (import(TESSERACT_PACKAGE) as Promise<unknown>).then(
      (m) => ((m as { default?: TesseractModule }).default ?? m) as TesseractModule,
      (cause: unknown) => {
        module = undefined
        throw cause
      }
    )
    return module
  },
  catch: (cause) =>
    isMissingModule(cause, "tesseract.js")
      ? missing("tesseract.js", TESSERACT_VERSION, "OCR with Tesseract")
      : new OcrError({ reason: "backend", message: `tesseract.js could not be loaded: ${String(cause)}` })
})

/** A process-wide worker of one language, with its job queue and the number of jobs in it. */
interface Slot {
  readonly worker: Promise<TesseractWorker>
  tail: Promise<unknown>
  pending: number
  psm: string | undefined
}

const slots = new Map<string, Slot>()

const messageOf = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : JSON.stringify(cause)

/** The worker of `lang`, created on first use (a failed creation is forgotten, so a later call tries again). */
const slotOf = (lib: TesseractModule, lang: string, dir: string): Slot => {
  const existing = slots.get(lang)
  if (existing !== undefined) return existing
  const worker = lib.createWorker(lang, 1, {
    langPath: dir,
    gzip: true,
    cacheMethod: "none",
    // Without an error handler tesseract.js rethrows a job's failure in the worker's message handler,
    // which is an uncaught exception; with one, the job's promise is rejected.
    errorHandler: () => undefined
  }).then((w) => {
    w.worker?.unref?.()
    return w
  })
  const slot: Slot = { worker, tail: Promise.resolve(), pending: 0, psm: undefined }
  slots.set(lang, slot)
  worker.catch(() => {
    if (slots.get(lang) === slot) slots.delete(lang)
  })
  return slot
}

/** Runs `job` on the slot's worker after the jobs before it; the worker thread is referenced while jobs are queued. */
const enqueue = <A>(slot: Slot, job: (w: TesseractWorker) => Promise<A>): Promise<A> => {
  slot.pending += 1
  const run = slot.tail.then(() => slot.worker).then(async (w) => {
    w.worker?.ref?.()
    try {
      return await job(w)
    } finally {
      slot.pending -= 1
      if (slot.pending === 0) w.worker?.unref?.()
    }
  })
  slot.tail = run.catch(() => undefined)
  return run
}

const toWord = (w: TesseractWord): RawWord => ({
  text: w.text,
  confidence: Math.max(0, Math.min(1, w.confidence / 100)),
  box: [w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1]
})

const toBlocks = (blocks: ReadonlyArray<TesseractBlock>): ReadonlyArray<RawBlock> =>
  blocks.map((b) => ({
    lines: b.paragraphs.flatMap((p) =>
      p.lines.map((l) => ({
        words: l.words.filter((w) => w.text.trim() !== "").map(toWord),
        confidence: Math.max(0, Math.min(1, l.confidence / 100))
      })).filter((l) => l.words.length > 0)
    )
  })).filter((b) => b.lines.length > 0)

/**
 * Succeeds when the Tesseract backend can run in `lang`: tesseract.js imports and the language data is installed
 * (no worker is started). Fails with the `missing-package` error naming what to install otherwise.
 */
export const tesseractReady = (lang = "eng"): Effect.Effect<void, OcrError> =>
  Effect.asVoid(Effect.zipRight(tesseractModule, langDir(lang)))

/** The Tesseract backend (`name: "tesseract"`); settings `{ lang, psm }`. */
export const tesseractBackend: OcrBackend = {
  name: "tesseract",
  version: Effect.map(
    Effect.try({
      try: () => (require("tesseract.js/package.json") as { version: string }).version,
      catch: (cause) =>
        isMissingModule(cause, "tesseract.js")
          ? missing("tesseract.js", TESSERACT_VERSION, "OCR with Tesseract")
          : new OcrError({ reason: "backend", message: `tesseract.js cannot be read: ${String(cause)}` })
    }),
    (v) => `tesseract.js ${v}, ${DATA_DIR}`
  ),
  settings: (options) => {
    const lang = options.lang ?? "eng"
    if (!LANG.test(lang)) {
      return Effect.fail(
        new OcrError({
          reason: "bad-input",
          message: `lang must be a Tesseract language code such as "eng" or "chi_sim", got ${JSON.stringify(lang)}`,
          location: "lang"
        })
      )
    }
    return Effect.map(langDir(lang), ({ version }) => ({
      lang,
      langData: version,
      psm: PSM[options.mode ?? "auto"]
    }))
  },
  recognize: (image: OcrImage, settings: BackendSettings) =>
    Effect.gen(function*() {
      const lang = String(settings.lang)
      const psm = String(settings.psm)
      const lib = yield* tesseractModule
      const { dir } = yield* langDir(lang)
      const slot = slotOf(lib, lang, dir)
      const page = yield* Effect.tryPromise({
        try: () =>
          enqueue(slot, async (w) => {
            if (slot.psm !== psm) {
              await w.setParameters({ tessedit_pageseg_mode: psm })
              slot.psm = psm
            }
            return w.recognize(Buffer.from(image.bytes), {}, { blocks: true, text: false })
          }),
        catch: (cause) => {
          const message = messageOf(cause)
          // Leptonica could not decode the image (a corrupt stream inside a well-formed file).
          const reason = /read image|image file/i.test(message) ? "bad-image" : "backend"
          return new OcrError({ reason, message: `Tesseract could not read the image: ${message}` })
        }
      })
      return toBlocks(page.data.blocks ?? [])
    })
}

/** Terminates the process's Tesseract workers (tests and long-lived hosts that want the memory back). */
export const terminateTesseract = (): Promise<void> => {
  const all = [...slots.values()]
  slots.clear()
  return Promise.all(all.map((s) => s.worker.then((w) => w.terminate()).catch(() => undefined))).then(() => undefined)
}
