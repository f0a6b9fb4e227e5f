/**
 * The result cache kept in the store, as a user meets it: two `trellis run`s (two processes) of a program whose
 * step says `cache: { ttl }` call the tool once; `--memory` runs do not share it; `trellis gc` removes the
 * entries once they expire (`--dry-run` only counts them).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runTrellis } from "../support/cli.js"

const home = mkdtempSync(join(tmpdir(), "hi-cache-home-"))
const scratch = mkdtempSync(join(tmpdir(), "hi-cache-"))
const env = { ...process.env, TRELLIS_HOME: home, TRELLIS_DATABASE_URL: "" }
const trellis = (args: ReadonlyArray<string>) => runTrellis(args, { env })
const tools = join("test", "fixtures", "tools", "counter.ts")

const program = (counter: string, ttl: string) => {
  const path = join(scratch, `cached-${ttl}.tr`)
  writeFileSync(
    path,
    `program main(text: string) {
  r = tool fixture.count(file: ${JSON.stringify(counter)}, text: text) with { cache: { ttl: "${ttl}" } }
  return r
}
`
  )
  return path
}
const calls = (counter: string) => existsSync(counter) ? readFileSync(counter, "utf8").trim().split("\n").length : 0

describe("the result cache in the store", () => {
  // Each trellis process costs seconds on a loaded machine: one scenario, six processes.
  it("two trellis runs call the tool once; an expired entry is not read; gc --dry-run counts, gc removes", async () => {
    const counter = join(scratch, "calls-1h.txt")
    const file = program(counter, "1h")
    const first = await trellis(["run", file, "--tools", tools, "--json", "--input", "text=a"])
    expect(first.stderr).toBe("")
    expect(JSON.parse(first.stdout).output).toEqual({ calls: 1, text: "a" })
    const second = await trellis(["run", file, "--tools", tools, "--json", "--input", "text=a"])
    expect(JSON.parse(second.stdout).output).toEqual({ calls: 1, text: "a" })
    expect(calls(counter)).toBe(1)

    const shortCounter = join(scratch, "calls-1ms.txt")
    const short = program(shortCounter, "1ms")
    await trellis(["run", short, "--tools", tools, "--json", "--input", "text=a"])
    const again = await trellis(["run", short, "--tools", tools, "--json", "--input", "text=a"])
    expect(JSON.parse(again.stdout).output).toEqual({ calls: 2, text: "a" })

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
