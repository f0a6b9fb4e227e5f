/** The `calibrate` built-in: applies isotonic and Platt artifacts; refuses malformed or edited ones. */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { calibrate, calibratorId } from "../../../src/tools/builtin/calibrate.js"
import { invoke } from "../../../src/tools/tool.js"

const run = (args: unknown) => Effect.runSync(Effect.either(invoke(calibrate, args)))

describe("calibrate", () => {
  const iso = { kind: "isotonic", version: 1, params: { x: [0.2, 0.6], y: [0.1, 0.9] } } as const
  const platt = { kind: "platt", version: 1, params: { a: 2, b: -1 } } as const

  it("applies isotonic knots (interpolated, clamped) and Platt's sigmoid", () => {
    expect(Either.getOrThrow(run({ calibrator: iso, score: 0.4 }))).toBeCloseTo(0.5, 12)
    expect(run({ calibrator: iso, score: 0 })).toEqual(Either.right(0.1))
    expect(run({ calibrator: platt, score: 0.5 })).toEqual(Either.right(0.5))
    expect(run({ calibrator: { ...platt, id: calibratorId(platt) }, score: 0.5 })).toEqual(Either.right(0.5))
  })

  it("refuses knots out of order, an edited artifact and an unknown version as Permanent", () => {
    const unordered = run({ calibrator: { ...iso, params: { x: [0.6, 0.2], y: [0.1, 0.9] } }, score: 0.4 })
    expect(Either.isLeft(unordered) && unordered.left).toMatchObject({ _tag: "Permanent" })
    const edited = run({ calibrator: { ...platt, id: calibratorId(iso) }, score: 0.4 })
    expect(Either.isLeft(edited) && edited.left.message).toContain("it was edited")
    const version = run({ calibrator: { ...platt, version: 2 }, score: 0.4 })
    expect(Either.isLeft(version) && version.left._tag).toBe("Permanent")
  })
})
