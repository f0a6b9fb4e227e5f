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

const inV4 = (ip: number, base: string, bits: number): boolean => {
  const b = parseIPv4(base)!
  const size = 2 ** (32 - bits)
  return Math.floor(ip / size) === Math.floor(b / size)
}

/** Why an IPv4 address (32-bit value) must not be reached, or undefined when it is public. */
const classifyV4 = (ip: number): string | undefined => {
  if (ip === 0) return "the unspecified address"
  if (inV4(ip, "0.0.0.0", 8)) return "a \"this network\" address"
  if (inV4(ip, "127.0.0.0", 8)) return "a loopback address"
  if (inV4(ip, "10.0.0.0", 8) || inV4(ip, "172.16.0.0", 12) || inV4(ip, "192.168.0.0", 16)) return "a private address"
  if (inV4(ip, "100.64.0.0", 10)) return "a shared (carrier-grade NAT) address"
  if (inV4(ip, "169.254.169.254", 32)) return "a cloud metadata address"
  if (inV4(ip, "169.254.0.0", 16)) return "a link-local address"
  if (inV4(ip, "192.0.0.0", 24)) return "an IETF protocol address"
  if (inV4(ip, "224.0.0.0", 4)) return "a multicast address"
  if (inV4(ip, "240.0.0.0", 4)) return "a reserved or broadcast address"
  return undefined
}

const v4Of = (hi: number, lo: number): number => hi * 65536 + lo

/** Why an IPv6 address (eight groups) must not be reached, or undefined when it is public. */
const classifyV6 = (g: ReadonlyArray<number>): string | undefined => {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as readonly [number, number, number, number, number, number, number, number]
  const zeroTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0)
  if (zeroTo(8)) return "the unspecified address"
  if (zeroTo(7) && g7 === 1) return "a loopback address"
  const embedded = (v4: number, what: string): string | undefined => {
    const reason = classifyV4(v4)
    return reason === undefined ? undefined : `${what} of ${reason}`
  }
  if (zeroTo(5) && g5 === 0xffff) return embedded(v4Of(g6, g7), "an IPv4-mapped form")
  if (zeroTo(6)) return embedded(v4Of(g6, g7), "an IPv4-compatible form")
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return embedded(v4Of(g6, g7), "a NAT64 form")
  }
  if (g0 === 0x2002) return embedded(v4Of(g1, g2), "a 6to4 form")
  if ((g0 & 0xfe00) === 0xfc00) return "a unique-local (private) address"
  if ((g0 & 0xffc0) === 0xfe80) return "a link-local address"
  if ((g0 & 0xffc0) === 0xfec0) return "a site-local address"
  if ((g0 & 0xff00) === 0xff00) return "a multicast address"
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
const METADATA_HOSTS: ReadonlySet<string> = new Set(["metadata.google.internal", "metadata.goog", "metadata", "instance-data"])

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
