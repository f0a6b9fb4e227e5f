/** The SSRF guard of http.get: address classification, allowlist, DNS checks. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import { parseIPv6 } from "../../../src/tools/builtin/httpGuard.js"
import {
  blockedReason,
  checkHost,
  HttpAllowlist,
  isAllowlisted,
  parseAllowlist,
  Permanent
} from "../../../src/tools/index.js"
import type { Resolver } from "../../../src/tools/index.js"

/** A resolver answering from a table; any other name is NXDOMAIN. */
const fakeResolver = (table: Record<string, ReadonlyArray<string>>): Resolver => ({
  resolve: (host) => {
    const addresses = table[host]
    return addresses === undefined
      ? Effect.fail(new Permanent({ message: `cannot resolve "${host}": ENOTFOUND` }))
      : Effect.succeed(addresses)
  }
})

const none = fakeResolver({})

/** The hostname the WHATWG URL parser gives for a URL, as http.get sees it. */
const hostOf = (url: string): string => new URL(url).hostname

const check = (host: string, allow: ReadonlyArray<string> = [], resolver: Resolver = none) =>
  Effect.runSync(Effect.either(checkHost(host, allow, resolver)))

describe("blockedReason", () => {
  it.each([
    ["127.0.0.1", "a loopback address"],
    ["127.255.0.9", "a loopback address"],
    ["0.0.0.0", "the unspecified address"],
    ["0.1.2.3", "a \"this network\" address"],
    ["10.1.2.3", "a private address"],
    ["172.16.0.1", "a private address"],
    ["172.31.255.255", "a private address"],
    ["192.168.1.1", "a private address"],
    ["100.64.0.1", "a shared (carrier-grade NAT) address"],
    ["169.254.169.254", "a cloud metadata address"],
    ["169.254.1.1", "a link-local address"],
    ["224.0.0.1", "a multicast address"],
    ["255.255.255.255", "a reserved or broadcast address"],
    ["::", "the unspecified address"],
    ["::1", "a loopback address"],
    ["0:0:0:0:0:0:0:1", "a loopback address"],
    ["fe80::1", "a link-local address"],
    ["febf::1", "a link-local address"],
    ["fc00::1", "a unique-local (private) address"],
    ["fd12:3456::1", "a unique-local (private) address"],
    ["fd00:ec2::254", "a unique-local (private) address"],
    ["fec0::1", "a site-local address"],
    ["ff02::1", "a multicast address"],
    ["::ffff:127.0.0.1", "an IPv4-mapped form of a loopback address"],
    ["::ffff:7f00:1", "an IPv4-mapped form of a loopback address"],
    ["::ffff:a9fe:a9fe", "an IPv4-mapped form of a cloud metadata address"],
    ["::10.0.0.1", "an IPv4-compatible form of a private address"],
    ["64:ff9b::192.168.0.1", "a NAT64 form of a private address"],
    ["2002:7f00:1::", "a 6to4 form of a loopback address"],
    ["[::1]", "a loopback address"],
    ["localhost", "not an IP address"]
  ])("refuses %s (%s)", (address, reason) => {
    expect(blockedReason(address)).toBe(reason)
  })

  it.each([
    "8.8.8.8",
    "172.32.0.1",
    "172.15.255.255",
    "192.169.0.1",
    "100.128.0.1",
    "1.1.1.1",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::"
  ])(
    "allows public %s",
    (address) => {
      expect(blockedReason(address)).toBeUndefined()
    }
  )

  it("parses IPv6 forms and rejects malformed ones", () => {
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(parseIPv6("1::8")).toEqual([1, 0, 0, 0, 0, 0, 0, 8])
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304])
    for (const bad of ["1:2:3", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1.2.3", "g::1", "1.2.3.4::"]) {
      expect(parseIPv6(bad)).toBeUndefined()
    }
  })
})

describe("the URL parser normalizes encoded hosts before the guard sees them", () => {
  it.each([
    ["http://2130706433/", "127.0.0.1"],
    ["http://0x7f000001/", "127.0.0.1"],
    ["http://017700000001/", "127.0.0.1"],
    ["http://127.1/", "127.0.0.1"],
    ["http://0/", "0.0.0.0"],
    ["http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"],
    ["http://[0:0:0:0:0:0:0:1]/", "[::1]"],
    ["http://LOCALHOST./", "localhost."]
  ])("%s is refused", (url, host) => {
    expect(hostOf(url)).toBe(host)
    const result = check(hostOf(url), [], fakeResolver({ "localhost.": ["127.0.0.1"] }))
    expect(Either.isLeft(result)).toBe(true)
  })
})

describe("checkHost", () => {
  it("refuses private IP literals with a message naming the host and why", () => {
    expect(check("10.0.0.5")).toEqual(
      Either.left(
        new Permanent({
          message: "refused to fetch from \"10.0.0.5\": 10.0.0.5 is a private address (allowlist the host to permit it)"
        })
      )
    )
    expect(check("[::1]")).toEqual(
      Either.left(
        new Permanent({
          message: "refused to fetch from \"::1\": ::1 is a loopback address (allowlist the host to permit it)"
        })
      )
    )
  })

  it("allows public IP literals without resolving", () => {
    expect(check("93.184.215.14")).toEqual(Either.right(["93.184.215.14"]))
    expect(check("[2606:4700::1111]")).toEqual(Either.right(["2606:4700::1111"]))
  })

  it("resolves names and refuses when ANY address is private", () => {
    const resolver = fakeResolver({
      "public.example": ["93.184.215.14", "2606:4700::1111"],
      "mixed.example": ["93.184.215.14", "10.0.0.7"],
      "rebind.example": ["::ffff:169.254.169.254"]
    })
    expect(check("public.example", [], resolver)).toEqual(Either.right(["93.184.215.14", "2606:4700::1111"]))
    expect(check("mixed.example", [], resolver)).toEqual(
      Either.left(
        new Permanent({
          message:
            "refused to fetch from \"mixed.example\": it resolves to 10.0.0.7, a private address (allowlist the host to permit it)"
        })
      )
    )
    const rebind = check("rebind.example", [], resolver)
    expect(Either.isLeft(rebind) && rebind.left.message).toContain("an IPv4-mapped form of a cloud metadata address")
    expect(check("missing.example", [], resolver)).toEqual(
      Either.left(new Permanent({ message: "cannot resolve \"missing.example\": ENOTFOUND" }))
    )
    expect(check("empty.example", [], fakeResolver({ "empty.example": [] }))).toEqual(
      Either.left(new Permanent({ message: "cannot resolve \"empty.example\": no addresses" }))
    )
  })

  it("refuses metadata host names before resolving", () => {
    const result = check("metadata.google.internal", [], fakeResolver({ "metadata.google.internal": ["8.8.8.8"] }))
    expect(Either.isLeft(result) && result.left.message).toBe(
      "refused to fetch from \"metadata.google.internal\": it is a cloud metadata host (allowlist the host to permit it)"
    )
  })

  it("an allowlisted host skips the checks; an allowlisted address passes for any name", () => {
    const resolver = fakeResolver({ "db.internal": ["10.0.0.9"], "intranet": ["10.0.0.9", "10.0.0.10"] })
    expect(check("db.internal", ["DB.Internal"], resolver)).toEqual(Either.right(["10.0.0.9"]))
    expect(check("127.0.0.1", ["127.0.0.1"])).toEqual(Either.right(["127.0.0.1"]))
    expect(check("[::1]", ["[0::1]"])).toEqual(Either.right(["::1"]))
    expect(check("intranet", ["10.0.0.9"], resolver)).toEqual(
      Either.left(
        new Permanent({
          message:
            "refused to fetch from \"intranet\": it resolves to 10.0.0.10, a private address (allowlist the host to permit it)"
        })
      )
    )
    expect(check("intranet", ["10.0.0.9", "10.0.0.10"], resolver)).toEqual(Either.right(["10.0.0.9", "10.0.0.10"]))
  })
})

describe("allowlist", () => {
  it("parses the env form and compares names case-insensitively, IPs by value", () => {
    expect(parseAllowlist(" localhost, 10.0.0.1 ,,::1 ")).toEqual(["localhost", "10.0.0.1", "::1"])
    expect(isAllowlisted("LocalHost.", ["localhost"])).toBe(true)
    expect(isAllowlisted("::1", ["0:0:0:0:0:0:0:1"])).toBe(true)
    expect(isAllowlisted("127.0.0.2", ["127.0.0.1"])).toBe(false)
  })

  it("defaults to empty; layerFromEnv reads TRELLIS_HTTP_ALLOW", () => {
    expect(Effect.runSync(HttpAllowlist)).toEqual([])
    const fromEnv = (env: Record<string, string>) =>
      Effect.runSync(
        Effect.provide(
          HttpAllowlist,
          HttpAllowlist.layerFromEnv.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env))))
        )
      )
    expect(fromEnv({ TRELLIS_HTTP_ALLOW: "localhost,127.0.0.1" })).toEqual(["localhost", "127.0.0.1"])
    expect(fromEnv({})).toEqual([])
  })
})
