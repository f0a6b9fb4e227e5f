/**
 * Runs the `trellis` CLI (or any node script) as a child process without
 * blocking the test worker: a worker stuck in spawnSync misses vitest's RPC
 * heartbeats when the machine is busy.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"

export const root = join(import.meta.dirname, "..", "..")
export const bin = join(root, "bin", "trellis.mjs")

/** What a process printed and how it ended. */
export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node <args>` in `cwd` (the repository by default), feeding `input` to stdin. */
export const runNode = (
  args: ReadonlyArray<string>,
  options: {
    readonly input?: string
    readonly env?: NodeJS.ProcessEnv
    readonly cwd?: string
    readonly timeoutMs?: number
  } = {}
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...args], {
      cwd: options.cwd ?? root,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => p.kill("SIGKILL"), options.timeoutMs ?? 120_000)
    p.on("error", reject)
    p.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    p.stdin.on("error", () => undefined)
    p.stdin.end(options.input ?? "")
  })

/** Runs `trellis <args>`. */
export const runTrellis = (args: ReadonlyArray<string>, options: Parameters<typeof runNode>[1] = {}): Promise<Ran> =>
  runNode([bin, ...args], options)
