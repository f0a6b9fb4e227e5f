/**
 * Laws of versioned formats (issue 21), on a synthetic older IR, `trellis/0`, whose documents listed programs
 * and signatures as arrays of `{ name, … }` and named the entry `main`; its upgrader to `trellis/1` (written as a
 * release would write it) and a test-only encoder of `trellis/0`. For every program p:
 * upgrade ∘ encode round-trips (p, written at either version, decodes back to p); upgrading twice is upgrading
 * once; the upgraded program hashes like the one written fresh; no upgrader changes its input. The same for an
 * event-schema chain (a synthetic version 2 that renames a field).
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { decodeProgram, encodeProgram } from "../src/ir/json.js"
import type { Program } from "../src/ir/schema.js"
import type { JsonDocument, Upgrader } from "../src/ir/versions.js"
import { upgradeProgramDocument } from "../src/ir/versions.js"
import { hashProgram } from "../src/normalize/index.js"
import { encodeEvent } from "../src/trace/events.js"
import { upgradeEventJson } from "../src/trace/versions.js"
import { arbTrace } from "../test/support/traceArbitrary.js"
import { arbProgram } from "./arbitrary.js"
import { LAW_CASES, numRuns } from "./settings.js"

type Named = { readonly name: string } & JsonDocument

const listOf = (record: unknown): Array<Named> =>
  Object.entries(record as Record<string, JsonDocument>).map(([name, def]) => ({ name, ...def }))
const recordOf = (list: unknown): Record<string, JsonDocument> =>
  Object.fromEntries((list as ReadonlyArray<Named>).map(({ name, ...def }) => [name, def]))

/** The upgrader a release introducing `trellis/1` would ship. */
const zeroToOne: Upgrader<string> = {
  from: "trellis/0",
  to: "trellis/1",
  upgrade: ({ ir: _, main, programs, signatures, ...rest }) => ({
    ir: "trellis/1",
    entry: main,
    programs: recordOf(programs),
    signatures: recordOf(signatures),
    ...rest
  })
}
const CHAIN = [zeroToOne]

/** How `trellis/0` wrote a program (test-only). */
const encodeV0 = (p: Program): JsonDocument => {
  const { entry, ir: _, programs, signatures, ...rest } = JSON.parse(encodeProgram(p)) as JsonDocument
  return { ir: "trellis/0", main: entry, programs: listOf(programs), signatures: listOf(signatures), ...rest }
}

const upgrade = (doc: unknown) => upgradeProgramDocument(doc, CHAIN).document
const decodeAny = (doc: unknown) => decodeProgram(upgrade(doc))
const cases = numRuns(LAW_CASES / 5)

describe("IR versions", () => {
  it("upgrade ∘ encode round-trips, from the current version and from trellis/0", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        expect(decodeAny(JSON.parse(encodeProgram(p)))).toEqual(Either.right(p))
        expect(decodeAny(encodeV0(p))).toEqual(Either.right(p))
      }),
      { numRuns: cases }
    )
  })

  it("upgrading twice is upgrading once; no upgrader changes its input", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        const old = encodeV0(p)
        const copy = structuredClone(old)
        const once = upgradeProgramDocument(old, CHAIN)
        expect(once.steps).toEqual(["trellis/0"])
        expect(upgrade(once.document)).toEqual(once.document)
        expect(upgradeProgramDocument(once.document, CHAIN).steps).toEqual([])
        expect(old).toEqual(copy)
      }),
      { numRuns: cases }
    )
  })

  it("an upgraded program hashes like one written fresh", () => {
    fc.assert(
      fc.property(arbProgram, (p) => {
        const upgraded = Either.getOrThrow(decodeAny(encodeV0(p)))
        expect(hashProgram(upgraded)).toBe(hashProgram(p))
      }),
      { numRuns: cases }
    )
  })

  it("the build's own chain leaves trellis/1 alone and refuses an unknown version by name", () => {
    const p = fc.sample(arbProgram, { numRuns: 1, seed: 1 })[0]!
    expect(decodeProgram(JSON.parse(encodeProgram(p)))).toEqual(Either.right(p))
    const unknown = decodeProgram(encodeV0(p))
    expect(Either.isLeft(unknown) && unknown.left.message).toContain("Unsupported IR version \"trellis/0\"")
  })
})

/** A synthetic event schema 2 in which `NodeReady`'s `data.kind` is called `nodeKind`. */
const oneToTwo: Upgrader<number> = {
  from: 1,
  to: 2,
  upgrade: (event) => {
    const data = event["data"] as JsonDocument | undefined
    if (event["type"] !== "NodeReady" || data === undefined) return { ...event, schemaVersion: 2 }
    const { kind, ...rest } = data
    return { ...event, data: { ...rest, nodeKind: kind }, schemaVersion: 2 }
  }
}

describe("event schema versions", () => {
  it("upgrading an event twice is upgrading it once, and the input is left as it was", () => {
    fc.assert(
      fc.property(arbTrace(), (events) => {
        for (const e of events) {
          const json = encodeEvent(e) as JsonDocument
          const copy = structuredClone(json)
          const once = upgradeEventJson(json, 1, [oneToTwo], 2)
          expect(upgradeEventJson(once, 2, [oneToTwo], 2)).toEqual(once)
          expect(json).toEqual(copy)
          if (e.type === "NodeReady") expect((once as { data: { nodeKind: unknown } }).data.nodeKind).toBe(e.data.kind)
          else expect(once).toEqual(json)
        }
      }),
      { numRuns: numRuns(100) }
    )
  })
})
