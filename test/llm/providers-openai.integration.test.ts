/**
 * The `openai` kind: `@effect/ai-openai` (the Responses API) behind the
 * router, against a minimal fake `POST /v1/responses` over real HTTP —
 * text and structured output come back as chat completions.
 */
import { Chunk, Effect, Layer, Stream } from "effect"
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { layer, LlmGateway } from "../../src/llm/router.js"
import { layerSettings } from "../support/settings.js"

const received: Array<{ url: string; body: Record<string, unknown>; auth: string | undefined }> = []
let answer = "hello from responses"
let server: Server
let url = ""

beforeAll(async () => {
  server = createServer((req, res) => {
    let b = ""
    req.on("data", (d: Buffer) => (b += d.toString("utf8")))
    req.on("end", () => {
      const body = JSON.parse(b) as Record<string, unknown>
      received.push({ url: req.url ?? "", body, auth: req.headers.authorization })
      if (body.stream === true) {
        res.writeHead(200, { "content-type": "text/event-stream" })
        const response = {
          id: "resp_2",
          object: "response",
          created_at: 1_700_000_000,
          model: "gpt-4o-mini",
          status: "in_progress",
          output: [],
          parallel_tool_calls: true,
          tool_choice: "auto",
          tools: [],
          metadata: {},
          temperature: 1,
          top_p: 1,
          error: null,
          incomplete_details: null,
          instructions: null
        }
        const events = [
          { type: "response.created", sequence_number: 0, response },
          ...["hel", "lo ", "stream"].map((delta, i) => ({
            type: "response.output_text.delta",
            sequence_number: i + 1,
            item_id: "msg_2",
            output_index: 0,
            content_index: 0,
            delta,
            logprobs: []
          })),
          {
            type: "response.completed",
            sequence_number: 9,
            response: {
              ...response,
              status: "completed",
              usage: {
                input_tokens: 2,
                output_tokens: 3,
                total_tokens: 5,
                input_tokens_details: { cached_tokens: 0 },
                output_tokens_details: { reasoning_tokens: 0 }
              }
            }
          }
        ]
        for (const e of events) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
        res.end()
        return
      }
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({
        id: "resp_1",
        object: "response",
        created_at: 1_700_000_000,
        model: "gpt-4o-mini",
        status: "completed",
        output: [{
          type: "message",
          id: "msg_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: answer, annotations: [] }]
        }],
        usage: {
          input_tokens: 3,
          output_tokens: 4,
          total_tokens: 7,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens_details: { reasoning_tokens: 0 }
        },
        parallel_tool_calls: true,
        tool_choice: "auto",
        tools: [],
        metadata: {},
        temperature: 1,
        top_p: 1,
        error: null,
        incomplete_details: null,
        instructions: null
      }))
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})

afterAll(() => new Promise<void>((r) => server.close(() => r())))

const run = <A, E>(f: (g: typeof LlmGateway.Service) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(LlmGateway, f).pipe(
      Effect.provide(
        layer({
          providers: [{ name: "openai", kind: "openai", baseUrl: url, apiKeyEnv: "K", models: ["gpt-4o-mini"] }]
        }).pipe(
          Layer.provide(layerSettings({ K: "sk-test" }))
        )
      )
    )
  )

describe("kind openai (@effect/ai-openai, Responses API)", () => {
  it("streams: Responses events become chat chunks, usage on the last", async () => {
    const chunks = await run((g) =>
      Effect.scoped(Effect.flatMap(
        g.stream("openai/gpt-4o-mini", { model: "x", messages: [{ role: "user", content: "stream" }], stream: true }, {
          workspace: "w",
          needs: [],
          noCache: true
        }),
        (s) => Stream.runCollect(s.chunks)
      ))
    )
    const all = Chunk.toArray(chunks)
    expect(all.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("hello stream")
    expect(all.at(-1)!.usage?.total_tokens).toBe(5)
    expect(all.at(-1)!.choices[0]!.finish_reason).toBe("stop")
    expect(received.at(-1)!.body.stream).toBe(true)
  })

  it("a chat request becomes a Responses call; the answer a chat completion with usage", async () => {
    const r = await run((g) =>
      g.complete("openai/gpt-4o-mini", {
        model: "x",
        messages: [{ role: "system", content: "be kind" }, { role: "user", content: "hi" }]
      }, { workspace: "w", needs: [], noCache: true })
    )
    expect(r.route).toBe("openai/gpt-4o-mini")
    expect(r.completion.choices[0]!.message.content).toBe("hello from responses")
    expect(r.completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 })
    const sent = received.at(-1)!
    expect(sent.url).toBe("/v1/responses")
    expect(sent.auth).toBe("Bearer sk-test")
    expect(sent.body.model).toBe("gpt-4o-mini")
    expect(JSON.stringify(sent.body.input)).toContain("be kind")
  })

  it("response_format json_schema goes out as the Responses text format with the client's schema", async () => {
    answer = "{\"n\":1}"
    const schema = {
      type: "object",
      properties: { n: { type: "number" } },
      required: ["n"],
      additionalProperties: false
    }
    const r = await run((g) =>
      g.complete("openai/gpt-4o-mini", {
        model: "x",
        messages: [{ role: "user", content: "a number" }],
        response_format: { type: "json_schema", json_schema: { name: "N", schema } }
      }, { workspace: "w", needs: [], noCache: true })
    )
    expect(JSON.parse(r.completion.choices[0]!.message.content!)).toEqual({ n: 1 })
    const format = (received.at(-1)!.body.text as { format: { type: string; name: string; schema: unknown } }).format
    expect(format.type).toBe("json_schema")
    expect(format.name).toBe("N")
    expect(format.schema).toMatchObject({ properties: { n: { type: "number" } } })
  })
})
