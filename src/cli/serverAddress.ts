/**
 * The address a running `trellis serve` advertises next to the lock of the
 * embedded store it holds: `trellis.server.json` in the PGlite directory
 * (`$TRELLIS_HOME/pglite`), written when the server listens and removed when
 * it shuts down cleanly. The store commands of the CLI read it when the
 * store is held, and go through the server's HTTP API instead of failing on
 * the lock. It holds no secret: the URL, the server's pid, whether a key is
 * needed (and the workspaces' names), the version.
 *
 * An address is only believed when it is live: its pid holds the store's
 * lock and its URL answers `GET /healthz`. Anything else (a `kill -9`ed
 * server, a pid reused by another process, a port now closed, a file that
 * does not parse) is stale and ignored.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Option, Schema } from "effect"
import type { Scope } from "effect"
import * as Path from "node:path"
import { lockHolder } from "../store/lock.js"

/** The address file's name, in the same directory as the store's lock file. */
export const ADDRESS_FILE = "trellis.server.json"

/** What a server advertises. */
export const ServerAddress = Schema.Struct({
  /** The server's process id: the address is live only while this process holds the store's lock. */
  pid: Schema.Int,
  /** The base URL the CLI calls (`http://127.0.0.1:8080`). */
  url: Schema.String,
  /** `none`: open mode (loopback, no key); `key`: every call needs an API key (`TRELLIS_API_KEY`). */
  auth: Schema.Literal("none", "key"),
  /** The workspaces' names (empty in open mode), to say which key is needed. */
  workspaces: Schema.Array(Schema.String),
  /** The server's version. */
  version: Schema.String
})
export type ServerAddress = typeof ServerAddress.Type

const decodeAddress = Schema.decodeUnknownOption(Schema.parseJson(ServerAddress))

/** The address file of a PGlite directory. */
export const addressFile = (dataDir: string): string => Path.join(dataDir, ADDRESS_FILE)

/** A base URL the CLI can call: a server bound to every address (`0.0.0.0`, `::`) is reached on loopback. */
export const reachableUrl = (url: string): string =>
  url.replace(/^http:\/\/0\.0\.0\.0(?=[:/]|$)/, "http://127.0.0.1").replace(
    /^http:\/\/\[::\](?=[:/]|$)/,
    "http://[::1]"
  )

/**
 * Advertises `address` in `dataDir` until the scope closes (then the file is
 * removed, if it is still this process's). Written to a temporary file and
 * renamed, so a reader never sees half of it. A failure to write is logged,
 * never fatal: the server works without it (only the CLI beside it does not).
 */
export const advertise = (
  dataDir: string,
  address: ServerAddress
): Effect.Effect<void, never, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = addressFile(dataDir)
    const tmp = `${file}.${address.pid}.tmp`
    const written = yield* fs.writeFileString(tmp, JSON.stringify(address) + "\n").pipe(
      Effect.zipRight(fs.rename(tmp, file)),
      Effect.as(true),
      Effect.catchAll((e) =>
        Effect.as(Effect.logWarning(`cannot advertise the server's address in ${file}: ${e.message}`), false)
      )
    )
    if (!written) return
    yield* Effect.addFinalizer(() =>
      fs.readFileString(file, "utf8").pipe(
        Effect.flatMap((text) =>
          Option.match(decodeAddress(text), {
            onNone: () => Effect.void,
            onSome: (a) => (a.pid === address.pid ? fs.remove(file) : Effect.void)
          })
        ),
        Effect.ignore
      )
    )
  })

/** How long `/healthz` may take before the address counts as stale. */
const HEALTH_TIMEOUT = "2 seconds"

/** Whether `url` answers `GET /healthz` as a Trellis server does (status 200, a JSON body with `status`). */
const answers = (url: string): Effect.Effect<boolean, never, HttpClient.HttpClient> =>
  HttpClient.get(`${url}/healthz`).pipe(
    Effect.flatMap((response) =>
      response.status === 200
        ? Effect.map(response.json, (body) => typeof body === "object" && body !== null && "status" in body)
        : Effect.succeed(false)
    ),
    Effect.scoped,
    Effect.timeout(HEALTH_TIMEOUT),
    Effect.orElseSucceed(() => false)
  )

/**
 * The live server advertised in `dataDir`, if any: its address file parses,
 * its pid holds the store's lock, and its URL answers `/healthz`. Never
 * fails: a missing or stale address is `None`.
 */
export const findServer = (
  dataDir: string
): Effect.Effect<Option.Option<ServerAddress>, never, FileSystem.FileSystem | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(addressFile(dataDir), "utf8").pipe(Effect.option)
    if (Option.isNone(text)) return Option.none()
    const address = decodeAddress(text.value)
    if (Option.isNone(address)) return Option.none()
    if (lockHolder(dataDir) !== address.value.pid) return Option.none()
    const url = reachableUrl(address.value.url)
    return (yield* answers(url)) ? Option.some({ ...address.value, url }) : Option.none()
  })
