/**
 * The `anthropic` kind: `@effect/ai-anthropic` behind the router, against a
 * minimal fake `POST /v1/messages` over real HTTP.
 */
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { layer, LlmGateway } from "../../src/llm/router.js"
import { layerSettings } from "../support/settings.js"

const received: Array<{ url: string; body: Record<string, unknown>; key: string | undefined }> = []
let server: Server
let url = ""

beforeAll(async () => {
  server = createServer((req, res) => {
    let b = ""
    req.on("data", (d: Buffer) => (b += d.toString("utf8")))
    req.on("end", () => {
      received.push({
        url: req.url ?? "",
        body: JSON.parse(b) as Record<string, unknown>,
        key: req.headers["x-api-key"] as string | undefined
      })
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "claude-3-5-haiku",
        content: [{ type: "text", text: "hello from claude" }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 6, output_tokens: 3 }
      }))
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe("kind anthropic (@effect/ai-anthropic)", () => {
  it("a chat request becomes a Messages call; the answer a chat completion with usage", async () => {
    const r = await Effect.runPromise(
      Effect.flatMap(LlmGateway, (g) =>
        g.complete("claude/claude-3-5-haiku", {
          model: "x",
          messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }]
        }, { workspace: "w", needs: [], noCache: true })).pipe(
          Effect.provide(
            layer({
              providers: [{
                name: "claude",
                kind: "anthropic",
                baseUrl: url,
                apiKeyEnv: "K",
                models: ["claude-3-5-haiku"]
              }]
            }).pipe(
              Layer.provide(layerSettings({ K: "ant-key" }))
            )
          )
        )
    )
    expect(r.route).toBe("claude/claude-3-5-haiku")
    expect(r.completion.choices[0]!.message.content).toBe("hello from claude")
    expect(r.completion.usage).toEqual({ prompt_tokens: 6, completion_tokens: 3, total_tokens: 9 })
    const sent = received.at(-1)!
    expect(sent.url.split("?")[0]).toBe("/v1/messages")
    expect(sent.key).toBe("ant-key")
    expect(sent.body.model).toBe("claude-3-5-haiku")
    expect(JSON.stringify(sent.body.system)).toContain("be brief")
  })
})
