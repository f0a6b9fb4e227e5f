/** Calibration: metrics on worked examples, the isotonic and Platt fits, artifacts, JSONL forecasts, the SVG. */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import {
  applyCalibrator,
  calibratorProblem,
  fitCalibrator,
  splitForecasts
} from "../../../src/eval/calibration/artifact.js"
import { parseForecasts } from "../../../src/eval/calibration/data.js"
import { applyIsotonic, fitIsotonic, pav } from "../../../src/eval/calibration/isotonic.js"
import { brier, ece, reliability } from "../../../src/eval/calibration/metrics.js"
import { applyPlatt, fitPlatt } from "../../../src/eval/calibration/platt.js"
import { reliabilitySvg } from "../../../src/eval/calibration/svg.js"
import { makeRng } from "../../../src/eval/stats/random.js"

const f = (p: number, y: number) => ({ p, y })

describe("metrics", () => {
  it("Brier is the mean squared error; a constant ½ scores 0.25", () => {
    expect(brier([f(0.5, 1), f(0.5, 0)])).toBe(0.25)
    expect(brier([f(0.9, 1), f(0.2, 0)])).toBeCloseTo((0.01 + 0.04) / 2, 12)
  })

  it("ECE weighs each equal-width bin's gap by its share; p = 1 falls in the last bin", () => {
    // Bin [0.2, 0.3): mean p 0.25, observed 0.5 → gap 0.25 on 2 of 4; bin [0.9, 1]: mean p 0.95, observed 1 → 0.05 on 2.
    const fs = [f(0.2, 1), f(0.3 - 1e-9, 0), f(0.9, 1), f(1, 1)]
    expect(ece(fs, 10)).toBeCloseTo(0.5 * Math.abs(0.25 - 0.5) + 0.5 * 0.05, 6)
    const table = reliability(fs, 10)
    expect(table).toHaveLength(10)
    expect(table[9]).toMatchObject({ count: 2, observed: 1 })
    expect(table[5]).toMatchObject({ count: 0, meanPredicted: undefined })
  })
})

describe("isotonic", () => {
  it("PAV pools adjacent violators into their weighted mean", () => {
    expect(pav([1, 3, 2, 4])).toEqual([1, 2.5, 2.5, 4])
    expect(pav([3, 1], [1, 3])).toEqual([1.5, 1.5])
  })

  it("fits knots that interpolate linearly and clamp outside", () => {
    const params = fitIsotonic([f(0.1, 0), f(0.2, 1), f(0.3, 0), f(0.8, 1), f(0.9, 1)])
    // 0.2 and 0.3 pool to 0.5.
    expect(params).toEqual({ x: [0.1, 0.2, 0.3, 0.8, 0.9], y: [0, 0.5, 0.5, 1, 1] })
    expect(applyIsotonic(params, 0)).toBe(0)
    expect(applyIsotonic(params, 0.55)).toBeCloseTo(0.75, 12)
    expect(applyIsotonic(params, 1)).toBe(1)
  })
})

describe("Platt", () => {
  it("recovers the slope and intercept of a logistic model from simulated data", () => {
    const u = makeRng(3)
    const data = Array.from({ length: 20_000 }, () => {
      const s = u() * 4 - 2
      return f(s, u() < applyPlatt({ a: 2, b: -0.5 }, s) ? 1 : 0)
    })
    const fit = fitPlatt(data)
    expect(fit.a).toBeGreaterThan(1.8)
    expect(fit.a).toBeLessThan(2.2)
    expect(fit.b).toBeGreaterThan(-0.65)
    expect(fit.b).toBeLessThan(-0.35)
  })

  it("stays finite on separable data", () => {
    const fit = fitPlatt([f(0.1, 0), f(0.2, 0), f(0.8, 1), f(0.9, 1)])
    expect(Number.isFinite(fit.a) && Number.isFinite(fit.b)).toBe(true)
    expect(applyPlatt(fit, 0.9)).toBeGreaterThan(applyPlatt(fit, 0.1))
  })
})

describe("artifacts", () => {
  // An over-confident forecaster: true probability t, forecast t².
  const u = makeRng(11)
  const forecasts = Array.from({ length: 3000 }, () => {
    const t = u()
    return f(t * t, u() < t ? 1 : 0)
  })

  it("splits by a seeded shuffle, holding out the requested share", () => {
    const a = splitForecasts(forecasts, 0.3, 5)
    expect(a.test).toHaveLength(900)
    expect(a.train).toHaveLength(2100)
    expect(splitForecasts(forecasts, 0.3, 5)).toEqual(a)
    expect(splitForecasts([f(0.5, 1)], 0.9, 0).train).toHaveLength(1)
  })

  for (const kind of ["isotonic", "platt"] as const) {
    it(`${kind}: improves held-out ECE and Brier, and is content-addressed`, () => {
      const art = fitCalibrator(kind, forecasts, { holdout: 0.3, seed: 1 })
      expect(art.kind).toBe(kind)
      expect(art.version).toBe(1)
      expect(art.id).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(art.fit.test!.eceAfter).toBeLessThan(art.fit.test!.eceBefore / 2)
      expect(art.fit.test!.brierAfter).toBeLessThan(art.fit.test!.brierBefore)
      expect(fitCalibrator(kind, forecasts, { holdout: 0.3, seed: 1 }).id).toBe(art.id)
      expect(calibratorProblem(art)).toBeUndefined()
      const p = applyCalibrator(art, 0.25)
      expect(p).toBeGreaterThan(0.25)
      expect(p).toBeLessThanOrEqual(1)
    })
  }

  it("an edited artifact no longer matches its id", () => {
    const art = fitCalibrator("platt", forecasts)
    if (art.kind !== "platt") throw new Error("expected a platt calibrator")
    const edited = { ...art, params: { a: 1, b: 0 } }
    expect(calibratorProblem(edited)).toContain("is not the hash of its content")
  })
})

describe("forecasts from JSONL", () => {
  it("reads probabilities and outcomes, booleans and dotted fields", () => {
    const text = `{"out":{"confidence":0.8},"ok":true}\n\n{"out":{"confidence":0.1},"ok":false}\n`
    expect(parseForecasts("d.jsonl", text, { score: "out.confidence", label: "ok" })).toEqual(
      Either.right([f(0.8, 1), f(0.1, 0)])
    )
  })

  it("names the file and line of a bad forecast", () => {
    const bad = parseForecasts("d.jsonl", `{"p":0.5,"y":1}\n{"p":1.5,"y":0}\n`)
    expect(Either.isLeft(bad) && bad.left).toMatchObject({ file: "d.jsonl", line: 2 })
    expect(Either.isLeft(bad) && bad.left.message).toBe(`"p" must be a number in [0, 1], got 1.5`)
    const notJson = parseForecasts("d.jsonl", `{"p":0.5,"y":1}\nnope\n`)
    expect(Either.isLeft(notJson) && notJson.left.line).toBe(2)
    const label = parseForecasts("d.jsonl", `{"p":0.5}\n`)
    expect(Either.isLeft(label) && label.left.message).toContain(`"y" must be 0, 1, true, false`)
    expect(Either.isLeft(parseForecasts("d.jsonl", "\n"))).toBe(true)
  })
})

describe("reliabilitySvg", () => {
  it("draws one point per non-empty bin, the diagonal, and a second series when given", () => {
    const table = reliability([f(0.1, 0), f(0.15, 0), f(0.7, 1), f(0.75, 0)], 10)
    const svg = reliabilitySvg(table, { title: "a < b" })
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg.match(/<circle class="bin"/g)).toHaveLength(2)
    expect(svg).toContain("class=\"diagonal\"")
    expect(svg).toContain("a &lt; b")
    const both = reliabilitySvg(table, { after: reliability([f(0.5, 1)], 10) })
    expect(both.match(/<circle class="bin-after"/g)).toHaveLength(1)
  })
})
