/**
 * The PGlite worker thread (plain JS, so it runs under tsx, vitest and
 * plain node alike): opens the database given in `workerData.dataDir` with
 * pgvector, then executes wire-protocol messages posted by the main thread
 * (`pgliteThread.ts`), one at a time, replying with the backend messages as
 * plain objects. PGlite executes synchronously in WASM; here that work no
 * longer blocks the main thread's event loop. An in-memory database starts
 * from `workerData.template` (a pristine data directory, see `sql.ts`) when
 * given; with `workerData.dump` it sends its own pristine directory back
 * with "ready". A new database (no `PG_VERSION` yet) starts from the file
 * `workerData.templateFile` when given (`TRELLIS_PGLITE_TEMPLATE`).
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parentPort, workerData } from "node:worker_threads"

/** A backend message as a plain, cloneable object (errors keep message, code, detail…). */
const plain = (msg) => {
  const out = { ...msg }
  if (msg instanceof Error) {
    out.message = msg.message
    out.name = msg.name
  }
  return out
}

let chain = Promise.resolve()
const port = parentPort
const { dataDir, dump, templateFile } = workerData
const template = workerData.template ??
  (templateFile !== undefined && (dataDir === undefined || !existsSync(join(dataDir, "PG_VERSION")))
    ? readFileSync(templateFile)
    : undefined)

PGlite.create(dataDir, {
  extensions: { vector },
  ...(template === undefined ? {} : { loadDataDir: new Blob([template]) })
}).then(
  async (db) => {
    const pristine = dump ? new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer()) : undefined
    port.on("message", (req) => {
      if (req.type === "close") {
        chain = chain.then(() => db.close()).then(
          () => port.postMessage({ type: "closed" }),
          () => port.postMessage({ type: "closed" })
        )
        return
      }
      chain = chain.then(async () => {
        try {
          const results = await db.execProtocolStream(req.bytes, { throwOnError: false })
          port.postMessage({ type: "result", id: req.id, results: results.map(plain) })
        } catch (e) {
          port.postMessage({ type: "failure", id: req.id, message: e instanceof Error ? e.message : String(e) })
        }
      })
    })
    if (pristine === undefined) port.postMessage({ type: "ready" })
    else port.postMessage({ type: "ready", pristine }, [pristine.buffer])
  },
  (e) => port.postMessage({ type: "open-failed", message: e instanceof Error ? e.message : String(e) })
)
