/**
 * The vision backend: an OpenAI-compatible vision model, reached through the LLM layer's gateway (so the
 * provider config, keys, retries, rate limits, fallbacks and cost apply as to any chat request). The image goes as
 * a `data:` URL in an `image_url` content part of a chat-completions request with `response_format:
 * json_object`; the model answers `{"lines":[{"text","box":[x0,y0,x1,y1],"confidence"?,"block"?,"words"?:
 * [{"text","box","confidence"?}]}]}` with boxes in pixels. A line without words is split at spaces, each word's
 * box a share of the line's box by its length (marked by a null confidence unless the line has one). An answer
 * that does not have this shape is an `OcrError` quoting what was wrong.
 */
import { Effect, Either, Layer, ParseResult, Schema } from "effect"
import type { ConfigError } from "effect"
import { LlmGateway } from "../../llm/router.js"
import { workspaceNow } from "../../runtime/policy/idempotency.js"
import type { OcrBackend, RawBlock, RawLine, RawWord } from "./backend.js"
import { OcrError } from "./errors.js"
import type { OcrImage } from "./image.js"
import type { Box } from "./result.js"
import { layer } from "./service.js"
import type { Ocr } from "./service.js"
import { tesseractBackend } from "./tesseract.js"

/** Options of the vision backend. */
export interface VisionOptions {
  /** The model, `provider/model` as the LLM config names it. */
  readonly model: string
  /** The backend's name in requests. @default "vision" */
  readonly name?: string
  /** Extra instructions appended to the prompt (they enter the cache key). @default none */
  readonly instructions?: string
}

/** The instructions every request carries. */
export const VISION_PROMPT =
  "You are an OCR engine. Transcribe every line of text in the image exactly as written, in reading order. " +
  "Answer with JSON only: {\"lines\":[{\"text\":string,\"box\":[x0,y0,x1,y1],\"confidence\":number between 0 and 1," +
  "\"block\":integer,\"words\":[{\"text\":string,\"box\":[x0,y0,x1,y1]}]}]}. Boxes are in pixels of the image, " +
  "origin at the top left. \"block\" numbers the paragraph or column a line belongs to; \"words\" and " +
  "\"confidence\" are optional."

const Coordinate = Schema.Number.pipe(Schema.finite())
const VisionBox = Schema.Tuple(Coordinate, Coordinate, Coordinate, Coordinate)
const Unit = Schema.Number.pipe(Schema.between(0, 1))

/** The answer a vision model must give. */
export const VisionAnswer = Schema.Struct({
  lines: Schema.Array(Schema.Struct({
    text: Schema.String,
    box: VisionBox,
    confidence: Schema.optional(Schema.NullOr(Unit)),
    block: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
    words: Schema.optional(Schema.Array(Schema.Struct({
      text: Schema.String,
      box: VisionBox,
      confidence: Schema.optional(Schema.NullOr(Unit))
    })))
  }))
})

const decodeAnswer = Schema.decodeUnknownEither(VisionAnswer, { errors: "all" })

const clip = (box: Box, width: number, height: number): Box => {
  const x0 = Math.max(0, Math.min(width, Math.min(box[0], box[2])))
  const x1 = Math.max(0, Math.min(width, Math.max(box[0], box[2])))
  const y0 = Math.max(0, Math.min(height, Math.min(box[1], box[3])))
  const y1 = Math.max(0, Math.min(height, Math.max(box[1], box[3])))
  return [x0, y0, x1, y1]
}

const round = (n: number): number => Math.round(n * 100) / 100

/** Splits a line into words, each with a share of the line's box proportional to its length (spaces included). */
export const splitLine = (text: string, box: Box, confidence: number | null): ReadonlyArray<RawWord> => {
  const chars = [...text]
  if (chars.length === 0) return []
  const step = (box[2] - box[0]) / chars.length
  const words: Array<RawWord> = []
  let at = 0
  for (const part of text.split(/(\s+)/)) {
    const n = [...part].length
    if (part.trim() !== "") {
      const x0 = box[0] + at * step
      words.push({ text: part, confidence, box: [round(x0), box[1], round(x0 + n * step), box[3]] })
    }
    at += n
  }
  return words
}

/** Turns a decoded answer into blocks (lines grouped by `block`, in order of first appearance). */
export const toBlocks = (answer: typeof VisionAnswer.Type, width: number, height: number): ReadonlyArray<RawBlock> => {
  const blocks = new Map<number, Array<RawLine>>()
  for (const line of answer.lines) {
    if (line.text.trim() === "") continue
    const confidence = line.confidence ?? null
    const words = line.words !== undefined && line.words.length > 0
      ? line.words.filter((w) => w.text.trim() !== "").map((w) => ({
        text: w.text.trim(),
        confidence: w.confidence ?? confidence,
        box: clip(w.box, width, height)
      }))
      : splitLine(line.text.trim(), clip(line.box, width, height), confidence)
    if (words.length === 0) continue
    const key = line.block ?? 0
    const list = blocks.get(key) ?? []
    list.push({ words, confidence })
    blocks.set(key, list)
  }
  return [...blocks.values()].map((lines) => ({ lines }))
}

const backendError = (model: string, message: string) =>
  new OcrError({ reason: "backend", message: `vision model ${model}: ${message}` })

/** A vision backend over the `LlmGateway` in context. */
export const visionBackend = (options: VisionOptions): Effect.Effect<OcrBackend, never, LlmGateway> =>
  Effect.map(LlmGateway, (gateway): OcrBackend => ({
    name: options.name ?? "vision",
    version: Effect.succeed(`vision ${options.model}`),
    settings: (opts) =>
      Effect.succeed({
        model: options.model,
        lang: opts.lang ?? "eng",
        ...(options.instructions === undefined ? {} : { instructions: options.instructions })
      }),
    recognize: (image: OcrImage, settings) =>
      Effect.gen(function*() {
        const workspace = yield* workspaceNow
        const data = `data:image/${image.format};base64,${Buffer.from(image.bytes).toString("base64")}`
        const prompt = `The image is ${image.width} × ${image.height} pixels. Its language is probably "${
          String(settings.lang)
        }".${options.instructions === undefined ? "" : ` ${options.instructions}`}`
        const result = yield* gateway.complete(options.model, {
          model: options.model,
          temperature: 0,
          response_format: { type: "json_object" },
          messages: [
            { role: "system", content: VISION_PROMPT },
            {
              role: "user",
              content: [{ type: "text", text: prompt }, { type: "image_url", image_url: { url: data } }]
            }
          ]
        }, { workspace, needs: ["json"] }).pipe(Effect.mapError((e) => backendError(options.model, e.message)))
        const content = result.completion.choices[0]?.message.content
        if (typeof content !== "string" || content.trim() === "") {
          return yield* backendError(options.model, "the answer has no text")
        }
        let json: unknown
        try {
          json = JSON.parse(content.trim().replace(/^```(?:json)?\s*|\s*```$/g, ""))
        } catch {
          return yield* backendError(options.model, `the answer is not JSON: ${content.slice(0, 120)}`)
        }
        const answer = decodeAnswer(json)
        if (Either.isLeft(answer)) {
          return yield* backendError(
            options.model,
            `the answer is not OCR JSON: ${ParseResult.TreeFormatter.formatErrorSync(answer.left)}`
          )
        }
        return toBlocks(answer.right, image.width, image.height)
      })
  }))

/**
 * The `Ocr` service with the vision backend as the default and Tesseract by name (`backend: "tesseract"`), over
 * the `LlmGateway` in context (e.g. `Llm.Router.layer(configFile)`).
 */
export const layerVision = (options: VisionOptions): Layer.Layer<Ocr, ConfigError.ConfigError, LlmGateway> =>
  Layer.unwrapEffect(Effect.map(visionBackend(options), (vision) => layer([vision, tesseractBackend])))
