/**
 * The store's settings (`src/store/settings.ts`) through a `ConfigProvider`,
 * not `process.env`: the backend, the PGlite thread switch, and a bad value
 * as an error naming the variable (checked before any directory is created).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { backendFromEnv, layerFromEnv, pgliteThreadDefault, trellisHome } from "../../src/store/sql.js"
import { settingsFrom } from "../support/settings.js"

const withSettings = (env: Record<string, string>) => Effect.withConfigProvider(settingsFrom(env))

describe("store settings", () => {
  it.effect("TRELLIS_HOME (default ./.trellis) and TRELLIS_DATABASE_URL choose the backend", () =>
    Effect.gen(function*() {
      expect(yield* backendFromEnv.pipe(withSettings({}))).toEqual({
        kind: "pglite",
        dataDir: Path.resolve(".trellis", "pglite")
      })
      expect(yield* trellisHome.pipe(withSettings({ TRELLIS_HOME: "" }))).toBe(Path.resolve(".trellis"))
      expect(yield* backendFromEnv.pipe(withSettings({ TRELLIS_HOME: "/srv/t", TRELLIS_DATABASE_URL: "" }))).toEqual({
        kind: "pglite",
        dataDir: Path.resolve("/srv/t", "pglite")
      })
      const pg = yield* backendFromEnv.pipe(withSettings({ TRELLIS_DATABASE_URL: "postgres://u:hunter2@db:5432/x" }))
      expect(pg.kind).toBe("postgres")
      if (pg.kind !== "postgres") return
      expect(Redacted.isRedacted(pg.url)).toBe(true)
      expect(Redacted.value(pg.url)).toBe("postgres://u:hunter2@db:5432/x")
      expect(`${String(pg.url)} ${JSON.stringify(pg)}`).not.toContain("hunter2")
    }))

  it.effect("TRELLIS_PGLITE_THREAD: on unless 0/false/no/off; anything else is an error naming it", () =>
    Effect.gen(function*() {
      const thread = (value?: string) =>
        pgliteThreadDefault.pipe(withSettings(value === undefined ? {} : { TRELLIS_PGLITE_THREAD: value }))
      expect(yield* thread()).toBe(true)
      expect(yield* thread("")).toBe(true)
      expect(yield* thread("1")).toBe(true)
      expect(yield* thread("0")).toBe(false)
      expect(yield* thread("off")).toBe(false)
      const bad = yield* Effect.flip(thread("maybe"))
      expect(String(bad)).toContain("TRELLIS_PGLITE_THREAD")
      expect(String(bad)).toContain("maybe")
    }))

  it.effect("a bad setting fails the store layer with a typed error naming it, before the directory is made", () =>
    Effect.gen(function*() {
      const home = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-settings-")), "home")
      const error = yield* Effect.flip(
        Layer.build(layerFromEnv).pipe(
          Effect.scoped,
          withSettings({ TRELLIS_HOME: home, TRELLIS_PGLITE_THREAD: "perhaps" })
        )
      )
      expect(error._tag).toBe("SqlError")
      expect(error.message).toContain("TRELLIS_PGLITE_THREAD")
      expect(Fs.existsSync(home)).toBe(false)
    }))
})
