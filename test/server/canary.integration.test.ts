/**
 * Secrets never leak (issue 5, item 4): a real `trellis serve` process runs
 * with canary secrets in its environment — a workspace API key and a
 * provider-style `*_API_KEY` variable — and exports its spans over OTLP to
 * a local receiver. After a session of good and bad requests, no canary
 * appears in any response body or header, in the process's log output
 * (stdout, stderr), or in any exported span.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const home = mkdtempSync(join(tmpdir(), "trellis-canary-"))
afterAll(() => rmSync(home, { recursive: true, force: true }))

const KEY = "canary-key-7f3a91c2"
const SECRET = "canary-secret-d41d8cd9"

describe("trellis serve: secrets", () => {
  it("a canary key and a canary secret appear in no response, header, log line or span", async () => {
    // The OTLP receiver: keeps every export body as text.
    const exported: Array<string> = []
    const receiver = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        exported.push(Buffer.concat(chunks).toString("latin1"))
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
    const otlp = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`

    let logs = ""
    const child = spawn(process.execPath, ["bin/trellis.mjs", "serve", "--port", "0", "--drain-ms", "500"], {
      env: {
        ...process.env,
        TRELLIS_HOME: home,
        TRELLIS_DATABASE_URL: "",
        TRELLIS_CONFIG: "",
        TRELLIS_API_KEYS: `acme=${KEY}`,
        UPSTREAM_API_KEY: SECRET,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout.on("data", (d: Buffer) => (logs += d.toString("utf8")))
    child.stderr.on("data", (d: Buffer) => (logs += d.toString("utf8")))
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${logs}`)), 40_000)
      const check = setInterval(() => {
        const m = /listening on (http:\/\/[^\s]+)/.exec(logs)
        if (m !== null) {
          clearInterval(check)
          clearTimeout(timer)
          resolve(m[1]!)
        }
      }, 20)
    })

    const seen: Array<string> = []
    const request = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(url + path, init)
      const body = await res.text()
      seen.push(`${res.status} ${JSON.stringify([...res.headers.entries()])} ${body}`)
      return { status: res.status, body }
    }
    const auth = { authorization: `Bearer ${KEY}`, "content-type": "application/json" }
    const source =
      "program main(x: string) {\n  a = tool std.echo(value: x)\n  b = tool std.fail(kind: \"Permanent\", message: x)\n  return { a: a, b: b }\n}"
    const created = await request("/v1/runs", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ source, inputs: { x: "hello" } })
    })
    expect(created.status).toBe(202)
    const runId = (JSON.parse(created.body) as { runId: string }).runId
    await request(`/v1/runs/${runId}/events`, { headers: auth })
    expect((await request(`/v1/runs/${runId}`, { headers: auth })).body).toContain("\"failed\"")
    // Bad requests of every kind: no key, a wrong key, a key as the wrong scheme, bad bodies, unknown ids.
    expect((await request("/v1/runs", { method: "POST", body: "{}" })).status).toBe(401)
    expect((await request("/v1/runs", { headers: { authorization: `Bearer ${KEY}x` } })).status).toBe(401)
    expect((await request("/v1/runs", { headers: { authorization: `Basic ${KEY}` } })).status).toBe(401)
    expect((await request("/v1/runs", { method: "POST", headers: auth, body: "{not json" })).status).toBe(400)
    expect(
      (await request("/v1/runs", {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ source: "program main( {" })
      })).status
    ).toBe(400)
    expect((await request("/v1/runs/nope", { headers: auth })).status).toBe(404)
    await request("/metrics", { headers: auth })
    await request("/v1/tools", { headers: auth })

    const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    child.kill("SIGTERM")
    expect(await exit).toBe(0)
    await new Promise<void>((r) => receiver.close(() => r()))

    // The session really happened: spans were exported and log lines written.
    expect(exported.length).toBeGreaterThan(0)
    expect(logs).toContain("listening on")
    for (const canary of [KEY, SECRET]) {
      for (const s of seen) expect(s).not.toContain(canary)
      expect(logs).not.toContain(canary)
      for (const body of exported) expect(body).not.toContain(canary)
    }
  }, 120_000)
})
