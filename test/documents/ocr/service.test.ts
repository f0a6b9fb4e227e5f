/**
 * The `Ocr` service and the `doc.ocr` tool over a fake backend (no OCR engine): input checks, page boxes, the
 * cache (a second call is a hit and never reaches the backend; other settings or other bytes miss), backend
 * selection, and the tool's argument errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import type { OcrBackend, RawBlock } from "../../../src/documents/ocr/backend.js"
import { make } from "../../../src/documents/ocr/service.js"
import { makeOcrTool } from "../../../src/documents/ocr/tool.js"
import { ResultCache } from "../../../src/runtime/policy/cache.js"
import * as Tool from "../../../src/tools/tool.js"
import { makeTextPdf, whitePng } from "./fixtures.js"

const blocks: ReadonlyArray<RawBlock> = [
  {
    lines: [
      {
        words: [{ text: "Hello", confidence: 0.9, box: [10, 10, 60, 30] }, {
          text: "world",
          confidence: 0.7,
          box: [70, 10, 120, 30]
        }]
      },
      { words: [{ text: "again", confidence: null, box: [10, 40, 60, 60] }] }
    ]
  },
  { lines: [{ words: [{ text: "Second", confidence: 0.5, box: [10, 100, 80, 120] }] }] }
]

/** A backend answering `blocks`, counting its calls and the images it saw. */
const fakeBackend = (name = "fake") => {
  const seen: Array<{ width: number; height: number; format: string }> = []
  const backend: OcrBackend = {
    name,
    version: Effect.succeed("fake 1"),
    settings: (o) => Effect.succeed({ lang: o.lang ?? "eng" }),
    recognize: (image) =>
      Effect.sync(() => {
        seen.push({ width: image.width, height: image.height, format: image.format })
        return blocks
      })
  }
  return { backend, seen }
}

describe("Ocr service", () => {
  it.effect("assembles words, lines, blocks and text, with page boxes scaled by the dpi", () =>
    Effect.gen(function*() {
      const { backend } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const r = yield* ocr.recognize({ bytes: whitePng(200, 150, 144) })
      expect(r).toMatchObject({
        backend: "fake",
        source: { kind: "image", format: "png" },
        width: 200,
        height: 150,
        dpi: 144,
        pageWidth: 100,
        pageHeight: 75,
        text: "Hello world\nagain\n\nSecond",
        cached: false
      })
      expect(r.words.map((w) => [w.text, w.line])).toEqual([["Hello", 0], ["world", 0], ["again", 1], ["Second", 2]])
      expect(r.words[1]!.pageBox).toEqual([35, 5, 60, 15])
      expect(r.lines.map((l) => [l.text, l.box, l.block, l.firstWord, l.wordCount])).toEqual([
        ["Hello world", [10, 10, 120, 30], 0, 0, 2],
        ["again", [10, 40, 60, 60], 0, 2, 1],
        ["Second", [10, 100, 80, 120], 1, 3, 1]
      ])
      expect(r.lines[0]!.confidence).toBe(0.8)
      expect(r.blocks.map((b) => [b.box, b.firstLine, b.lineCount])).toEqual([[[10, 10, 120, 60], 0, 2], [
        [10, 100, 80, 120],
        2,
        1
      ]])
      expect(r.confidence).toBe(0.7)
      // Without a pHYs chunk or a dpi, an image is taken at 72 dpi (a pixel is a point); an explicit dpi wins.
      expect((yield* ocr.recognize({ bytes: whitePng(200, 150) })).pageWidth).toBe(200)
      expect((yield* ocr.recognize({ bytes: whitePng(200, 150, 144) }, { dpi: 288 })).pageWidth).toBe(50)
    }))

  it.effect("caches by content, backend and settings: the second call is a hit and skips the backend", () =>
    Effect.gen(function*() {
      const { backend, seen } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const png = whitePng(64, 32)
      const first = yield* ocr.recognize({ bytes: png })
      const second = yield* ocr.recognize({ bytes: png })
      expect(first.cached).toBe(false)
      expect(second.cached).toBe(true)
      expect({ ...second, cached: false }).toEqual(first)
      expect(seen).toHaveLength(1)
      // Other settings, other bytes, or cache: false → the backend again.
      yield* ocr.recognize({ bytes: png }, { lang: "deu" })
      yield* ocr.recognize({ bytes: whitePng(64, 33) })
      expect((yield* ocr.recognize({ bytes: png }, { cache: false })).cached).toBe(false)
      expect(seen).toHaveLength(4)
      expect((yield* ocr.recognize({ bytes: png }, { lang: "deu" })).cached).toBe(true)
    }).pipe(Effect.provide(ResultCache.layerMemory)))

  it.effect("without a ResultCache in context nothing is cached", () =>
    Effect.gen(function*() {
      const { backend, seen } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const png = whitePng(8, 8)
      yield* ocr.recognize({ bytes: png })
      expect((yield* ocr.recognize({ bytes: png })).cached).toBe(false)
      expect(seen).toHaveLength(2)
    }))

  it.effect("renders a PDF page before reading it, at the requested dpi", () =>
    Effect.gen(function*() {
      const { backend, seen } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const pdf = yield* Effect.promise(() => makeTextPdf([["One"], ["Two"]], { width: 144, height: 72 }))
      const r = yield* ocr.recognize({ bytes: pdf.bytes, pageIndex: 1 }, { dpi: 144 })
      expect(seen).toEqual([{ width: 288, height: 144, format: "png" }])
      expect(r).toMatchObject({ source: { kind: "pdf", pageIndex: 1, pageCount: 2 }, dpi: 144, pageWidth: 144 })
      expect(r.words[0]!.pageBox).toEqual([5, 5, 30, 15])
      const out = yield* Effect.flip(ocr.recognize({ bytes: pdf.bytes, pageIndex: 7 }))
      expect(out).toMatchObject({ reason: "bad-pdf", location: "pageIndex" })
      expect(out.message).toBe("page index 7 is out of range: the PDF has 2 pages (indices 0–1)")
    }))

  it.effect("refuses bad input with typed errors", () =>
    Effect.gen(function*() {
      const { backend } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const fail = (e: Effect.Effect<unknown, { reason: string; message: string; location?: string }>) =>
        Effect.map(Effect.flip(e), ({ reason, message, location }) => ({ reason, message, location }))
      const png = whitePng(10, 10)
      expect(yield* fail(ocr.recognize({ bytes: new Uint8Array([1, 2, 3]) }))).toEqual({
        reason: "bad-image",
        message: "not a PNG or JPEG image (convert other formats to PNG first)",
        location: undefined
      })
      expect((yield* fail(ocr.recognize({ bytes: png.slice(0, png.length - 20) }))).reason).toBe("bad-image")
      const flipped = new Uint8Array(png)
      flipped[40] = flipped[40]! ^ 0xff
      expect((yield* fail(ocr.recognize({ bytes: flipped }))).message).toMatch(/fails its CRC/)
      expect(yield* fail(ocr.recognize({ bytes: png }, { backend: "nope" }))).toEqual({
        reason: "bad-input",
        message: "unknown OCR backend \"nope\": this service has fake",
        location: "backend"
      })
      expect((yield* fail(ocr.recognize({ bytes: png, pageIndex: 1 }))).location).toBe("pageIndex")
      expect((yield* fail(ocr.recognize({ bytes: png }, { dpi: 1 }))).location).toBe("dpi")
      expect((yield* fail(ocr.recognize({ bytes: new TextEncoder().encode("%PDF-1.4 junk") }))).reason).toBe(
        "bad-pdf"
      )
    }))

  it.effect("chooses a backend by name, the first by default", () =>
    Effect.gen(function*() {
      const a = fakeBackend("a")
      const b = fakeBackend("b")
      const ocr = make({ backends: [a.backend, b.backend] })
      expect(ocr.backends).toEqual(["a", "b"])
      expect((yield* ocr.recognize({ bytes: whitePng(4, 4) })).backend).toBe("a")
      expect((yield* ocr.recognize({ bytes: whitePng(4, 4) }, { backend: "b" })).backend).toBe("b")
    }))

  it.effect("recognizePdf reads the pages without a text layer (or those asked for)", () =>
    Effect.gen(function*() {
      const { backend, seen } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const pdf = yield* Effect.promise(() =>
        makeTextPdf([["text"], [], ["more"], []], { size: 10, width: 72, height: 72, margin: 8 })
      )
      const results = yield* ocr.recognizePdf(pdf.bytes, { dpi: 72 })
      expect(results.map((r) => r.source)).toEqual([
        { kind: "pdf", pageIndex: 1, pageCount: 4 },
        { kind: "pdf", pageIndex: 3, pageCount: 4 }
      ])
      expect((yield* ocr.recognizePdf(pdf.bytes, { dpi: 72, pages: "all" })).length).toBe(4)
      expect((yield* ocr.recognizePdf(pdf.bytes, { dpi: 72, pages: [2] }))[0]!.source).toMatchObject({ pageIndex: 2 })
      expect(seen).toHaveLength(7)
    }))
})

describe("doc.ocr", () => {
  const call = (tool: ReturnType<typeof makeOcrTool>, args: unknown) =>
    Effect.flatMap(Tool.decodeArgs(tool, args), (a) => tool.handler(a, Tool.makeContext()))

  it.effect("reads base64 (and a data: URL), and a path only with a file reader", () =>
    Effect.gen(function*() {
      const { backend } = fakeBackend()
      const ocr = make({ backends: [backend] })
      const png = whitePng(20, 10)
      const tool = makeOcrTool(ocr)
      const base64 = Buffer.from(png).toString("base64")
      expect((yield* call(tool, { base64 })).text).toBe("Hello world\nagain\n\nSecond")
      expect((yield* call(tool, { base64: `data:image/png;base64,${base64}` })).width).toBe(20)
      const noFiles = yield* Effect.flip(call(tool, { path: "page.png" }))
      expect(noFiles).toMatchObject({
        _tag: "Permanent",
        message: "path: local files are read only under the CLI; send the file's bytes as base64"
      })
      const files = makeOcrTool(ocr, {
        readFile: (p) => p === "page.png" ? Effect.succeed(png) : Effect.fail(new Error("no such file"))
      })
      expect((yield* call(files, { path: "page.png" })).height).toBe(10)
      expect(yield* Effect.flip(call(files, { path: "missing.png" }))).toMatchObject({
        _tag: "Permanent",
        message: "path: cannot read missing.png: no such file"
      })
    }))

  it.effect("refuses bad arguments with the argument's name", () =>
    Effect.gen(function*() {
      const { backend } = fakeBackend()
      const tool = makeOcrTool(make({ backends: [backend] }))
      const message = (args: unknown) =>
        Effect.map(Effect.exit(call(tool, args)), (exit) =>
          Exit.isFailure(exit) ? String(Option.getOrUndefined(Cause.failureOption(exit.cause))?.message) : "ok")
      expect(yield* message({})).toBe("give exactly one of path or base64")
      expect(yield* message({ base64: "AAAA", path: "x" })).toBe("give exactly one of path or base64")
      expect(yield* message({ base64: "not base64!" })).toBe(
        "base64: is not base64 (characters outside the base64 alphabet)"
      )
      expect(yield* message({ base64: "" })).toBe("base64: is empty")
      expect(yield* message({ base64: "AAAA" })).toBe(
        "not a PNG or JPEG image (convert other formats to PNG first)"
      )
      expect(yield* message({ base64: Buffer.from(whitePng(4, 4)).toString("base64"), pageIndex: 2 })).toBe(
        "pageIndex: pageIndex applies to a PDF, and this is not one"
      )
      expect(yield* message({ base64: "AAAA", dpi: 5 })).toMatch(/dpi/)
    }))
})
