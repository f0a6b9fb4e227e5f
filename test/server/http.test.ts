/** The error rules of `src/server/http.ts`: 404 vs 405 and `Allow`, gateway paths, the media-type rule. */
import { describe, expect, it } from "vitest"
import { stripAnonymousIds } from "../../src/server/api/openapi.js"
import { allowedMethods, isGatewayPath, mediaTypeRefusal } from "../../src/server/http.js"
import { routeTable } from "../../src/server/server.js"

describe("allowedMethods", () => {
  const routes = routeTable()
  it("lists the methods a known path answers, none for an unknown one", () => {
    expect(allowedMethods(routes, "/v1/runs/abc")).toEqual(["GET", "HEAD"])
    expect(allowedMethods(routes, "/v1/runs")).toEqual(["GET", "HEAD", "POST"])
    expect(allowedMethods(routes, "/v1/runs/abc/cancel")).toEqual(["POST"])
    expect(allowedMethods(routes, "/v1/models")).toEqual(["GET", "HEAD"])
    expect(allowedMethods(routes, "/nope")).toEqual([])
    expect(allowedMethods(routes, "/v1/runs/a/b/c")).toEqual([])
  })
})

describe("isGatewayPath", () => {
  it("is every /v1 path outside the Trellis API", () => {
    for (const p of ["/v1/chat/completions", "/v1/models", "/v1/embeddings", "/v1/completions", "/v1/"]) {
      expect(isGatewayPath(p)).toBe(true)
    }
    for (
      const p of [
        "/v1/runs",
        "/v1/runs/x/events",
        "/v1/programs/check",
        "/v1/tools",
        "/v1/schema/program",
        "/healthz",
        "/"
      ]
    ) {
      expect(isGatewayPath(p)).toBe(false)
    }
  })
})

describe("mediaTypeRefusal", () => {
  it("accepts JSON and no type, refuses text, forms and multipart", () => {
    for (
      const t of [undefined, "", "application/json", "application/json; charset=utf-8", "application/merge-patch+json"]
    ) {
      expect(mediaTypeRefusal(t)).toBeUndefined()
    }
    for (
      const t of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/octet-stream"
      ]
    ) {
      expect(mediaTypeRefusal(t)).toMatch(/application\/json/)
    }
  })
})

describe("stripAnonymousIds", () => {
  it("removes Effect's repeated $id of any-value schemas, keeps the rest", () => {
    const spec = {
      a: { $id: "/schemas/unknown", title: "unknown" },
      b: [{ $id: "/schemas/unknown", title: "unknown", description: "d" }],
      c: { $id: "x", title: "t" }
    }
    expect(stripAnonymousIds(spec)).toEqual({ a: {}, b: [{ description: "d" }], c: { $id: "x", title: "t" } })
  })
})
