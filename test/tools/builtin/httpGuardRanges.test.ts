/**
 * Issue 14, finding 7: the SSRF guard's address classes, property-tested.
 * Every address of the IANA special-purpose ranges that are not globally
 * reachable is refused, in every IPv6 form that embeds an IPv4 address
 * (IPv4-mapped, IPv4-translated `::ffff:0:a.b.c.d`, NAT64, 6to4), and the
 * ranges the review found classed public (NAT64 local-use, Teredo,
 * benchmarking, Azure's metadata address) are refused.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { blockedReason } from "../../../src/tools/builtin/httpGuard.js"

const octet = fc.integer({ min: 0, max: 255 })
const group = fc.integer({ min: 0, max: 0xffff })
const hex = (n: number) => n.toString(16)
const v4 = (a: number, b: number, c: number, d: number) => `${a}.${b}.${c}.${d}`
/** The IPv4 address in the last two IPv6 groups, as hex. */
const tail = (a: number, b: number, c: number, d: number) => `${hex(a * 256 + b)}:${hex(c * 256 + d)}`

/** Blocked IPv4 addresses: a random address inside each blocked range. */
const blockedV4 = fc.oneof(
  fc.tuple(octet, octet, octet).map(([b, c, d]) => [127, b, c, d] as const),
  fc.tuple(octet, octet, octet).map(([b, c, d]) => [10, b, c, d] as const),
  fc.tuple(fc.integer({ min: 16, max: 31 }), octet, octet).map(([b, c, d]) => [172, b, c, d] as const),
  fc.tuple(octet, octet).map(([c, d]) => [192, 168, c, d] as const),
  fc.tuple(octet, octet).map(([c, d]) => [169, 254, c, d] as const),
  fc.tuple(fc.integer({ min: 18, max: 19 }), octet, octet).map(([b, c, d]) => [198, b, c, d] as const),
  fc.tuple(fc.integer({ min: 64, max: 127 }), octet, octet).map(([b, c, d]) => [100, b, c, d] as const),
  fc.tuple(fc.integer({ min: 224, max: 255 }), octet, octet, octet).map(([a, b, c, d]) => [a, b, c, d] as const),
  fc.constant([168, 63, 129, 16] as const),
  fc.tuple(octet, octet, octet).map(([b, c, d]) => [0, b, c, d] as const)
)

describe("blockedReason over the special-purpose ranges", () => {
  it("refuses every blocked IPv4 address in dotted and in every embedding IPv6 form", () => {
    fc.assert(
      fc.property(blockedV4, ([a, b, c, d]) => {
        for (
          const form of [
            v4(a, b, c, d),
            `::ffff:${v4(a, b, c, d)}`,
            `::ffff:${tail(a, b, c, d)}`,
            `::ffff:0:${tail(a, b, c, d)}`,
            `::ffff:0:${v4(a, b, c, d)}`,
            `64:ff9b::${tail(a, b, c, d)}`,
            `64:ff9b::${v4(a, b, c, d)}`,
            `2002:${tail(a, b, c, d)}::1`,
            `[::ffff:0:${tail(a, b, c, d)}]`
          ]
        ) {
          expect(blockedReason(form), form).toBeDefined()
        }
      }),
      { numRuns: 500 }
    )
  })

  it("refuses all of NAT64 local-use 64:ff9b:1::/48, Teredo 2001::/32, unique-local, link-local and multicast", () => {
    const rest = fc.array(group, { minLength: 5, maxLength: 5 }).map((g) => g.map(hex).join(":"))
    fc.assert(
      fc.property(rest, group, group, (r, x, y) => {
        expect(blockedReason(`64:ff9b:1:${r}`)).toBeDefined()
        expect(blockedReason(`2001:0:${hex(x)}:${hex(y)}:${r.split(":").slice(1).join(":")}`)).toBeDefined()
        expect(blockedReason(`${hex(0xfc00 | (x & 0x1ff))}:${hex(y)}:0:${r}`)).toBeDefined()
        expect(blockedReason(`${hex(0xfe80 | (x & 0x3f))}:${hex(y)}:0:${r}`)).toBeDefined()
        expect(blockedReason(`ff${hex(x & 0xff).padStart(2, "0")}:${hex(y)}:0:${r}`)).toBeDefined()
      }),
      { numRuns: 500 }
    )
  })

  it("names the cases of the review", () => {
    expect(blockedReason("[::ffff:0:7f00:1]")).toBe("an IPv4-translated form of a loopback address")
    expect(blockedReason("64:ff9b:1::a00:1")).toBe("a local-use NAT64 address")
    expect(blockedReason("2001:0:4136:e378:8000:63bf:3fff:fdd2")).toBe("a Teredo address")
    expect(blockedReason("198.18.0.1")).toBe("a benchmarking address")
    expect(blockedReason("198.19.255.255")).toBe("a benchmarking address")
    expect(blockedReason("168.63.129.16")).toBe("a cloud metadata address")
  })

  it("leaves ordinary public addresses alone", () => {
    const publicV4 = fc.tuple(fc.constantFrom(8, 23, 45, 93, 151, 185), octet, octet, octet)
    fc.assert(
      fc.property(publicV4, ([a, b, c, d]) => {
        expect(blockedReason(v4(a, b, c, d))).toBeUndefined()
        expect(blockedReason(`::ffff:${v4(a, b, c, d)}`)).toBeUndefined()
        expect(blockedReason(`64:ff9b::${v4(a, b, c, d)}`)).toBeUndefined()
      }),
      { numRuns: 300 }
    )
    expect(blockedReason("2606:4700:4700::1111")).toBeUndefined()
    expect(blockedReason("2a00:1450:4001:80b::200e")).toBeUndefined()
  })
})
