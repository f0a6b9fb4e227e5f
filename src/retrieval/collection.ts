/**
 * Reading a test collection in the layout of the IR data folder:
 * `corpus.jsonl` (`{"id", "title", "text"}` per line), `queries.jsonl`
 * (`{"id", "text"}`) and `qrels.tsv` (header, then `query-id doc-id
 * relevance`). When the folder has no `queries.jsonl`, the one subfolder
 * holding `queries.jsonl` and `qrels.tsv` (a split such as `train/`) is used,
 * or the split named by `split`. Every bad line is a `bad-input` error with
 * `file:line`.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"
import * as Path from "node:path"
import { RetrievalError } from "./errors.js"
import type { Qrels } from "./metrics.js"
import type { DocumentInput } from "./textNormalize.js"

/** A test collection: documents, queries and judgments. */
export interface Collection {
  /** The folder's name (`cranfield`), the key of its thresholds. */
  readonly name: string
  readonly documents: ReadonlyArray<DocumentInput>
  readonly queries: ReadonlyArray<{ readonly id: string; readonly text: string }>
  readonly qrels: Qrels
}

const bad = (message: string, location?: string) =>
  new RetrievalError({ reason: "bad-input", message, ...(location === undefined ? {} : { location }) })

/** Reads a text file through `FileSystem`; a missing file is "no such file". */
export const readText = (file: string): Effect.Effect<string, RetrievalError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file, "utf8")).pipe(
    Effect.mapError((e) =>
      new RetrievalError({
        reason: "data",
        message: e._tag === "SystemError" && e.reason === "NotFound" ? "no such file" : `cannot read (${e.message})`,
        location: file
      })
    )
  )

const idOf = (
  u: unknown
): string | undefined => (typeof u === "string" && u !== "" ? u : typeof u === "number" ? String(u) : undefined)

/** Parses JSON lines, each an object with its 1-based line number (`line`, not part of the object); blank lines are skipped. */
const parseJsonLines = (
  file: string,
  text: string
): Effect.Effect<ReadonlyArray<{ readonly line: number; readonly row: Record<string, unknown> }>, RetrievalError> =>
  Effect.suspend(() => {
    const out: Array<{ readonly line: number; readonly row: Record<string, unknown> }> = []
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === "") continue
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (e) {
        return Effect.fail(bad(`not JSON (${e instanceof Error ? e.message : String(e)})`, `${file}:${i + 1}`))
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return Effect.fail(bad("expected a JSON object", `${file}:${i + 1}`))
      }
      out.push({ line: i + 1, row: value as Record<string, unknown> })
    }
    return Effect.succeed(out)
  })

/** Documents from JSON lines: `id` (string or number) and `text` required, `title` and `metadata` optional. */
export const parseDocuments = (
  file: string,
  text: string
): Effect.Effect<ReadonlyArray<DocumentInput>, RetrievalError> =>
  Effect.flatMap(parseJsonLines(file, text), (rows) =>
    Effect.forEach(rows, ({ line, row }) => {
      const where = `${file}:${line}`
      const id = idOf(row.id ?? row._id)
      if (id === undefined) return Effect.fail(bad(`"id" must be a non-empty string or a number`, where))
      if (typeof row.text !== "string") return Effect.fail(bad(`document "${id}": "text" must be a string`, where))
      if (row.title !== undefined && row.title !== null && typeof row.title !== "string") {
        return Effect.fail(bad(`document "${id}": "title" must be a string`, where))
      }
      const meta = row.metadata
      if (meta !== undefined && (typeof meta !== "object" || meta === null || Array.isArray(meta))) {
        return Effect.fail(bad(`document "${id}": "metadata" must be an object`, where))
      }
      return Effect.succeed<DocumentInput>({
        id,
        text: row.text,
        ...(typeof row.title === "string" ? { title: row.title } : {}),
        ...(meta === undefined ? {} : { metadata: meta as Record<string, unknown> })
      })
    }))

/** Qrels from TSV with a header line: `query-id <tab> doc-id <tab> relevance`. */
const parseQrels = (file: string, text: string): Effect.Effect<Qrels, RetrievalError> =>
  Effect.suspend(() => {
    const qrels = new Map<string, Map<string, number>>()
    const lines = text.split("\n")
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === "") continue
      const cols = line.split("\t")
      const grade = Number(cols[2])
      if (cols.length < 3 || cols[0] === "" || cols[1] === "" || !Number.isFinite(grade)) {
        return Effect.fail(
          bad("expected query-id, doc-id and a numeric relevance separated by tabs", `${file}:${i + 1}`)
        )
      }
      let m = qrels.get(cols[0]!)
      if (m === undefined) qrels.set(cols[0]!, m = new Map())
      m.set(cols[1]!, grade)
    }
    return Effect.succeed(qrels)
  })

/** Loads a collection folder (see the module comment). */
export const loadCollection = (
  dir: string,
  split?: string
): Effect.Effect<Collection, RetrievalError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = (p: string) => Effect.orElseSucceed(fs.exists(p), () => false)
    const isDirectory = yield* fs.stat(dir).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.orElseSucceed(() => false)
    )
    if (!isDirectory) return yield* new RetrievalError({ reason: "data", message: "no such directory", location: dir })
    let qdir = dir
    if (split !== undefined) qdir = Path.join(dir, split)
    else if (!(yield* exists(Path.join(dir, "queries.jsonl")))) {
      const entries = yield* Effect.orElseSucceed(fs.readDirectory(dir), () => [])
      const splits = yield* Effect.filter(entries, (d) =>
        Effect.zipWith(
          exists(Path.join(dir, d, "queries.jsonl")),
          exists(Path.join(dir, d, "qrels.tsv")),
          (a, b) => a && b
        ))
      if (splits.length === 1) qdir = Path.join(dir, splits[0]!)
      else if (splits.length > 1) {
        return yield* new RetrievalError({
          reason: "data",
          message: `several splits (${splits.sort().join(", ")}): choose one with --split`,
          location: dir
        })
      }
    }
    const corpusFile = Path.join(dir, "corpus.jsonl")
    const queriesFile = Path.join(qdir, "queries.jsonl")
    const qrelsFile = Path.join(qdir, "qrels.tsv")
    const documents = yield* Effect.flatMap(readText(corpusFile), (t) => parseDocuments(corpusFile, t))
    const queryRows = yield* Effect.flatMap(readText(queriesFile), (t) => parseJsonLines(queriesFile, t))
    const queries = yield* Effect.forEach(queryRows, ({ line, row }) => {
      const id = idOf(row.id ?? row._id)
      return id === undefined || typeof row.text !== "string"
        ? Effect.fail(bad(`a query needs "id" and "text"`, `${queriesFile}:${line}`))
        : Effect.succeed({ id, text: row.text })
    })
    const qrels = yield* Effect.flatMap(readText(qrelsFile), (t) => parseQrels(qrelsFile, t))
    return { name: Path.basename(Path.resolve(dir)), documents, queries, qrels }
  })
