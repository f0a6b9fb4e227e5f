/**
 * JSON logs and redaction: one JSON object per line with time, level,
 * message, annotations and the current span's ids; registered secrets,
 * TRELLIS_API_KEYS keys, secret-named env values and database passwords
 * never appear, not even JSON-escaped.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Redacted } from "effect"
import { jsonLogger } from "../../../src/server/observability/logging.js"
import {
  apiKeysOf,
  clearSecrets,
  redact,
  registerSecret,
  registerSecretEnv,
  registerSecretsFromEnv
} from "../../../src/server/observability/redact.js"

const capture = () => {
  const lines: Array<string> = []
  const layer = Logger.replace(Logger.defaultLogger, jsonLogger({ write: (line) => lines.push(line) }))
  return { lines, layer }
}

afterEach(() => clearSecrets())

describe("jsonLogger", () => {
  it.effect("writes one JSON object per line with annotations and span ids", () => {
    const { layer, lines } = capture()
    return Effect.gen(function*() {
      yield* Effect.logWarning("first", { n: 1 }).pipe(
        Effect.annotateLogs({ requestId: "r-1", runId: "run-9", level: "shadowed" }),
        Effect.withSpan("outer")
      )
      yield* Effect.logError("failed").pipe(Effect.zipRight(Effect.void))
      expect(lines).toHaveLength(2)
      for (const line of lines) expect(line).not.toContain("\n")
      const first = JSON.parse(lines[0]!) as Record<string, unknown>
      expect(first).toMatchObject({
        level: "warn",
        message: "first {\"n\":1}",
        requestId: "r-1",
        runId: "run-9",
        "annotation.level": "shadowed"
      })
      expect(first["traceId"]).toMatch(/^[0-9a-f]{32}$/)
      expect(first["spanId"]).toMatch(/^[0-9a-f]{16}$/)
      expect(new Date(first["time"] as string).toISOString()).toBe(first["time"])
      const second = JSON.parse(lines[1]!) as Record<string, unknown>
      expect(second).toEqual({ time: second["time"], level: "error", message: "failed" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("renders a failure's cause and redacts secrets in it", () => {
    const { layer, lines } = capture()
    registerSecret(Redacted.make("hunter2-long"))
    return Effect.gen(function*() {
      yield* Effect.logError("boom").pipe(
        Effect.annotateLogs("token", "hunter2-long"),
        Effect.zipRight(Effect.fail(new Error("bad key hunter2-long"))),
        Effect.catchAllCause((cause) => Effect.logError("caught", cause))
      )
      expect(lines).toHaveLength(2)
      const caught = JSON.parse(lines[1]!) as Record<string, unknown>
      expect(caught["message"]).toBe("caught")
      expect(caught["cause"]).toContain("bad key [REDACTED]")
      expect(JSON.parse(lines[0]!)).toMatchObject({ token: "[REDACTED]" })
      for (const line of lines) expect(line).not.toContain("hunter2")
    }).pipe(Effect.provide(layer))
  })
})

describe("redact", () => {
  it("replaces registered secrets, longest first, also in their JSON-escaped form", () => {
    registerSecret("ab\"c\\d-secret")
    registerSecret("short-one")
    registerSecret("short-one-longer")
    expect(redact(JSON.stringify({ v: "x ab\"c\\d-secret y" }))).toBe("{\"v\":\"x [REDACTED] y\"}")
    expect(redact("short-one-longer and short-one")).toBe("[REDACTED] and [REDACTED]")
    expect(redact("nothing here")).toBe("nothing here")
  })

  it("takes the environment's secrets: API keys, secret-named variables, database passwords", () => {
    expect(apiKeysOf("acme=key-one, beta=key-two,,")).toEqual(["key-one", "key-two"])
    registerSecretsFromEnv({
      TRELLIS_API_KEYS: "acme=key-one,beta=key-two",
      VLLM_API_KEY: "sk-vllm-123",
      GITHUB_TOKEN: "ghp_abc",
      SHORT_TOKEN: "abc",
      TRELLIS_DATABASE_URL: "postgres://u:p%40ss-word@db:5432/x",
      PATH: "/usr/bin"
    })
    registerSecretEnv(["CUSTOM_KEY_VAR"], { CUSTOM_KEY_VAR: "cust0m" })
    const text = "key-one key-two sk-vllm-123 ghp_abc abc p@ss-word cust0m /usr/bin"
    expect(redact(text)).toBe("[REDACTED] [REDACTED] [REDACTED] [REDACTED] abc [REDACTED] [REDACTED] /usr/bin")
  })
})
