/** The `cluster` block's resolution: defaults, the derived runner port, and the ports it refuses. */
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { ClusterConfig, DEFAULTS, resolve } from "../../src/cluster/index.js"

describe("cluster settings", () => {
  it("derive the runner port from the HTTP port, with the defaults", () => {
    expect(resolve({}, 8081)).toEqual(Either.right({
      runnerHost: "127.0.0.1",
      runnerPort: 18081,
      listenHost: "127.0.0.1",
      shards: DEFAULTS.shards,
      lockExpirationMs: 10_000,
      healthCheckMs: 5_000,
      refreshMs: 1_000,
      messagePollMs: 1_000
    }))
  })

  it("take the block's values over the defaults", () => {
    const r = resolve({ runnerHost: "10.0.0.2", runnerPort: 7000, listenHost: "0.0.0.0", shards: 32 }, 0)
    expect(Either.getOrThrow(r)).toMatchObject({
      runnerHost: "10.0.0.2",
      runnerPort: 7000,
      listenHost: "0.0.0.0",
      shards: 32
    })
  })

  it("refuse port 0 and a derived port over 65535 with a message naming the setting", () => {
    const zero = resolve({}, 0)
    expect(Either.isLeft(zero) && zero.left).toContain("cluster.runnerPort")
    const high = resolve({}, 60000)
    expect(Either.isLeft(high) && high.left).toContain("over 65535")
  })

  it("reject unknown values in the config block", () => {
    const decode = Schema.decodeUnknownEither(ClusterConfig)
    expect(Either.isLeft(decode({ shards: 0 }))).toBe(true)
    expect(Either.isLeft(decode({ runnerPort: 70000 }))).toBe(true)
    expect(Either.isLeft(decode({ lockExpirationMs: 10 }))).toBe(true)
    expect(Either.isRight(decode({ enabled: true, healthCheckMs: 1000 }))).toBe(true)
  })
})
