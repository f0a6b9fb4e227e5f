/**
 * LinUCB learning from live feedback (issue 20, item 5) over real HTTP, on a server with an embedded store
 * (PGlite on disk): the config makes choose key "style" LinUCB on the input `pro`; the better option depends on
 * it (`long` for pro users, `short` for the others). After 100 seeded runs with feedback posted to
 * `POST /v1/runs/:id/feedback`, the policy picks each context's better option most of the time — and still does
 * after the server restarts on the same store, whose key holds the learned statistics.
 */
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { dimensionOf } from "../../src/runtime/bandit/linucb.js"
import { linearOf } from "../../src/runtime/bandit/state.js"
import type { BanditStrategy } from "../../src/runtime/bandit/state.js"
import { PolicyStore } from "../../src/runtime/bandit/store.js"
import { Store } from "../../src/store/index.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const dir = mkdtempSync(join(tmpdir(), "trellis-linucb-"))
let server: TestServer | undefined
afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
}, 60_000)

const SOURCE = `program main(pro: number) {
  c = choose "style" {
    short: { return "short" }
    long: { return "long" }
  }
  return c
}`

const FEATURES = { numeric: ["pro"], categorical: [] }
const STRATEGY: BanditStrategy = { kind: "linucb", features: FEATURES, alpha: 0.3, epsilon: 0.1 }
const config = testConfig({ bandit: { strategies: { style: STRATEGY } } })

/** The reward of an option for a user: 1 for the better one. */
const rewardOf = (pro: number, option: string) => ((pro === 1) === (option === "long") ? 1 : 0)

/** Runs `n` seeded runs (seeds from `from`), `batch` at a time, posting each one's reward; the options chosen. */
const play = async (url: string, from: number, n: number, batch = 10) => {
  const picks: Array<{ readonly pro: number; readonly option: string }> = []
  for (let start = from; start < from + n; start += batch) {
    const seeds = Array.from({ length: Math.min(batch, from + n - start) }, (_, i) => start + i)
    const runs = await Promise.all(seeds.map(async (seed) => {
      const pro = seed % 2
      const created = await call(url, "/v1/runs", {
        method: "POST",
        body: JSON.stringify({ source: SOURCE, inputs: { pro }, seed })
      })
      expect(created.status).toBe(202)
      const { runId } = (await created.json()) as { runId: string }
      const run = await waitEnded(url, runId)
      expect(run.status).toBe("completed")
      return { runId, pro, option: run.output as string }
    }))
    for (const r of runs) {
      const fb = await call(url, `/v1/runs/${r.runId}/feedback`, {
        method: "POST",
        body: JSON.stringify({ key: "style", reward: rewardOf(r.pro, r.option) })
      })
      expect(fb.status).toBe(200)
      expect(await fb.json()).toEqual({ rewarded: 1 })
      picks.push({ pro: r.pro, option: r.option })
    }
  }
  return picks
}

const betterShare = (picks: ReadonlyArray<{ readonly pro: number; readonly option: string }>) =>
  picks.filter((p) => rewardOf(p.pro, p.option) === 1).length / picks.length

describe("LinUCB learns from live feedback over HTTP", () => {
  it(
    "shifts to each context's better option, records the context, and keeps what it learned across a restart",
    async () => {
      server = await startServer(config, { store: Store.layerPglite(dir) })
      const learning = await play(server.url, 0, 100)
      // The last runs of the learning phase, and fresh ones, mostly take the better option for their context.
      expect(betterShare(learning.slice(60))).toBeGreaterThanOrEqual(0.8)
      const after = await play(server.url, 100, 20)
      expect(betterShare(after)).toBeGreaterThanOrEqual(0.8)
      // Both contexts are served well, not just one.
      expect(betterShare(after.filter((p) => p.pro === 1))).toBeGreaterThanOrEqual(0.7)
      expect(betterShare(after.filter((p) => p.pro === 0))).toBeGreaterThanOrEqual(0.7)

      // The choice is recorded with its context (bias, pro) and the LinUCB policy.
      const created = await call(server.url, "/v1/runs", {
        method: "POST",
        body: JSON.stringify({ source: SOURCE, inputs: { pro: 1 }, seed: 999 })
      })
      const { runId } = (await created.json()) as { runId: string }
      await waitEnded(server.url, runId)
      const text = await (await call(server.url, `/v1/runs/${runId}/events`)).text()
      const made = text.split("\n").filter((l) => l.startsWith("data:")).map((l) =>
        JSON.parse(l.slice(5)) as { type: string; data: Record<string, unknown> }
      ).find((e) => e.type === "ChoiceMade")
      expect(made?.data).toMatchObject({ key: "style", policy: "linucb(0.3)", context: [1, 1] })

      await server.close()
      server = undefined

      // The statistics are in the store: 120 feedbacks, each with its context.
      const state = await Effect.runPromise(
        Effect.flatMap(PolicyStore, (p) => p.snapshot("style")).pipe(Effect.provide(Store.layerPglite(dir)))
      )
      expect(state.version).toBe(120)
      const model = linearOf(state, dimensionOf(FEATURES))!
      expect(Object.keys(model.arms).sort()).toEqual(["long", "short"])
      // A = I + Σ x xᵀ: the bias entries count each option's rewarded choices, 120 in all.
      expect(model.arms["long"]!.a[0]! + model.arms["short"]!.a[0]! - 2).toBe(120)

      // A restarted server chooses by them from its first run.
      server = await startServer(config, { store: Store.layerPglite(dir) })
      const restarted = await play(server.url, 200, 20)
      expect(betterShare(restarted)).toBeGreaterThanOrEqual(0.8)
    },
    120_000
  )
})
