/**
 * A provider's circuit breaker (issue 17) against fake upstreams over real
 * HTTP: after the failing provider's breaker opens, its route falls through
 * to the fallback without a request to the failing upstream; without a
 * fallback the request fails at once with `CircuitOpen` (and `Retry-After`
 * time); a bad breaker setting is refused with its location.
 */
import { Effect, Either, Exit, Layer, Metric, ParseResult, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ChatRequest } from "../../src/llm/chatCompletions.js"
import { ProviderConfig } from "../../src/llm/config.js"
import { layer, LlmGateway } from "../../src/llm/router.js"
import { LlmError } from "../../src/llm/service.js"
import * as StepRunner from "../../src/llm/stepRunner.js"
import { toolErrorOfLlm } from "../../src/llm/stepRunner.js"
import { breakerRejectedTotal, CircuitBreaker } from "../../src/runtime/policy/breaker.js"
import * as Runtime from "../../src/runtime/runtime.js"
import type { FakeUpstream } from "../support/fakeUpstream.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"
import { ANSWER_SIGNATURE } from "../support/llmSteps.js"
import { compileProgram, eventsOf, testLayer } from "../support/runtime.js"

let down: FakeUpstream
let good: FakeUpstream

beforeAll(async () => {
  down = await startFakeUpstream("down", () => ({ kind: "status", status: 500 }))
  good = await startFakeUpstream("good")
})

afterAll(async () => {
  await Promise.all([down?.close(), good?.close()])
})

const provider = (name: string, baseUrl: string, extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name,
  kind: "openai-compatible",
  baseUrl,
  models: ["m"],
  timeoutMs: 10_000,
  retry: { times: 0, baseMs: 2, maxRetryAfterMs: 50 },
  ...extra
})

const request = (i: number): ChatRequest => ({ model: "x", messages: [{ role: "user", content: `r${i}` }] })
const ctx = { workspace: "w", needs: [], noCache: true }
const breaker = { failureRate: 0.5, minCalls: 2, window: "1m", openFor: "1m" }

describe("a provider's circuit breaker", () => {
  it("opens after failures; the route then falls through to its fallback without asking the failing upstream", async () => {
    const before = down.requests.length
    const routes = await Effect.runPromise(
      Effect.gen(function*() {
        const gateway = yield* LlmGateway
        return yield* Effect.forEach(
          [0, 1, 2, 3, 4],
          (i) => Effect.map(gateway.complete("down/m", request(i), ctx), (r) => r.route)
        )
      }).pipe(
        Effect.provide(layer({
          providers: [provider("down", down.baseUrl, { breaker }), provider("good", good.baseUrl)],
          fallbacks: { "down/m": ["good/m"] }
        })),
        Effect.provide(CircuitBreaker.layerMemory)
      )
    )
    expect(routes).toEqual(["good/m", "good/m", "good/m", "good/m", "good/m"])
    // two failures opened it: the last three requests never reached the failing upstream
    expect(down.requests.length - before).toBe(2)
    const rejected = await Effect.runPromise(
      Metric.value(Metric.tagged(breakerRejectedTotal, "breaker", "llm:down"))
    )
    expect(Number(rejected.count)).toBeGreaterThanOrEqual(3)
  })

  it("without a fallback, fails at once with CircuitOpen, which a run sees as the CircuitOpen kind", async () => {
    const errors = await Effect.runPromise(
      Effect.gen(function*() {
        const gateway = yield* LlmGateway
        return yield* Effect.forEach([0, 1, 2], (i) => Effect.flip(gateway.complete("down/m", request(i), ctx)))
      }).pipe(
        Effect.provide(layer({ providers: [provider("down", down.baseUrl, { breaker })] })),
        Effect.provide(CircuitBreaker.layerMemory)
      )
    )
    expect(errors.map((e) => e instanceof LlmError && e.reason)).toEqual(["Upstream", "Upstream", "CircuitOpen"])
    const open = errors[2]!
    expect(open instanceof LlmError && open.retryAfterMs).toBeGreaterThan(50_000)
    expect(open instanceof LlmError && toolErrorOfLlm(open)._tag).toBe("CircuitOpen")
  })

  it("records the provider breaker's transition in the run whose llm call caused it", async () => {
    const program = compileProgram(`${ANSWER_SIGNATURE}program main(q: string = "q") {
  a = llm Answer(question: q) with { model: "down/m" }
  return a
}`)
    const runs = await Effect.runPromise(
      Effect.forEach(["b1", "b2", "b3"], (runId) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(Runtime.run(program, {}, { runId }))
          return { exit, events: yield* eventsOf(runId) }
        })).pipe(
          Effect.provide(Layer.merge(
            testLayer(),
            StepRunner.layer({}).pipe(
              Layer.provide(layer({ providers: [provider("down", down.baseUrl, { breaker })] })),
              Layer.provide(CircuitBreaker.layerMemory)
            )
          ))
        )
    )
    expect(runs.map((r) => Exit.isFailure(r.exit))).toEqual([true, true, true])
    const changes = runs.map((r) => r.events.filter((e) => e.type === "BreakerChanged").map((e) => e.data))
    // The second failure opened it: recorded in the second run, at its llm node; the third run was refused.
    expect(changes[0]).toEqual([])
    expect(changes[1]).toEqual([expect.objectContaining({ breaker: "llm:down", from: "closed", to: "open" })])
    expect((changes[1]![0] as { node?: string }).node).toBeDefined()
    expect(changes[2]).toEqual([])
    const refused = runs[2]!.events.find((e) => e.type === "NodeFailed")
    expect(JSON.stringify(refused?.data)).toContain("CircuitOpen")
  })

  it("refuses a bad breaker setting, naming where it is", () => {
    const result = Schema.decodeUnknownEither(ProviderConfig)({
      ...provider("p", good.baseUrl),
      breaker: { minCalls: 0, openFor: "soon" }
    })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      const paths = ParseResult.ArrayFormatter.formatErrorSync(result.left).map((i) => i.path.join("."))
      expect(paths).toEqual(["breaker.minCalls"])
    }
  })
})
