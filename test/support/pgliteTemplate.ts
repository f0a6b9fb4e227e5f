/**
 * Vitest global setup: one pristine PGlite data directory (PGlite's `dumpDataDir`, a tar file) per PGlite version,
 * under test-results/, named in `TRELLIS_PGLITE_TEMPLATE` for every test and every process the tests start. Each new
 * PGlite store of the suite (dozens: every CLI test directory, every docs block, every in-memory store) then starts
 * from this copy instead of running `initdb`, which costs seconds of CPU each time. A `TRELLIS_PGLITE_TEMPLATE`
 * already set is kept.
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.join(import.meta.dirname, "..", "..")

export default async function setup(): Promise<void> {
  if ((process.env.TRELLIS_PGLITE_TEMPLATE ?? "") !== "") return
  const manifest = path.join(root, "node_modules", "@electric-sql", "pglite", "package.json")
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }
  const file = path.join(root, "test-results", `pglite-template-${version}.tar`)
  if (!fs.existsSync(file)) {
    const db = await PGlite.create(undefined, { extensions: { vector } })
    const dump = new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer())
    await db.close()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    // Written whole, then renamed: a concurrent run sees no file or a complete one.
    const tmp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, dump)
    fs.renameSync(tmp, file)
  }
  process.env.TRELLIS_PGLITE_TEMPLATE = file
}
