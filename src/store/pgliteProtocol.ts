/**
 * The wire-protocol side of PGlite's `node-postgres` adapter, between the
 * `pg` client and a PGlite (in this thread or on its worker thread):
 * - **Pipelining.** `pg` sends an extended-protocol query as five messages
 *   (Parse, Bind, Describe, Execute, Sync) and the adapter hands them over
 *   one at a time. Messages before a Sync/Flush/Query are held and handed
 *   to PGlite with it as one buffer (PGlite executes every message of a
 *   buffer in order); their replies come back with the Sync's, which is all
 *   `pg` needs (it reads replies in order and waits for ReadyForQuery).
 * - **Prepared statements.** `pg` (through `@effect/sql-pg`) parses every
 *   query as the unnamed statement, so PostgreSQL parses, analyses and
 *   plans it on every execution; for the store's group-commit statement
 *   that is ~0.7 ms of PGlite's single core per commit, more than the
 *   inserts themselves. A statement text seen `PREPARE_AFTER` times is
 *   parsed once as a named statement (`trellis_<n>`); later executions drop
 *   their Parse, bind the named statement (PostgreSQL keeps its plan, generic
 *   once it is no worse than the custom ones), and get a synthesized
 *   ParseComplete, so `pg` sees the replies it expects. Prepared statements
 *   are not transactional (a rollback keeps them), and PostgreSQL re-plans
 *   them itself when a table they use changes. At most `MAX_PREPARED` texts
 *   are prepared per database.
 */

/** A PGlite as its `node-postgres` adapter uses it. */
export interface ProtocolTarget {
  /** Resolves once the database is open. */
  readonly waitReady: Promise<void>
  /** Executes wire-protocol messages; the backend messages (errors included, never thrown). */
  readonly execProtocolStream: (bytes: Uint8Array, options?: unknown) => Promise<ReadonlyArray<unknown>>
}

/** Frontend messages held until the next sync point: Parse, Bind, Describe, Execute, Close (`P B D E C`). */
const HELD = new Set([0x50, 0x42, 0x44, 0x45, 0x43])
const PARSE = 0x50
const BIND = 0x42
const DESCRIBE = 0x44

/** Executions of one statement text before it is prepared (the first one runs unnamed, as `pg` sent it). */
export const PREPARE_AFTER = 2
/** Most statement texts prepared per database. */
export const MAX_PREPARED = 256
/** Most statement texts counted while not yet prepared (the count restarts when full). */
const MAX_COUNTED = 4096

/** The reply to a Parse, as `pg-protocol` parses it. */
const PARSE_COMPLETE = { name: "parseComplete", length: 5 } as const

/** One frontend message: its type byte and its whole bytes (type, length, body). */
interface Message {
  readonly type: number
  readonly bytes: Uint8Array
}

/** The messages of `chunks` (each chunk holds whole messages); undefined when a length does not add up. */
const split = (chunks: ReadonlyArray<Uint8Array>): Array<Message> | undefined => {
  const out: Array<Message> = []
  for (const c of chunks) {
    let at = 0
    while (at < c.length) {
      if (at + 5 > c.length) return undefined
      const len = ((c[at + 1]! << 24) | (c[at + 2]! << 16) | (c[at + 3]! << 8) | c[at + 4]!) >>> 0
      if (len < 4 || at + 1 + len > c.length) return undefined
      out.push({ type: c[at]!, bytes: c.subarray(at, at + 1 + len) })
      at += 1 + len
    }
  }
  return out
}

/** The index of the NUL ending the C string that starts at `from`; -1 when there is none. */
const cstringEnd = (b: Uint8Array, from: number): number => b.indexOf(0, from)

const ascii = new TextEncoder()

/** A message `type` with `body` (the length prefix computed). */
const message = (type: number, parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const bodyLen = parts.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(5 + bodyLen)
  const len = 4 + bodyLen
  out[0] = type
  out[1] = (len >>> 24) & 0xff
  out[2] = (len >>> 16) & 0xff
  out[3] = (len >>> 8) & 0xff
  out[4] = len & 0xff
  let at = 5
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const NUL = new Uint8Array([0])

/** The Bind `bind` (of the unnamed statement) bound to the statement `name` instead. */
const rebind = (bind: Uint8Array, name: Uint8Array): Uint8Array | undefined => {
  const portalEnd = cstringEnd(bind, 5)
  if (portalEnd < 0 || bind[portalEnd + 1] !== 0) return undefined
  return message(BIND, [bind.subarray(5, portalEnd + 1), name, NUL, bind.subarray(portalEnd + 2)])
}

/** A named Parse of the unnamed Parse `parse` (`rest`: its query and parameter types). */
const named = (rest: Uint8Array, name: Uint8Array): Uint8Array => message(PARSE, [name, NUL, rest])

const latin1 = new TextDecoder("latin1")

/** A backend error's SQLSTATE, when `msg` is an error. */
const errorCode = (msg: unknown): string | undefined =>
  typeof msg === "object" && msg !== null && (msg as { readonly name?: unknown }).name === "error"
    ? String((msg as { readonly code?: unknown }).code)
    : undefined

/** Names are unique in the process, so two pipelines over one database (a pool rebuilt) never collide. */
let nextName = 0

/** Counters of the statement cache (tests and the bench read them). */
export interface ProtocolStats {
  /** Statement texts prepared. */
  prepared: number
  /** Executions of a prepared statement (their Parse dropped). */
  reused: number
}

/** What `pipeline` gives back: the adapter's two members and the counters. */
export interface Pipelined extends ProtocolTarget {
  readonly stats: ProtocolStats
}

/** `target` with held messages sent together and repeated statements prepared (see the module doc). */
export const pipeline = (target: ProtocolTarget, options: { readonly prepare?: boolean } = {}): Pipelined => {
  const prepare = options.prepare !== false
  /** Prepared statement texts (query and parameter types, as latin1) → their name. */
  const prepared = new Map<string, Uint8Array>()
  /** Texts being prepared (their named Parse is in flight). */
  const preparing = new Set<string>()
  const counts = new Map<string, number>()
  const stats: ProtocolStats = { prepared: 0, reused: 0 }

  /** The batch to send for `messages` and what to do with its replies. */
  const plan = (messages: ReadonlyArray<Message>): {
    readonly bytes: ReadonlyArray<Uint8Array>
    readonly reply: (results: ReadonlyArray<unknown>) => ReadonlyArray<unknown>
  } => {
    const same = { bytes: messages.map((m) => m.bytes), reply: (r: ReadonlyArray<unknown>) => r }
    // One unnamed Parse followed by its Bind of the unnamed statement, as `pg` sends a query with parameters.
    const p = messages.findIndex((m) => m.type === PARSE)
    if (p < 0 || messages[p + 1]?.type !== BIND) return same
    if (messages.some((m, i) => i !== p && m.type === PARSE)) return same
    // A Describe of the unnamed statement would describe nothing once the Parse is dropped.
    if (messages.some((m) => m.type === DESCRIBE && m.bytes[5] === 0x53)) return same
    const parse = messages[p]!.bytes
    if (parse[5] !== 0) return same
    const rest = parse.subarray(6)
    const key = latin1.decode(rest)
    const name = prepared.get(key)
    const swap = (at: number, bytes: ReadonlyArray<Uint8Array>) => [
      ...messages.slice(0, at).map((m) => m.bytes),
      ...bytes,
      ...messages.slice(at + 2).map((m) => m.bytes)
    ]
    if (name !== undefined) {
      const bind = rebind(messages[p + 1]!.bytes, name)
      if (bind === undefined) return same
      stats.reused++
      return {
        bytes: swap(p, [bind]),
        reply: (results) => {
          // The statement is gone (it should not be): forget it, so the next execution prepares it again.
          if (results.some((r) => errorCode(r) === "26000" || errorCode(r) === "0A000")) prepared.delete(key)
          return [PARSE_COMPLETE, ...results]
        }
      }
    }
    if (preparing.has(key) || prepared.size >= MAX_PREPARED) return same
    const seen = (counts.get(key) ?? 0) + 1
    if (seen < PREPARE_AFTER) {
      if (counts.size >= MAX_COUNTED) counts.clear()
      counts.set(key, seen)
      return same
    }
    counts.delete(key)
    const fresh = ascii.encode(`trellis_${nextName++}`)
    const bind = rebind(messages[p + 1]!.bytes, fresh)
    if (bind === undefined) return same
    preparing.add(key)
    return {
      bytes: swap(p, [named(rest, fresh), bind]),
      reply: (results) => {
        preparing.delete(key)
        if ((results[0] as { readonly name?: unknown } | undefined)?.name === "parseComplete") {
          prepared.set(key, fresh)
          stats.prepared++
        }
        return results
      }
    }
  }

  let held: Array<Uint8Array> = []
  const flush = (last: Uint8Array): Promise<ReadonlyArray<unknown>> => {
    const chunks = [...held, last]
    held = []
    const messages = prepare ? split(chunks) : undefined
    const batch = messages === undefined ? { bytes: chunks, reply: (r: ReadonlyArray<unknown>) => r } : plan(messages)
    const bytes = batch.bytes.length === 1 ? batch.bytes[0]! : concat(batch.bytes)
    return target.execProtocolStream(bytes, { throwOnError: false }).then((r) => batch.reply(r))
  }
  return {
    waitReady: target.waitReady,
    stats,
    execProtocolStream: (bytes) => {
      const kind = bytes[0]
      if (bytes.length > 0 && HELD.has(kind!)) {
        held.push(bytes)
        return Promise.resolve([])
      }
      return flush(bytes)
    }
  }
}

/** The chunks as one buffer. */
const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.length
  }
  return all
}
