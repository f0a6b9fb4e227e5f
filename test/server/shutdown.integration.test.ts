/**
 * Graceful shutdown of a real `trellis serve` process: SIGTERM stops it
 * (exit 0) after draining what finishes within the deadline; a run still
 * executing is left `running` and the next start resumes it to completion.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { call, waitEnded } from "../support/server.js"

const home = mkdtempSync(join(tmpdir(), "trellis-serve-"))
afterAll(() => rmSync(home, { recursive: true, force: true }))

const serve = (drainMs: number) =>
  new Promise<{ child: ChildProcess; url: string; output: () => string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/trellis.mjs", "serve", "--port", "0", "--drain-ms", String(drainMs)], {
      env: { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "", TRELLIS_API_KEYS: "", TRELLIS_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 40_000)
    const onData = (d: Buffer) => {
      out += d.toString("utf8")
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, url: m[1]!, output: () => out })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
  })

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))

const submit = async (url: string, source: string) =>
  ((await (await call(url, "/v1/runs", { method: "POST", body: JSON.stringify({ source }) })).json()) as {
    runId: string
  }).runId

describe("trellis serve: SIGTERM", () => {
  it("drains, exits 0, leaves the unfinished run resumable, and the next start resumes it", async () => {
    const first = await serve(1000)
    const quick = await submit(first.url, "program main() { s = tool std.sleep(ms: 200) return \"quick\" }")
    const submittedAt = Date.now()
    const slow = await submit(first.url, "program main() { s = tool std.sleep(ms: 5000) return \"slow\" }")
    for (let i = 0; i < 100; i++) {
      const r = (await (await call(first.url, `/v1/runs/${slow}`)).json()) as { status: string }
      if (r.status === "running") break
      await new Promise((res) => setTimeout(res, 20))
    }
    const exited = exitOf(first.child)
    const termAt = Date.now()
    first.child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(Date.now() - termAt).toBeGreaterThanOrEqual(900)
    // Stopped after the drain deadline (1 s), long before the slow run could have finished.
    expect(Date.now() - submittedAt).toBeLessThan(5000)

    const restartedAt = Date.now()
    const second = await serve(1000)
    try {
      const q = await waitEnded(second.url, quick)
      expect(q).toMatchObject({ status: "completed", output: "quick" })
      const s = await waitEnded(second.url, slow, undefined, 20_000)
      expect(s).toMatchObject({ status: "completed", output: "slow" })
      const events = await (await call(second.url, `/v1/runs/${slow}/events`)).text()
      const types = [...events.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
      expect(types.filter((t) => t === "RunStarted")).toHaveLength(2)
      // The run ended in the second process: it was left running by the first, then resumed.
      const completedAt = Number(
        /"type":"RunCompleted"/.test(events) ? /"at":(\d+),"type":"RunCompleted"/.exec(events)![1] : 0
      )
      expect(completedAt).toBeGreaterThanOrEqual(restartedAt)
      expect(types.at(-1)).toBe("RunCompleted")
      expect(types).not.toContain("RunCancelled")
      const seqs = [...events.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
      expect(seqs).toEqual(seqs.map((_, i) => i))
    } finally {
      const done = exitOf(second.child)
      second.child.kill("SIGTERM")
      expect(await done).toBe(0)
    }
  }, 90_000)
})
