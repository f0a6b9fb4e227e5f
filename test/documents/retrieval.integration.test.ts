/**
 * Documents into retrieval, on embedded PGlite: a PDF read by `doc.pdf`
 * (here fetched over HTTP through the SSRF guard) is ingested with
 * `retrieval.ingest`, and a search hit cites the page and the box its text
 * came from.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import type { Evidence } from "../../src/documents/model.js"
import { docPdf } from "../../src/documents/tool.js"
import { layerLocal } from "../../src/retrieval/embedderLocal.js"
import { layerLexical } from "../../src/retrieval/rerank.js"
import { DEFAULT_SETTINGS, layer as retrievalLayer, Retrieval } from "../../src/retrieval/service.js"
import { makeTools } from "../../src/retrieval/tools.js"
import { layerPglite, MEMORY } from "../../src/store/sql.js"
import { HttpAllowlist } from "../../src/tools/builtin/httpGuard.js"
import { invoke } from "../../src/tools/tool.js"
import { headerFooterPdf, tablePdf } from "../support/documents.js"

const settings = { ...DEFAULT_SETTINGS, chunking: { kind: "sentence" as const, size: 70, overlap: 0 } }
const TestLayer = Layer.provideMerge(
  retrievalLayer(settings).pipe(Layer.provide(Layer.merge(layerLocal(), layerLexical()))),
  Layer.provideMerge(layerLocal(), layerPglite(MEMORY))
)

let server: Server
let base = ""
const files = new Map<string, Uint8Array>()

beforeAll(async () => {
  files.set("/report.pdf", (await headerFooterPdf()).bytes)
  files.set("/table.pdf", (await tablePdf()).bytes)
  server = createServer((req, res) => {
    const body = files.get(req.url ?? "")
    if (body === undefined) {
      res.writeHead(404).end("no")
      return
    }
    res.writeHead(200, { "content-type": "application/pdf", "content-length": String(body.length) }).end(
      Buffer.from(body)
    )
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const fetchPdf = (path: string, allow: ReadonlyArray<string> = ["127.0.0.1"]) =>
  invoke(docPdf, { url: `${base}${path}` }).pipe(Effect.provideService(HttpAllowlist, allow))

describe("documents into retrieval", () => {
  layer(TestLayer, { timeout: "60 seconds" })((it) => {
    it.effect("a URL is fetched through the guard: loopback is refused unless allowlisted", () =>
      Effect.gen(function*() {
        const refused = yield* Effect.flip(fetchPdf("/report.pdf", []))
        expect(refused._tag).toBe("Permanent")
        expect(refused.message).toMatch(/127\.0\.0\.1/)
        const missing = yield* Effect.flip(fetchPdf("/nope.pdf"))
        expect(missing._tag).toBe("Permanent")
        const e = (yield* fetchPdf("/report.pdf")) as Evidence
        expect(e.pageCount).toBe(3)
        expect(e.source).toBe(`${base}/report.pdf`)
      }))

    it.effect("a search hit cites the page and box of the text it found", () =>
      Effect.gen(function*() {
        const [ingestTool, searchTool] = makeTools(yield* Retrieval)
        const report = (yield* fetchPdf("/report.pdf")) as Evidence
        const table = (yield* fetchPdf("/table.pdf")) as Evidence
        const ingested = yield* invoke(ingestTool, { documents: [report.document, table.document], sparseOnly: true })
        expect(ingested).toMatchObject({ documents: 2, added: 2 })
        const hits = (yield* invoke(searchTool, { query: "topic number 3", mode: "sparse", k: 1 })) as ReadonlyArray<{
          documentId: string
          regions?: ReadonlyArray<{ page: number; box: ReadonlyArray<number> }>
        }>
        expect(hits[0]!.documentId).toBe(report.id)
        const page3 = report.pages[2]!.blocks.find((b) => b.kind === "paragraph")!
        expect(hits[0]!.regions).toEqual([{ page: 3, box: page3.box }])
        const south = (yield* invoke(searchTool, { query: "South", mode: "sparse", k: 1 })) as typeof hits
        expect(south[0]!.documentId).toBe(table.id)
        expect(south[0]!.regions!.map((r) => r.page)).toContain(1)
        expect(south[0]!.regions!.some((r) => r.box.join() === table.tables[0]!.box.join())).toBe(true)
      }))
  })
})
