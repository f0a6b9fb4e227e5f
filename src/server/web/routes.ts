/**
 * Serves the trace viewer: `GET /` (the page) and `GET /assets/<file>` (its
 * script, styles and lazily loaded chunks), read from the build output
 * (`dist/web/`, written by `scripts/build.mjs`). Routes are added to the
 * HttpApi's router (`HttpApiBuilder.Router`, as Swagger UI is), outside the
 * API: the page itself needs no key — the data it fetches does.
 *
 * Caching: the page is `no-cache` with an ETag (a rebuild is seen at once);
 * assets carry a content hash in their name and are `immutable` for a year.
 * Unknown assets are 404; a server whose viewer was never built answers `/`
 * with 503 and says how to build it.
 */
import { FileSystem, HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzip } from "node:zlib"
import { setRoute } from "../observability/middleware.js"
import * as Settings from "../settings.js"

/** Content types of the files the build writes. */
const CONTENT_TYPES: { readonly [ext: string]: string } = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json",
  map: "application/json",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8"
}

/** Asset names the server serves: one path segment, no dot files, a known extension. */
const ASSET = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/
/** Names with an esbuild content hash (`main-ABCD1234.js`): cacheable forever. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY"
}

/** The page's Content-Security-Policy: everything from this origin, nothing inline. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Where the built viewer lives: `TRELLIS_WEB_DIR`, else `web/` next to the CLI bundle, else the repo's `dist/web/`. */
export const webDir: Effect.Effect<string | undefined, never, FileSystem.FileSystem> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  // A string setting cannot be invalid; an unreadable source counts as unset.
  const fromEnv = yield* Effect.orElseSucceed(Settings.webDir, () => Option.none<string>())
  const candidates = [
    ...Option.toArray(fromEnv),
    fileURLToPath(new URL("./web/", import.meta.url)),
    fileURLToPath(new URL("../../../dist/web/", import.meta.url))
  ]
  const found = yield* Effect.findFirst(
    candidates,
    (dir) => Effect.orElseSucceed(fs.exists(join(dir, "index.html")), () => false)
  )
  return Option.getOrUndefined(found)
})

const notBuilt = HttpServerResponse.html(
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>Trellis viewer not built</title>` +
    `<p>The trace viewer's files are not built. Run <code>npm run build</code> (or <code>npm install</code>) and restart <code>trellis serve</code>.</p></html>`
).pipe(
  HttpServerResponse.setStatus(503),
  HttpServerResponse.setHeaders({ "cache-control": "no-store", ...SECURITY_HEADERS })
)

const notFound = (name: string) =>
  HttpServerResponse.unsafeJson({ _tag: "NotFound", message: `no viewer asset ${name.slice(0, 128)}` }, { status: 404 })

const read = (file: string): Effect.Effect<Uint8Array | undefined, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.orElseSucceed(fs.readFile(file), () => undefined))

/** Gzipped hashed assets by path (their content never changes under one name); a few files, so unbounded is fine. */
const gzipped = new Map<string, Promise<Uint8Array>>()
const gzipOf = (file: string, body: Uint8Array): Effect.Effect<Uint8Array> => {
  let done = gzipped.get(file)
  if (done === undefined) {
    done = new Promise((resolve) =>
      gzip(body, { level: 6 }, (error, out) => resolve(error === null ? new Uint8Array(out) : body))
    )
    if (gzipped.size < 256) gzipped.set(file, done)
  }
  return Effect.promise(() => done)
}

/** `GET /`: the page (no-cache, ETag, CSP). */
const page = Effect.gen(function*() {
  yield* setRoute("/")
  const dir = yield* webDir
  if (dir === undefined) return notBuilt
  const body = yield* read(join(dir, "index.html"))
  if (body === undefined) return notBuilt
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
  const request = yield* HttpServerRequest.HttpServerRequest
  const headers = { etag, "cache-control": "no-cache", "content-security-policy": CSP, ...SECURITY_HEADERS }
  if (request.headers["if-none-match"] === etag) return HttpServerResponse.empty({ status: 304, headers })
  return HttpServerResponse.uint8Array(body, { contentType: CONTENT_TYPES.html!, headers })
})

/** `GET /assets/:file`. */
const asset = Effect.gen(function*() {
  yield* setRoute("/assets/:file")
  const name = (yield* HttpRouter.params).file ?? ""
  const ext = name.slice(name.lastIndexOf(".") + 1)
  const type = CONTENT_TYPES[ext]
  if (!ASSET.test(name) || type === undefined || name === "index.html") return notFound(name)
  const dir = yield* webDir
  if (dir === undefined) return notFound(name)
  const file = join(dir, name)
  const body = yield* read(file)
  if (body === undefined) return notFound(name)
  const hashed = HASHED.test(name)
  const headers = {
    "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
    vary: "accept-encoding",
    ...SECURITY_HEADERS
  }
  const request = yield* HttpServerRequest.HttpServerRequest
  // The elkjs chunk is 1.5 MB: gzip (once per hashed file) when the client accepts it.
  if (hashed && body.byteLength > 1024 && /\bgzip\b/.test(request.headers["accept-encoding"] ?? "")) {
    const packed = yield* gzipOf(file, body)
    if (packed !== body) {
      return HttpServerResponse.uint8Array(packed, {
        contentType: type,
        headers: { ...headers, "content-encoding": "gzip" }
      })
    }
  }
  return HttpServerResponse.uint8Array(body, { contentType: type, headers })
})

/** The viewer's routes on the HttpApi router (files through the `FileSystem` of the server's platform layer). */
export const layerRoutes = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* router.get("/", Effect.provideService(page, FileSystem.FileSystem, fs))
    yield* router.get("/assets/:file", Effect.provideService(asset, FileSystem.FileSystem, fs))
  })
)
