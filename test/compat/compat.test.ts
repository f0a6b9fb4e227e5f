/**
 * The backward-compatibility suite: every release's programs and traces (test/fixtures/compat/<version>/, with a
 * manifest of the program hashes and of each trace's program) keep loading, validating, hashing as they did and
 * replaying exactly. A new release adds a directory; none is ever edited. Also: the versions the formats carry,
 * and a trace or a store written by a newer build is refused with a message naming both versions.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { check } from "../../src/compile.js"
import { IR_VERSION } from "../../src/ir/schema.js"
import * as Durable from "../../src/runtime/durable.js"
import { RunStore } from "../../src/runtime/runStore.js"
import * as Runtime from "../../src/runtime/runtime.js"
import { newerStoreSchema, STORE_SCHEMA_VERSION } from "../../src/store/migrations.js"
import { fromJsonl } from "../../src/trace/jsonl.js"
import { EVENT_SCHEMA_VERSION } from "../../src/trace/versions.js"

const corpus = path.join(import.meta.dirname, "..", "fixtures", "compat")
const releases = fs.readdirSync(corpus).sort()

interface Manifest {
  readonly version: string
  readonly ir: string
  readonly eventSchema: number
  readonly storeSchema: number
  readonly programs: Record<string, string>
  readonly traces: Record<string, string>
}

const layer = Layer.merge(Runtime.layerMemory, RunStore.layerMemory)

describe("backward compatibility", () => {
  it("has a corpus, and no release is newer than this build's formats", () => {
    expect(releases.length).toBeGreaterThan(0)
    for (const release of releases) {
      const m = JSON.parse(fs.readFileSync(path.join(corpus, release, "manifest.json"), "utf8")) as Manifest
      expect(m.version).toBe(release)
      expect(Number(m.ir.split("/")[1])).toBeLessThanOrEqual(Number(IR_VERSION.split("/")[1]))
      expect(m.eventSchema).toBeLessThanOrEqual(EVENT_SCHEMA_VERSION)
      expect(m.storeSchema).toBeLessThanOrEqual(STORE_SCHEMA_VERSION)
    }
  })

  for (const release of releases) {
    const dir = path.join(corpus, release)
    const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest
    const read = (...parts: ReadonlyArray<string>) => fs.readFileSync(path.join(dir, ...parts), "utf8")

    it(`${release}: every program loads, validates and hashes as it did`, () => {
      expect(Object.keys(m.programs).sort()).toEqual(fs.readdirSync(path.join(dir, "programs")).sort())
      for (const [file, hash] of Object.entries(m.programs)) {
        const checked = check(read("programs", file))
        expect({ file, diagnostics: checked.diagnostics }).toEqual({ file, diagnostics: [] })
        expect({ file, hash: checked.hash }).toEqual({ file, hash })
      }
    })

    for (const [trace, program] of Object.entries(m.traces)) {
      it.live(`${release}: ${trace} reads and replays exactly`, () =>
        Effect.gen(function*() {
          const events = Either.getOrThrow(fromJsonl(read("traces", trace)))
          const report = yield* Durable.replay({
            _tag: "Trace",
            events,
            program: check(read("traces", program)).normalized!
          })
          expect(report.divergence).toBeUndefined()
          expect(report.exact).toBe(true)
          expect(report.replayedEvents).toBe(events.length)
        }).pipe(Effect.provide(layer)))
    }
  }

  it("a trace written with a newer event schema is refused, naming both versions", () => {
    const first = JSON.parse(
      fs.readFileSync(path.join(corpus, releases[0]!, "traces", "echo.jsonl"), "utf8").split("\n")[0]!
    )
    const newer = JSON.stringify({ ...first, data: { ...first.data, eventSchema: EVENT_SCHEMA_VERSION + 1 } })
    const read = fromJsonl(newer + "\n")
    expect(Either.isLeft(read)).toBe(true)
    if (Either.isLeft(read)) {
      expect(read.left.reason).toBe("NewerSchema")
      expect(read.left.message).toBe(
        `line 1: the trace was written with event schema ${
          EVENT_SCHEMA_VERSION + 1
        }; this build reads event schema ${EVENT_SCHEMA_VERSION} (and older)`
      )
    }
  })

  it("a store migrated by a newer build is refused, naming both versions", () => {
    expect(newerStoreSchema(STORE_SCHEMA_VERSION)).toBeUndefined()
    expect(newerStoreSchema(STORE_SCHEMA_VERSION + 1)).toBe(
      `the store's schema is at migration ${
        STORE_SCHEMA_VERSION + 1
      }, newer than this build's ${STORE_SCHEMA_VERSION}: use the Trellis that migrated it (or a newer one)`
    )
  })
})
