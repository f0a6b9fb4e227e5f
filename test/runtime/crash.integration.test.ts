/**
 * Crash resume for real (issue 4, item 3): a child process runs a program of
 * 31 keyed side effects on the durable store and is killed with SIGKILL at a
 * random moment (seeded); a new process resumes it (sometimes killed again);
 * a last one completes it. Every trial must end with the right output, every
 * keyed side effect applied exactly once (the resumed calls reuse the
 * original idempotency keys), and the run's event seqs contiguous with no
 * gap or duplicate. Runs on PGlite, and on PostgreSQL when
 * TRELLIS_TEST_DATABASE_URL is set.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { build } from "esbuild"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { NODE_EXTERNALS } from "../../scripts/bundleExternals.mjs"
import { freshPostgresDatabase, testDatabaseUrl } from "../support/db.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, "..", "..")
// The child is bundled once (esbuild) so each of the ~60 processes starts in a fraction of tsx's time.
const child = path.join(root, "test-results", "bundles", "crash-child.mjs")
const program = path.join(here, "fixtures", "crash.tr")

beforeAll(async () => {
  await build({
    entryPoints: [path.join(here, "fixtures", "crash-child.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: child,
    external: NODE_EXTERNALS,
    banner: {
      js:
        "import { createRequire as __trellisCreateRequire } from 'module'; const require = __trellisCreateRequire(import.meta.url);"
    },
    logLevel: "warning"
  })
  // The store runs PGlite on a worker thread whose script sits next to the module that starts it.
  fs.copyFileSync(
    path.join(root, "src", "store", "pgliteWorker.mjs"),
    path.join(path.dirname(child), "pgliteWorker.mjs")
  )
}, 120_000)
/**
 * Trials per store: a short seeded default keeps the suite fast; `TRELLIS_CRASH_TRIALS=20` (or more) is the soak
 * run (docs/testing.md).
 */
const TRIALS = (() => {
  const raw = process.env["TRELLIS_CRASH_TRIALS"] ?? "4"
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 2) {
    throw new Error(`TRELLIS_CRASH_TRIALS must be an integer >= 2, got ${JSON.stringify(raw)}`)
  }
  return n
})()
const EXPECTED = { total: 10 * (29 * 30) / 2, check: 10_000 }

/** A seeded PRNG (mulberry32). */
const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface ChildResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the child; with `killAfterMs`, kills it with SIGKILL that long after
 * its first side-effect call (or at once if it never makes one in time).
 */
const runChild = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, fxDir: string, killAfterMs?: number) =>
  new Promise<ChildResult>((resolve, reject) => {
    const p = spawn(process.execPath, [child, ...args], {
      env: { ...env, CRASH_PROGRAM: program },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const calls = path.join(fxDir, "calls.jsonl")
    const before = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").length : 0
    let poll: ReturnType<typeof setInterval> | undefined
    let killer: ReturnType<typeof setTimeout> | undefined
    if (killAfterMs !== undefined) {
      // Wait for this process's first call, then kill after the chosen delay.
      poll = setInterval(() => {
        const now = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").length : 0
        if (now > before) {
          clearInterval(poll)
          poll = undefined
          killer = setTimeout(() => p.kill("SIGKILL"), killAfterMs)
        }
      }, 2)
    }
    const guard = setTimeout(() => p.kill("SIGKILL"), 60_000)
    p.on("error", reject)
    p.on("close", (code, signal) => {
      if (poll !== undefined) clearInterval(poll)
      if (killer !== undefined) clearTimeout(killer)
      clearTimeout(guard)
      resolve({ code, signal, stdout, stderr })
    })
  })

const readLines = (file: string): ReadonlyArray<{ readonly key: string; readonly item: number }> =>
  !fs.existsSync(file) ? [] : fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").flatMap((l) => {
    try {
      return [JSON.parse(l) as { key: string; item: number }]
    } catch {
      return []
    }
  })

/** One trial: start → kill; resume → maybe kill; resume to the end; verify. */
const trial = async (n: number, backendEnv: NodeJS.ProcessEnv, rand: () => number) => {
  const fxDir = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-crash-fx-"))
  const env = { ...process.env, ...backendEnv, FX_DIR: fxDir }
  const runId = `crash-${n}`
  const kills: Array<string> = []
  const first = await runChild(["start", runId], env, fxDir, Math.floor(rand() * 300))
  kills.push(first.signal ?? `exit ${first.code}`)
  if (rand() < 0.5) {
    const second = await runChild(["resume"], env, fxDir, Math.floor(rand() * 200))
    kills.push(second.signal ?? `exit ${second.code}`)
  }
  const last = await runChild(["finish", runId], env, fxDir)
  expect(last.code, last.stderr).toBe(0)
  const { events, record } = JSON.parse(last.stdout.trim().split("\n").pop()!) as {
    record: { status: string; output: unknown }
    events: ReadonlyArray<{ seq: number; type: string }>
  }
  // The run completed with the right output.
  expect(record.status).toBe("completed")
  expect(record.output).toEqual(EXPECTED)
  // Event seqs contiguous from 0, no gap, no duplicate; one terminal event, last.
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i))
  expect(
    events.filter((e) => e.type === "RunCompleted" || e.type === "RunFailed" || e.type === "RunCancelled").map((e) =>
      e.type
    )
  ).toEqual(["RunCompleted"])
  expect(events[events.length - 1]!.type).toBe("RunCompleted")
  // Every keyed side effect applied exactly once; every call (first or resumed) used one of those keys.
  const effects = readLines(path.join(fxDir, "effects.jsonl"))
  const calls = readLines(path.join(fxDir, "calls.jsonl"))
  const keys = effects.map((e) => e.key)
  expect(new Set(keys).size).toBe(keys.length)
  expect(keys.length).toBe(31)
  expect(new Set(effects.map((e) => e.item)).size).toBe(31)
  const known = new Set(keys)
  for (const c of calls) expect(known.has(c.key)).toBe(true)
  fs.rmSync(fxDir, { recursive: true, force: true })
  return { kills, calls: calls.length }
}

/** Runs `TRIALS` trials, `parallel` at a time, each on its own store from `makeEnv`. */
const trials = async (
  seed: number,
  parallel: number,
  makeEnv: (n: number) => Promise<{ env: NodeJS.ProcessEnv; done: () => Promise<void> }>
) => {
  const rand = prng(seed)
  const plans = Array.from({ length: TRIALS }, (_, n) => ({ n, seed: Math.floor(rand() * 2 ** 31) }))
  const outcomes: Array<{ kills: ReadonlyArray<string>; calls: number }> = []
  for (let i = 0; i < plans.length; i += parallel) {
    const batch = plans.slice(i, i + parallel)
    const settled = await Promise.all(batch.map(async (p) => {
      const { done, env } = await makeEnv(p.n)
      try {
        return await trial(p.n, env, prng(p.seed))
      } finally {
        await done()
      }
    }))
    for (const outcome of settled) outcomes.push(outcome)
  }
  return outcomes
}

describe("crash resume: SIGKILL at random moments", () => {
  it(`PGlite (the default store): ${TRIALS} seeded trials`, async () => {
    // One store directory created and migrated once; each trial starts from a copy of it.
    const template = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-crash-template-"))
    const fx = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-crash-fx-"))
    const init = await runChild(["init"], {
      ...process.env,
      TRELLIS_HOME: template,
      TRELLIS_DATABASE_URL: "",
      FX_DIR: fx
    }, fx)
    expect(init.code, init.stderr).toBe(0)
    const outcomes = await trials(20261122, 4, async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-crash-home-"))
      fs.cpSync(template, home, { recursive: true })
      return {
        env: { TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" },
        done: async () => fs.rmSync(home, { recursive: true, force: true })
      }
    })
    fs.rmSync(template, { recursive: true, force: true })
    // Most first processes really died mid-run (else the test proves little).
    expect(outcomes.filter((o) => o.kills[0] === "SIGKILL").length).toBeGreaterThanOrEqual(TRIALS / 2)
    // Some resumed calls repeated an in-flight call (same key), proving keys are reused, not re-derived differently.
    expect(outcomes.some((o) => o.calls > 31)).toBe(true)
  }, 600_000)

  const url = testDatabaseUrl()
  it.skipIf(url === undefined)(`PostgreSQL: ${TRIALS} seeded trials`, async () => {
    const outcomes = await trials(7, 4, async () => {
      const scope = await Effect.runPromise(Scope.make())
      const db = await Effect.runPromise(Scope.extend(freshPostgresDatabase(url!), scope))
      return { env: { TRELLIS_DATABASE_URL: db.url }, done: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
    })
    expect(outcomes.filter((o) => o.kills[0] === "SIGKILL").length).toBeGreaterThanOrEqual(TRIALS / 2)
  }, 600_000)
})
