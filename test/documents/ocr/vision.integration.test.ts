/**
 * The vision backend against a fake OpenAI-compatible server on 127.0.0.1, through the LLM router: the request
 * carries the image as a PNG data URL in an `image_url` part with `response_format: json_object`; the answer's
 * lines and words become an `OcrResult` (words without boxes get shares of their line's box); a second call is a
 * cache hit; an answer that is not OCR JSON, and a provider failure, are typed `OcrError`s.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { Ocr } from "../../../src/documents/ocr/service.js"
import { layerVision } from "../../../src/documents/ocr/vision.js"
import { resolveLlmConfig } from "../../../src/llm/config.js"
import * as Router from "../../../src/llm/router.js"
import { ResultCache } from "../../../src/runtime/policy/cache.js"
import type { Behaviour, FakeUpstream } from "../../support/fakeUpstream.js"
import { startFakeUpstream } from "../../support/fakeUpstream.js"
import { whitePng } from "./fixtures.js"

let upstream: FakeUpstream
let behaviour: (body: Record<string, unknown>) => Behaviour = () => ({ kind: "ok" })

beforeAll(async () => {
  upstream = await startFakeUpstream("vision", (b) => behaviour(b))
})
afterAll(() => upstream.close())

const layer = () => {
  const config = Either.getOrThrow(resolveLlmConfig({
    providers: [{
      name: "fake",
      kind: "openai-compatible",
      baseUrl: upstream.baseUrl,
      models: ["eyes"],
      capabilities: ["json"],
      retry: { times: 0 }
    }]
  }))
  return Layer.merge(
    layerVision({ model: "fake/eyes" }).pipe(Layer.provide(Router.layerResolved(config))),
    ResultCache.layerMemory
  )
}

const answer = {
  lines: [
    { text: "Total due", box: [10, 10, 190, 30], confidence: 0.9 },
    {
      text: "42.00 EUR",
      box: [10, 40, 110, 60],
      block: 1,
      words: [{ text: "42.00", box: [10, 40, 60, 60], confidence: 0.8 }, { text: "EUR", box: [70, 40, 110, 60] }]
    }
  ]
}

describe("vision OCR backend", () => {
  it.effect("sends the image to the model and turns its answer into words, lines and blocks; then a cache hit", () =>
    Effect.gen(function*() {
      behaviour = () => ({ kind: "ok", text: JSON.stringify(answer) })
      const before = upstream.requests.length
      const ocr = yield* Ocr
      expect(ocr.backends).toEqual(["vision", "tesseract"])
      const png = whitePng(200, 80)
      const result = yield* ocr.recognize({ bytes: png })
      const sent = upstream.requests[before]!.body as {
        model: string
        response_format: { type: string }
        messages: Array<{ role: string; content: unknown }>
      }
      expect(sent.model).toBe("eyes")
      expect(sent.response_format).toEqual({ type: "json_object" })
      const parts = sent.messages[1]!.content as Array<{ type: string; text?: string; image_url?: { url: string } }>
      expect(parts[0]!.text).toContain("200 × 80 pixels")
      expect(parts[1]!.image_url!.url).toBe(`data:image/png;base64,${Buffer.from(png).toString("base64")}`)

      expect(result).toMatchObject({ backend: "vision", text: "Total due\n\n42.00 EUR", cached: false })
      expect(result.words.map((w) => [w.text, w.box, w.confidence])).toEqual([
        // "Total due" over 180 pixels: 20 per character.
        ["Total", [10, 10, 110, 30], 0.9],
        ["due", [130, 10, 190, 30], 0.9],
        ["42.00", [10, 40, 60, 60], 0.8],
        ["EUR", [70, 40, 110, 60], null]
      ])
      expect(result.blocks.map((b) => b.text)).toEqual(["Total due", "42.00 EUR"])

      const again = yield* ocr.recognize({ bytes: png })
      expect(again.cached).toBe(true)
      expect(upstream.requests.length).toBe(before + 1)
    }).pipe(Effect.provide(layer())))

  it.effect("an answer that is not OCR JSON, or a provider failure, is a typed OcrError", () =>
    Effect.gen(function*() {
      const ocr = yield* Ocr
      behaviour = () => ({ kind: "ok", text: "I see a white rectangle." })
      const notJson = yield* Effect.flip(ocr.recognize({ bytes: whitePng(10, 11) }))
      expect(notJson).toMatchObject({ _tag: "OcrError", reason: "backend" })
      expect(notJson.message).toMatch(/^vision model fake\/eyes: the answer is not JSON/)

      behaviour = () => ({ kind: "ok", text: JSON.stringify({ lines: [{ text: "x", box: [1, 2] }] }) })
      const badShape = yield* Effect.flip(ocr.recognize({ bytes: whitePng(10, 12) }))
      expect(badShape.message).toMatch(/the answer is not OCR JSON/)
      expect(badShape.message).toMatch(/box/)

      behaviour = () => ({ kind: "status", status: 500, message: "model crashed" })
      const failed = yield* Effect.flip(ocr.recognize({ bytes: whitePng(10, 13) }))
      expect(failed).toMatchObject({ _tag: "OcrError", reason: "backend" })
      expect(failed.message).toMatch(/model crashed/)
    }).pipe(Effect.provide(layer())))
})
