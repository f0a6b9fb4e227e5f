/**
 * The SSRF guard of `http.get`: which hosts and addresses a request may
 * reach. Loopback, private, link-local, unspecified, multicast/reserved and
 * cloud-metadata addresses are refused unless the host (or the address) is
 * allowlisted. The address checks are pure; DNS goes through `HttpResolver`.
 */
import { Config, Context, Effect, Layer, Option } from "effect"
import { lookup } from "node:dns/promises"
import { Permanent, Transient } from "../errors.js"

/** Hosts (names or IP literals) exempt from the address checks; empty by default. */
export class HttpAllowlist extends Context.Reference<HttpAllowlist>()("trellis/HttpAllowlist", {
  defaultValue: (): ReadonlyArray<string> => []
}) {
  /** The allowlist from the comma-separated env variable `TRELLIS_HTTP_ALLOW` (unset: empty). */
  static readonly layerFromEnv: Layer.Layer<HttpAllowlist> = Layer.unwrapEffect(
    Effect.map(
      Effect.orElseSucceed(Config.option(Config.string("TRELLIS_HTTP_ALLOW")), () => Option.none<string>()),
      (value) => Layer.succeed(HttpAllowlist, parseAllowlist(Option.getOrElse(value, () => "")))
    )
  )
}

/** Splits a comma-separated host list, trimming blanks. */
export const parseAllowlist = (text: string): ReadonlyArray<string> =>
  text.split(",").map((h) => h.trim()).filter((h) => h.length > 0)

/** Resolves a host name to every address it has (IPv4 and IPv6). */
export interface Resolver {
  readonly resolve: (hostname: string) => Effect.Effect<ReadonlyArray<string>, Permanent | Transient>
}

/** The DNS of `http.get`: node's `dns.lookup` with `all: true` by default; tests inject their own. */
export class HttpResolver extends Context.Reference<HttpResolver>()("trellis/HttpResolver", {
  defaultValue: (): Resolver => systemResolver
}) {}

/** Node's resolver (`dns.lookup`, all addresses, in the order the system gives them). */
export const systemResolver: Resolver = {
  resolve: (hostname) =>
    Effect.tryPromise({
      try: (signal) => {
        signal.throwIfAborted()
        return lookup(hostname, { all: true, verbatim: true })
      },
      catch: (e) => {
        const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : ""
        const message = `cannot resolve "${hostname}": ${e instanceof Error ? e.message : String(e)}`
        return code === "ENOTFOUND" || code === "ENODATA"
          ? new Permanent({ message })
          : new Transient({ message })
      }
    }).pipe(Effect.map((addresses) => addresses.map((a) => a.address)))
}

/** Parses a dotted-quad IPv4 address (four decimal octets, no leading zeros) to its 32-bit value. */
const parseIPv4 = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted quad; no zone) to eight 16-bit groups. */
export const parseIPv6 = (text: string): ReadonlyArray<number> | undefined => {
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groups = (part: string, allowV4: boolean): Array<number> | undefined => {
    if (part === "") return []
    const out: Array<number> = []
    const pieces = part.split(":")
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!
      if (allowV4 && i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece)
        if (v4 === undefined) return undefined
        out.push(Math.floor(v4 / 65536), v4 % 65536)
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16))
      } else {
        return undefined
      }
    }
    return out
  }
  if (halves.length === 1) {
    const all = groups(halves[0]!, true)
    return all !== undefined && all.length === 8 ? all : undefined
  }
  const head = groups(halves[0]!, false)
  const tail = groups(halves[1]!, true)
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined
  return [...head, ...Array.from({ length: 8 - head.length - tail.length }, () => 0), ...tail]
}

/**
 * The IPv4 ranges no request may reach: every entry of the IANA IPv4 Special-Purpose Address Registry
 * (RFC 6890 and updates) that is not globally reachable, plus multicast, broadcast, and the cloud
 * metadata addresses (169.254.169.254 inside link-local; Azure's 168.63.129.16). First match names it.
 */
const V4_BLOCKED: ReadonlyArray<readonly [string, number, string]> = [
  ["0.0.0.0", 32, "the unspecified address"],
  ["0.0.0.0", 8, "a \"this network\" address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a shared (carrier-grade NAT) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.169.254", 32, "a cloud metadata address"],
  ["168.63.129.16", 32, "a cloud metadata address"],
  ["169.254.0.0", 16, "a link-local address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol address"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a deprecated 6to4 relay address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved or broadcast address"]
]

const V4_TABLE = V4_BLOCKED.map(([base, bits, reason]) => ({ base: parseIPv4(base)!, size: 2 ** (32 - bits), reason }))

/** Why an IPv4 address (32-bit value) must not be reached, or undefined when it is public. */
const classifyV4 = (ip: number): string | undefined => {
  for (const r of V4_TABLE) if (Math.floor(ip / r.size) === Math.floor(r.base / r.size)) return r.reason
  return undefined
}

const v4Of = (hi: number, lo: number): number => hi * 65536 + lo

/** An IPv6 address's eight groups as one 128-bit number. */
const v6Value = (g: ReadonlyArray<number>): bigint => g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n)

/**
 * IPv6 ranges that embed an IPv4 address in their last 32 bits: the address is judged by that IPv4
 * address (IPv4-mapped, IPv4-translated (RFC 6145), IPv4-compatible, NAT64 well-known prefix).
 */
const V6_EMBEDDING: ReadonlyArray<readonly [string, number, string]> = [
  ["::ffff:0:0", 96, "an IPv4-mapped form"],
  ["::ffff:0:0:0", 96, "an IPv4-translated form"],
  ["64:ff9b::", 96, "a NAT64 form"]
]

/**
 * The IPv6 ranges no request may reach: every entry of the IANA IPv6 Special-Purpose Address Registry
 * that is not globally reachable (NAT64 local-use 64:ff9b:1::/48, discard-only, the IETF protocol
 * block 2001::/23 with Teredo 2001::/32, documentation, SRv6, unique-local, link-local), plus
 * deprecated site-local and multicast.
 */
const V6_BLOCKED: ReadonlyArray<readonly [string, number, string]> = [
  ["::", 128, "the unspecified address"],
  ["::1", 128, "a loopback address"],
  ["64:ff9b:1::", 48, "a local-use NAT64 address"],
  ["100::", 64, "a discard-only address"],
  ["100:0:0:1::", 64, "a dummy-prefix address"],
  ["2001::", 32, "a Teredo address"],
  ["2001::", 23, "an IETF protocol address"],
  ["2001:db8::", 32, "a documentation address"],
  ["3fff::", 20, "a documentation address"],
  ["5f00::", 16, "an SRv6 SID address"],
  ["fc00::", 7, "a unique-local (private) address"],
  ["fe80::", 10, "a link-local address"],
  ["fec0::", 10, "a site-local address"],
  ["ff00::", 8, "a multicast address"]
]

const v6Table = (rows: ReadonlyArray<readonly [string, number, string]>) =>
  rows.map(([base, bits, reason]) => ({
    base: v6Value(parseIPv6(base)!) >> BigInt(128 - bits),
    shift: BigInt(128 - bits),
    reason
  }))

const V6_EMBEDDING_TABLE = v6Table(V6_EMBEDDING)
const V6_TABLE = v6Table(V6_BLOCKED)

/** Why an IPv6 address (eight groups) must not be reached, or undefined when it is public. */
const classifyV6 = (g: ReadonlyArray<number>): string | undefined => {
  const value = v6Value(g)
  const embedded = (v4: number, what: string): string | undefined => {
    const reason = classifyV4(v4)
    return reason === undefined ? undefined : `${what} of ${reason}`
  }
  for (const r of V6_EMBEDDING_TABLE) if (value >> r.shift === r.base) return embedded(v4Of(g[6]!, g[7]!), r.reason)
  for (const r of V6_TABLE) if (value >> r.shift === r.base) return r.reason
  // IPv4-compatible (deprecated ::a.b.c.d) and 6to4 (2002:AABB:CCDD::/48) carry an IPv4 address too.
  if (value >> 32n === 0n) {
    return embedded(v4Of(g[6]!, g[7]!), "an IPv4-compatible form") ?? "an IPv4-compatible address"
  }
  if (g[0] === 0x2002) return embedded(v4Of(g[1]!, g[2]!), "a 6to4 form")
  return undefined
}

/** A parsed IP literal. */
export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly groups: ReadonlyArray<number> }

/** Parses an IP literal (IPv6 with or without brackets); undefined for a host name. */
const parseIp = (text: string): IpAddress | undefined => {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text
  const v4 = parseIPv4(bare)
  if (v4 !== undefined) return { family: 4, value: v4 }
  const v6 = bare.includes(":") ? parseIPv6(bare) : undefined
  return v6 === undefined ? undefined : { family: 6, groups: v6 }
}

/**
 * Why an IP address must not be reached (loopback, private, link-local,
 * unspecified, multicast/reserved, metadata — also inside IPv4-mapped,
 * IPv4-compatible, NAT64 and 6to4 IPv6 forms), or undefined when it is public.
 * A string that is not an IP literal is refused too.
 */
export const blockedReason = (address: string): string | undefined => {
  const ip = parseIp(address)
  if (ip === undefined) return "not an IP address"
  return ip.family === 4 ? classifyV4(ip.value) : classifyV6(ip.groups)
}

/** Host names of cloud metadata services, refused unless allowlisted. */
const METADATA_HOSTS: ReadonlySet<string> = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data"
])

/** A host name lowercased, without brackets or a trailing dot; IP literals in a canonical form. */
const normalizeHost = (host: string): string => {
  const lower = host.trim().toLowerCase().replace(/\.$/, "")
  const ip = parseIp(lower)
  if (ip === undefined) return lower
  return ip.family === 4 ? lower : ip.groups.map((g) => g.toString(16)).join(":")
}

/** Whether a host name or IP address is on the allowlist (names case-insensitively, IPs by value). */
export const isAllowlisted = (host: string, allowlist: ReadonlyArray<string>): boolean => {
  if (allowlist.length === 0) return false
  const key = normalizeHost(host)
  return allowlist.some((entry) => normalizeHost(entry) === key)
}

/**
 * The addresses a request to `hostname` (as the URL parser gives it) may
 * connect to, after resolving names with the resolver; fails `Permanent`
 * when the host or any of its addresses is refused. An allowlisted host is
 * not checked; otherwise every address must be public or itself allowlisted.
 */
export const checkHost = (
  hostname: string,
  allowlist: ReadonlyArray<string>,
  resolver: Resolver
): Effect.Effect<ReadonlyArray<string>, Permanent | Transient> => {
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname
  const hostAllowed = isAllowlisted(host, allowlist)
  const refuse = (why: string) =>
    Effect.fail(new Permanent({ message: `refused to fetch from "${host}": ${why} (allowlist the host to permit it)` }))
  if (parseIp(host) !== undefined) {
    const reason = hostAllowed ? undefined : blockedReason(host)
    return reason === undefined ? Effect.succeed([host]) : refuse(`${host} is ${reason}`)
  }
  if (!hostAllowed && METADATA_HOSTS.has(normalizeHost(host))) return refuse("it is a cloud metadata host")
  return Effect.flatMap(resolver.resolve(host), (addresses) => {
    if (addresses.length === 0) return Effect.fail(new Permanent({ message: `cannot resolve "${host}": no addresses` }))
    if (hostAllowed) return Effect.succeed(addresses)
    for (const address of addresses) {
      const reason = isAllowlisted(address, allowlist) ? undefined : blockedReason(address)
      if (reason !== undefined) return refuse(`it resolves to ${address}, ${reason}`)
    }
    return Effect.succeed(addresses)
  })
}
