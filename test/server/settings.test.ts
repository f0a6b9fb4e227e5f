/**
 * The server's settings (`src/server/settings.ts`) through a `ConfigProvider`
 * and its files through an in-memory `FileSystem`: `loadConfig` (the file of
 * `--config` or `TRELLIS_CONFIG`, the keys of `TRELLIS_API_KEYS`), the
 * viewer's folder (`TRELLIS_WEB_DIR`) and the store named in the banner.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { storeName } from "../../src/cli/serve.js"
import { hashKey, loadConfig } from "../../src/server/config.js"
import { webDir } from "../../src/server/web/routes.js"
import { layerMemoryFs } from "../support/memoryFs.js"
import { settingsFrom } from "../support/settings.js"

const file = JSON.stringify({
  workspaces: [{ name: "acme", keyHashes: [hashKey("file-key")] }],
  limits: { runQueue: 7 }
})
const files = layerMemoryFs({ "/etc/trellis/config.json": file, "/etc/trellis/bad.json": "{ nope" })
const withSettings = (env: Record<string, string>) => Effect.withConfigProvider(settingsFrom(env))

describe("server settings", () => {
  it.effect("no file and no keys: open mode with the default limits", () =>
    Effect.gen(function*() {
      const cfg = yield* loadConfig(undefined).pipe(
        Effect.provide(files),
        withSettings({ TRELLIS_CONFIG: "", TRELLIS_API_KEYS: " " })
      )
      expect(cfg.workspaces).toEqual([])
      expect(cfg.limits.runQueue).toBe(1000)
    }))

  it.effect("TRELLIS_CONFIG names the file (read through FileSystem); --config wins; keys are merged, hashed", () =>
    Effect.gen(function*() {
      const env = { TRELLIS_CONFIG: "/etc/trellis/config.json", TRELLIS_API_KEYS: "acme=dev-key,beta=beta-key" }
      const cfg = yield* loadConfig(undefined).pipe(Effect.provide(files), withSettings(env))
      expect(cfg.limits.runQueue).toBe(7)
      expect(cfg.workspaces.map((w) => [w.name, w.keyHashes])).toEqual([
        ["acme", [hashKey("file-key"), hashKey("dev-key")]],
        ["beta", [hashKey("beta-key")]]
      ])
      expect(JSON.stringify(cfg)).not.toContain("dev-key")
      const bad = yield* Effect.flip(loadConfig("/etc/trellis/bad.json").pipe(Effect.provide(files), withSettings(env)))
      expect(bad.message).toContain("config /etc/trellis/bad.json: not JSON")
    }))

  it.effect("a missing file or a bad TRELLIS_API_KEYS is one ConfigError (never echoing a key)", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(
        loadConfig(undefined).pipe(
          Effect.provide(files),
          withSettings({ TRELLIS_CONFIG: "/etc/trellis/none.json" })
        )
      )
      expect(missing._tag).toBe("ConfigError")
      expect(missing.message).toBe("config /etc/trellis/none.json: cannot read (NotFound)")
      const keys = yield* Effect.flip(
        loadConfig(undefined).pipe(Effect.provide(files), withSettings({ TRELLIS_API_KEYS: "acme=k1,secretonly" }))
      )
      expect(keys.message).toContain("TRELLIS_API_KEYS")
      expect(keys.message).not.toContain("secretonly")
    }))

  it.effect("TRELLIS_WEB_DIR is used when it holds index.html", () =>
    Effect.gen(function*() {
      const web = layerMemoryFs({ "/opt/viewer/index.html": "<!doctype html>" })
      expect(yield* webDir.pipe(Effect.provide(web), withSettings({ TRELLIS_WEB_DIR: "/opt/viewer" }))).toBe(
        "/opt/viewer"
      )
      expect(yield* webDir.pipe(Effect.provide(web), withSettings({ TRELLIS_WEB_DIR: "/opt/empty" }))).toBeUndefined()
    }))

  it.effect("the banner's store: PostgreSQL when TRELLIS_DATABASE_URL is set, else PGlite in TRELLIS_HOME", () =>
    Effect.gen(function*() {
      expect(yield* storeName.pipe(withSettings({}))).toBe("PGlite in ./.trellis")
      expect(yield* storeName.pipe(withSettings({ TRELLIS_HOME: "/data/t" }))).toBe("PGlite in /data/t")
      expect(yield* storeName.pipe(withSettings({ TRELLIS_DATABASE_URL: "postgres://u:p@h/db" }))).toBe(
        "PostgreSQL (TRELLIS_DATABASE_URL)"
      )
    }))
})
