/**
 * Named models from a model hub (Hugging Face's layout; `TRELLIS_MODEL_HUB`,
 * default `https://huggingface.co`), downloaded once into
 * `TRELLIS_HOME/models/<owner>/<name>`. The hub's file listing
 * (`/api/models/<name>/tree/main?recursive=true`) gives each file's
 * checksum — sha256 for large (LFS) files, the git blob sha1 for the others
 * — and every downloaded file is verified against it before the directory
 * is moved into place (downloads go to `<dir>.partial` first, so a failed
 * download leaves nothing half-written behind). The sha256 of every file is
 * then recorded in `checksums.sha256`, which `readModelDir` verifies on
 * every load. Any failure is an error naming the directory to fill by hand.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Effect, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import * as Path from "node:path"
import { RetrievalError } from "../errors.js"
import { CHECKSUMS_FILE, MODEL_CONFIG_FILE } from "./modelDir.js"

/** A hub model name: `owner/name`. */
export const HUB_NAME = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/

const TreeEntry = Schema.Struct({
  type: Schema.String,
  path: Schema.String,
  oid: Schema.String,
  size: Schema.Number,
  lfs: Schema.optional(Schema.Struct({ oid: Schema.String }))
})
const Tree = Schema.Array(TreeEntry)

/** The files fetched: the model, the tokenizer, and the configuration files that say how to pool. */
const REQUIRED = ["tokenizer.json"]
const OPTIONAL = [
  "tokenizer_config.json",
  "modules.json",
  "1_Pooling/config.json",
  "sentence_bert_config.json",
  MODEL_CONFIG_FILE
]

/** Downloads `name` from `hub` into `dir` unless it is there; fails with a message naming `dir`. */
export const downloadModel = (
  name: string,
  dir: string,
  hub: string
): Effect.Effect<void, RetrievalError, FileSystem.FileSystem | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const base = hub.replace(/\/+$/, "")
    const fail = (why: string) =>
      new RetrievalError({
        reason: "embedder",
        message:
          `cannot download the model ${name} from ${base}: ${why}; without network, put model.onnx and tokenizer.json ` +
          `(and ${MODEL_CONFIG_FILE}) into the directory by hand`,
        location: dir
      })
    const listing = yield* client.execute(
      HttpClientRequest.get(`${base}/api/models/${name}/tree/main?recursive=true`).pipe(HttpClientRequest.acceptJson)
    ).pipe(
      Effect.flatMap((r) => r.json),
      Effect.flatMap(Schema.decodeUnknown(Tree)),
      Effect.mapError((e) => fail(`cannot list its files (${e.message})`)),
      Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => fail("the listing timed out") })
    )
    const files = new Map(listing.filter((e) => e.type === "file").map((e) => [e.path, e]))
    const model = files.get("onnx/model.onnx") ?? files.get("model.onnx")
    if (model === undefined) return yield* fail("it has no onnx/model.onnx or model.onnx")
    const missing = REQUIRED.filter((f) => !files.has(f))
    if (missing.length > 0) return yield* fail(`it has no ${missing.join(", ")}`)
    const wanted = [
      { from: model.path, to: "model.onnx", entry: model },
      ...[...REQUIRED, ...OPTIONAL].flatMap((f) => {
        const entry = files.get(f)
        return entry === undefined ? [] : [{ from: f, to: f, entry }]
      })
    ]
    const partial = `${dir}.partial`
    yield* fs.remove(partial, { recursive: true }).pipe(Effect.ignore)
    const sums: Array<string> = []
    for (const { entry, from, to } of wanted) {
      const target = Path.join(partial, to)
      yield* fs.makeDirectory(Path.dirname(target), { recursive: true }).pipe(
        Effect.mapError((e) => fail(`cannot create ${Path.dirname(target)} (${e.message})`))
      )
      const sha256 = createHash("sha256")
      const sha1 = createHash("sha1").update(`blob ${entry.size}\0`)
      yield* Effect.flatMap(client.execute(HttpClientRequest.get(`${base}/${name}/resolve/main/${from}`)), (r) =>
        r.stream.pipe(
          Stream.tap((chunk) =>
            Effect.sync(() => {
              sha256.update(chunk)
              sha1.update(chunk)
            })
          ),
          Stream.run(fs.sink(target))
        )).pipe(
          Effect.scoped,
          Effect.mapError((e) =>
            fail(`cannot fetch ${from} (${e.message})`)
          )
        )
      const got256 = sha256.digest("hex")
      const ok = entry.lfs !== undefined ? got256 === entry.lfs.oid : sha1.digest("hex") === entry.oid
      if (!ok) {
        yield* fs.remove(partial, { recursive: true }).pipe(Effect.ignore)
        return yield* fail(`${from} does not match the hub's checksum`)
      }
      sums.push(`${got256}  ${to}`)
    }
    yield* fs.writeFileString(Path.join(partial, CHECKSUMS_FILE), `${sums.join("\n")}\n`).pipe(
      Effect.mapError((e) => fail(e.message))
    )
    yield* fs.makeDirectory(Path.dirname(dir), { recursive: true }).pipe(Effect.mapError((e) => fail(e.message)))
    yield* fs.rename(partial, dir).pipe(
      Effect.mapError((e) => fail(`cannot move the download into place (${e.message})`))
    )
  }).pipe(Effect.withSpan("retrieval.model.download", { attributes: { "model.name": name } }))
