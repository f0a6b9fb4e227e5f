/**
 * A model directory: `model.onnx` (or `onnx/model.onnx`, the hub's
 * layout), `tokenizer.json` (+ `tokenizer_config.json` when present), and
 * `trellis-model.json` naming what the model is and how to use its output:
 *
 *     { "kind": "embedding", "pooling": "mean", "normalize": true, "maxLength": 256 }
 *     { "kind": "cross-encoder", "maxLength": 512 }
 *
 * Without `trellis-model.json` an embedding model's pooling and
 * normalization come from sentence-transformers' own files when present
 * (`1_Pooling/config.json`, `modules.json` with a `Normalize` module,
 * `sentence_bert_config.json`'s `max_seq_length`), else mean pooling,
 * normalized, 512 tokens.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import * as Path from "node:path"
import { RetrievalError } from "../errors.js"
import type { Pooling } from "./pooling.js"

/** The name of the configuration file in a model directory. */
export const MODEL_CONFIG_FILE = "trellis-model.json"

/** sha256 checksums of the files (`sha256sum` format), written by a download and verified on every load. */
export const CHECKSUMS_FILE = "checksums.sha256"

/** `trellis-model.json`. */
export const ModelConfigFile = Schema.Struct({
  kind: Schema.optional(Schema.Literal("embedding", "cross-encoder")),
  pooling: Schema.optional(Schema.Literal("mean", "cls")),
  normalize: Schema.optional(Schema.Boolean),
  maxLength: Schema.optional(Schema.Int.pipe(Schema.between(2, 8192))),
  /** The output holding the token states (embedding) or logits (cross-encoder); default: `last_hidden_state` / `logits`, else the first output. */
  output: Schema.optional(Schema.String)
})

/** A resolved model directory. */
export interface ModelDir {
  readonly dir: string
  readonly name: string
  readonly modelFile: string
  readonly tokenizerJson: unknown
  readonly tokenizerConfig: unknown
  readonly kind: "embedding" | "cross-encoder"
  readonly pooling: Pooling
  readonly normalize: boolean
  readonly maxLength: number
  readonly output: string | undefined
  /** sha256 over the model, tokenizer and configuration files (the first 12 hex digits name the version). */
  readonly fingerprint: string
}

const isFile = (file: string) =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) => fs.stat(file).pipe(Effect.map((s) => s.type === "File"), Effect.orElseSucceed(() => false))
  )

const readJson = (file: string): Effect.Effect<unknown, RetrievalError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file, "utf8")).pipe(
    Effect.mapError(() =>
      new RetrievalError({ reason: "bad-config", message: "cannot read the file", location: file })
    ),
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (cause) =>
          new RetrievalError({
            reason: "bad-config",
            message: `not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
            location: file
          })
      })
    )
  )

const readOptionalJson = (file: string): Effect.Effect<unknown, RetrievalError, FileSystem.FileSystem> =>
  Effect.flatMap(isFile(file), (found) => (found ? readJson(file) : Effect.succeed(undefined)))

/** sha256 of a file (hex), streamed. */
export const sha256File = (file: string): Effect.Effect<string, RetrievalError, FileSystem.FileSystem> =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) => Stream.runFold(fs.stream(file), createHash("sha256"), (hash, chunk) => hash.update(chunk))
  ).pipe(
    Effect.map((hash) => hash.digest("hex")),
    Effect.mapError(() => new RetrievalError({ reason: "bad-config", message: "cannot read the file", location: file }))
  )

const field = (u: unknown, key: string): unknown =>
  typeof u === "object" && u !== null && key in u ? (u as Record<string, unknown>)[key] : undefined

/** Reads and checks a model directory (`expect` is the kind the caller needs). */
export const readModelDir = (
  dir: string,
  expect: "embedding" | "cross-encoder"
): Effect.Effect<ModelDir, RetrievalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const root = Path.resolve(dir)
    const fs = yield* FileSystem.FileSystem
    const isDir = yield* fs.stat(root).pipe(
      Effect.map((s) => s.type === "Directory"),
      Effect.orElseSucceed(() => false)
    )
    if (!isDir) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: "no such model directory (it needs model.onnx and tokenizer.json)",
        location: root
      })
    }
    const candidates = [Path.join(root, "model.onnx"), Path.join(root, "onnx", "model.onnx")]
    let modelFile: string | undefined
    for (const c of candidates) if (modelFile === undefined && (yield* isFile(c))) modelFile = c
    const tokenizerFile = Path.join(root, "tokenizer.json")
    const missing = [
      ...(modelFile === undefined ? ["model.onnx"] : []),
      ...((yield* isFile(tokenizerFile)) ? [] : ["tokenizer.json"])
    ]
    if (modelFile === undefined || missing.length > 0) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the model directory has no ${missing.join(" and no ")}`,
        location: root
      })
    }
    const configFile = Path.join(root, MODEL_CONFIG_FILE)
    const rawConfig = yield* readOptionalJson(configFile)
    const config = rawConfig === undefined
      ? {}
      : yield* Either.match(Schema.decodeUnknownEither(ModelConfigFile, { onExcessProperty: "error" })(rawConfig), {
        onLeft: (e) =>
          Effect.fail(
            new RetrievalError({ reason: "bad-config", message: e.message.replace(/\n/g, " "), location: configFile })
          ),
        onRight: Effect.succeed
      })
    const kind = config.kind ?? "embedding"
    if (kind !== expect) {
      return yield* new RetrievalError({
        reason: "bad-config",
        message: `the model is a${kind === "embedding" ? "n embedding model" : " cross-encoder"}, not a${
          expect === "embedding" ? "n embedding model" : " cross-encoder"
        }`,
        location: configFile
      })
    }
    const stPooling = yield* readOptionalJson(Path.join(root, "1_Pooling", "config.json"))
    const stModules = yield* readOptionalJson(Path.join(root, "modules.json"))
    const stBert = yield* readOptionalJson(Path.join(root, "sentence_bert_config.json"))
    const pooling: Pooling = config.pooling ??
      (field(stPooling, "pooling_mode_cls_token") === true ? "cls" : "mean")
    const normalize = config.normalize ??
      (Array.isArray(stModules)
        ? stModules.some((m) => String(field(m, "type")).endsWith("Normalize"))
        : true)
    const stMax = field(stBert, "max_seq_length")
    const maxLength = config.maxLength ?? (typeof stMax === "number" && stMax >= 2 ? stMax : 512)
    const tokenizerJson = yield* readJson(tokenizerFile)
    const tokenizerConfig = (yield* readOptionalJson(Path.join(root, "tokenizer_config.json"))) ?? {}
    const sums = new Map<string, string>()
    const sumOf = (file: string) =>
      sums.has(file)
        ? Effect.succeed(sums.get(file)!)
        : Effect.tap(sha256File(file), (h) => Effect.sync(() => sums.set(file, h)))
    const checksumsFile = Path.join(root, CHECKSUMS_FILE)
    if (yield* isFile(checksumsFile)) {
      const text = yield* fs.readFileString(checksumsFile, "utf8").pipe(
        Effect.mapError(() =>
          new RetrievalError({ reason: "bad-config", message: "cannot read the file", location: checksumsFile })
        )
      )
      for (const [i, line] of text.split("\n").entries()) {
        if (line.trim() === "") continue
        const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim())
        if (m === null) {
          return yield* new RetrievalError({
            reason: "bad-config",
            message: "not a sha256sum line",
            location: `${checksumsFile}:${i + 1}`
          })
        }
        const file = Path.join(root, m[2]!)
        const actual = (yield* isFile(file)) ? yield* sumOf(file) : "missing"
        if (actual !== m[1]) {
          return yield* new RetrievalError({
            reason: "bad-config",
            message: `${m[2]} ${
              actual === "missing" ? "is missing" : "does not match its sha256"
            } (changed since it was downloaded: delete the directory to download it again)`,
            location: root
          })
        }
      }
    }
    const hash = createHash("sha256")
    hash.update(yield* sumOf(modelFile))
    hash.update(yield* sumOf(tokenizerFile))
    hash.update(JSON.stringify({ kind, pooling, normalize, maxLength, output: config.output ?? null }))
    return {
      dir: root,
      name: Path.basename(root),
      modelFile,
      tokenizerJson,
      tokenizerConfig,
      kind,
      pooling,
      normalize,
      maxLength,
      output: config.output,
      fingerprint: hash.digest("hex")
    }
  })
