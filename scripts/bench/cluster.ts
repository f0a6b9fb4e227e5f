/**
 * Benchmark of cluster mode (issue 17): real `trellis serve --cluster`
 * replicas (the serve command bundled with the cluster tests' fixture tools)
 * on a fresh PostgreSQL database each.
 * - throughput at 1, 2 and 3 replicas: an I/O-bound program (two sequential
 *   keyed calls of 250 ms each: a run waits on I/O, its CPU is small)
 *   submitted round-robin, each replica capped at `limits.concurrentRuns` = 8
 *   runs at once (a replica's capacity: 8 / 0.5 s = 16 runs/s), measured once
 *   the shards have settled on the replicas; runs/s and p50/p99 from the POST
 *   to the run's end (`ended_at` in the store, same machine's clock);
 * - takeover: three replicas; one replica SIGKILLed while its runs
 *   execute; the time from the kill to the last resumed
 *   `RunStarted` of its runs, and to the last of all runs ending.
 *   (30 runs of one 8 s call; the kill comes once all of them execute.)
 * PostgreSQL from TRELLIS_BENCH_DATABASE_URL, else TRELLIS_TEST_DATABASE_URL,
 * else postgres://postgres@127.0.0.1:5432/test. Writes
 * scripts/bench/results/cluster.json. Every phase has a time cap.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import {
  bundleReplica,
  FAST,
  freshDatabase,
  makeCluster,
  query,
  settled,
  startReplica,
  stopAll,
  stopReplica,
  submit,
  waitAllEnded
} from "../../test/cluster/replicas.js"

const here = dirname(fileURLToPath(import.meta.url))
const adminUrl = process.env["TRELLIS_BENCH_DATABASE_URL"] ?? process.env["TRELLIS_TEST_DATABASE_URL"] ??
  "postgres://postgres@127.0.0.1:5432/test"

const source = (n: number, ms: number) => ({
  source: `program main(n: number, ms: number) {
  parts = map i in range(n) with { concurrency: 1 } {
    v = tool fx.apply(item: i, ms: ms)
    return v
  }
  return sum(parts)
}`,
  inputs: { n, ms }
})

const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}

const LIMITS = { concurrentRuns: 8, workspaceRuns: 8, drainMs: 1000 }
/** Enough runs that the split of run ids between replicas' shards evens out (160 left one replica ~10% more). */
const RUNS = Number(process.env["TRELLIS_BENCH_CLUSTER_RUNS"] ?? 480)
const CALLS = 2
const CALL_MS = 250

/** `RUNS` runs at `replicas` replicas: runs/s, p50/p99 submit-to-end. */
const throughput = async (replicas: number) => {
  const db = await freshDatabase(adminUrl)
  const cluster = makeCluster(db.url, { limits: LIMITS })
  try {
    await startReplica(cluster, 0)
    await Promise.all(Array.from({ length: replicas - 1 }, (_, i) => startReplica(cluster, i + 1)))
    // Measured once each replica holds its shards (before, the first replica owns them all and hands them over).
    await settled(cluster, 120_000)
    // Warm-up: every replica executes a run or two.
    const warm = await Promise.all(
      Array.from({ length: 6 }, (_, i) => submit(cluster.replicas[i % replicas]!.url, source(1, 1)))
    )
    await waitAllEnded(db.url, warm.filter((x): x is string => x !== undefined), 60_000)
    const submittedAt = new Map<string, number>()
    const t0 = performance.now()
    const wall0 = Date.now()
    let next = 0
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < RUNS) {
        const i = next++
        const at = Date.now()
        const id = await submit(cluster.replicas[i % replicas]!.url, source(CALLS, CALL_MS))
        if (id !== undefined) submittedAt.set(id, at)
      }
    }))
    const ids = [...submittedAt.keys()]
    await waitAllEnded(db.url, ids, 180_000)
    const seconds = (performance.now() - t0) / 1000
    const rows = await query<{ run_id: string; ended_at: string; status: string }>(
      db.url,
      `SELECT run_id, ended_at, status FROM runs WHERE run_id = ANY($1)`,
      [ids]
    )
    const latencies = rows.map((r) => Number(r.ended_at) - submittedAt.get(r.run_id)!)
    const lastEnd = Math.max(...rows.map((r) => Number(r.ended_at)))
    return {
      replicas,
      runs: ids.length,
      completed: rows.filter((r) => r.status === "completed").length,
      seconds: Number(seconds.toFixed(2)),
      runsPerSecond: Number((ids.length / ((lastEnd - wall0) / 1000)).toFixed(1)),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99)
    }
  } finally {
    await stopAll(cluster)
    await db.drop()
  }
}

/** Takeover after a SIGKILL at three replicas. */
const takeover = async () => {
  const db = await freshDatabase(adminUrl)
  // Room for every run at once on each replica: all of them execute (none waits in a queue) when the kill comes.
  const cluster = makeCluster(db.url, { limits: { ...LIMITS, concurrentRuns: 32, workspaceRuns: 32 } })
  try {
    await startReplica(cluster, 0)
    await Promise.all([startReplica(cluster, 1), startReplica(cluster, 2)])
    await settled(cluster, 120_000)
    const ids = (await Promise.all(Array.from({ length: 30 }, (_, i) =>
      submit(cluster.replicas[i % 3]!.url, source(1, 8000)))))
      .filter((x): x is string => x !== undefined)
    // Kill once every run executes (each owner holds some): their calls are in flight.
    for (let i = 0; i < 600; i++) {
      const rows = await query<{ n: string }>(
        db.url,
        `SELECT count(*) AS n FROM runs WHERE run_id = ANY($1) AND status = 'running'`,
        [ids]
      )
      if (Number(rows[0]!.n) === ids.length) break
      await new Promise((res) => setTimeout(res, 100))
    }
    const killedAt = Date.now()
    await stopReplica(cluster, 2, "SIGKILL")
    await waitAllEnded(db.url, ids, 120_000)
    const resumed = await query<{ at: string }>(
      db.url,
      `SELECT max(at) AS at FROM run_events WHERE run_id = ANY($1) AND type = 'RunStarted' AND seq > 0 GROUP BY run_id`,
      [ids]
    )
    const ended = await query<{ ended_at: string; status: string }>(
      db.url,
      `SELECT ended_at, status FROM runs WHERE run_id = ANY($1)`,
      [ids]
    )
    return {
      runs: ids.length,
      resumedRuns: resumed.length,
      completed: ended.filter((r) => r.status === "completed").length,
      takeoverMs: resumed.length === 0 ? null : Math.max(...resumed.map((r) => Number(r.at))) - killedAt,
      allEndedMs: Math.max(...ended.map((r) => Number(r.ended_at))) - killedAt,
      settings: FAST
    }
  } finally {
    await stopAll(cluster)
    await db.drop()
  }
}

export const runClusterBench = async () => {
  await bundleReplica()
  const levels = []
  for (const n of [1, 2, 3]) {
    const r = await throughput(n)
    console.log(`cluster: ${n} replica(s): ${r.runsPerSecond} runs/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`)
    levels.push(r)
  }
  const base = levels[0]!.runsPerSecond
  const kill = await takeover()
  console.log(`cluster: takeover after SIGKILL: ${kill.takeoverMs} ms (${kill.resumedRuns} runs resumed)`)
  const report = {
    suite: "cluster",
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, load: os.loadavg().map((l) => Number(l.toFixed(1))) },
    workload:
      `${RUNS} runs of ${CALLS} sequential keyed calls x ${CALL_MS} ms; limits.concurrentRuns ${LIMITS.concurrentRuns} per replica`,
    levels: levels.map((l) => ({ ...l, speedup: Number((l.runsPerSecond / base).toFixed(2)) })),
    takeover: kill
  }
  const out = join(here, "results", "cluster.json")
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")
  console.log(`cluster: wrote ${out}`)
}
