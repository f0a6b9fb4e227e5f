/**
 * The viewer's server side, over real HTTP: `GET /` and `/assets/*` (types,
 * cache headers, CSP, ETag, 404s), `GET /v1/runs/:id/program` (the IR and
 * its DAG, workspace-scoped), and the runs list's `cost` and `programHash`
 * filter. The graph builder is checked against a program with every scope
 * kind.
 */
import { Either } from "effect"
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { check } from "../../../src/compile.js"
import { graphOf } from "../../../src/server/web/graph.js"
import type { GraphNode } from "../../../src/server/web/graph.js"
import { root, runNode } from "../../support/cli.js"
import { call, startServer, testConfig, waitEnded } from "../../support/server.js"
import type { TestServer } from "../../support/server.js"

let server: TestServer
beforeAll(async () => {
  if (!existsSync(join(root, "dist", "web", "index.html"))) {
    const built = await runNode(["scripts/build.mjs"])
    if (built.code !== 0) throw new Error(`the build failed: ${built.stderr}`)
  }
  server = await startServer(testConfig({}, {}), {})
}, 60_000)
afterAll(() => server?.close())

const SOURCE = `program main(xs: string[] = ["a", "b"], flag: boolean = true) {
  first = tool std.echo(value: xs)
  each = map x in first {
    up = tool std.echo(value: upper(x))
    return up
  }
  pick = if flag { return tool std.echo(value: "yes") } else { return "no" }
  return { each: each, pick: pick }
}`

const submit = async (url: string, source: string, inputs: Record<string, unknown> = {}, key?: string) => {
  const r = await call(url, "/v1/runs", {
    method: "POST",
    body: JSON.stringify({ source, inputs }),
    ...(key === undefined ? {} : { key })
  })
  expect(r.status).toBe(202)
  return ((await r.json()) as { runId: string }).runId
}

describe("graphOf", () => {
  const program = () => {
    const c = check(SOURCE)
    if (c.normalized === undefined) throw new Error(JSON.stringify(c.diagnostics))
    return c.normalized
  }

  it("draws every node with its same-scope dependencies and nested scopes keyed by path template", () => {
    const g = graphOf(program())
    if (Either.isLeft(g)) throw new Error(g.left)
    const all: Array<GraphNode> = []
    const walk = (nodes: ReadonlyArray<GraphNode>) =>
      nodes.forEach((n) => {
        all.push(n)
        n.scopes.forEach((s) => walk(s.nodes))
      })
    walk(g.right.nodes)
    const byLabel = new Map(all.map((n) => [n.label, n]))
    const first = byLabel.get("first")!
    const each = byLabel.get("each")!
    const up = byLabel.get("up")!
    const pick = byLabel.get("pick")!
    expect(first.detail).toBe("std.echo")
    expect(first.args).toEqual([{ name: "value", expr: "xs" }])
    expect(each.kind).toBe("map")
    expect(each.deps).toEqual([first.id])
    expect(each.scopes.map((s) => s.segment)).toEqual(["*"])
    expect(up.key).toBe(`${each.id}/*/${up.id}`)
    expect(up.args[0]!.expr).toBe("upper(x)")
    expect(pick.kind).toBe("branch")
    expect(pick.scopes.map((s) => s.segment)).toEqual(["then", "else"])
    expect(pick.scopes[0]!.nodes[0]!.key).toBe(`${pick.id}/then/${pick.scopes[0]!.nodes[0]!.id}`)
    expect(g.right.truncated).toBe(false)
  })
})

describe("GET / and /assets", () => {
  it("serves the page without a key, no-cache with an ETag and a CSP, naming hashed assets", async () => {
    const r = await fetch(`${server.url}/`)
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(r.headers.get("cache-control")).toBe("no-cache")
    expect(r.headers.get("content-security-policy")).toContain("script-src 'self'")
    const html = await r.text()
    const js = /\/assets\/(main-[A-Z0-9]{8}\.js)/.exec(html)?.[1]
    const css = /\/assets\/(style-[A-Z0-9]{8}\.css)/.exec(html)?.[1]
    expect(js).toBeDefined()
    expect(css).toBeDefined()
    const again = await fetch(`${server.url}/`, { headers: { "if-none-match": r.headers.get("etag")! } })
    expect(again.status).toBe(304)
    const script = await fetch(`${server.url}/assets/${js}`)
    expect(script.status).toBe(200)
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
    expect((await script.text()).length).toBeGreaterThan(1000)
    // Compressed for clients that accept gzip (fetch decompresses), plain otherwise.
    expect(script.headers.get("content-encoding")).toBe("gzip")
    expect(script.headers.get("vary")).toBe("accept-encoding")
    const plain = await fetch(`${server.url}/assets/${js}`, { headers: { "accept-encoding": "identity" } })
    expect(plain.headers.get("content-encoding")).toBeNull()
    expect((await plain.arrayBuffer()).byteLength).toBe(Number(plain.headers.get("content-length")))
    const style = await fetch(`${server.url}/assets/${css}`)
    expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8")
  })

  it("answers 404 for unknown, hidden or traversing asset names", async () => {
    for (const name of ["nope-ABCDEFGH.js", "..%2Fpackage.json", ".env", "index.html", "x.exe"]) {
      const r = await fetch(`${server.url}/assets/${name}`)
      expect(r.status, name).toBe(404)
      expect(((await r.json()) as { _tag: string })._tag).toBe("NotFound")
    }
  })
})

describe("GET /v1/runs/:id/program", () => {
  it("returns the run's program, hash and graph", async () => {
    const runId = await submit(server.url, SOURCE)
    await waitEnded(server.url, runId)
    const r = await call(server.url, `/v1/runs/${runId}/program`)
    expect(r.status).toBe(200)
    const body = (await r.json()) as {
      runId: string
      programHash: string
      programName: string
      program: { ir: string }
      graph: { program: string; nodes: Array<unknown> }
    }
    const run = (await (await call(server.url, `/v1/runs/${runId}`)).json()) as { programHash: string }
    expect(body.runId).toBe(runId)
    expect(body.programHash).toBe(run.programHash)
    expect(body.programName).toBe("main")
    expect(body.program.ir).toBe("trellis/1")
    expect(body.graph.program).toBe("main")
    expect(body.graph.nodes.length).toBe(3)
  })

  it("is 404 for an unknown or malformed id", async () => {
    for (const id of ["no-such-run", "bad%20id"]) {
      const r = await call(server.url, `/v1/runs/${id}/program`)
      expect(r.status).toBe(404)
      expect(((await r.json()) as { _tag: string })._tag).toBe("NotFound")
    }
  })

  it("is scoped to the caller's workspace (another workspace's run is a 404; no key is a 401)", async () => {
    const config = testConfig({
      workspaces: [
        { name: "acme", keyHashes: [`sha256:${sha("key-a")}`] },
        { name: "beta", keyHashes: [`sha256:${sha("key-b")}`] }
      ]
    })
    const keyed = await startServer(config)
    try {
      const runId = await submit(keyed.url, "program main() { return tool std.echo(value: 1) }", {}, "key-a")
      await waitEnded(keyed.url, runId, "key-a")
      expect((await call(keyed.url, `/v1/runs/${runId}/program`, { key: "key-a" })).status).toBe(200)
      expect((await call(keyed.url, `/v1/runs/${runId}/program`, { key: "key-b" })).status).toBe(404)
      expect((await call(keyed.url, `/v1/runs/${runId}/program`)).status).toBe(401)
      // The page itself needs no key.
      expect((await fetch(`${keyed.url}/`)).status).toBe(200)
    } finally {
      await keyed.close()
    }
  })
})

describe("GET /v1/runs additions", () => {
  it("filters by programHash and shows the cost of ended runs", async () => {
    const a = await submit(server.url, "program main() { return tool std.echo(value: \"a\") }")
    const b = await submit(server.url, "program main() { return tool std.echo(value: \"b\") }")
    await waitEnded(server.url, a)
    await waitEnded(server.url, b)
    const runA = (await (await call(server.url, `/v1/runs/${a}`)).json()) as { programHash: string; cost?: number }
    expect(runA.cost).toBe(0)
    const page = (await (await call(server.url, `/v1/runs?programHash=${runA.programHash}`)).json()) as {
      runs: Array<{ runId: string; programHash: string }>
    }
    expect(page.runs.map((r) => r.runId)).toContain(a)
    expect(page.runs.map((r) => r.runId)).not.toContain(b)
    expect(page.runs.every((r) => r.programHash === runA.programHash)).toBe(true)
    const bad = await call(server.url, `/v1/runs?programHash=${"x".repeat(200)}`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { _tag: string })._tag).toBe("HttpApiDecodeError")
  })
})

const sha = (s: string) => createHash("sha256").update(s).digest("hex")
