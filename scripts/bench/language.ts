/**
 * Benchmark: parse + validate + normalize of generated programs of 1k, 10k
 * and 100k nodes. Each size runs in its own child process so that peak heap
 * is measured per size. Writes scripts/bench/results/language.json.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

interface Measurement {
  readonly size: number
  readonly nodes: number
  readonly sourceChars: number
  readonly parseMs: number
  readonly validateMs: number
  readonly normalizeMs: number
  readonly totalMs: number
  readonly usPerNode: number
  readonly peakHeapMB: number
  readonly maxRssMB: number
}

export const runLanguageBench = (): Record<string, unknown> => {
  const sizes = [1_000, 10_000, 100_000]
  const results: Array<Measurement> = []
  for (const size of sizes) {
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--max-old-space-size=8192", "--import", "tsx", join(here, "language-worker.ts"), String(size)],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }
    )
    const m = JSON.parse(out.trim().split("\n").pop() ?? "{}") as Measurement
    results.push(m)
    console.log(
      `language ${String(size).padStart(7)} nodes: ${m.usPerNode.toFixed(2)} µs/node ` +
        `(parse ${m.parseMs.toFixed(0)} ms, validate ${m.validateMs.toFixed(0)} ms, normalize ${
          m.normalizeMs.toFixed(0)
        } ms), ` +
        `peak heap ${m.peakHeapMB.toFixed(0)} MB`
    )
  }
  const at = (n: number) => results.find((r) => r.size === n)!
  const ratio = at(100_000).usPerNode / at(10_000).usPerNode
  const report = {
    bench: "language",
    node: process.version,
    results,
    ratio100kTo10kPerNode: Number(ratio.toFixed(3)),
    linear: ratio < 1.5
  }
  console.log(`µs/node ratio 100k/10k = ${ratio.toFixed(2)} (1.0 = perfectly linear)`)
  mkdirSync(join(here, "results"), { recursive: true })
  writeFileSync(join(here, "results", "language.json"), JSON.stringify(report, null, 2) + "\n")
  return report
}
