/**
 * The eval gate: reading collections (located errors), thresholds, and
 * `trellis eval retrieval` end to end on a tiny collection (JSON shape,
 * exit 1 naming the metric below its threshold). The real collections are
 * found through TRELLIS_IR_DATA (default ../shared/data/ir from the repo
 * root); those tests are skipped, saying so, when the data is absent.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { loadCollection } from "../../src/retrieval/collection.js"
import { shortfalls, thresholdsFor } from "../../src/retrieval/eval.js"
import { layerMemoryFs } from "../support/memoryFs.js"

const root = Path.resolve(import.meta.dirname, "..", "..")
const irData = Path.resolve(root, process.env.TRELLIS_IR_DATA ?? "../shared/data/ir")
const hasData = Fs.existsSync(Path.join(irData, "cranfield", "corpus.jsonl"))

const tmpCollection = (files: Record<string, string>) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-ir-"))
  const sub = Path.join(dir, "tiny")
  Fs.mkdirSync(sub)
  for (const [name, text] of Object.entries(files)) Fs.writeFileSync(Path.join(sub, name), text)
  return sub
}

const tiny = {
  "corpus.jsonl": [
    { id: "1", title: "Wing slipstream", text: "The lift of a wing in a propeller slipstream." },
    { id: "2", title: "Slabs", text: "Heat conduction in composite slabs." },
    { id: "3", title: "Shells", text: "Buckling of cylindrical shells under compression." }
  ].map((d) => JSON.stringify(d)).join("\n") + "\n",
  "queries.jsonl": `{"id": "q1", "text": "wing lift in a slipstream"}\n{"id": "q2", "text": "buckling of shells"}\n`,
  "qrels.tsv": "query-id\tdoc-id\trelevance\nq1\t1\t2\nq2\t3\t1\n"
}

describe("collections", () => {
  // In memory: the collection is read through the FileSystem service.
  const memDir = Path.resolve(Os.tmpdir(), "ir-in-memory", "tiny")
  const memoryCollection = (files: Record<string, string>) =>
    layerMemoryFs(Object.fromEntries(Object.entries(files).map(([name, text]) => [Path.join(memDir, name), text])))

  it.effect("report bad lines with file:line", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(loadCollection(memDir)).pipe(
        Effect.provide(
          memoryCollection({ ...tiny, "corpus.jsonl": `{"id": "1", "text": "ok"}\n\n{"id": 2, "text": 5}\n` })
        )
      )
      expect(e.display).toBe(`${Path.join(memDir, "corpus.jsonl")}:3: document "2": "text" must be a string`)
      const q = yield* Effect.flip(loadCollection(memDir)).pipe(
        Effect.provide(memoryCollection({ ...tiny, "qrels.tsv": "query-id\tdoc-id\trelevance\nq1\t1\n" }))
      )
      expect(q.display).toBe(
        `${Path.join(memDir, "qrels.tsv")}:2: expected query-id, doc-id and a numeric relevance separated by tabs`
      )
      const missing = yield* Effect.flip(loadCollection(memDir)).pipe(
        Effect.provide(memoryCollection({ "corpus.jsonl": "" }))
      )
      expect(missing.display).toBe(`${Path.join(memDir, "queries.jsonl")}: no such file`)
      expect((yield* Effect.flip(loadCollection("/nonexistent/ir")).pipe(Effect.provide(NodeFileSystem.layer))).display)
        .toBe(
          "/nonexistent/ir: no such directory"
        )
    }))

  it.effect("use the one split holding queries and qrels", () =>
    Effect.gen(function*() {
      const c = yield* loadCollection(memDir).pipe(Effect.provide(memoryCollection({
        "corpus.jsonl": tiny["corpus.jsonl"],
        "train/queries.jsonl": tiny["queries.jsonl"],
        "train/qrels.tsv": tiny["qrels.tsv"]
      })))
      expect([c.name, c.documents.length, c.queries.length]).toEqual(["tiny", 3, 2])
    }))

  it("compare metrics with thresholds at 4 decimals", () => {
    const floors = thresholdsFor({ c: { "10": { hybrid: { recall: 0.5, mrr: 0.5, ndcg: 0.3 } } } }, "c", 10)!
    expect(shortfalls({ hybrid: { recall: 0.49996, mrr: 0.6, ndcg: 0.2 } }, floors)).toEqual([
      { mode: "hybrid", metric: "ndcg", value: 0.2, threshold: 0.3 }
    ])
    expect(thresholdsFor({ c: { "10": {} } }, "c", 10, false)).toBeUndefined()
  })

  it.effect.skipIf(!hasData)(
    `reads the real collections under ${irData} (skipped when absent; set TRELLIS_IR_DATA)`,
    () =>
      Effect.gen(function*() {
        const cranfield = yield* loadCollection(Path.join(irData, "cranfield")).pipe(
          Effect.provide(NodeFileSystem.layer)
        )
        expect([cranfield.name, cranfield.documents.length, cranfield.queries.length]).toEqual(["cranfield", 1400, 225])
        const scifact = yield* loadCollection(Path.join(irData, "scifact")).pipe(Effect.provide(NodeFileSystem.layer))
        expect([scifact.documents.length, scifact.queries.length]).toEqual([5183, 809])
      })
  )
})

describe("trellis eval retrieval", () => {
  it("prints the JSON object and exits 1 naming the metric below its threshold", async () => {
    const data = tmpCollection(tiny)
    const thresholds = Path.join(Path.dirname(data), "thresholds.json")
    Fs.writeFileSync(
      thresholds,
      JSON.stringify({ tiny: { "2": { hybrid: { recall: 0, mrr: 0, ndcg: 1.5, recall100: 0.5 } } } })
    )
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [
        Path.join(root, "bin", "trellis.mjs"),
        "eval",
        "retrieval",
        "--data",
        data,
        "--k",
        "2",
        "--json",
        "--thresholds",
        thresholds
      ], {
        cwd: root,
        env: { ...process.env, TRELLIS_EMBEDDINGS_URL: "" }
      }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }))
    })
    const json = JSON.parse(result.stdout) as Record<string, Record<string, number>>
    expect(Object.keys(json)).toEqual(["sparse", "dense", "hybrid", "bm25"])
    for (const m of Object.values(json)) expect(Object.keys(m)).toEqual(["recall", "mrr", "ndcg", "recall100"])
    expect(json.hybrid).toEqual({ recall: 1, mrr: 1, ndcg: 1, recall100: 1 })
    // The in-memory BM25 reference finds both relevant documents of this tiny collection first.
    expect(json.bm25).toEqual({ recall: 1, mrr: 1, ndcg: 1, recall100: 1 })
    // Ingestion progress (plain lines when piped) comes first; the verdict is the end of stderr.
    expect(result.stderr.endsWith(
      "below threshold: tiny hybrid ndcg@2 = 1.0000 < 1.5000\nerror: 1 metric below threshold on tiny\n"
    )).toBe(true)
    expect(result.code).toBe(1)
  })
})
