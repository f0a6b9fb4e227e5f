/**
 * A quick CPU-per-run probe of the server (not part of `npm run bench`):
 * PGlite (or PostgreSQL with TRELLIS_BENCH_DATABASE_URL), warm-up, then
 * `SP_RUNS` runs at concurrency `SP_C`; prints CPU ms per run of this
 * process (main thread + PGlite thread) and of the main thread alone.
 * With SP_PROFILE=<file> writes a .cpuprofile of the measured load;
 * SP_CLIENT=process runs the load generator in a process of its own
 * (default: inline, in this process); SP_PREPARE=0 turns PGlite's prepared
 * statements off.
 */
import * as fs from "node:fs"
import * as Inspector from "node:inspector"
import * as os from "node:os"
import { join } from "node:path"
import { clientProcess, load, startServer } from "./serverLoad.js"

const runs = Number(process.env.SP_RUNS ?? 1000)
const c = Number(process.env.SP_C ?? 32)
const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-sp-"))
const pg = process.env.TRELLIS_BENCH_DATABASE_URL
const server = await startServer(
  pg === undefined ? { kind: "pglite", dir, prepare: process.env.SP_PREPARE !== "0" } : { kind: "postgres", url: pg }
)
const client = process.env.SP_CLIENT === "process" ? clientProcess() : undefined
await load(server.url, 8, 200, 60_000, server.commits, client)
server.marks.clear()
const session = new Inspector.Session()
const out = process.env.SP_PROFILE
if (out !== undefined) {
  session.connect()
  await new Promise((r) => session.post("Profiler.enable", r))
  await new Promise((r) => session.post("Profiler.start", r))
}
const t0 = process.cpuUsage()
const r = await load(server.url, c, runs, 600_000, server.commits, client)
const t1 = process.cpuUsage(t0)
if (out !== undefined) {
  await new Promise<void>((res) =>
    session.post("Profiler.stop", (_e, p) => {
      fs.writeFileSync(out, JSON.stringify(p.profile))
      res()
    })
  )
}
console.log(JSON.stringify({
  ...r.row,
  cpuMsPerRunTotal: (t1.user + t1.system) / 1000 / r.runs.length,
  load: os.loadavg()[0]
}))
client?.close()
await server.close()
fs.rmSync(dir, { recursive: true, force: true })
process.exit(0)
