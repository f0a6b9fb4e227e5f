/**
 * The server's request guard (issue 14), in front of everything else:
 * - open mode (no workspace configured, loopback only): the `Host` header
 *   must name the bound loopback address (a DNS-rebinding page's
 *   `Host: attacker.example` is refused) and an `Origin`, when sent, must be
 *   that same address — 403 otherwise;
 * - keyed mode: a request that carries a body (`POST`, `PUT`, `PATCH`,
 *   `DELETE`) is authenticated on its headers before any byte of the body is
 *   read — 401 without a valid key, so nobody without a key can hold a
 *   connection open with a slow body;
 * - a request with a body must say `Content-Type: application/json` (or a
 *   `+json` type) — 415 otherwise, so a page on another origin cannot post
 *   without a CORS preflight;
 * - security headers on every response (`nosniff`, no framing, no referrer)
 *   and a restrictive Content-Security-Policy on `/openapi.json`.
 * Refusals use the server's error JSON shape (`{ _tag, message }`).
 */
import { HttpMiddleware, HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { hashKey, isOpen } from "./config.js"
import type { ServerConfig } from "./config.js"
import { errorResponse, pathOf } from "./http.js"

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"])

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"])

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/

/** Headers every response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin"
}

/** The Content-Security-Policy of `/openapi.json` (data only) and of `/docs` (no framing, no plugins). */
const CSP: Readonly<Record<string, string>> = {
  "/openapi.json": "default-src 'none'; frame-ancestors 'none'",
  "/docs": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
}

/** A refusal in the server's error shape (OpenAI's on gateway paths), with the security headers. */
const refuse = (path: string, status: number, tag: string, message: string) =>
  errorResponse(path, status, tag, message, SECURITY_HEADERS)

/** Whether a request carries a body (a positive Content-Length, or chunked transfer). */
const hasBody = (headers: Readonly<Record<string, string | undefined>>): boolean => {
  const length = headers["content-length"]
  if (length !== undefined) return length.trim() !== "0"
  return headers["transfer-encoding"] !== undefined
}

/** The guard for `config`; `address` gives the server's bound address (read per request: port 0 is chosen late). */
export const guard = (
  config: ServerConfig,
  address: () => AddressInfo | string | null | undefined
): HttpMiddleware.HttpMiddleware => {
  const open = isOpen(config)
  const hashes = new Set(config.workspaces.flatMap((w) => w.keyHashes))
  const allowedHosts = (): ReadonlySet<string> => {
    const a = address()
    const port = typeof a === "object" && a !== null ? a.port : undefined
    const out = new Set<string>()
    for (const name of LOOPBACK_NAMES) {
      out.add(name)
      if (port !== undefined) out.add(`${name}:${port}`)
    }
    return out
  }
  return HttpMiddleware.make((app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const headers = request.headers
      const path = pathOf(request)
      if (open) {
        const hosts = allowedHosts()
        const host = (headers["host"] ?? "").toLowerCase()
        if (!hosts.has(host)) {
          return refuse(path, 403, "Forbidden", "the Host header must name this server's loopback address (open mode)")
        }
        const origin = headers["origin"]
        if (origin !== undefined) {
          let fine = false
          try {
            const u = new URL(origin)
            fine = u.protocol === "http:" && hosts.has(u.host.toLowerCase())
          } catch {
            fine = false
          }
          if (!fine) return refuse(path, 403, "Forbidden", "cross-origin requests are refused (open mode)")
        }
      }
      if (BODY_METHODS.has(request.method)) {
        if (!open) {
          const auth = headers["authorization"] ?? ""
          const match = /^Bearer (.+)$/.exec(auth)
          if (match === null || !hashes.has(hashKey(match[1]!))) {
            return refuse(path, 401, "Unauthorized", "a valid API key is required (Authorization: Bearer <key>)")
          }
        }
        if (hasBody(headers) && !JSON_TYPE.test((headers["content-type"] ?? "").toLowerCase())) {
          return refuse(path, 415, "UnsupportedMediaType", "request bodies are JSON (Content-Type: application/json)")
        }
      }
      return yield* app
    })
  )
}

/**
 * Sets the security headers on a Node response before the app handles the request (Node merges them
 * into the response's head): every response, whatever route or middleware produced it, carries them.
 */
export const setSecurityHeaders = (req: IncomingMessage, res: ServerResponse): void => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
  const csp = CSP[(req.url ?? "").split("?")[0]!]
  if (csp !== undefined) res.setHeader("content-security-policy", csp)
}
