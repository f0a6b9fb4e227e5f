import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { fileTerm, lowerIsBetter, parseMetric } from "../../src/eval/metricSpec.js"

const ok = (text: string) => Either.getOrThrow(parseMetric(text))

describe("--metric syntax", () => {
  it("parses single metrics and their arguments", () => {
    expect(ok("exact").terms).toEqual([{ weight: 1, spec: { kind: "exact" } }])
    expect(ok("numeric").terms[0]!.spec).toEqual({ kind: "numeric", tolerance: 1e-6, relative: false })
    expect(ok("numeric:0.5").terms[0]!.spec).toEqual({ kind: "numeric", tolerance: 0.5, relative: false })
    expect(ok("numeric:5%").terms[0]!.spec).toEqual({ kind: "numeric", tolerance: 0.05, relative: true })
    expect(ok("json-schema:s.json").terms[0]!.spec).toEqual({ kind: "json-schema", path: "s.json" })
    expect(ok("judge:j.tr#Grade@fake/m").terms[0]!.spec).toEqual({
      kind: "judge",
      path: "j.tr",
      signature: "Grade",
      model: "fake/m"
    })
    expect(ok("judge:j.tr").terms[0]!.spec).toEqual({ kind: "judge", path: "j.tr" })
    expect(ok("program:m.tr").terms[0]!.spec).toEqual({ kind: "program", path: "m.tr" })
    expect(ok("ts:./m.ts#score").terms[0]!.spec).toEqual({ kind: "ts", path: "./m.ts", export: "score" })
    expect(ok("ts:./m.ts").terms[0]!.spec).toEqual({ kind: "ts", path: "./m.ts", export: "metric" })
  })

  it("parses weighted composites", () => {
    const m = ok("0.7*exact + 0.3 * f1")
    expect(m.text).toBe("0.7*exact + 0.3 * f1")
    expect(m.terms).toEqual([{ weight: 0.7, spec: { kind: "exact" } }, { weight: 0.3, spec: { kind: "f1" } }])
    expect(lowerIsBetter(ok("latency"))).toBe(true)
    expect(lowerIsBetter(m)).toBe(false)
  })

  it("refuses unknown metrics, bad tolerances, empty terms and zero weights with the --metric location", () => {
    for (const bad of ["bleu", "numeric:-1", "exact +", "0*exact", "json-schema:", "judge:#X"]) {
      const r = parseMetric(bad)
      expect(Either.isLeft(r)).toBe(true)
      if (Either.isLeft(r)) expect(r.left.location).toBe(`--metric ${JSON.stringify(bad)}`)
    }
  })
})

describe("fileTerm", () => {
  const termOf = (text: string) => {
    const parsed = parseMetric(text)
    if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
    return fileTerm(parsed.right)?.kind
  }

  it("finds the first term that reads a file or loads code", () => {
    expect(termOf("0.5*f1 + 0.5*numeric:1%")).toBeUndefined()
    expect(termOf("exact + latency + cost + normalized + contains")).toBeUndefined()
    expect(termOf("0.5*exact + 0.5*json-schema:s.json")).toBe("json-schema")
    expect(termOf("ts:m.ts#score")).toBe("ts")
    expect(termOf("program:m.tr")).toBe("program")
    expect(termOf("judge:j.tr#J@fake/m")).toBe("judge")
  })
})
