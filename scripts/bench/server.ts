/**
 * Benchmark of the HTTP server (issues 5 and 16), one process: the real
 * server (`Server.start`, built-in tools) on 127.0.0.1:0 over PGlite (temp
 * dir) and, when TRELLIS_BENCH_DATABASE_URL or TRELLIS_TEST_DATABASE_URL is
 * set, PostgreSQL (a fresh database), loaded over loopback by clients that
 * POST the 5-node program and follow each run's SSE stream to its terminal
 * event (`serverLoad.ts`).
 * - submit-to-complete at concurrency 1 and 32: runs/s, p50/p99, CPU ms per
 *   run (the whole process: server and load generator), group-commit
 *   counters (commits, writes per commit, commit latency);
 * - the per-phase breakdown of a run's path at concurrency 1 (and 32);
 * - the check of the program (parse, validate, normalize, plan) cold, next
 *   to the cache hit that replaces it for a program seen before;
 * - a CPU profile of the main thread during the PGlite concurrency-32 load,
 *   as self time per area (`cpuProfile.ts`);
 * - SSE delivery latency of live events (20 concurrent runs);
 * - opt-in soak (TRELLIS_BENCH_SOAK=<runs>, e.g. 100000): memory sampled
 *   every 10% of the runs at concurrency 32 on PGlite.
 * Each phase has a time cap. Writes scripts/bench/results/server.json.
 */
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import Pg from "pg"
import { check } from "../../src/compile.js"
import { plan } from "../../src/runtime/runtime.js"
import { ProgramCache } from "../../src/server/programCache.js"
import { makeRegistry } from "../../src/tools/registry.js"
import { profiled } from "./cpuProfile.js"
import { breakdown, clientProcess, FIVE, load, oneRun, pct, round, startServer } from "./serverLoad.js"
import type { Backend, BenchServer, ClientMode, ClientProcess } from "./serverLoad.js"

const here = dirname(fileURLToPath(import.meta.url))

/** A fresh PostgreSQL database for the bench, dropped afterwards. */
const freshPg = async (base: string) => {
  const name = `trellis_bench_server_${Date.now().toString(36)}`
  const admin = new Pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(base)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: async () => {
      const c = new Pg.Client({ connectionString: base })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

/** The cold check of the 5-node program next to a cache hit, µs (median of 30). */
const checkCost = () => {
  const table = Either.getOrThrow(makeRegistry([])).table
  const cold: Array<number> = []
  const hit: Array<number> = []
  const cache = new ProgramCache()
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now()
    const c = check(FIVE, { tools: table, format: "dsl" })
    const p = plan(c.normalized ?? c.program!)
    if (p._tag === "Left") throw new Error(p.left.message)
    const t1 = performance.now()
    const key = ProgramCache.keyOf("dsl", FIVE)
    if (cache.get(key) === undefined) cache.set(key, { program: c.normalized!, hash: p.right.hash, name: "main" })
    const t2 = performance.now()
    cold.push((t1 - t0) * 1000)
    hit.push((t2 - t1) * 1000)
  }
  return { coldUs: round(pct(cold, 50)), cachedUs: round(pct(hit, 50)) }
}

/** SSE delivery: `runs` concurrent runs, one subscriber each; time from each event's `at` to its arrival. */
const sseDelivery = async (url: string, runs: number) => {
  const rs = await Promise.all(Array.from({ length: runs }, (_, n) => oneRun(url, n)))
  const total = rs.map((r) => r.terminal - r.sseOpen)
  return {
    runs,
    completed: rs.filter((r) => r.terminalType === "RunCompleted").length,
    openToEndP50Ms: round(pct(total, 50), 2)
  }
}

const print = (label: string, row: Record<string, unknown>) =>
  console.log(
    `${label.padEnd(10)} ${String(row.client).padEnd(7)} c=${String(row.concurrency).padStart(2)} ${
      String(row.runs).padStart(5)
    } runs ${String(row.runsPerSecond).padStart(6)} runs/s  p50 ${String(row.p50Ms).padStart(7)} ms  p99 ${
      String(row.p99Ms).padStart(7)
    } ms  cpu ${String(row.cpuMsPerRun).padStart(5)} ms/run${
      row.clientCpuMsPerRun === undefined ? "" : ` (+ client ${row.clientCpuMsPerRun})`
    }  busy: main ${row.mainBusyMsPerRun} ms/run (${row.mainUtilization})${
      row.dbThreadBusyMsPerRun === undefined ? "" : `, PGlite ${row.dbThreadBusyMsPerRun} (${row.dbThreadUtilization})`
    }  ${row.writesPerCommit} writes/commit, ${row.commitsPerRun} commits/run, commit ${row.commitMsMean} ms  load ${
      round(os.loadavg()[0] ?? 0, 2)
    }${Object.keys(row.failed as object).length > 0 ? `  failed: ${JSON.stringify(row.failed)}` : ""}`
  )

/** Runs of the warm-up before the measured levels. */
const WARM_UP = 600

/**
 * One backend: warm-up, concurrency 1 and 32 with the load generator in `modes[0]` (breakdowns, the PGlite one
 * profiled), then the same two levels in each other mode (rows only).
 */
const onBackend = async (label: string, backend: Backend, profile: boolean, modes: ReadonlyArray<ClientMode>) => {
  const server: BenchServer = await startServer(backend)
  const clients = new Map<ClientMode, ClientProcess | undefined>(
    modes.map((m) => [m, m === "process" ? clientProcess() : undefined])
  )
  try {
    const [main, ...others] = modes
    const client = clients.get(main!)
    // Warm-up to a steady state (JIT of the server's code and of PGlite's, prepared statements, pools).
    await load(server.url, 8, WARM_UP, 30_000, server.commits, client)
    const c1 = await load(server.url, 1, 300, 25_000, server.commits, client)
    print(label, c1.row)
    const run32 = () => load(server.url, 32, 3000, 25_000, server.commits, client)
    const c32p = profile ? await profiled(run32) : { result: await run32(), areas: undefined, busyMs: 0, idleMs: 0 }
    print(label, c32p.result.row)
    const rows = [c1.row, c32p.result.row]
    for (const mode of others) {
      const other = clients.get(mode)
      await load(server.url, 8, WARM_UP / 4, 30_000, server.commits, other)
      for (const c of [1, 32]) {
        const r = await load(server.url, c, c === 1 ? 300 : 3000, 25_000, server.commits, other)
        print(label, r.row)
        rows.push(r.row)
      }
    }
    const phases1 = breakdown(c1.runs, server.marks)
    const phases32 = breakdown(c32p.result.runs, server.marks)
    console.log(`\n${label}: per-phase breakdown (load generator: ${main}), median ms (concurrency 1 | 32)`)
    for (const k of Object.keys(phases1)) {
      console.log(`  ${k.padEnd(60)} ${String(phases1[k]).padStart(8)} | ${String(phases32[k]).padStart(8)}`)
    }
    if (c32p.areas !== undefined) {
      console.log(
        `\n${label} c=32: CPU profile of the server's main thread (busy ${Math.round(c32p.busyMs)} ms, idle ${
          Math.round(c32p.idleMs)
        } ms), self time by area`
      )
      for (const a of c32p.areas.slice(0, 14)) {
        console.log(`  ${a.area.padEnd(46)} ${String(a.ms).padStart(7)} ms ${a.share}%`)
      }
    }
    const sse = profile ? await sseDelivery(server.url, 20) : undefined
    return {
      backend: label,
      submitToComplete: rows,
      breakdown: { client: main, concurrency1: phases1, concurrency32: phases32 },
      ...(c32p.areas === undefined
        ? {}
        : { cpuProfileC32: { busyMs: Math.round(c32p.busyMs), areas: c32p.areas.slice(0, 20) } }),
      ...(sse === undefined ? {} : { sse })
    }
  } finally {
    for (const c of clients.values()) c?.close()
    await server.close()
  }
}

/** The opt-in soak: `total` runs at concurrency 32, memory sampled every 10%. */
const soak = async (total: number) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-bench-soak-"))
  const server = await startServer({ kind: "pglite", dir })
  const client = clientModes()[0] === "process" ? clientProcess() : undefined
  const samples: Array<{ runs: number; heapMb: number; rssMb: number }> = []
  try {
    const step = Math.max(1, Math.floor(total / 10))
    for (let done = 0; done < total; done += step) {
      await load(server.url, 32, step, 3_600_000, server.commits, client)
      server.marks.clear()
      globalThis.gc?.()
      const m = process.memoryUsage()
      samples.push({ runs: done + step, heapMb: round(m.heapUsed / 2 ** 20), rssMb: round(m.rss / 2 ** 20) })
      console.log(`soak: ${done + step} runs, heap ${samples.at(-1)!.heapMb} MB, rss ${samples.at(-1)!.rssMb} MB`)
    }
  } finally {
    client?.close()
    await server.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return { runs: total, samples }
}

/**
 * Where the load generator runs (`TRELLIS_BENCH_CLIENT`): `process` (the default: a process of its own, as the
 * issue measured, "from outside"), `inline` (the server's process and event loop, as before), or `both` (process
 * first, with breakdowns and the profile; then inline rows).
 */
const clientModes = (): ReadonlyArray<ClientMode> => {
  const v = process.env.TRELLIS_BENCH_CLIENT ?? "process"
  if (v === "both") return ["process", "inline"]
  if (v === "inline" || v === "process") return [v]
  throw new Error(`TRELLIS_BENCH_CLIENT: expected process, inline or both, got "${v}"`)
}

/** Runs the whole suite, prints tables, writes the JSON report. */
export const runServerBench = async (): Promise<Record<string, unknown>> => {
  const suiteStart = performance.now()
  const soakRuns = Number(process.env.TRELLIS_BENCH_SOAK ?? 0)
  const guard = setTimeout(() => {
    console.error("server bench: over its time cap, stopping")
    process.exit(1)
  }, soakRuns > 0 ? 4 * 3_600_000 : 300_000)
  const modes = clientModes()
  const loadAtStart = round(os.loadavg()[0] ?? 0, 2)
  console.log(`load average (1 min) at start: ${loadAtStart}`)
  const cost = checkCost()
  console.log(
    `program check (parse, validate, normalize, plan), 5-node DSL: ${cost.coldUs} µs cold; ${cost.cachedUs} µs from the program cache\n`
  )
  const backends = []
  const dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-bench-server-"))
  try {
    backends.push(await onBackend("PGlite", { kind: "pglite", dir }, true, modes))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const pgBase = process.env.TRELLIS_BENCH_DATABASE_URL ?? process.env.TRELLIS_TEST_DATABASE_URL
  if (pgBase === undefined) {
    console.log("\nPostgreSQL skipped: set TRELLIS_BENCH_DATABASE_URL (or TRELLIS_TEST_DATABASE_URL)")
  } else {
    console.log("")
    const db = await freshPg(pgBase)
    try {
      backends.push(await onBackend("PostgreSQL", { kind: "postgres", url: db.url }, false, modes))
    } finally {
      await db.drop()
    }
  }
  const soaked = soakRuns > 0 ? await soak(soakRuns) : undefined
  const report = {
    suite: "server",
    at: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      loadAvg1mAtStart: loadAtStart,
      loadAvg1mAtEnd: round(os.loadavg()[0] ?? 0, 2)
    },
    setup: {
      limits: { concurrentRuns: 64, runQueue: 100_000 },
      client: modes,
      note:
        "client \"process\": the load generator runs in a child process (loopback), cpuMsPerRun is the server process's (main thread + PGlite's thread), clientCpuMsPerRun the generator's; \"inline\": one process and event loop, cpuMsPerRun counts both",
      program: FIVE
    },
    programCheck: cost,
    backends,
    ...(soaked === undefined ? {} : { soak: soaked }),
    totalSeconds: round((performance.now() - suiteStart) / 1000, 1)
  }
  const out = join(here, "results", "server.json")
  fs.mkdirSync(dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
  console.log(`\nwrote ${out} (${report.totalSeconds} s, load ${report.machine.loadAvg1mAtEnd} at the end)`)
  clearTimeout(guard)
  return report
}
