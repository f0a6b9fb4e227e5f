/** `trellis run` with http.get: loopback is refused unless TRELLIS_HTTP_ALLOW lists it. */
import { execFile } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const bin = join(root, "bin", "trellis.mjs")

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, "run", "--memory", ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout })
    )
  })

let server: Server
let url = ""
beforeAll(async () => {
  server = createServer((_req, res) => res.end("hello from loopback"))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("trellis run + http.get", () => {
  it("refuses a loopback URL by default and fetches it when allowlisted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trellis-http-"))
    const file = join(dir, "get.tr")
    writeFileSync(file, `program main(url: string) {\n  page = tool http.get(url: url)\n  return page.body\n}\n`)
    const refused = await run([file, "--json", "--input", `url=${url}`], { TRELLIS_HTTP_ALLOW: "" })
    expect(refused.code).toBe(1)
    const r1 = JSON.parse(refused.stdout)
    expect(r1.status).toBe("failed")
    expect(r1.error.kind).toBe("Permanent")
    expect(r1.error.message).toContain("loopback")
    const allowed = await run([file, "--json", "--input", `url=${url}`], { TRELLIS_HTTP_ALLOW: "127.0.0.1" })
    expect(JSON.parse(allowed.stdout)).toMatchObject({ status: "completed", output: "hello from loopback" })
    expect(allowed.code).toBe(0)
  })
})
