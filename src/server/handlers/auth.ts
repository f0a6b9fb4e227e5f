/**
 * The `Authorization` middleware: a bearer key is hashed and looked up among
 * the workspaces' key hashes; open mode (no workspace configured) lets every
 * request in as `default`. The key itself is never kept, logged or echoed.
 */
import { Effect, Layer, Redacted } from "effect"
import { Authorization } from "../api/auth.js"
import { Unauthorized } from "../api/errors.js"
import { LlmAuthorization } from "../api/llm.js"
import { hashKey, isOpen } from "../config.js"
import type { ServerConfig, Workspace } from "../config.js"
import { setWorkspace } from "../observability/middleware.js"

/** The workspace name of open mode. */
const DEFAULT_WORKSPACE = "default"

/** The `Authorization` middleware for `config`. */
export const layerAuthorization = (config: ServerConfig): Layer.Layer<Authorization> => {
  const byHash = new Map<string, Workspace>()
  for (const w of config.workspaces) for (const h of w.keyHashes) byHash.set(h, w)
  const open = isOpen(config)
  return Layer.succeed(Authorization, {
    bearer: (token) =>
      Effect.suspend(() => {
        if (open) return Effect.as(setWorkspace(DEFAULT_WORKSPACE), { name: DEFAULT_WORKSPACE, quotas: {} })
        const key = Redacted.value(token)
        const w = key === "" ? undefined : byHash.get(hashKey(key))
        if (w === undefined) {
          return Effect.fail(new Unauthorized({ message: "a valid API key is required (Authorization: Bearer <key>)" }))
        }
        return Effect.as(setWorkspace(w.name), { name: w.name, quotas: w.quotas ?? {} })
      })
  })
}

/** The gateway's `LlmAuthorization` middleware for `config`: the same keys, refusals in OpenAI's error shape. */
export const layerLlmAuthorization = (config: ServerConfig): Layer.Layer<LlmAuthorization> =>
  Layer.effect(
    LlmAuthorization,
    Effect.map(Effect.provide(Authorization, layerAuthorization(config)), (auth) => ({
      bearer: (token: Redacted.Redacted<string>) =>
        Effect.mapError(auth.bearer(token), (e) => ({
          error: { message: e.message, type: "authentication_error", param: null, code: "invalid_api_key" }
        }))
    }))
  )
