/**
 * The result cache kept in the store, as a user meets it: two `trellis run`s (two processes) of a program whose
 * `http.get` step says `cache: { ttl }` fetch the page once (a loopback server counts the requests); an expired
 * entry is fetched again; `trellis gc` removes the entries once they expire (`--dry-run` only counts them).
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"

const home = mkdtempSync(join(tmpdir(), "hi-cache-home-"))
const scratch = mkdtempSync(join(tmpdir(), "hi-cache-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "", TRELLIS_HTTP_ALLOW: "127.0.0.1" }
const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env })

/** A loopback page that counts its requests per path: the tool's calls, seen from outside the processes. */
const hits = new Map<string, number>()
const server = createServer((req, res) => {
  const n = (hits.get(req.url ?? "") ?? 0) + 1
  hits.set(req.url ?? "", n)
  res.setHeader("content-type", "text/plain")
  res.end(`call ${n}`)
})
let base = ""
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

/** A program fetching `page` with the built-in `http.get`, its result cached for `ttl`. */
const program = (page: string, ttl: string) => {
  const path = join(scratch, `cached-${ttl}.tr`)
  writeFileSync(
    path,
    `program main(url: string) {
  r = tool http.get(url: url) with { cache: { ttl: "${ttl}" } }
  return r.body
}
`
  )
  return [path, "--json", "--input", `url=${base}/${page}`]
}
const output = (stdout: string): unknown => (JSON.parse(stdout) as { output: unknown }).output

describe("the result cache in the store", () => {
  // Each trellis process costs seconds on a loaded machine: one scenario, six processes.
  it("two trellis runs call the tool once; an expired entry is not read; gc --dry-run counts, gc removes", async () => {
    const first = await trellis(["run", ...program("long", "1h")])
    expect(first.stderr).toBe("")
    expect(output(first.stdout)).toBe("call 1")
    const second = await trellis(["run", ...program("long", "1h")])
    expect(output(second.stdout)).toBe("call 1")
    expect(hits.get("/long")).toBe(1)

    await trellis(["run", ...program("short", "1ms")])
    const again = await trellis(["run", ...program("short", "1ms")])
    expect(output(again.stdout)).toBe("call 2")
    expect(hits.get("/short")).toBe(2)

    const dry = JSON.parse((await trellis(["gc", "--dry-run", "--json"])).stdout)
    expect(dry.dryRun).toBe(true)
    expect(dry.cache.entries).toBe(1)
    expect(dry.bytes).toBeGreaterThan(0)
    const real = await trellis(["gc"])
    expect(real.stderr).toBe("")
    expect(real.stdout).toBe(
      `removed: 1 expired cache entry, 0 events of 0 compacted runs, 0 unreferenced blobs; ${dry.bytes} bytes reclaimed\n`
    )
  }, 300_000)
})
