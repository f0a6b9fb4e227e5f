/**
 * `POST /v1/runs/:id/replay` and tool versions over real HTTP: a run recorded with a tool whose major version
 * has changed since is refused with 409 and the refusal naming the tool and both versions;
 * `allowVersionChange: true` goes on; a malformed option is a 400.
 */
import { Either, Layer, ManagedRuntime, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Durable from "../../src/runtime/durable.js"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { Store } from "../../src/store/index.js"
import { builtinTools, make, makeRegistry, ToolRegistry } from "../../src/tools/index.js"
import { compileProgram } from "../support/runtime.js"
import { call, startServer, testConfig } from "../support/server.js"
import type { TestServer } from "../support/server.js"

// The run is recorded with a `std.echo` of version 2.0.0; the server has the built-in one (version 1).
const echo2 = make({
  name: "std.echo",
  description: "Returns its argument unchanged.",
  input: Schema.Struct({ value: Schema.Unknown }),
  output: Schema.Unknown,
  idempotent: true,
  version: "2.0.0",
  run: (args) => args.value
})
const PROGRAM = compileProgram(`program main(name: string) { g = tool std.echo(value: name) return g }`)

let dir: string
let server: TestServer

beforeAll(async () => {
  dir = fs.mkdtempSync(join(os.tmpdir(), "trellis-replay-versions-"))
  const registry = makeRegistry([...builtinTools.filter((t) => t.name !== "std.echo"), echo2])
  const recorder = ManagedRuntime.make(
    Layer.mergeAll(
      Store.layerPglite(dir),
      ResultCache.layerMemory,
      ToolLimiter.layer,
      Layer.succeed(ToolRegistry, Either.getOrThrow(registry))
    )
  )
  const result = await recorder.runPromise(Durable.start(PROGRAM, { name: "ada" }, { runId: "pinned", seed: 3 }))
  expect(result).toMatchObject({ status: "completed", output: "ada" })
  await recorder.dispose()
  server = await startServer(testConfig(), { store: Store.layerPglite(dir) })
}, 60_000)

afterAll(async () => {
  await server?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

const replay = async (body?: unknown) => {
  const r = await call(server.url, "/v1/runs/pinned/replay", {
    method: "POST",
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

describe("replay over HTTP with tool versions", () => {
  it("refuses with 409 and the refusal naming the tool and both versions, goes on when allowed", async () => {
    for (const body of [undefined, {}, { allowVersionChange: false }]) {
      const refused = await replay(body)
      expect(refused).toEqual({
        status: 409,
        body: {
          _tag: "Conflict",
          message: `run pinned was recorded with tool "std.echo" version 2.0.0, which is now 1 — an incompatible ` +
            `change (the major version differs); allow it to go on (--allow-version-change, or allowVersionChange: true)`
        }
      })
    }
    const allowed = await replay({ allowVersionChange: true })
    expect(allowed.status).toBe(200)
    expect(allowed.body).toMatchObject({ runId: "pinned", exact: true, status: "completed", output: "ada" })
  })

  it("a malformed option is a 400 naming it", async () => {
    const bad = await replay({ allowVersionChange: "yes" })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain("allowVersionChange")
  })
})
