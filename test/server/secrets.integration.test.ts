/**
 * Issue 14, finding 3: secrets in mid-stream errors. An upstream that fails
 * mid-stream with a message quoting the provider's key must not get that
 * key forwarded to the gateway's client; the `apiKeyEnv` variable of a
 * provider — here one whose name matches no built-in secret pattern — is
 * registered for log redaction when the server starts.
 */
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { clearSecrets, redact } from "../../src/server/observability/redact.js"
import { call, startServer, testConfig } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const VAR = "TRELLIS_SEC_UPSTREAM_ACCESS_VALUE"
const SECRET = "zz-upstream-credential-8c41f2"
const KEY = "alpha-key"

let upstream: Server
let server: TestServer

beforeAll(async () => {
  clearSecrets()
  process.env[VAR] = SECRET
  // An upstream that starts a stream, then fails mid-stream quoting the key it was sent.
  upstream = createServer((req, res) => {
    const auth = req.headers.authorization ?? ""
    req.resume()
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      const chunk = {
        id: "c1",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }]
      }
      res.write(`data: ${JSON.stringify(chunk)}\n\n`)
      res.write(
        `data: ${
          JSON.stringify({ error: { message: `invalid credentials: ${auth.replace(/^Bearer /, "")} is revoked` } })
        }\n\n`
      )
      res.end()
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve))
  const port = (upstream.address() as AddressInfo).port
  server = await startServer(testConfig({
    workspaces: [{ name: "alpha", keyHashes: [hashKey(KEY)] }],
    providers: [{
      name: "up",
      kind: "openai-compatible",
      baseUrl: `http://127.0.0.1:${port}/v1`,
      models: ["m"],
      apiKeyEnv: VAR,
      retry: { times: 0 }
    }]
  }))
}, 120_000)

afterAll(async () => {
  await server.close()
  await new Promise<void>((resolve) => upstream.close(() => resolve()))
  delete process.env[VAR]
  clearSecrets()
})

it("a mid-stream error quoting the provider key reaches the client redacted", async () => {
  const r = await call(server.url, "/v1/chat/completions", {
    method: "POST",
    key: KEY,
    body: JSON.stringify({ model: "up/m", stream: true, messages: [{ role: "user", content: "hello" }] })
  })
  const text = await r.text()
  expect(text).toContain("mid-stream")
  expect(text).not.toContain(SECRET)
  expect(text).toContain("[REDACTED]")
})

it("the apiKeyEnv variable is registered for log redaction, whatever its name", () => {
  expect(redact(`calling with ${SECRET}`)).toBe("calling with [REDACTED]")
})
