/**
 * A side-by-side probe of PGlite's prepared statements (not part of
 * `npm run bench`): two servers in this process on PGlite, one with
 * prepared statements off and one with them on, each warmed up with 200
 * runs, then measured alternately (`AB_ROUNDS` rounds of `AB_RUNS` runs at
 * concurrency `AB_C`) with the load generator in its own process, so both
 * see the same machine load. Prints each level's row and the medians.
 *   node --import tsx scripts/bench/serverAb.ts      (AB_C=32 AB_RUNS=1500 AB_ROUNDS=2)
 */
import * as fs from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { clientProcess, load, pct, startServer } from "./serverLoad.js"

const c = Number(process.env.AB_C ?? 32)
const runs = Number(process.env.AB_RUNS ?? 1500)
const rounds = Number(process.env.AB_ROUNDS ?? 2)
const client = clientProcess()
const dirs: Array<string> = []
const serverWith = async (prepare: boolean) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-ab-"))
  dirs.push(dir)
  const s = await startServer({ kind: "pglite", dir, prepare })
  await load(s.url, 8, 200, 60_000, s.commits, client)
  return s
}
const servers = { off: await serverWith(false), on: await serverWith(true) }
const rows: Record<"off" | "on", Array<{ rps: number; p50: number; cpu: number }>> = { off: [], on: [] }
for (let r = 0; r < rounds; r++) {
  for (const k of ["off", "on"] as const) {
    const s = servers[k]
    const x = await load(s.url, c, runs, 120_000, s.commits, client)
    rows[k].push({ rps: x.row.runsPerSecond, p50: x.row.p50Ms, cpu: x.row.cpuMsPerRun })
    console.log(`prepared ${k.padEnd(3)} ${JSON.stringify(x.row)} load ${os.loadavg()[0]?.toFixed(2)}`)
  }
}
for (const k of ["off", "on"] as const) {
  const med = (f: (r: { rps: number; p50: number; cpu: number }) => number) => pct(rows[k].map(f), 50)
  console.log(
    `prepared ${k}: c=${c} median ${med((r) => r.rps)} runs/s, p50 ${med((r) => r.p50)} ms, ${
      med((r) => r.cpu)
    } ms CPU/run (server process)`
  )
}
client.close()
await servers.off.close()
await servers.on.close()
for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
process.exit(0)
