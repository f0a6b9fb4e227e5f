/**
 * The CLI of recorded runs, as a user runs it (real processes, a real PGlite
 * store under TRELLIS_HOME): a `trellis run` killed with SIGKILL is left
 * `running` and `trellis resume --all` finishes it; the retrieval tools use the
 * store's own database. What `run` records, `runs` (filter, pagination,
 * --json), `runs show`, `trace export` and `replay` on a store of their own
 * are checked on the direct home of beside-server.integration.test.ts, which
 * runs those very commands to compare them with a server's answers (each
 * command is a process opening PGlite: one set of them serves both checks).
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.join(import.meta.dirname, "..", "..")
const bin = path.join(root, "bin", "trellis.mjs")
const home = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-cli-store-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }

/** Runs the CLI without blocking the test worker (a blocked worker misses vitest's heartbeats). */
const trellis = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, encoding: "utf8", timeout: 120_000, env },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  })

const SLOW = path.join(home, "slow.tr")
fs.writeFileSync(
  SLOW,
  `program main() {
  waits = map i in range(6) with { concurrency: 2 } {
    w = tool std.sleep(ms: 400)
    return i
  }
  return sum(waits)
}
`
)

describe("trellis runs / show / trace export / replay / resume", () => {
  it("a trellis run killed with SIGKILL is resumed by trellis resume --all", async () => {
    const events = path.join(home, "slow.jsonl")
    const child = spawn(process.execPath, [bin, "run", SLOW, "--json", "--events", events], {
      cwd: root,
      env,
      stdio: "ignore"
    })
    // Kill once the third sleep has started (two have completed by then or are in flight).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const text = fs.existsSync(events) ? fs.readFileSync(events, "utf8") : ""
        if ((text.match(/"ToolReturned"/g) ?? []).length >= 2) {
          clearInterval(timer)
          child.kill("SIGKILL")
          resolve()
        }
      }, 20)
      child.on("exit", () => {
        clearInterval(timer)
        reject(new Error("the run ended before it could be killed"))
      })
    })
    await new Promise((r) => child.on("close", r))
    const running = JSON.parse((await trellis(["runs", "--status", "running", "--json"])).stdout) as {
      runs: Array<{ runId: string }>
    }
    expect(running.runs).toHaveLength(1)
    const runId = running.runs[0]!.runId
    const resumed = await trellis(["resume", "--all", "--json"])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toEqual([{ runId, status: "completed", output: 15 }])
    const shown = JSON.parse((await trellis(["runs", "show", runId, "--json"])).stdout) as {
      status: string
      output: number
    }
    expect(shown.status).toBe("completed")
    expect(shown.output).toBe(15)
    expect((await trellis(["resume", "--all"])).stdout).toBe("no runs left running\n")
    const again = await trellis(["resume", runId])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`run ${runId} is completed; only running and waiting runs resume`)
  }, 240_000)

  it("retrieval tools are built in and use the store's own database", async () => {
    const prog = path.join(home, "retrieve.tr")
    fs.writeFileSync(
      prog,
      `program main(q: string = "wing lift") {
  ing = tool retrieval.ingest(documents: [{ id: "a", text: "The wing lift in a slipstream was measured." }, { id: "b", text: "Boundary layers on flat plates." }])
  hits = tool retrieval.search(query: q, k: 1) with { after: [ing] }
  return hits
}
`
    )
    const r = await trellis(["run", prog, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      status: string
      output: Array<{ documentId: string; start: number; end: number }>
    }
    expect(out.status).toBe("completed")
    expect(out.output.map((h) => [h.documentId, h.start, h.end])).toEqual([["a", 0, 43]])
  }, 240_000)
})
