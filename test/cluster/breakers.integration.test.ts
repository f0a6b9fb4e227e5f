/**
 * Circuit breakers in Redis (issue 17): two clients (as two replicas) share
 * one breaker — failures seen through one open it for the other — and the
 * Lua scripts follow the pure state machine step for step on random steps.
 * Needs Redis (`TRELLIS_TEST_REDIS_URL`, default redis://127.0.0.1:6379);
 * skipped when it does not answer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as fc from "fast-check"
import { Redis } from "ioredis"
import * as net from "node:net"
import { make } from "../../src/cluster/breakers.js"
import { protect } from "../../src/runtime/policy/breaker.js"
import * as Machine from "../../src/runtime/policy/breakerState.js"
import { resolveBreaker } from "../../src/tools/breaker.js"
import type { ResolvedBreaker } from "../../src/tools/breaker.js"
import { CircuitOpen, Transient } from "../../src/tools/errors.js"
import type { ToolError } from "../../src/tools/errors.js"

const redisUrl = process.env["TRELLIS_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

const redisUp = (url: string) =>
  new Promise<boolean>((resolve) => {
    const u = new URL(url)
    const socket = net.connect(Number(u.port || 6379), u.hostname)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on("error", () => done(false))
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")))
  })

const haveRedis = await redisUp(redisUrl)
if (!haveRedis) process.stderr.write("circuit breakers in Redis: skipped (needs Redis)\n")

const prefix = `br_test:${Math.random().toString(36).slice(2, 8)}:`

/** Two clients, as two replicas would hold, closed after `body`. */
const withClients = <A, E>(body: (a: Redis, b: Redis) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => [new Redis(redisUrl), new Redis(redisUrl)] as const),
    ([a, b]) => body(a, b),
    ([a, b]) =>
      Effect.promise(async () => {
        const keys = await a.keys(`${prefix}*`)
        if (keys.length > 0) await a.del(...keys)
        await a.quit()
        await b.quit()
      })
  )

const options = {
  counts: (e: ToolError) => e._tag !== "Permanent",
  rejected: (retryAfterMs: number): ToolError => new CircuitOpen({ message: "open", retryAfterMs })
}

describe.skipIf(!haveRedis)("circuit breakers in Redis", () => {
  it.effect("failures seen by one replica open the breaker for the other, which then probes and closes it", () =>
    withClients((ra, rb) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_700_000_000_000)
        const s = resolveBreaker({ failureRate: 0.5, minCalls: 3, window: "10s", openFor: "2s" })
        const a = make(ra, prefix)
        const b = make(rb, prefix)
        const seenByB: Array<string> = []
        const onA = protect(a, "tool:shared", s, options)
        const onB = protect(b, "tool:shared", s, {
          ...options,
          onTransition: (t) => seenByB.push(`${t.from}->${t.to}`)
        })
        const down = Effect.fail<ToolError>(new Transient({ message: "down" }))
        for (let i = 0; i < 3; i++) yield* Effect.exit(onA(down))
        expect(yield* b.status("tool:shared", s)).toBe("open")
        let called = false
        const refused = yield* Effect.flip(onB(Effect.sync(() => {
          called = true
          return 1
        })))
        expect(refused).toEqual(new CircuitOpen({ message: "open", retryAfterMs: 2000 }))
        expect(called).toBe(false)
        yield* TestClock.adjust("2 seconds")
        expect(yield* onB(Effect.succeed(2))).toBe(2)
        expect(seenByB).toEqual(["open->half-open", "half-open->closed"])
        expect(yield* a.status("tool:shared", s)).toBe("closed")
      })
    ))

  it.effect("the Lua scripts take the same steps as the pure state machine", () =>
    withClients((ra) =>
      Effect.gen(function*() {
        const arbSettings: fc.Arbitrary<ResolvedBreaker> = fc.record({
          failureRate: fc.constantFrom(0.2, 0.5, 0.75, 1),
          minCalls: fc.integer({ min: 1, max: 5 }),
          windowMs: fc.integer({ min: 1, max: 1000 }),
          openForMs: fc.integer({ min: 1, max: 1000 }),
          halfOpenProbes: fc.integer({ min: 1, max: 3 })
        })
        const arbOps = fc.array(
          fc.record({ call: fc.boolean(), dt: fc.integer({ min: 0, max: 300 }), pick: fc.nat(), failed: fc.boolean() }),
          { maxLength: 40 }
        )
        const cases = fc.sample(fc.tuple(arbSettings, arbOps), { numRuns: 40, seed: 17 })
        const store = make(ra, prefix)
        let n = 0
        for (const [s, ops] of cases) {
          const name = `eq:${n++}`
          let state = Machine.initialState
          let now = 1_700_000_000_000
          yield* TestClock.setTime(now)
          const pending: Array<Extract<Machine.Admission, { _tag: "Admitted" }>> = []
          for (const op of ops) {
            now += op.dt
            yield* TestClock.setTime(now)
            if (op.call) {
              const want = Machine.admit(state, s, now)
              state = want.state
              const got = yield* store.admit(name, s)
              expect(got.admission).toEqual(want.result)
              expect(got.transitions).toEqual(want.transitions)
              if (want.result._tag === "Admitted") pending.push(want.result)
            } else if (pending.length > 0) {
              const [adm] = pending.splice(op.pick % pending.length, 1)
              const want = Machine.record(state, s, adm!, op.failed, now)
              state = want.state
              expect(yield* store.record(name, s, adm!, op.failed)).toEqual(want.transitions)
            }
          }
        }
      })
    ))
})
