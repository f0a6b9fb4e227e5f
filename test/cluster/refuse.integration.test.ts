/** `trellis serve --cluster` on PGlite (no TRELLIS_DATABASE_URL) refuses with one clear line and exit 1. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"

it("refuses cluster mode on PGlite with one line", async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-cluster-pglite-"))
  try {
    const { TRELLIS_DATABASE_URL: _url, ...env } = process.env
    const ran = await runTrellis(["serve", "--cluster", "--port", "0"], { env: { ...env, TRELLIS_HOME: home } })
    expect(ran.code).toBe(1)
    expect(ran.stderr.trim().split("\n")).toEqual([
      "error: --cluster needs PostgreSQL: set TRELLIS_DATABASE_URL (PGlite admits one process, so replicas cannot share it)"
    ])
  } finally {
    fs.rmSync(home, { recursive: true, force: true })
  }
}, 60_000)
