/**
 * The chat-completions provider and the router's policies, below the HTTP
 * gateway: SSE parsing, Retry-After, the retry schedule (TestClock), the
 * router's `LanguageModel` against a fake upstream (tool calls, structured
 * output, streaming, the answering route in `response-metadata`), per-
 * provider concurrency and rate limits, and upstream aborts.
 */
import { Tool, Toolkit } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Option, Ref, Schema, Stream, TestClock } from "effect"
import * as fc from "fast-check"
import { afterAll, beforeAll } from "vitest"
import { assemble, chunksOf } from "../../src/llm/cache.js"
import { parseRetryAfter, parseSse } from "../../src/llm/chatCompletions.js"
import type { ChatCompletion } from "../../src/llm/chatCompletions.js"
import type { ProviderConfig, ResolvedProvider } from "../../src/llm/config.js"
import { LOCAL_ECHO } from "../../src/llm/config.js"
import { layer, layerLocal, LlmGateway, retrySchedule } from "../../src/llm/router.js"
import { LlmError, LlmRouter } from "../../src/llm/service.js"
import type { Behaviour, FakeUpstream } from "../support/fakeUpstream.js"
import { startFakeUpstream } from "../support/fakeUpstream.js"

const bytes = (...parts: Array<string>) => Stream.fromIterable(parts.map((p) => new TextEncoder().encode(p)))

describe("chat-completions wire", () => {
  it("Retry-After is seconds or an HTTP date", () => {
    expect(parseRetryAfter("3", 0)).toBe(3000)
    expect(parseRetryAfter("0.5", 0)).toBe(500)
    const now = Date.parse("2026-01-01T00:00:00Z")
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:07 GMT", now)).toBe(7000)
    expect(parseRetryAfter("soon", now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })

  it.effect("parses SSE data lines split anywhere, skips comments, stops at [DONE]", () =>
    Effect.gen(function*() {
      const chunk = (c: string, finish: string | null = null) =>
        JSON.stringify({
          id: "x",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { content: c }, finish_reason: finish }]
        })
      const sse = `: keep-alive\n\ndata: ${chunk("he")}\n\ndata:${chunk("llo")}\r\n\r\ndata: ${
        chunk("", "stop")
      }\n\ndata: [DONE]\n\ndata: ${chunk("ignored")}\n\n`
      const pieces = [sse.slice(0, 7), sse.slice(7, 50), sse.slice(50, 51), sse.slice(51)]
      const out = Chunk.toArray(yield* Stream.runCollect(parseSse("p")(bytes(...pieces))))
      expect(out.map((c) => c.choices[0]!.delta.content).join("")).toBe("hello")
    }))

  it.effect("a stream cut before it finished, or a chunk that is not JSON, is an Upstream error", () =>
    Effect.gen(function*() {
      const chunk = JSON.stringify({
        id: "x",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }]
      })
      const cut = yield* Effect.flip(Stream.runCollect(parseSse("p")(bytes(`data: ${chunk}\n\n`))))
      expect(cut.reason).toBe("Upstream")
      expect(cut.message).toContain("cut the stream")
      const bad = yield* Effect.flip(Stream.runCollect(parseSse("p")(bytes("data: {nope\n\n"))))
      expect(bad.message).toContain("not JSON")
    }))
})

describe("cache replay", () => {
  it.prop("a completion replayed as chunks assembles back to itself", [
    fc.string({ maxLength: 300 }),
    fc.array(fc.record({ name: fc.stringMatching(/^[a-z_]{1,8}$/), args: fc.json() }), { maxLength: 3 }),
    fc.constantFrom("stop", "length", "tool_calls"),
    fc.nat({ max: 10_000 })
  ], ([content, calls, finish, tokens]) => {
    const completion: ChatCompletion = {
      id: "c1",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: content === "" && calls.length > 0 ? null : content,
          ...(calls.length > 0
            ? {
              tool_calls: calls.map((c, i) => ({
                id: `call_${i}`,
                type: "function" as const,
                function: { name: c.name, arguments: c.args }
              }))
            }
            : {})
        },
        finish_reason: finish
      }],
      usage: { prompt_tokens: tokens, completion_tokens: 1, total_tokens: tokens + 1 }
    }
    expect(assemble(chunksOf(completion))).toEqual(completion)
  })
})

describe("retry schedule", () => {
  const p: ResolvedProvider = { ...LOCAL_ECHO, retry: { times: 3, baseMs: 100, maxRetryAfterMs: 10_000 } }

  it.effect("waits at least Retry-After before the next attempt (TestClock)", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const call: Effect.Effect<string, LlmError> = Effect.flatMap(Ref.updateAndGet(attempts, (n) => n + 1), (n) =>
        n < 2
          ? Effect.fail(new LlmError({ reason: "RateLimited", message: "429", status: 429, retryAfterMs: 5000 }))
          : Effect.succeed("ok"))
      const fiber = yield* Effect.fork(Effect.retry(call, retrySchedule(p)))
      yield* TestClock.adjust(Duration.millis(4999))
      expect(yield* Ref.get(attempts)).toBe(1)
      yield* TestClock.adjust(Duration.millis(600)) // Retry-After + at most 10 % jitter
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(yield* Ref.get(attempts)).toBe(2)
    }))

  it.effect("does not retry bad requests, nor a Retry-After beyond maxRetryAfterMs", () =>
    Effect.gen(function*() {
      for (
        const error of [
          new LlmError({ reason: "BadRequest", message: "400", status: 400 }),
          new LlmError({ reason: "RateLimited", message: "429", status: 429, retryAfterMs: 60_000 })
        ]
      ) {
        const attempts = yield* Ref.make(0)
        const failing: Effect.Effect<void, LlmError> = Effect.zipRight(
          Ref.update(attempts, (n) => n + 1),
          Effect.fail(error)
        )
        const fiber = yield* Effect.fork(Effect.retry(failing, retrySchedule(p)))
        yield* TestClock.adjust(Duration.minutes(5))
        yield* Fiber.await(fiber)
        expect(yield* Ref.get(attempts)).toBe(1)
      }
    }))

  it.effect("gives up after `times` retries with backoff", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const failing: Effect.Effect<void, LlmError> = Effect.zipRight(
        Ref.update(attempts, (n) => n + 1),
        Effect.fail(new LlmError({ reason: "Upstream", message: "500", status: 500 }))
      )
      const fiber = yield* Effect.fork(Effect.retry(failing, retrySchedule(p)))
      yield* TestClock.adjust(Duration.seconds(10))
      const exit = yield* Fiber.await(fiber)
      expect(exit._tag).toBe("Failure")
      expect(yield* Ref.get(attempts)).toBe(4)
    }))
})

describe("tokens-per-minute quota", () => {
  it.effect("a workspace over its quota is refused until its tokens leave the minute (TestClock)", () =>
    Effect.gen(function*() {
      const gateway = yield* LlmGateway
      const ctx = { workspace: "q", needs: [], noCache: true }
      yield* gateway.checkQuota("q", 10)
      yield* gateway.complete("local/echo", { model: "x", messages: [{ role: "user", content: "x".repeat(80) }] }, ctx)
      const used = yield* gateway.tokensLastMinute("q")
      expect(used).toBeGreaterThanOrEqual(40)
      const refused = yield* Effect.flip(gateway.checkQuota("q", 10))
      expect(refused.reason).toBe("QuotaExceeded")
      expect(refused.retryAfterMs).toBe(60_000)
      yield* gateway.checkQuota("q", 1000) // a larger quota is not spent
      yield* gateway.checkQuota("other", 10) // other workspaces are not affected
      yield* TestClock.adjust(Duration.seconds(30))
      expect((yield* Effect.flip(gateway.checkQuota("q", 10))).retryAfterMs).toBe(30_000)
      yield* TestClock.adjust(Duration.seconds(30))
      yield* gateway.checkQuota("q", 10)
      expect(yield* gateway.tokensLastMinute("q")).toBe(0)
    }).pipe(Effect.provide(layerLocal)))
})

describe("router over a fake upstream", () => {
  let up: FakeUpstream
  let spare: FakeUpstream
  let behaviour: (body: Record<string, unknown>, i: number) => Behaviour = () => ({ kind: "ok" })
  beforeAll(async () => {
    up = await startFakeUpstream("vllm", (b, i) => behaviour(b, i))
    spare = await startFakeUpstream("spare")
  })
  afterAll(async () => {
    await up?.close()
    await spare?.close()
  })
  const config = (extra: Partial<ProviderConfig> = {}) =>
    layer({
      providers: [
        {
          name: "vllm",
          kind: "openai-compatible",
          baseUrl: up.baseUrl,
          models: ["qwen"],
          retry: { times: 0 },
          ...extra
        },
        { name: "spare", kind: "openai-compatible", baseUrl: spare.baseUrl, models: ["s"] }
      ],
      fallbacks: { "vllm/qwen": ["spare/s"] }
    })

  it.live("LanguageModel: tool calls and structured output go out as chat-completions fields", () =>
    Effect.gen(function*() {
      behaviour = () => ({ kind: "ok", toolCall: { name: "lookup", arguments: "{\"q\":\"cats\"}" } })
      const router = yield* LlmRouter
      const { model } = yield* router.resolve("vllm/qwen", { workspace: "w", needs: ["tools"], noCache: true })
      const Lookup = Tool.make("lookup", {
        description: "look up",
        parameters: { q: Schema.String },
        success: Schema.String
      })
      const before = up.requests.length
      const tools = Toolkit.make(Lookup)
      const r = yield* model.generateText({ prompt: "find cats", toolkit: tools, disableToolCallResolution: true })
        .pipe(
          Effect.provide(tools.toLayer({ lookup: () => Effect.succeed("unused") }))
        )
      expect(r.toolCalls.map((c) => [c.name, c.params])).toEqual([["lookup", { q: "cats" }]])
      const sent = up.requests[before]!.body as {
        model: string
        tools: Array<{ function: { name: string; parameters: { properties: object } } }>
      }
      expect(sent.model).toBe("qwen")
      expect(sent.tools[0]!.function.name).toBe("lookup")
      expect(Object.keys(sent.tools[0]!.function.parameters.properties)).toEqual(["q"])
      behaviour = () => ({ kind: "ok", text: "{\"n\":3}" })
      const o = yield* model.generateObject({
        prompt: "a number",
        schema: Schema.Struct({ n: Schema.Number }),
        objectName: "N"
      })
      expect(o.value).toEqual({ n: 3 })
      const format = up.requests.at(-1)!.body.response_format as { type: string; json_schema: { name: string } }
      expect(format.type).toBe("json_schema")
      expect(format.json_schema.name).toBe("N")
    }).pipe(Effect.provide(config())))

  it.live("LanguageModel: the response-metadata modelId is the route that answered (a fallback here), streaming too", () =>
    Effect.gen(function*() {
      behaviour = () => ({ kind: "status", status: 503 })
      const router = yield* LlmRouter
      const { model, route } = yield* router.resolve("vllm/qwen", { workspace: "w", needs: [], noCache: true })
      expect(route).toBe("vllm/qwen")
      const r = yield* model.generateText({ prompt: "who answers?" })
      const meta = r.content.find((p) => p.type === "response-metadata")
      expect(meta?.type === "response-metadata" ? Option.getOrUndefined(meta.modelId) : undefined).toBe("spare/s")
      expect(r.text).toBe("spare: who answers?")
      const parts = Chunk.toArray(yield* Stream.runCollect(model.streamText({ prompt: "stream who?" })))
      const first = parts[0]!
      expect(first.type === "response-metadata" ? Option.getOrUndefined(first.modelId) : undefined).toBe("spare/s")
      expect(parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")).toBe("spare: stream who?")
      const finish = parts.at(-1)!
      expect(finish.type === "finish" ? finish.usage.totalTokens : 0).toBeGreaterThan(0)
    }).pipe(Effect.provide(config())))

  it.live("per-provider concurrency: no more requests in flight than configured", () =>
    Effect.gen(function*() {
      behaviour = () => ({ kind: "ok", delayMs: 40 })
      const gateway = yield* LlmGateway
      const base = up.maxInFlight()
      yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) =>
        gateway.complete("vllm/qwen", { model: "x", messages: [{ role: "user", content: `c${i}` }] }, {
          workspace: "w",
          needs: [],
          noCache: true
        }), { concurrency: 8 })
      expect(Math.max(base, up.maxInFlight())).toBeLessThanOrEqual(2)
      expect(up.maxInFlight()).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(config({ concurrency: 2 }))))

  it.live("per-provider rate limit: requests beyond the bucket wait for it to refill", () =>
    Effect.gen(function*() {
      behaviour = () => ({ kind: "ok" })
      const gateway = yield* LlmGateway
      const before = up.requests.length
      yield* Effect.forEach(Array.from({ length: 4 }, (_, i) => i), (i) =>
        gateway.complete("vllm/qwen", { model: "x", messages: [{ role: "user", content: `r${i}` }] }, {
          workspace: "w",
          needs: [],
          noCache: true
        }), { concurrency: 4 })
      const at = up.requests.slice(before).map((r) =>
        r.at
      ).sort((a, b) =>
        a - b
      )
      expect(at.length).toBe(4)
      // 2 per 400 ms: the 4th request cannot start before the bucket refilled twice (~400 ms).
      expect(at[3]! - at[0]!).toBeGreaterThanOrEqual(300)
    }).pipe(Effect.provide(config({ rateLimit: { requests: 2, per: "400ms" } }))))

  it.live("interrupting a stream's consumer aborts the upstream request", () =>
    Effect.gen(function*() {
      behaviour = () => ({ kind: "ok", chunks: 100, intervalMs: 30 })
      const gateway = yield* LlmGateway
      const abort = Effect.promise(() => up.waitAbort(5000))
      const waiting = yield* Effect.fork(abort)
      const got = yield* Effect.scoped(Effect.flatMap(
        gateway.stream("vllm/qwen", { model: "x", messages: [{ role: "user", content: "long one" }] }, {
          workspace: "w",
          needs: [],
          noCache: true
        }),
        (s) => Stream.runCollect(Stream.take(s.chunks, 3))
      ))
      expect(Chunk.size(got)).toBe(3)
      const seen = yield* Fiber.join(waiting)
      expect(seen.index).toBe(up.requests.length - 1)
    }).pipe(Effect.provide(config())))
})
