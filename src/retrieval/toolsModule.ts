/**
 * A tools module for `trellis run prog.tr --tools src/retrieval/toolsModule.ts`:
 * exports `tools` = `retrieval.ingest` and `retrieval.search` over the
 * store's default backend (`layerFromEnv`) and the environment's embedder,
 * built lazily on the first call and kept for the life of the process.
 */
import { Effect, ManagedRuntime } from "effect"
import { layerFromEnv } from "../store/sql.js"
import { RetrievalError } from "./errors.js"
import { layerDefault, Retrieval } from "./service.js"
import type { RetrievalShape } from "./service.js"
import { toolsOf } from "./tools.js"

let runtime: ManagedRuntime.ManagedRuntime<Retrieval, unknown> | undefined
const service = Effect.suspend(() => {
  runtime ??= ManagedRuntime.make(layerDefault(layerFromEnv))
  return Effect.provide(Retrieval, runtime)
}).pipe(
  Effect.mapError((e) =>
    e instanceof RetrievalError
      ? e
      : new RetrievalError({
        reason: "database",
        message: `cannot open the retrieval store: ${
          e instanceof Error ? e.message : String((e as { message?: unknown }).message ?? e)
        }`
      })
  )
)

/** A `RetrievalShape` whose calls go to the lazily built default stack. */
const lazy: RetrievalShape = {
  get settings(): never {
    throw new Error("settings are not available on the lazy retrieval service")
  },
  get embedder(): never {
    throw new Error("the embedder is not available on the lazy retrieval service")
  },
  vectorAvailable: true,
  ingest: (documents, options) => Effect.flatMap(service, (r) => r.ingest(documents, options)),
  search: (query, options) => Effect.flatMap(service, (r) => r.search(query, options)),
  searchModes: (query, modes, options) => Effect.flatMap(service, (r) => r.searchModes(query, modes, options)),
  stats: Effect.flatMap(service, (r) => r.stats)
}

/** The retrieval tools over the default store. */
export const tools = toolsOf(lazy)
