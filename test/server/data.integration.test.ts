/**
 * Issue 14, finding 5: data that used to break runs for good. A tool output
 * or an input holding U+0000 or an unpaired surrogate is stored and read
 * back exactly (escaped at the store boundary), on PGlite and on PostgreSQL
 * (`TRELLIS_TEST_DATABASE_URL`), over real HTTP with two keyed workspaces.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hashKey } from "../../src/server/config.js"
import { Store } from "../../src/store/index.js"
import { testBackends } from "../support/db.js"
import { call, startServer, testConfig, waitEnded } from "../support/server.js"
import type { TestServer } from "../support/server.js"

const A = "alpha-key-1"
const B = "beta-key-2"
const PARSE = `program main(t: string) { x = tool json.parse(text: t) return x }`
const ECHO = `program main(v: string) { x = tool std.echo(value: v) with { idempotencyKey: v } return x }`
const NASTY = "a\u0000b\ud800c\udfffd\u0001e\\u0000f"

for (const backend of testBackends()) {
  describe(backend.name, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await startServer(
        testConfig({
          workspaces: [{ name: "alpha", keyHashes: [hashKey(A)] }, { name: "beta", keyHashes: [hashKey(B)] }]
        }),
        { store: Store.layerOn(backend.layer) }
      )
    }, 120_000)
    afterAll(() => server?.close(), 60_000)

    const submit = async (key: string, source: string, inputs: Record<string, unknown>) => {
      const created = await call(server.url, "/v1/runs", {
        method: "POST",
        key,
        body: JSON.stringify({ source, inputs })
      })
      expect(created.status).toBe(202)
      const { runId } = (await created.json()) as { runId: string }
      return { runId, run: await waitEnded(server.url, runId, key, 60_000) }
    }

    it("a tool output holding U+0000 completes and reads back exactly", async () => {
      const { runId, run } = await submit(A, PARSE, { t: "\"\\u0000\"" })
      expect(run.status).toBe("completed")
      expect(run.output).toBe("\u0000")
      const events = await (await call(server.url, `/v1/runs/${runId}/events`, { key: A })).text()
      expect(events).toContain("event: RunCompleted")
      expect(events).toContain("\\u0000")
    })

    it("inputs holding U+0000, unpaired surrogates and the escape character round-trip (no 202-then-404)", async () => {
      const { runId, run } = await submit(B, ECHO, { v: NASTY })
      expect(run.status).toBe("completed")
      expect(run.output).toBe(NASTY)
      expect(run.inputs).toEqual({ v: NASTY })
      const again = await call(server.url, `/v1/runs/${runId}`, { key: B })
      expect(again.status).toBe(200)
      // The idempotency record (keyed by the nasty string) is stored and found again.
      const second = await submit(B, ECHO, { v: NASTY })
      expect(second.run.output).toBe(NASTY)
      const events = await (await call(server.url, `/v1/runs/${second.runId}/events`, { key: B })).text()
      expect(events).toContain("\"source\":\"idempotency\"")
    })
  })
}
