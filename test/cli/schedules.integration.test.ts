/**
 * `trellis schedules` as a user runs it (real processes, a real PGlite store
 * under TRELLIS_HOME): create, list (--json), pause, resume, delete; bad
 * input exits 2 naming the flag; and a server started on the same store
 * fires a schedule the CLI created.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Store } from "../../src/store/index.js"
import { call, startServer, testConfig } from "../support/server.js"

const root = path.join(import.meta.dirname, "..", "..")
const bin = path.join(root, "bin", "trellis.mjs")
const home = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-cli-schedules-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const PROGRAM = path.join(home, "echo.tr")
fs.writeFileSync(PROGRAM, "program main(name: string) { g = tool std.echo(value: name) return g }\n")

const trellis = (args: ReadonlyArray<string>, inHome = home) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, encoding: "utf8", timeout: 120_000, env: { ...env, TRELLIS_HOME: inHome } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  })

type Listed = { readonly schedules: ReadonlyArray<{ readonly scheduleId: string; readonly paused: boolean }> }

afterAll(() => fs.rmSync(home, { recursive: true, force: true }))

describe("trellis schedules", () => {
  let id = ""

  it("creates, lists, pauses, resumes and deletes", async () => {
    const created = await trellis([
      "schedules",
      "create",
      "--cron",
      "0 2 * * *",
      "--timezone",
      "Europe/Paris",
      "--program",
      PROGRAM,
      "--inputs",
      "{\"name\":\"nightly\"}",
      "--missed",
      "catch-up",
      "--max",
      "3",
      "--json"
    ])
    expect(created.code, created.stderr).toBe(0)
    const view = JSON.parse(created.stdout) as { scheduleId: string; missed: unknown; timezone: string }
    expect(view).toMatchObject({ timezone: "Europe/Paris", missed: { policy: "catch-up", max: 3 } })
    id = view.scheduleId
    const listed = JSON.parse((await trellis(["schedules", "--json"])).stdout) as Listed
    expect(listed.schedules.map((s) => s.scheduleId)).toEqual([id])
    expect((await trellis(["schedules", "pause", id])).code).toBe(0)
    expect((JSON.parse((await trellis(["schedules", "--json"])).stdout) as Listed).schedules[0]?.paused).toBe(true)
    expect((await trellis(["schedules", "resume", id])).stdout).toMatch(/^resumed .*next 20\d\d-/)
    // Another workspace has none of them.
    expect((await trellis(["schedules", "--workspace", "beta"])).stdout).toMatch(/no schedules in workspace beta/)
    expect((await trellis(["schedules", "delete", id, "--workspace", "beta"])).code).toBe(1)
    expect((await trellis(["schedules", "delete", id])).stdout).toMatch(`deleted ${id}`)
    expect((await trellis(["schedules"])).stdout).toMatch(/no schedules in workspace default/)
  }, 120_000)

  it("refuses bad input, naming the flag", async () => {
    const base = ["schedules", "create", "--program", PROGRAM]
    // Refused before the store opens: a home that has no store yet gets none.
    const untouched = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-cli-schedules-"))
    const cron = await trellis([...base, "--cron", "61 * * * *", "--inputs", "{\"name\":\"x\"}"], untouched)
    expect(cron.code).toBe(2)
    expect(cron.stderr).toMatch(/--cron: bad cron expression "61 \* \* \* \*": .*minute: 61/)
    expect(fs.existsSync(path.join(untouched, "pglite"))).toBe(false)
    fs.rmSync(untouched, { recursive: true, force: true })
    const inputs = await trellis([...base, "--cron", "@daily"])
    expect(inputs.code).toBe(2)
    expect(inputs.stderr).toMatch(/--inputs: missing input "name"/)
    const zone = await trellis([
      ...base,
      "--cron",
      "@daily",
      "--timezone",
      "Mars/Olympus",
      "--inputs",
      "{\"name\":\"x\"}"
    ])
    expect(zone.stderr).toMatch(/--timezone: unknown time zone/)
    const overlap = await trellis([...base, "--cron", "@daily", "--overlap", "sometimes"])
    expect(overlap.code).not.toBe(0)
    expect(overlap.stderr).toMatch(/skip, queue, allow/)
    expect((await trellis(["schedules", "--json"])).stdout).toBe("{\"schedules\":[]}\n")
  }, 120_000)

  it("a server on the same store fires what the CLI created", async () => {
    const created = await trellis([
      "schedules",
      "create",
      "--cron",
      "* * * * * *",
      "--program",
      PROGRAM,
      "--inputs",
      "{\"name\":\"from the cli\"}",
      "--overlap",
      "allow",
      "--json"
    ])
    expect(created.code, created.stderr).toBe(0)
    const scheduleId = (JSON.parse(created.stdout) as { scheduleId: string }).scheduleId
    const server = await startServer(testConfig(), { store: Store.layerPglite(path.join(home, "pglite")) })
    try {
      const until = Date.now() + 20_000
      let runs: ReadonlyArray<{ status: string; output?: unknown; scheduleId?: string }> = []
      while (Date.now() < until) {
        const r = await call(server.url, `/v1/runs?scheduleId=${scheduleId}`)
        runs = ((await r.json()) as { runs: typeof runs }).runs
        if (runs.some((x) => x.status === "completed")) break
        await new Promise((res) => setTimeout(res, 100))
      }
      expect(runs.find((x) => x.status === "completed")).toMatchObject({ output: "from the cli", scheduleId })
    } finally {
      await server.close()
    }
  }, 120_000)
})
