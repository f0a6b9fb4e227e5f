/**
 * Durable waits across a killed server (SPEC §11, issue 18): a real
 * `trellis serve` is killed with SIGKILL while its runs are parked; after a
 * restart on the same store, a run sleeping "2s" wakes by its re-armed
 * timer, and a run waiting for a signal continues when it is signalled.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { call } from "../support/server.js"

const home = mkdtempSync(join(tmpdir(), "trellis-waits-"))
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL")
  rmSync(home, { recursive: true, force: true })
})

const serve = () =>
  new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/trellis.mjs", "serve", "--port", "0"], {
      env: { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "", TRELLIS_API_KEYS: "", TRELLIS_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let out = ""
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 40_000)
    const onData = (d: Buffer) => {
      out += d.toString("utf8")
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, url: m[1]! })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
  })

const exitOf = (child: ChildProcess) => new Promise<void>((resolve) => child.on("exit", () => resolve()))

const submit = async (url: string, source: string) =>
  ((await (await call(url, "/v1/runs", { method: "POST", body: JSON.stringify({ source }) })).json()) as {
    runId: string
  }).runId

const statusOf = async (url: string, runId: string) =>
  (await (await call(url, `/v1/runs/${runId}`)).json()) as { status: string; output?: unknown }

const until = async (url: string, runId: string, want: string, ms = 30_000) => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const r = await statusOf(url, runId)
    if (r.status === want) return r
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`run ${runId} never became ${want} (is ${(await statusOf(url, runId)).status})`)
}

describe("waits survive kill -9", () => {
  it("a sleeping run wakes after a restart; a waiting run takes a signal after a restart", async () => {
    const first = await serve()
    const sleeper = await submit(first.url, `program main() { nap = wait for "2s"\n return "woke" }`)
    const waiter = await submit(first.url, `program main() { ok = wait "go": { v: number }\n return ok.v + 1 }`)
    await until(first.url, sleeper, "waiting")
    await until(first.url, waiter, "waiting")
    const gone = exitOf(first.child)
    first.child.kill("SIGKILL")
    await gone
    const second = await serve()
    expect(await until(second.url, sleeper, "completed")).toMatchObject({ output: "woke" })
    expect((await statusOf(second.url, waiter)).status).toBe("waiting")
    const sent = await call(second.url, `/v1/runs/${waiter}/signals/go`, {
      method: "POST",
      body: JSON.stringify({ payload: { v: 41 } })
    })
    expect(sent.status).toBe(202)
    expect(await until(second.url, waiter, "completed")).toMatchObject({ output: 42 })
    const done = exitOf(second.child)
    second.child.kill("SIGTERM")
    await done
  }, 150_000)
})
