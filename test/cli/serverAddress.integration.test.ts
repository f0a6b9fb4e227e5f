/**
 * The address file of a running server (src/cli/serverAddress.ts): written
 * for the scope's lifetime and removed after it, and found only when live —
 * a missing, unparseable or stale address (its pid does not hold the
 * store's lock, or its URL does not answer) is `None`. A small HTTP server
 * on loopback stands in for `trellis serve`'s `/healthz`; the CLI against a
 * real server is beside-server.integration.test.ts.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { ADDRESS_FILE, advertise, findServer, reachableUrl } from "../../src/cli/serverAddress.js"
import type { ServerAddress } from "../../src/cli/serverAddress.js"
import { LOCK_FILE } from "../../src/store/lock.js"

const layer = Layer.merge(NodeContext.layer, FetchHttpClient.layer)
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "trellis-address-"))

/** A port nothing listens on (connections to it are refused at once). */
const CLOSED = "http://127.0.0.1:9"

/** A loopback server answering `/healthz` as Trellis does, for the scope's lifetime; its URL. */
const healthServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "application/json" })
      res.end(req.url === "/healthz" ? JSON.stringify({ status: "ok" }) : "{}")
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => server.close()
      })))
  }),
  (s) => Effect.sync(s.close)
)

const address = (pid: number, url = CLOSED): ServerAddress => ({
  pid,
  url,
  auth: "none",
  workspaces: [],
  version: "0.0.0"
})

describe("the server's address file", () => {
  it("reaches a server bound to every address on loopback", () => {
    expect(reachableUrl("http://0.0.0.0:8080")).toBe("http://127.0.0.1:8080")
    expect(reachableUrl("http://[::]:8080")).toBe("http://[::1]:8080")
    expect(reachableUrl("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080")
    expect(reachableUrl("http://0.0.0.0.example:80")).toBe("http://0.0.0.0.example:80")
  })

  it.effect("is written while the scope is open and removed when it closes", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = path.join(dir, ADDRESS_FILE)
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* advertise(dir, address(process.pid, "http://127.0.0.1:8080"))
          expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual(address(process.pid, "http://127.0.0.1:8080"))
          expect(fs.readdirSync(dir)).toEqual([ADDRESS_FILE])
        })
      )
      expect(fs.existsSync(file)).toBe(false)
      // Another process's address (a newer server) is left alone.
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* advertise(dir, address(process.pid))
          fs.writeFileSync(file, JSON.stringify(address(process.pid + 1)))
        })
      )
      expect(fs.existsSync(file)).toBe(true)
    }).pipe(Effect.provide(layer)))

  it.scoped("is found only when live: parsed, its pid holding the lock, its URL answering", () =>
    Effect.gen(function*() {
      const { url } = yield* healthServer
      const dir = tempDir()
      const file = path.join(dir, ADDRESS_FILE)
      const lock = path.join(dir, LOCK_FILE)
      expect(Option.isNone(yield* findServer(dir))).toBe(true)
      fs.writeFileSync(lock, `${process.pid}\n`)
      fs.writeFileSync(file, "{ not json")
      expect(Option.isNone(yield* findServer(dir))).toBe(true)
      fs.writeFileSync(file, JSON.stringify({ pid: "x", url: 1 }))
      expect(Option.isNone(yield* findServer(dir))).toBe(true)
      // Live: the lock's holder, answering.
      fs.writeFileSync(file, JSON.stringify(address(process.pid, url)))
      expect(yield* findServer(dir)).toEqual(Option.some(address(process.pid, url)))
      // The same address, but the URL does not answer (the server is gone, its port closed).
      fs.writeFileSync(file, JSON.stringify(address(process.pid, CLOSED)))
      expect(Option.isNone(yield* findServer(dir))).toBe(true)
      // Answering, but its pid does not hold the lock: another process does, or nobody.
      fs.writeFileSync(file, JSON.stringify(address(process.pid, url)))
      fs.writeFileSync(lock, `${process.ppid}\n`)
      expect(Option.isNone(yield* findServer(dir))).toBe(true)
      fs.rmSync(lock)
      expect(Option.isNone(yield* findServer(dir))).toBe(true)
    }).pipe(Effect.provide(layer)))
})
