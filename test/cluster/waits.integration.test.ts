/**
 * Durable waits and schedules on a cluster of three `trellis serve --cluster`
 * replicas (issue 18 item 6, SPEC §10–§11): a signal sent to any replica
 * wakes the run on the owner of its shard; the timer of a sleeping run is
 * armed by its owner and re-armed by the shard's next owner when that one is
 * SIGKILLed; a schedule fires once per occurrence across the replicas (the
 * scheduler is a cluster singleton). Needs `TRELLIS_TEST_DATABASE_URL`
 * (skipped without it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { testDatabaseUrl } from "../support/db.js"
import {
  bundleReplica,
  explainRunning,
  freshDatabase,
  linesOf,
  makeCluster,
  query,
  settled,
  startReplica,
  stopAll,
  stopReplica,
  submit
} from "./replicas.js"
import type { Cluster } from "./replicas.js"

const adminUrl = testDatabaseUrl()

interface Call {
  readonly item: number
  readonly pid: number
}

/** Calls `fx.apply` before the wait (on the run's owner) and after it, with the signal's `n` (on whoever resumed it). */
const WAITING = `program main(item: number) {
  a = tool fx.apply(item: item, ms: 0)
  ok = wait "approve": { n: number } { amount: a }
  b = tool fx.apply(item: ok.n + 50, ms: 0)
  return b
}`

/** Sleeps long enough to be seen parked (and its owner killed) on a loaded machine before its timer fires. */
const SLEEPING = `program main(item: number) {
  a = tool fx.apply(item: item, ms: 0)
  p = wait for "20s"
  return { a: a, p: p }
}`

/** Polls the store until `runIds` all have `status` (or the deadline); the statuses by run id. */
const waitStatus = async (cluster: Cluster, runIds: ReadonlyArray<string>, status: string, timeoutMs: number) => {
  const until = Date.now() + timeoutMs
  for (;;) {
    const rows = await query<{ run_id: string; status: string }>(
      cluster.databaseUrl,
      `SELECT run_id, status FROM runs WHERE run_id = ANY($1)`,
      [runIds]
    )
    if ((rows.length === runIds.length && rows.every((r) => r.status === status)) || Date.now() > until) {
      return new Map(rows.map((r) => [r.run_id, r.status]))
    }
    await new Promise((res) => setTimeout(res, 100))
  }
}

/** The replica (index) whose process called `fx.apply` with `item`. */
const ownerOf = (cluster: Cluster, item: number): number => {
  const pid = linesOf<Call>(cluster.fxDir, "calls").find((c) => c.item === item)?.pid
  return cluster.replicas.findIndex((r) => r !== undefined && r.child.pid === pid)
}

const startedCount = async (cluster: Cluster, runId: string) =>
  Number(
    (await query<{ n: string }>(
      cluster.databaseUrl,
      `SELECT count(*) AS n FROM run_events WHERE run_id = $1 AND type = 'RunStarted'`,
      [runId]
    ))[0]!.n
  )

describe.skipIf(adminUrl === undefined)(
  "waits and schedules on a cluster of three replicas",
  () => {
    let cluster: Cluster
    let drop: () => Promise<void> = async () => {}
    beforeAll(async () => {
      await bundleReplica()
      const db = await freshDatabase(adminUrl!)
      drop = db.drop
      cluster = makeCluster(db.url)
      await startReplica(cluster, 0)
      await Promise.all([startReplica(cluster, 1), startReplica(cluster, 2)])
      // Runs placed before the shards settle would move to the replicas that joined: ownership is stable from here.
      await settled(cluster)
    }, 120_000)
    afterAll(async () => {
      if (cluster !== undefined) await stopAll(cluster)
      await drop()
    }, 30_000)

    it(
      "a signal sent to a replica that does not own the waiting run reaches its owner, which completes it",
      async () => {
        const runIds: Array<string> = []
        for (let i = 0; i < 6; i++) {
          const id = await submit(cluster.replicas[i % 3]!.url, { source: WAITING, inputs: { item: i } })
          expect(id).toBeDefined()
          runIds.push(id!)
        }
        const parked = await waitStatus(cluster, runIds, "waiting", 15_000)
        expect([...parked.values()]).toEqual(runIds.map(() => "waiting"))
        for (let i = 0; i < runIds.length; i++) {
          const owner = ownerOf(cluster, i)
          expect(owner).toBeGreaterThanOrEqual(0)
          // Through a replica other than the owner.
          const via = cluster.replicas[(owner + 1 + (i % 2)) % 3]!
          const r = await fetch(`${via.url}/v1/runs/${runIds[i]}/signals/approve`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ payload: { n: i }, signalId: `s${i}` })
          })
          expect(r.status).toBe(202)
        }
        const ended = await waitStatus(cluster, runIds, "completed", 15_000)
        expect([...ended.values()]).toEqual(runIds.map(() => "completed"))
        const outputs = await query<{ run_id: string; output: number }>(
          cluster.databaseUrl,
          `SELECT run_id, output FROM runs WHERE run_id = ANY($1)`,
          [runIds]
        )
        expect(new Map(outputs.map((o) => [o.run_id, Number(o.output)]))).toEqual(
          new Map(runIds.map((id, i) => [id, (i + 50) * 10]))
        )
        // The run went on where it was started (its owner), not on the replica the signal was sent to.
        for (let i = 0; i < runIds.length; i++) expect(ownerOf(cluster, i + 50)).toBe(ownerOf(cluster, i))
        // Each run was woken once: started, then resumed by its signal.
        for (const id of runIds) expect(await startedCount(cluster, id)).toBe(2)
      },
      40_000
    )

    it("a schedule firing every second fires once per occurrence across the three replicas", async () => {
      const r = await fetch(`${cluster.replicas[1]!.url}/v1/schedules`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          cron: "* * * * * *",
          source: `program main(item: number) { a = tool fx.apply(item: item, ms: 0) return a }`,
          inputs: { item: 500 },
          overlap: "allow"
        })
      })
      expect(r.status).toBe(201)
      const { scheduleId } = (await r.json()) as { scheduleId: string }
      // Creating a schedule on the other replicas too: every replica's server has now looked at the schedules.
      for (const i of [0, 2]) {
        const other = await fetch(`${cluster.replicas[i]!.url}/v1/schedules`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            cron: "0 0 1 1 *",
            source: `program main(item: number) { a = tool fx.apply(item: item, ms: 0) return a }`,
            inputs: { item: 600 },
            paused: true
          })
        })
        expect(other.status).toBe(201)
      }
      // Until it has fired 3 times (however loaded the machine): a count of fires, not a window of time.
      for (let i = 0; i < 150; i++) {
        const n = await query<{ n: string }>(
          cluster.databaseUrl,
          `SELECT count(*) AS n FROM schedule_fires WHERE schedule_id = $1 AND outcome = 'started'`,
          [scheduleId]
        )
        if (Number(n[0]!.n) >= 3) break
        await new Promise((res) => setTimeout(res, 200))
      }
      await fetch(`${cluster.replicas[0]!.url}/v1/schedules/${scheduleId}/pause`, { method: "POST" })
      await new Promise((res) => setTimeout(res, 1500))
      // Every run the schedule's program started, on any replica, and the fires recorded for it. A fire is recorded
      // once its run is placed (after the owner holds it), so a fire in flight at the pause may show its run first:
      // read until the two agree (a duplicate run never gets a fire of its own, so it still fails), at most 10 s.
      const read = async () => {
        const runs = await query<{ run_id: string }>(
          cluster.databaseUrl,
          `SELECT run_id FROM runs WHERE inputs->>'item' = '500'`
        )
        const fires = await query<{ fire_at: string; run_id: string | null; outcome: string }>(
          cluster.databaseUrl,
          `SELECT fire_at, run_id, outcome FROM schedule_fires WHERE schedule_id = $1`,
          [scheduleId]
        )
        return { runs, fires }
      }
      let { fires, runs } = await read()
      for (let i = 0; i < 20 && runs.length !== fires.filter((f) => f.outcome === "started").length; i++) {
        await new Promise((res) => setTimeout(res, 500))
        ;({ fires, runs } = await read())
      }
      const started = fires.filter((f) => f.outcome === "started")
      expect(started.length).toBeGreaterThanOrEqual(3)
      // One run per occurrence: no run without its fire, no fire twice.
      expect(new Set(runs.map((x) => x.run_id))).toEqual(new Set(started.map((f) => f.run_id)))
      expect(new Set(started.map((f) => f.fire_at)).size).toBe(started.length)
    }, 40_000)

    it("a run sleeping 20 s wakes once, on the next owner when its owner is SIGKILLed while it sleeps", async () => {
      const runIds: Array<string> = []
      for (let i = 0; i < 3; i++) {
        const id = await submit(cluster.replicas[i]!.url, { source: SLEEPING, inputs: { item: 100 + i } })
        expect(id).toBeDefined()
        runIds.push(id!)
      }
      // The sleep (20 s) outlasts placing the three runs, even while a replica restarted by an earlier test takes
      // its shards back (placements then wait for their owner): all three are seen parked before any wakes.
      const parked = await waitStatus(cluster, runIds, "waiting", 15_000)
      expect([...parked.values()]).toEqual(runIds.map(() => "waiting"))
      const owners = runIds.map((_, i) => ownerOf(cluster, 100 + i))
      // Kill the owner of the first run: its timer is armed again by the shard's next owner.
      const victim = owners[0]!
      await stopReplica(cluster, victim, "SIGKILL")
      // As long as the takeover test allows: a shard whose owner died can stay with it until its runner lock expires.
      const ended = await waitStatus(cluster, runIds, "completed", 45_000)
      const waiting = await explainRunning(cluster.databaseUrl, "waiting")
      // The whole explanation in the message (an assertion's diff would cut it).
      if (waiting !== "") throw new Error(`runs still waiting:\n${waiting}`)
      expect([...ended.values()]).toEqual(runIds.map(() => "completed"))
      for (const id of runIds) expect(await startedCount(cluster, id)).toBe(2)
      const outputs = await query<{ output: { a: number; p: null } }>(
        cluster.databaseUrl,
        `SELECT output FROM runs WHERE run_id = ANY($1)`,
        [runIds]
      )
      expect(outputs.map((o) => o.output.a).sort()).toEqual([1000, 1010, 1020])
    }, 100_000)
  }
)
