/**
 * The CLI beside a running server (issue 16, item 4), as a user runs it: a
 * real `trellis serve` holds the PGlite store of a home and advertises its
 * address next to the lock; `trellis run`, `runs`, `runs show`, `trace
 * export` and `replay` in that home go through its HTTP API and print what
 * the same commands print on a store of their own (a second home, direct
 * mode), with the same exit codes. `resume` says why it cannot run. A clean
 * shutdown removes the address; a stale one (dead pid, or a live process
 * that is not a server) is ignored; a keyed server takes TRELLIS_API_KEY.
 *
 * The direct home's commands are also the test of the recorded-runs CLI on a store of its own (what `run` records,
 * `runs` filters and pages, `runs show`, `trace export`, `replay`): each command is a process that opens PGlite, so
 * the same processes serve both checks (durable.integration.test.ts has the commands this file does not run).
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { bin, root, runTrellis } from "../support/cli.js"

const served = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-beside-served-"))
const direct = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-beside-direct-"))
const addressFile = path.join(served, "pglite", "trellis.server.json")

const envOf = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  TRELLIS_HOME: home,
  TRELLIS_DATABASE_URL: "",
  TRELLIS_API_KEYS: "",
  TRELLIS_API_KEY: "",
  TRELLIS_CONFIG: "",
  ...extra
})

const trellis = (home: string, args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}) =>
  runTrellis(args, { env: envOf(home, extra), timeoutMs: 120_000 })

const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL")
  fs.rmSync(served, { recursive: true, force: true })
  fs.rmSync(direct, { recursive: true, force: true })
})

/** Starts `trellis serve --port 0` in the served home; resolves with its URL once it listens. */
const serve = (extra: NodeJS.ProcessEnv = {}) =>
  new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--drain-ms", "1000"], {
      cwd: root,
      env: envOf(served, extra),
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let out = ""
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 90_000)
    const onData = (d: Buffer) => {
      out += d.toString("utf8")
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, url: m[1]! })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
  })

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code))
    child.kill("SIGTERM")
  })

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g

/** Text with what differs between two homes blanked: run ids, times, durations, timeline bars. */
const blank = (text: string): string =>
  text
    .replace(UUID, "<run>")
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/g, "<time>")
    .replace(/\+?\d+ms/g, "<ms>")
    .replace(/█+/g, "")
    .replace(/[ \t]+/g, " ")
    .replace(/ +$/gm, "")

/** A run's record fields that do not depend on when or where it ran. */
const stable = (run: Record<string, unknown>) => {
  const { createdAt: _c, endedAt: _e, runId: _r, updatedAt: _u, ...rest } = run
  return rest
}

/** The events of a JSONL text without what differs between runs (ids, times, latencies). */
const eventShapes = (text: string) =>
  text.trim().split("\n").map((line) => {
    const e = JSON.parse(line) as { seq: number; type: string; node?: string; attempt?: number }
    return [e.seq, e.type, e.node, e.attempt]
  })

const sleeper = (ms: number) => `program main() {\n  s = tool std.sleep(ms: ${ms})\n  return "slow"\n}\n`
const SLOW = path.join(served, "slow.tr")
fs.writeFileSync(SLOW, sleeper(4000))
const SLOWER = path.join(served, "slower.tr")
fs.writeFileSync(SLOWER, sleeper(60_000))

/**
 * The same command in both homes, side by side (two homes, two stores: neither waits for the other); the served one
 * goes through the server (its store is locked by it).
 */
const both = async (args: ReadonlyArray<string>) => {
  const [d, s] = await Promise.all([trellis(direct, args), trellis(served, args)])
  return { d, s }
}

/** A JSON text with its run ids blanked, parsed. */
const parsed = (text: string) => JSON.parse(text.replace(UUID, "<run>")) as unknown

// What the tests below share, in order: the server, and runs of both homes.
let server: { readonly child: ChildProcess; readonly url: string }
let okRun = ""
let failedRun = ""
let dFailed = ""
let dOk = ""
const runIdOf = (stdout: string) => (JSON.parse(stdout) as { runId: string }).runId

describe("the CLI beside a running trellis serve", () => {
  it("runs programs through the server as on its own store", async () => {
    server = await serve()
    const address = JSON.parse(fs.readFileSync(addressFile, "utf8")) as Record<string, unknown>
    expect(address).toMatchObject({ pid: server.child.pid, url: server.url, auth: "none", workspaces: [] })

    const ok = await both(["run", "examples/echo.tr", "--seed", "11", "--input", "name=Ada", "--json"])
    expect(ok.d.code, ok.d.stderr).toBe(0)
    expect(ok.s.code, ok.s.stderr).toBe(0)
    // Equal JSON: an object's keys may come back in the store's order (JSONB) when the events are read from it.
    expect(parsed(ok.s.stdout)).toEqual(parsed(ok.d.stdout))
    okRun = runIdOf(ok.s.stdout)
    dOk = runIdOf(ok.d.stdout)

    const failed = await both(["run", "test/fixtures/traces/failing.tr", "--seed", "12", "--json"])
    expect([failed.d.code, failed.s.code]).toEqual([1, 1])
    expect(parsed(failed.s.stdout)).toEqual(parsed(failed.d.stdout))
    expect(failed.s.stderr.replace(UUID, "<run>")).toBe(failed.d.stderr.replace(UUID, "<run>"))
    expect(failed.s.stderr).toMatch(/^error: run \S+ failed: Transient at node bad \(n1\): upstream is down\n$/)
    failedRun = runIdOf(failed.s.stdout)
    dFailed = runIdOf(failed.d.stdout)

    const plain = await both(["run", "examples/echo.tr", "--input", "name=Bo"])
    expect([plain.d.code, plain.s.code]).toEqual([0, 0])
    expect(parsed(plain.s.stdout)).toEqual(parsed(plain.d.stdout))
    expect(plain.s.stdout).toMatch(/^\{\n {2}"/)

    const badInput = await both(["run", "examples/echo.tr", "--input", "words=x", "--json"])
    expect([badInput.d.code, badInput.s.code]).toEqual([1, 1])
    expect(badInput.s.stdout).toBe(badInput.d.stdout)
    expect(badInput.s.stderr).toBe(badInput.d.stderr)

    // --events follows the run live: the same events, in the same order.
    const dEvents = path.join(direct, "events.jsonl")
    const sEvents = path.join(served, "events.jsonl")
    const dFollowed = await trellis(direct, ["run", "examples/echo.tr", "--input", "name=Cy", "--events", dEvents])
    expect(dFollowed.code, dFollowed.stderr).toBe(0)
    expect((await trellis(served, ["run", "examples/echo.tr", "--input", "name=Cy", "--events", sEvents])).code).toBe(0)
    expect(eventShapes(fs.readFileSync(sEvents, "utf8"))).toEqual(eventShapes(fs.readFileSync(dEvents, "utf8")))
  }, 600_000)

  it("lists and shows runs through the server as on its own store", async () => {
    const list = await both(["runs", "--json"])
    expect([list.d.code, list.s.code]).toEqual([0, 0])
    const dRuns = JSON.parse(list.d.stdout) as { runs: Array<Record<string, unknown>>; next: string | null }
    const sRuns = JSON.parse(list.s.stdout) as { runs: Array<Record<string, unknown>>; next: string | null }
    expect(sRuns.runs.map(stable)).toEqual(dRuns.runs.map(stable))
    expect(sRuns.runs.map((r) => Object.keys(r))).toEqual(dRuns.runs.map((r) => Object.keys(r)))
    expect(sRuns.runs.map((r) => r["status"])).toEqual(["completed", "completed", "failed", "completed"])
    expect(sRuns.next).toBeNull()
    // Newest first (the --events run, the plain one, the failed one, the first); a bad input records no run.
    const dIds = dRuns.runs.map((r) => r["runId"])
    expect(dIds.slice(2)).toEqual([dFailed, dOk])
    expect(dRuns.runs.slice(0, 2).map((r) => (r["output"] as { greeting: string }).greeting)).toEqual([
      "hello, Cy",
      "hello, Bo"
    ])
    expect(dRuns.next).toBeNull()
    const dFailedOnly = JSON.parse((await trellis(direct, ["runs", "--status", "failed", "--json"])).stdout) as {
      runs: Array<{ runId: string }>
    }
    expect(dFailedOnly.runs.map((r) => r.runId)).toEqual([dFailed])
    // Pages: a cursor continues where the last page ended; the last page has no next cursor.
    const page1 = JSON.parse((await trellis(direct, ["runs", "--limit", "3", "--json"])).stdout) as {
      runs: Array<{ runId: string }>
      next: string
    }
    expect(page1.runs.map((r) => r.runId)).toEqual(dIds.slice(0, 3))
    const page2 = JSON.parse(
      (await trellis(direct, ["runs", "--limit", "3", "--cursor", page1.next, "--json"])).stdout
    ) as {
      runs: Array<{ runId: string }>
      next: string | null
    }
    expect(page2.runs.map((r) => r.runId)).toEqual([dOk])
    expect(page2.next).toBeNull()

    const page = await trellis(served, ["runs", "--limit", "1", "--status", "failed"])
    expect(page.code, page.stderr).toBe(0)
    expect(page.stdout).toContain(failedRun)
    const table = await both(["runs"])
    expect(table.d.stdout.split("\n")[0]).toMatch(/^RUN\s+STATUS\s+PROGRAM\s+HASH\s+STARTED\s+TOOK$/)
    expect(blank(table.s.stdout)).toBe(blank(table.d.stdout))
    const badLimit = await both(["runs", "--limit", "0"])
    expect([badLimit.d.code, badLimit.s.code]).toEqual([1, 1])
    expect(badLimit.d.stderr).toBe("error: --limit must be between 1 and 1000, got 0\n")
    expect(badLimit.s.stderr).toBe(badLimit.d.stderr)

    const dShow = await trellis(direct, ["runs", "show", dFailed])
    const sShow = await trellis(served, ["runs", "show", failedRun])
    expect([dShow.code, sShow.code]).toEqual([0, 0])
    expect(blank(sShow.stdout)).toBe(blank(dShow.stdout))
    expect(dShow.stdout).toContain(`run ${dFailed}  failed`)
    expect(dShow.stdout).toContain("error Transient at n1: upstream is down")
    expect(sShow.stdout).toMatch(/n1\s+tool std\.fail\s+\+\d+ms\s+\d+ms\s+failed \(Transient\)\s+3/)
    const dShowJson = JSON.parse((await trellis(direct, ["runs", "show", dFailed, "--json"])).stdout) as {
      events: number
      timeline: Array<{ node: string; state: string; attempts: number }>
    }
    const sShowJson = JSON.parse((await trellis(served, ["runs", "show", failedRun, "--json"])).stdout) as {
      events: number
      timeline: Array<{ node: string; state: string; attempts: number }>
    }
    expect(sShowJson.events).toBe(dShowJson.events)
    expect(sShowJson.timeline.map((l) => [l.node, l.state, l.attempts])).toEqual(
      dShowJson.timeline.map((l) => [l.node, l.state, l.attempts])
    )
    const missing = await both(["runs", "show", "nope"])
    expect([missing.d.code, missing.s.code]).toEqual([1, 1])
    expect(missing.s.stderr).toBe("error: run nope: NotFound: no run nope\n")
    expect(missing.s.stderr).toBe(missing.d.stderr)
  }, 600_000)

  it("exports and replays through the server; resume says why it cannot", async () => {
    const dTrace = path.join(direct, "ok.jsonl")
    const sTrace = path.join(served, "ok.jsonl")
    const dExport = await trellis(direct, ["trace", "export", dOk, "-o", dTrace])
    const sExport = await trellis(served, ["trace", "export", okRun, "-o", sTrace])
    expect([dExport.code, sExport.code]).toEqual([0, 0])
    expect(blank(sExport.stderr).replace(served, "<home>")).toBe(blank(dExport.stderr).replace(direct, "<home>"))
    const dShapes = eventShapes(fs.readFileSync(dTrace, "utf8"))
    expect(dShapes.map(([seq]) => seq)).toEqual(dShapes.map((_, i) => i))
    expect(dShapes.at(-1)?.[1]).toBe("RunCompleted")
    expect(eventShapes(fs.readFileSync(sTrace, "utf8"))).toEqual(dShapes)
    const stdoutExport = await trellis(served, ["trace", "export", okRun])
    expect(stdoutExport.stdout).toBe(fs.readFileSync(sTrace, "utf8"))

    const dReplay = await trellis(direct, ["replay", dOk])
    const sReplay = await trellis(served, ["replay", okRun])
    expect([dReplay.code, sReplay.code]).toEqual([0, 0])
    expect(sReplay.stdout.replace(UUID, "<run>")).toBe(dReplay.stdout.replace(UUID, "<run>"))
    expect(sReplay.stdout).toContain(`replay of run ${okRun}: exact`)
    // The exported trace file replays on the direct store too, with the program from the store.
    const dFromFile = await trellis(direct, ["replay", dTrace])
    expect(dFromFile.code, dFromFile.stderr).toBe(0)
    expect(dFromFile.stdout).toBe(dReplay.stdout)
    const dReplayJson = await trellis(direct, ["replay", dFailed, "--json"])
    const sReplayJson = await trellis(served, ["replay", failedRun, "--json"])
    // A failed run replays exactly too (same retries, same failure).
    expect(dReplayJson.code, dReplayJson.stderr).toBe(0)
    expect(JSON.parse(dReplayJson.stdout)).toMatchObject({ runId: dFailed, exact: true, status: "failed" })
    expect(sReplayJson.stdout.replace(UUID, "<run>")).toBe(dReplayJson.stdout.replace(UUID, "<run>"))
    // A trace file replays here, with the program the server has for its run, or the one given.
    const fromFile = await trellis(served, ["replay", sTrace])
    expect(fromFile.code, fromFile.stderr).toBe(0)
    expect(fromFile.stdout).toBe(sReplay.stdout)
    const withProgram = await trellis(served, ["replay", sTrace, "--program", "examples/echo.tr"])
    expect(withProgram.code, withProgram.stderr).toBe(0)

    // resume has no API: the server resumes what was left running when it starts.
    const resume = await trellis(served, ["resume", "--all"])
    expect(resume.code).toBe(1)
    expect(resume.stderr).toContain(`is held by the server at ${server.url} (process ${server.child.pid})`)
  }, 600_000)

  it("a live run is followed to its end; a clean shutdown removes the address", async () => {
    // A live run: listed as running while it runs, shown with its events so far; `run` follows it to its end.
    const live = runTrellis(["run", SLOW, "--json"], { env: envOf(served), timeoutMs: 120_000 })
    let running: Array<{ runId: string }> = []
    for (let i = 0; i < 200 && running.length === 0; i++) {
      const r = await fetch(`${server.url}/v1/runs?status=running`)
      running = ((await r.json()) as { runs: Array<{ runId: string }> }).runs
      if (running.length === 0) await new Promise((res) => setTimeout(res, 50))
    }
    expect(running).toHaveLength(1)
    const liveRun = running[0]!.runId
    const shownLive = await trellis(served, ["runs", "show", liveRun, "--json"])
    expect(shownLive.code, shownLive.stderr).toBe(0)
    const shownView = JSON.parse(shownLive.stdout) as { runId: string; events: number }
    expect(shownView.runId).toBe(liveRun)
    expect(shownView.events).toBeGreaterThan(0)
    const liveEnd = await live
    expect(liveEnd.code, liveEnd.stderr).toBe(0)
    expect(JSON.parse(liveEnd.stdout)).toEqual({ runId: liveRun, status: "completed", output: "slow" })

    // A clean shutdown removes the address.
    expect(await stop(server.child)).toBe(0)
    expect(fs.existsSync(addressFile)).toBe(false)
  }, 600_000)

  it("ignores a stale address, keeps the lock error for a holder that is not a server, and sends the key", async () => {
    if (server.child.exitCode === null) await stop(server.child)
    // A dead pid: the address is ignored and the command opens the store itself.
    const dead = spawn(process.execPath, ["-e", ""])
    await new Promise((res) => dead.on("exit", res))
    const stale = { pid: dead.pid, url: "http://127.0.0.1:9", auth: "none", workspaces: [], version: "0" }
    fs.writeFileSync(addressFile, JSON.stringify(stale))
    const listed = await trellis(served, ["runs", "--json"])
    expect(listed.code, listed.stderr).toBe(0)
    expect((JSON.parse(listed.stdout) as { runs: Array<{ runId: string }> }).runs.map((r) => r.runId)).toContain(okRun)

    // A live holder that does not answer /healthz (a direct `trellis run`): the clear lock error, as before.
    const holder = spawn(process.execPath, [bin, "run", SLOWER], { cwd: root, env: envOf(served), stdio: "ignore" })
    children.push(holder)
    const lock = path.join(served, "pglite", "trellis.lock")
    for (let i = 0; i < 600; i++) {
      if (fs.existsSync(lock) && Number(fs.readFileSync(lock, "utf8").trim()) === holder.pid) break
      await new Promise((res) => setTimeout(res, 50))
    }
    fs.writeFileSync(addressFile, JSON.stringify({ ...stale, pid: holder.pid }))
    const refused = await trellis(served, ["runs"])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`is in use by process ${holder.pid}`)
    const holderExit = new Promise((res) => holder.on("exit", res))
    holder.kill("SIGINT")
    await holderExit
    fs.rmSync(addressFile, { force: true })

    // A keyed server: the key comes from TRELLIS_API_KEY (never from the home), and a wrong one is refused.
    const keyed = await serve({ TRELLIS_API_KEYS: "acme=k1" })
    try {
      const address = JSON.parse(fs.readFileSync(addressFile, "utf8")) as Record<string, unknown>
      expect(address).toMatchObject({ auth: "key", workspaces: ["acme"] })
      expect(fs.readFileSync(addressFile, "utf8")).not.toContain("k1")
      const noKey = await trellis(served, ["runs"])
      expect(noKey.code).toBe(1)
      expect(noKey.stderr).toContain("needs an API key: set TRELLIS_API_KEY to the key of one of its workspaces (acme)")
      const wrong = await trellis(served, ["runs"], { TRELLIS_API_KEY: "nope" })
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toContain("refused the key in TRELLIS_API_KEY")
      const run = await trellis(served, ["run", "examples/echo.tr", "--input", "name=Di", "--json"], {
        TRELLIS_API_KEY: "k1"
      })
      expect(run.code, run.stderr).toBe(0)
      const runId = (JSON.parse(run.stdout) as { runId: string }).runId
      // The workspace sees its own runs only (the open-mode runs belong to `default`).
      const mine = await trellis(served, ["runs", "--json"], { TRELLIS_API_KEY: "k1" })
      expect((JSON.parse(mine.stdout) as { runs: Array<{ runId: string }> }).runs.map((r) => r.runId)).toEqual([runId])
    } finally {
      expect(await stop(keyed.child)).toBe(0)
    }
    expect(fs.existsSync(addressFile)).toBe(false)
  }, 600_000)
})
