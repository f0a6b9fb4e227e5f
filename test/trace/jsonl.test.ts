/** Trace files (JSONL): canonical lines, and every kind of bad file reported with its line number and an exact message. */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { NodeCompleted, RunStarted } from "../../src/trace/events.js"
import { fromJsonl, toJsonl } from "../../src/trace/jsonl.js"
import { traceOf } from "../support/traceArbitrary.js"

const events = traceOf("run-1", [
  ["RunStarted", {}, { programHash: "p", inputsHash: "i", seed: null, mode: "live", inputs: { q: "héllo\u2028" } }],
  ["NodeCompleted", { node: "n0" }, { outputHash: "h" }]
])

const text = toJsonl(events)

const errorOf = (t: string) => {
  const r = fromJsonl(t)
  if (Either.isRight(r)) throw new Error("expected an error")
  return { line: r.left.line, reason: r.left.reason, message: r.left.message }
}

const line = (o: object): string => JSON.stringify(o) + "\n"

describe("JSONL", () => {
  it("one canonical JSON object per line, each ending in a newline", () => {
    expect(text).toBe(
      "{\"at\":1000,\"data\":{\"inputs\":{\"q\":\"héllo\u2028\"},\"inputsHash\":\"i\",\"mode\":\"live\",\"programHash\":\"p\",\"seed\":null},\"runId\":\"run-1\",\"seq\":0,\"type\":\"RunStarted\"}\n" +
        "{\"at\":1001,\"data\":{\"outputHash\":\"h\"},\"node\":\"n0\",\"runId\":\"run-1\",\"seq\":1,\"type\":\"NodeCompleted\"}\n"
    )
    expect(toJsonl([])).toBe("")
  })

  it("reads back class instances; tolerates CRLF, blank lines and a missing final newline", () => {
    const back = Either.getOrThrow(fromJsonl(text))
    expect(back).toEqual(events)
    expect(back[0]).toBeInstanceOf(RunStarted)
    expect(back[1]).toBeInstanceOf(NodeCompleted)
    const crlf = "\n" + text.replaceAll("\n", "\r\n\r\n").trimEnd()
    expect(Either.getOrThrow(fromJsonl(crlf))).toEqual(events)
    expect(Either.getOrThrow(fromJsonl(""))).toEqual([])
  })

  it("bad JSON", () => {
    expect(errorOf(text + "{bad\n")).toEqual({
      line: 3,
      reason: "BadJson",
      message: "line 3: not valid JSON: Expected property name or '}' in JSON at position 1"
    })
  })

  it("a line that is not an event: the Schema's message with the field's path", () => {
    const base = { runId: "run-1", seq: 2, at: 1 }
    expect(errorOf(text + line({ ...base, type: "NodeCompleted", data: { outputHash: 3 } }))).toEqual({
      line: 3,
      reason: "BadEvent",
      message: "line 3: not a valid NodeCompleted event: data.outputHash: Expected string, actual 3"
    })
    expect(
      errorOf(
        text +
          line({ ...base, type: "NodeRetrying", data: { attempt: 1, delayMs: 1, errorKind: "Oops", message: "m" } })
      )
    ).toEqual({
      line: 3,
      reason: "BadEvent",
      message:
        "line 3: not a valid NodeRetrying event: data.errorKind: Expected \"Timeout\" | \"RateLimited\" | \"Transient\" | \"Permanent\" | \"Cancelled\" | \"BudgetExceeded\" | \"ResourceExhausted\" | \"CircuitOpen\" | \"Defect\", actual \"Oops\""
    })
    expect(errorOf(line({ ...base, seq: 0, type: "Nope", data: {} })).message).toBe(
      "line 1: not a run event: type: Expected \"RunStarted\" | \"NodeReady\" | \"NodeStarted\" | \"ToolCalled\" | \"ToolReturned\" | \"NodeRetrying\" | \"NodeFailed\" | \"NodeCompleted\" | \"ChoiceMade\" | \"Chunk\" | \"Waiting\" | \"Signalled\" | \"TimerFired\" | \"RunCompleted\" | \"RunFailed\" | \"RunCancelled\" | \"FanInSettled\" | \"FoldUpdated\" | \"BreakerChanged\", actual \"Nope\""
    )
    expect(errorOf("\n\n[1, 2]\n")).toEqual({
      line: 3,
      reason: "BadEvent",
      message: "line 3: not a run event: type: is missing"
    })
    expect(errorOf(line({ runId: "r", seq: 0, at: 1, type: "RunCancelled", data: {} })).message).toBe(
      "line 1: not a valid RunCancelled event: data.reason: is missing"
    )
  })

  it("seq not contiguous", () => {
    const lines = text.split("\n")
    expect(errorOf([lines[1], lines[0], ""].join("\n"))).toEqual({
      line: 2,
      reason: "SeqGap",
      message: "line 2: seq 0 where 2 was expected (seq is contiguous)"
    })
    expect(errorOf(text + lines[1] + "\n")).toEqual({
      line: 3,
      reason: "SeqGap",
      message: "line 3: seq 1 where 2 was expected (seq is contiguous)"
    })
  })

  it("the tail of a compacted run (its first kept event is not seq 0) reads back", () => {
    const tail = toJsonl(traceOf("run-1", [["NodeCompleted", { node: "n0" }, { outputHash: "h" }]], 7))
    const read = fromJsonl(tail)
    expect(Either.isRight(read)).toBe(true)
    expect(Either.getOrThrow(read).map((e) => e.seq)).toEqual([7])
  })

  it("events of another run", () => {
    const other = toJsonl(traceOf("run-2", [["NodeCompleted", { node: "n0" }, { outputHash: "h" }]], 2))
    expect(errorOf(text + other)).toEqual({
      line: 3,
      reason: "MixedRun",
      message: "line 3: event of run \"run-2\" in a trace of run \"run-1\""
    })
  })
})
