/**
 * Replicas of a test cluster: `trellis serve --cluster` child processes on
 * one fresh PostgreSQL database, with the fixture tools, fast takeover
 * settings, and helpers to submit runs, read the shared store and check the
 * side effects the fixture tools applied.
 */
import { build } from "esbuild"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import Pg from "pg"
import { NODE_EXTERNALS } from "../../scripts/bundleExternals.mjs"
import { root } from "../support/cli.js"

/** A seeded PRNG (mulberry32). */
export const prng = (seed: number) => () => {
  let t = (seed += 0x6d2b79f5)
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A running replica. */
export interface Replica {
  readonly port: number
  readonly url: string
  readonly child: ChildProcess
  output: string
}

/**
 * The cluster block the tests start replicas with: takeover within a few seconds (a SIGKILLed runner is found by the
 * health checks); long lock expiration, so a lock refresh slowed by a loaded machine (up to 10 s) keeps the shards.
 */
export const FAST = { lockExpirationMs: 30000, healthCheckMs: 1000, refreshMs: 300, messagePollMs: 500 }

/** A test cluster's shared parts: database URL, side-effect directory, config file. */
export interface Cluster {
  readonly databaseUrl: string
  readonly fxDir: string
  readonly config: string
  readonly replicas: Array<Replica | undefined>
  readonly ports: ReadonlyArray<number>
}

const bundle = path.join(root, "test-results", "bundles", "cluster-replica.mjs")

/** Bundles the replica (fixtures/replica.ts) once per test file: each start then loads one file. */
export const bundleReplica = async () => {
  await build({
    entryPoints: [path.join(root, "test", "cluster", "fixtures", "replica.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    external: NODE_EXTERNALS,
    banner: {
      js:
        "import { createRequire as __trellisCreateRequire } from 'module'; const require = __trellisCreateRequire(import.meta.url);"
    },
    logLevel: "warning"
  })
}

/**
 * HTTP ports and their runner ports (+10000), all below Linux's ephemeral range (32768 and up, where other tests'
 * servers on port 0 and every outgoing connection take theirs), spread at random so two test files rarely meet.
 */
export const freePorts = (n: number): Array<number> => {
  const base = 11000 + Math.floor(Math.random() * 1100) * 10
  return Array.from({ length: n }, (_, i) => base + i)
}

/** A fresh database on the test server; its URL and a drop. */
export const freshDatabase = async (adminUrl: string) => {
  const name = `trellis_cl_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new Pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: async () => {
      const a = new Pg.Client({ connectionString: adminUrl })
      await a.connect()
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined)
      await a.end()
    }
  }
}

/** A cluster's files and ports (no replica started yet). */
export const makeCluster = (databaseUrl: string, extra: Record<string, unknown> = {}): Cluster => {
  const fxDir = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-cluster-"))
  const config = path.join(fxDir, "config.json")
  fs.writeFileSync(config, JSON.stringify({ cluster: FAST, limits: { drainMs: 2000 }, ...extra }))
  return { databaseUrl, fxDir, config, replicas: [undefined, undefined, undefined], ports: freePorts(3) }
}

/** Starts replica `i` and resolves once it listens. */
export const startReplica = (cluster: Cluster, i: number): Promise<Replica> =>
  new Promise((resolve, reject) => {
    const port = cluster.ports[i]!
    const child = spawn(
      process.execPath,
      [bundle, String(port), cluster.config],
      {
        cwd: root,
        env: { ...process.env, TRELLIS_DATABASE_URL: cluster.databaseUrl, FX_DIR: cluster.fxDir },
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    const replica: Replica = { port, url: `http://127.0.0.1:${port}`, child, output: "" }
    const timer = setTimeout(() => reject(new Error(`replica ${i} did not start:\n${replica.output}`)), 45_000)
    const log = process.env["TRELLIS_CLUSTER_LOGS"]
    const onData = (d: string) => {
      replica.output += d
      if (log !== undefined && log !== "") fs.appendFileSync(path.join(log, `replica-${port}.log`), d)
      if (replica.output.includes("listening on")) {
        clearTimeout(timer)
        cluster.replicas[i] = replica
        resolve(replica)
      }
    }
    child.stdout.setEncoding("utf8").on("data", onData)
    child.stderr.setEncoding("utf8").on("data", onData)
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (!replica.output.includes("listening on")) reject(new Error(`replica ${i} exited ${code}:\n${replica.output}`))
    })
  })

/** Stops replica `i` with `signal` and waits for its exit. */
export const stopReplica = (cluster: Cluster, i: number, signal: NodeJS.Signals): Promise<void> => {
  const r = cluster.replicas[i]
  cluster.replicas[i] = undefined
  if (r === undefined || r.child.exitCode !== null || r.child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    r.child.on("exit", () => resolve())
    r.child.kill(signal)
  })
}

/** Stops every replica (SIGKILL) and removes the side-effect directory. */
export const stopAll = async (cluster: Cluster) => {
  await Promise.all(cluster.replicas.map((_, i) => stopReplica(cluster, i, "SIGKILL")))
  fs.rmSync(cluster.fxDir, { recursive: true, force: true })
}

/** Runs a query on the cluster's database. */
export const query = async <A>(databaseUrl: string, text: string, values: ReadonlyArray<unknown> = []) => {
  const c = new Pg.Client({ connectionString: databaseUrl })
  await c.connect()
  try {
    return (await c.query(text, [...values])).rows as Array<A>
  } finally {
    await c.end()
  }
}

/** Submits a run to `url`: its id, or undefined when the replica is down or refuses. */
export const submit = async (url: string, body: unknown): Promise<string | undefined> => {
  try {
    const r = await fetch(`${url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    if (r.status !== 202) return undefined
    return ((await r.json()) as { runId: string }).runId
  } catch {
    return undefined
  }
}

/** Polls the store until none of `runIds` is `running` (or the deadline); the statuses by run id. */
export const waitAllEnded = async (databaseUrl: string, runIds: ReadonlyArray<string>, timeoutMs: number) => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const rows = await query<{ run_id: string; status: string }>(
      databaseUrl,
      `SELECT run_id, status FROM runs WHERE run_id = ANY($1)`,
      [runIds]
    )
    const ended = rows.filter((r) => r.status !== "running").length
    if (ended === runIds.length || Date.now() > until) return new Map(rows.map((r) => [r.run_id, r.status]))
    await new Promise((res) => setTimeout(res, 200))
  }
}

/** Every line of the fixture tools' files named `<prefix>.<pid>.jsonl`. */
export const linesOf = <A>(fxDir: string, prefix: string): Array<A> =>
  fs.readdirSync(fxDir).filter((n) => n.startsWith(`${prefix}.`)).flatMap((n) =>
    fs.readFileSync(path.join(fxDir, n), "utf8").split("\n").filter((l) => l.trim() !== "").flatMap((l) => {
      try {
        return [JSON.parse(l) as A]
      } catch {
        return []
      }
    })
  )

/**
 * What the store and the cluster's message storage hold for the runs left `running` (empty when none is): their
 * events and their stored messages, so a failing trial says why a run was not taken over.
 */
export const explainRunning = async (databaseUrl: string, status = "running"): Promise<string> => {
  const running = await query<{ run_id: string }>(databaseUrl, `SELECT run_id FROM runs WHERE status = $1`, [status])
  const lines: Array<string> = []
  for (const { run_id } of running) {
    const events = await query<{ seq: number; type: string }>(
      databaseUrl,
      `SELECT seq, type FROM run_events WHERE run_id = $1 ORDER BY seq`,
      [run_id]
    )
    const messages = await query<Record<string, unknown>>(
      databaseUrl,
      `SELECT m.id, m.tag, m.shard_id, m.processed, m.last_read, m.last_reply_id,
              (SELECT string_agg(r.kind::text || ':' || coalesce(r.payload, ''), ' | ') FROM cluster_replies r
                WHERE r.request_id = m.id) AS replies
       FROM cluster_messages m WHERE m.entity_id = $1 ORDER BY m.id`,
      [run_id]
    ).catch((e: unknown) => [{ error: String(e) }])
    const timers = await query<Record<string, unknown>>(databaseUrl, `SELECT * FROM run_timers WHERE run_id = $1`, [
      run_id
    ]).catch((e: unknown) => [{ error: String(e) }])
    lines.push(
      `run ${run_id} (now ${Date.now()}, timers ${JSON.stringify(timers)}): events ${
        events.map((e) => `${e.seq}:${e.type}`).join(" ")
      }; messages ${JSON.stringify(messages)}`
    )
  }
  return lines.join("\n")
}

/**
 * Waits until the live replicas hold all `shards` shards between them, each some (PostgreSQL advisory locks of the
 * cluster's database, one connection per runner), twice in a row 300 ms apart: the shards have settled after a start
 * or a kill, so a run placed now stays where it starts unless a replica dies. Throws past `timeoutMs`.
 */
export const settled = async (cluster: Cluster, timeoutMs = 60_000, shards = 300): Promise<void> => {
  const live = cluster.replicas.filter((r) => r !== undefined).length
  const until = Date.now() + timeoutMs
  let seen = 0
  let last = ""
  for (;;) {
    const rows = await query<{ n: string; pids: string }>(
      cluster.databaseUrl,
      `SELECT count(*) AS n, count(DISTINCT pid) AS pids FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
    )
    last = `${rows[0]!.n} shard locks over ${rows[0]!.pids} runners`
    seen = Number(rows[0]!.n) === shards && Number(rows[0]!.pids) === live ? seen + 1 : 0
    if (seen >= 2) return
    if (Date.now() > until) throw new Error(`the cluster did not settle in ${timeoutMs} ms: ${last}, ${live} live`)
    await new Promise((res) => setTimeout(res, 300))
  }
}
