/**
 * Test harness of the server: a real server on 127.0.0.1 (a free port) over
 * a PGlite store in memory (or PostgreSQL), started in a scope the test
 * closes; the derived `HttpApiClient`; small fetch helpers.
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import type { HttpServer } from "@effect/platform"
import { Effect, Exit, Layer, Scope } from "effect"
import type { Context } from "effect"
import { ResultCache } from "../../src/runtime/policy/cache.js"
import { ToolLimiter } from "../../src/runtime/policy/limiter.js"
import { Api } from "../../src/server/api/index.js"
import { resolveConfig } from "../../src/server/config.js"
import type { ConfigFile, ResolvedLimits, ServerConfig } from "../../src/server/config.js"
import type { ServerContext } from "../../src/server/context.js"
import type { RunManager } from "../../src/server/runManager.js"
import * as Server from "../../src/server/server.js"
import { Store } from "../../src/store/index.js"
import type { StoreServices } from "../../src/store/layer.js"
import type { Client } from "../../src/store/layer.js"
import { ToolRegistry } from "../../src/tools/registry.js"

/** A running test server. */
export interface TestServer {
  readonly url: string
  readonly context: Context.Context<HttpServer.HttpServer | RunManager | ServerContext>
  /** Closes the server (graceful shutdown) and its store. */
  readonly close: () => Promise<void>
}

/** A config for tests. */
export const testConfig = (file: ConfigFile = {}, limits: Partial<ResolvedLimits> = {}): ServerConfig => {
  const r = resolveConfig(file, [], limits)
  if (r._tag === "Left") throw new Error(r.left.message)
  return r.right
}

/** The run services over `store` with the built-in tools. */
export const services = (store: Layer.Layer<StoreServices | Client, unknown>) =>
  Layer.mergeAll(store, ResultCache.layerMemory, ToolLimiter.layer, ToolRegistry.layerBuiltins)

/** Starts a server on a free loopback port. */
export const startServer = async (
  config: ServerConfig,
  options: { readonly store?: Layer.Layer<StoreServices | Client, unknown>; readonly resumeOnStart?: boolean } = {}
): Promise<TestServer> => {
  const scope = Effect.runSync(Scope.make())
  const started = await Effect.runPromise(
    Effect.gen(function*() {
      const ctx = yield* Layer.buildWithScope(services(options.store ?? Store.layerPglite("memory://")), scope)
      return yield* Server.start({ config, port: 0, host: "127.0.0.1", resumeOnStart: options.resumeOnStart ?? false })
        .pipe(
          Effect.provide(ctx),
          Scope.extend(scope)
        )
    })
  )
  return {
    url: started.url,
    context: started.context,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** The derived typed client, with an optional bearer key. */
export const client = (url: string, key?: string) =>
  HttpApiClient.make(Api, {
    baseUrl: url,
    ...(key === undefined ? {} : { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(key)) })
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** fetch with a bearer key. */
export const call = (url: string, path: string, init: RequestInit & { readonly key?: string } = {}) => {
  const headers = new Headers(init.headers)
  if (init.key !== undefined) headers.set("authorization", `Bearer ${init.key}`)
  if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json")
  return fetch(url + path, { ...init, headers })
}

/** Polls a run until it is no longer queued or running. */
export const waitEnded = async (url: string, runId: string, key?: string, timeoutMs = 20_000) => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const r = await call(url, `/v1/runs/${runId}`, key === undefined ? {} : { key })
    const body = (await r.json()) as { status: string }
    if (body.status !== "queued" && body.status !== "running") return body as Record<string, unknown>
    await new Promise((res) => setTimeout(res, 20))
  }
  throw new Error(`run ${runId} did not end`)
}
