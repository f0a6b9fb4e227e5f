/**
 * The ONNX embedder on a tiny BERT-shaped model the test writes itself
 * (`test/support/onnxModel.ts`): tokenization through `tokenizer.json`,
 * mean and CLS pooling, normalization and batching (a padded batch of mixed
 * lengths equals one text at a time) against a reference forward pass in
 * plain JS over the same weights, to 1e-5; and the typed errors for a
 * missing package, a missing or incomplete model directory, a bad
 * configuration and a changed file.
 */
import { NodeFileSystem } from "@effect/platform-node"
import type * as FileSystem from "@effect/platform/FileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { makeOnnx } from "../../src/retrieval/embedderOnnx.js"
import { parseEmbedderSpec } from "../../src/retrieval/embedderSelect.js"
import type { RetrievalError } from "../../src/retrieval/errors.js"
import { truncate } from "../../src/retrieval/models/onnxModel.js"
import { loadOptional } from "../../src/retrieval/models/optional.js"
import { referenceEmbedding, tinyWeights, writeModelDir } from "../support/onnxModel.js"

const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-onnx-"))
const weights = tinyWeights(8, 11)
const meanDir = writeModelDir(Path.join(tmp, "mean"), weights, { pooling: "mean", normalize: true })
const clsDir = writeModelDir(Path.join(tmp, "cls"), weights, { pooling: "cls", normalize: false })

const TEXTS = [
  "Supersonic flow",
  "The boundary layer of a wing in supersonic flow is heated by the shock wave",
  "lift",
  "Jets of air on a flat plate",
  "drag of the wings",
  "heat",
  "The shock waves in the jet flow of a supersonic wing, the lift and the drag of the plate"
]

const closeTo = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>) => {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-5)
}

const run = <A, E>(e: Effect.Effect<A, E, FileSystem.FileSystem>) => e.pipe(Effect.provide(NodeFileSystem.layer))

const failure = <A>(e: Effect.Effect<A, RetrievalError, FileSystem.FileSystem>) => run(Effect.flip(e))

describe("the ONNX embedder", () => {
  it.effect("mean pooling over the attention mask, normalized, matches the reference to 1e-5", () =>
    Effect.gen(function*() {
      const embedder = yield* run(makeOnnx({ dir: meanDir, batchSize: 32, threads: 1 }))
      expect(embedder.dimension).toBe(8)
      expect(embedder.name).toBe("onnx/mean")
      expect(embedder.version).toMatch(/^[0-9a-f]{12}-mean-norm-d8$/)
      const vectors = yield* embedder.embed(TEXTS)
      TEXTS.forEach((t, i) => {
        closeTo(vectors[i]!, referenceEmbedding(weights, t, "mean", true))
        expect(Math.abs(Math.hypot(...vectors[i]!) - 1)).toBeLessThan(1e-6)
      })
    }))

  it.effect("a batch of mixed lengths (padded per batch) equals one text at a time", () =>
    Effect.gen(function*() {
      const batched = yield* run(makeOnnx({ dir: meanDir, batchSize: 3, threads: 1 }))
      const single = yield* run(makeOnnx({ dir: meanDir, batchSize: 1, threads: 1 }))
      const all = yield* batched.embed(TEXTS)
      for (let i = 0; i < TEXTS.length; i++) {
        const [one] = yield* single.embed([TEXTS[i]!])
        closeTo(all[i]!, one!)
      }
      // The order of the answers is the order of the texts, whatever the length sort did.
      closeTo(all[2]!, referenceEmbedding(weights, "lift", "mean", true))
    }))

  it.effect("CLS pooling without normalization, from trellis-model.json", () =>
    Effect.gen(function*() {
      const embedder = yield* run(makeOnnx({ dir: clsDir, batchSize: 4, threads: 1 }))
      expect(embedder.version).toMatch(/-cls-d8$/)
      const vectors = yield* embedder.embed(TEXTS)
      TEXTS.forEach((t, i) => closeTo(vectors[i]!, referenceEmbedding(weights, t, "cls", false)))
      expect(Math.abs(Math.hypot(...vectors[1]!) - 1)).toBeGreaterThan(1e-3)
    }))

  it.effect("sentence-transformers files choose pooling and normalization when there is no trellis-model.json", () =>
    Effect.gen(function*() {
      const dir = writeModelDir(Path.join(tmp, "st"), weights, {})
      Fs.rmSync(Path.join(dir, "trellis-model.json"))
      Fs.mkdirSync(Path.join(dir, "1_Pooling"))
      Fs.writeFileSync(Path.join(dir, "1_Pooling", "config.json"), JSON.stringify({ pooling_mode_cls_token: true }))
      Fs.writeFileSync(
        Path.join(dir, "modules.json"),
        JSON.stringify([{ type: "sentence_transformers.models.Transformer" }])
      )
      const embedder = yield* run(makeOnnx({ dir, threads: 1 }))
      const [v] = yield* embedder.embed(["the lift of a wing"])
      closeTo(v!, referenceEmbedding(weights, "the lift of a wing", "cls", false))
    }))

  it("truncation keeps the closing token and cuts the end of the (second) text", () => {
    expect(truncate({ ids: [2, 10, 11, 12, 13, 3], typeIds: [0, 0, 0, 0, 0, 0] }, 4)).toEqual({
      ids: [2, 10, 11, 3],
      typeIds: [0, 0, 0, 0]
    })
    expect(truncate({ ids: [2, 10, 3, 20, 21, 22, 3], typeIds: [0, 0, 0, 1, 1, 1, 1] }, 5)).toEqual({
      ids: [2, 10, 3, 20, 3],
      typeIds: [0, 0, 0, 1, 1]
    })
    expect(truncate({ ids: [2, 10, 3], typeIds: [0, 0, 0] }, 8).ids).toEqual([2, 10, 3])
  })

  it.effect("a long text is cut to maxLength tokens", () =>
    Effect.gen(function*() {
      const dir = writeModelDir(Path.join(tmp, "short"), weights, { maxLength: 4 })
      const embedder = yield* run(makeOnnx({ dir, threads: 1 }))
      const [long] = yield* embedder.embed(["wing lift flow air boundary"])
      // [CLS] wing lift [SEP]
      closeTo(long!, referenceEmbedding(weights, "wing lift", "mean", true))
    }))
})

describe("ONNX embedder errors", () => {
  it.effect("a missing optional package names what to install", () =>
    Effect.gen(function*() {
      const name = "trellis-test-no-such-package"
      const e = yield* Effect.flip(
        loadOptional({ name, version: "1.2.3", load: () => import(/* @vite-ignore */ name) }, "the test feature")
      )
      expect(e.reason).toBe("missing-package")
      expect(e.message).toBe(
        `the test feature needs the optional package ${name}, which is not installed: run npm install --save-exact ${name}@1.2.3`
      )
    }))

  it.effect("no such directory, or one without tokenizer.json / model.onnx", () =>
    Effect.gen(function*() {
      const none = yield* failure(makeOnnx({ dir: Path.join(tmp, "nope") }))
      expect([none.reason, none.location, none.message]).toEqual([
        "bad-config",
        Path.join(tmp, "nope"),
        "no such model directory (it needs model.onnx and tokenizer.json)"
      ])
      const dir = Path.join(tmp, "empty")
      Fs.mkdirSync(dir)
      Fs.writeFileSync(Path.join(dir, "model.onnx"), "")
      const partial = yield* failure(makeOnnx({ dir }))
      expect(partial.display).toBe(`${dir}: the model directory has no tokenizer.json`)
      Fs.rmSync(Path.join(dir, "model.onnx"))
      expect((yield* failure(makeOnnx({ dir }))).message).toBe(
        "the model directory has no model.onnx and no tokenizer.json"
      )
    }))

  it.effect("a bad trellis-model.json, a cross-encoder used as an embedder, a file that is not ONNX", () =>
    Effect.gen(function*() {
      const dir = writeModelDir(Path.join(tmp, "bad"), weights, {})
      Fs.writeFileSync(Path.join(dir, "trellis-model.json"), JSON.stringify({ pooling: "max" }))
      const bad = yield* failure(makeOnnx({ dir }))
      expect(bad.location).toBe(Path.join(dir, "trellis-model.json"))
      expect(bad.message).toContain("pooling")
      Fs.writeFileSync(Path.join(dir, "trellis-model.json"), "{ nope")
      expect((yield* failure(makeOnnx({ dir }))).message).toMatch(/^not valid JSON/)
      Fs.writeFileSync(Path.join(dir, "trellis-model.json"), JSON.stringify({ kind: "cross-encoder" }))
      expect((yield* failure(makeOnnx({ dir }))).message).toBe("the model is a cross-encoder, not an embedding model")
      Fs.writeFileSync(Path.join(dir, "trellis-model.json"), "{}")
      Fs.writeFileSync(Path.join(dir, "model.onnx"), "not a model")
      const notOnnx = yield* failure(makeOnnx({ dir }))
      expect([notOnnx.reason, notOnnx.location]).toEqual(["bad-config", Path.join(dir, "model.onnx")])
      expect(notOnnx.message).toMatch(/^not a usable ONNX model/)
    }))

  it.effect("a file changed since its checksum was recorded is refused", () =>
    Effect.gen(function*() {
      const dir = writeModelDir(Path.join(tmp, "sums"), weights, {})
      Fs.writeFileSync(Path.join(dir, "checksums.sha256"), `${"0".repeat(64)}  tokenizer.json\n`)
      const e = yield* failure(makeOnnx({ dir }))
      expect(e.display).toBe(
        `${dir}: tokenizer.json does not match its sha256 (changed since it was downloaded: delete the directory to download it again)`
      )
    }))

  it("TRELLIS_EMBEDDER values", () => {
    expect(parseEmbedderSpec("hashing")).toEqual(Either.right({ kind: "hashing" }))
    expect(parseEmbedderSpec("hashing:256")).toEqual(Either.right({ kind: "hashing", dimension: 256 }))
    expect(parseEmbedderSpec("use")).toEqual(Either.right({ kind: "use" }))
    expect(parseEmbedderSpec("onnx:./models/mini")).toEqual(Either.right({ kind: "onnx", model: "./models/mini" }))
    expect(parseEmbedderSpec("openai")).toEqual(Either.right({ kind: "openai" }))
    const bad = Either.getLeft(parseEmbedderSpec("bert"))
    expect(bad._tag === "Some" && bad.value.display).toBe(
      "TRELLIS_EMBEDDER: unknown embedder \"bert\"; expected hashing, hashing:<dimension>, use, onnx:<model directory or owner/name>, or openai"
    )
    expect(Either.isLeft(parseEmbedderSpec("hashing:0"))).toBe(true)
    expect(Either.isLeft(parseEmbedderSpec("onnx:"))).toBe(true)
  })
})
