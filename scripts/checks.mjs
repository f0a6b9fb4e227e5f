// The steps of `npm test` before vitest, side by side: the build (`node scripts/build.mjs`), the type check
// (`npm run typecheck`) and lint (`npm run lint`) depend on none of each other's output, and each is one
// single-threaded process, so on a machine with two or more cores they take the time of the longest instead of the
// sum (on a clean clone: the build about 27 s of CPU, the type check 40 s, lint 19 s). Each step's output is printed
// whole when it ends, under its name; the exit status is the first failing step's, or 0 when all pass.
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const npm = process.platform === "win32" ? "npm.cmd" : "npm"

const steps = [
  { name: "build", command: process.execPath, args: [join(root, "scripts", "build.mjs")] },
  { name: "typecheck", command: npm, args: ["run", "--silent", "typecheck"] },
  { name: "lint", command: npm, args: ["run", "--silent", "lint"] }
]

const run = (step) =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(step.command, step.args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    const chunks = []
    child.stdout.on("data", (d) => chunks.push(d))
    child.stderr.on("data", (d) => chunks.push(d))
    const finish = (code, detail) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      const status = code === 0 ? "ok" : `failed (${detail})`
      process.stdout.write(`> ${step.name}: ${status} in ${seconds} s\n`)
      const output = Buffer.concat(chunks).toString("utf8")
      if (output.trim() !== "") process.stdout.write(output.endsWith("\n") ? output : `${output}\n`)
      resolve(code)
    }
    child.on("error", (e) => finish(1, e.message))
    child.on("close", (code, signal) => finish(code ?? 1, code === null ? `signal ${signal}` : `exit ${code}`))
  })

const codes = await Promise.all(steps.map(run))
process.exit(codes.find((c) => c !== 0) ?? 0)
