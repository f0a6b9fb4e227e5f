/**
 * The CLI beside a running server. When a live `trellis serve` holds the
 * embedded store (see `serverAddress.ts`), the store commands go through its
 * HTTP API: `serverOfStore` finds it and connects (with `TRELLIS_API_KEY`
 * when it is keyed), `failure` turns what the API answers into the CLI's
 * one-line errors, and `runEvents` reads a run's events from its SSE stream.
 */
import * as Sse from "@effect/experimental/Sse"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Effect, Either, Option, Redacted, Schema, Stream } from "effect"
import { Api } from "../server/api/index.js"
import { STREAM_ERROR } from "../server/sse.js"
import { backendFromEnv } from "../store/index.js"
import { RunEvent } from "../trace/events.js"
import { CliError } from "./io.js"
import { findServer } from "./serverAddress.js"
import type { ServerAddress } from "./serverAddress.js"
import * as Settings from "./settings.js"

const makeClient = (url: string, key: Option.Option<Redacted.Redacted<string>>) =>
  HttpApiClient.make(Api, {
    baseUrl: url,
    ...(Option.isNone(key) ? {} : { transformClient: authorized(key.value) })
  })

const authorized = (key: Redacted.Redacted<string>) =>
  HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(key)))

/** The typed client of the API. */
export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeClient>>

/** A live server holding the store, and the clients to call it. */
export interface Remote {
  /** What the server advertised (its `url` is the one called). */
  readonly address: ServerAddress
  /** The store's directory (for messages). */
  readonly dataDir: string
  /** The typed API client. */
  readonly api: ApiClient
  /** A plain client with the key, for the SSE stream. */
  readonly http: HttpClient.HttpClient
}

/** Who holds the store, for messages: `the server at <url> (process <pid>)`. */
export const holderOf = (held: { readonly address: ServerAddress }): string =>
  `the server at ${held.address.url} (process ${held.address.pid})`

/** A live server that holds the store of the environment: what it advertised, and the store's directory. */
export interface Holder {
  readonly address: ServerAddress
  readonly dataDir: string
}

/**
 * The live server that holds the store of the environment, if any; `None`
 * when there is none (no address, a stale one, or PostgreSQL, which several
 * processes share).
 */
export const heldBy: Effect.Effect<Option.Option<Holder>, never, FileSystem.FileSystem> = Effect.gen(function*() {
  // A bad store setting is left to the direct path, which reports it as it always did.
  const backend = yield* Effect.option(backendFromEnv)
  if (Option.isNone(backend) || backend.value.kind !== "pglite") return Option.none()
  const dataDir = backend.value.dataDir
  const found = yield* findServer(dataDir)
  return Option.map(found, (address) => ({ address, dataDir }))
}).pipe(Effect.provide(FetchHttpClient.layer))

/**
 * The live server that holds the store of the environment, connected (see
 * `heldBy`). Fails when the server needs an API key and `TRELLIS_API_KEY`
 * is not set.
 */
export const serverOfStore: Effect.Effect<Option.Option<Remote>, CliError, FileSystem.FileSystem> = Effect.gen(
  function*() {
    const held = yield* heldBy
    if (Option.isNone(held)) return Option.none()
    const { address, dataDir } = held.value
    const key = yield* Settings.apiKey.pipe(
      Effect.mapError((e) => new CliError({ message: `invalid setting: ${String(e)}` }))
    )
    if (address.auth === "key" && Option.isNone(key)) {
      return yield* new CliError({
        message: `the store in ${dataDir} is held by ${holderOf(held.value)}, which needs an API key: ` +
          `set TRELLIS_API_KEY to the key of one of its workspaces (${address.workspaces.join(", ")})`
      })
    }
    const api = yield* makeClient(address.url, key)
    const plain = yield* HttpClient.HttpClient
    const http = Option.isNone(key) ? plain : authorized(key.value)(plain)
    return Option.some({ address, dataDir, api, http })
  }
).pipe(Effect.provide(FetchHttpClient.layer))

/**
 * Fails when a live server holds the store, for the commands its API does
 * not offer: `the store in <dir> is held by the server at <url> (process
 * <pid>)<why>`.
 */
export const notWhileServed = (why: string): Effect.Effect<void, CliError, FileSystem.FileSystem> =>
  Effect.flatMap(heldBy, (held) =>
    Option.isNone(held)
      ? Effect.void
      : Effect.fail(
        new CliError({ message: `the store in ${held.value.dataDir} is held by ${holderOf(held.value)}${why}` })
      ))

/** What an API call can fail with, as far as the CLI tells them apart. */
interface Failure {
  readonly _tag: string
  readonly message?: string
}

/**
 * An answer of the server (or none) as a CLI error: the server's own
 * message for its typed errors, a refused key, or an unreachable server.
 * `NotFound` and the other run errors are left to the caller when it
 * handles them first.
 */
export const failure = (remote: Remote, e: Failure): CliError => {
  const who = holderOf(remote)
  switch (e._tag) {
    case "Unauthorized":
      return new CliError({ message: `${who} refused the key in TRELLIS_API_KEY: ${e.message ?? "unauthorized"}` })
    case "RequestError":
      return new CliError({ message: `cannot reach ${who}, which holds the store in ${remote.dataDir}: ${e.message}` })
    case "ResponseError":
    case "ParseError":
    case "HttpApiDecodeError":
      return new CliError({ message: `unexpected answer from ${who}: ${e.message ?? e._tag}` })
    default:
      return new CliError({ message: `${who}: ${e.message ?? e._tag}` })
  }
}

const decodeEvent = Schema.decodeUnknownEither(Schema.parseJson(RunEvent))

/** Whether an event ends its run. */
export const isTerminal = (e: RunEvent): boolean =>
  e.type === "RunCompleted" || e.type === "RunFailed" || e.type === "RunCancelled"

/**
 * The SSE frames of a text stream (`retry:` lines and comments dropped).
 * `Sse.makeChannel` is not used: it treats a `retry:` line as a reconnect.
 */
const sseFrames = <E>(text: Stream.Stream<string, E>): Stream.Stream<Sse.Event, E | CliError> =>
  Stream.suspend(() => {
    const pending: Array<Sse.Event> = []
    const parser = Sse.makeParser((e) => {
      if (e._tag === "Event") pending.push(e)
    })
    return text.pipe(
      Stream.mapEffect((chunk) => {
        const error = parser.feed(chunk)
        return error === undefined
          ? Effect.succeed(pending.splice(0))
          : Effect.fail(new CliError({ message: `a server-sent event is too large: ${error.message}` }))
      }),
      Stream.flattenIterables
    )
  })

/**
 * The events of a run after seq `after`, as the server's SSE stream sends
 * them: the recorded ones, then live ones, ending after the terminal event
 * (or when the server closes the stream). A run the server does not know
 * fails with its `NotFound` message, as `run <id>: NotFound: …`.
 */
export const runEvents = (
  remote: Remote,
  runId: string,
  after: number
): Stream.Stream<RunEvent, CliError> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const request = HttpClientRequest.get(`${remote.address.url}/v1/runs/${encodeURIComponent(runId)}/events`).pipe(
        HttpClientRequest.setHeaders(
          after >= 0 ? { accept: "text/event-stream", "last-event-id": String(after) } : {
            accept: "text/event-stream"
          }
        )
      )
      const response = yield* remote.http.execute(request).pipe(Effect.mapError((e) => failure(remote, e)))
      // 204: the run ended and nothing follows `after`.
      if (response.status === 204) return Stream.empty
      if (response.status !== 200) {
        const body = yield* response.json.pipe(Effect.orElseSucceed(() => ({})))
        const message = typeof body === "object" && body !== null && "message" in body ? String(body.message) : ""
        const tag = typeof body === "object" && body !== null && "_tag" in body ? String(body._tag) : "Error"
        if (response.status === 404) return yield* new CliError({ message: `run ${runId}: NotFound: ${message}` })
        return yield* failure(remote, { _tag: tag, message: message === "" ? `status ${response.status}` : message })
      }
      return response.stream.pipe(
        Stream.mapError((e) => failure(remote, e)),
        Stream.decodeText(),
        sseFrames,
        Stream.mapEffect((frame) => {
          if (frame.event === STREAM_ERROR) {
            return Effect.fail(failure(remote, { _tag: "StreamError", message: "the server's event log failed" }))
          }
          const event = decodeEvent(frame.data)
          return Either.isRight(event)
            ? Effect.succeed(event.right)
            : Effect.fail(failure(remote, { _tag: "ParseError", message: `an event of run ${runId} does not decode` }))
        }),
        Stream.takeUntil(isTerminal)
      )
    })
  )
