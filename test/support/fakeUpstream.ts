/**
 * A fake OpenAI-compatible upstream (`POST /v1/chat/completions`) on
 * 127.0.0.1:0, told per request what to do: answer normally (optionally
 * streaming slowly), fail with a status (429 + `Retry-After`, 500), cut the
 * stream (or the JSON body) midway, or hang. It records every request and
 * notices when a client aborts (closes the connection before the answer
 * ended). Replies say who answered: `<name>: <last user message>`.
 */
import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** What to do with one request. */
export type Behaviour =
  | {
    readonly kind: "ok"
    readonly text?: string
    /** Chunks of a streamed answer. @default 4 */
    readonly chunks?: number
    /** Delay between chunks. @default 0 */
    readonly intervalMs?: number
    /** Delay before a non-streamed answer. @default 0 */
    readonly delayMs?: number
    readonly toolCall?: { readonly name: string; readonly arguments: string }
    /** Every streamed chunk's content is this string (for volume; `chunks` of them). */
    readonly repeat?: string
    /** Each streamed chunk carries `x_sent_at` (`performance.timeOrigin + performance.now()`, ms) when written. */
    readonly stamp?: boolean
  }
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: string; readonly message?: string }
  | { readonly kind: "cut"; readonly afterChunks: number }
  | { readonly kind: "hang" }

/** A request the fake received. */
export interface Received {
  readonly index: number
  readonly at: number
  readonly body: Record<string, unknown>
  readonly headers: IncomingMessage["headers"]
}

/** A running fake. */
export interface FakeUpstream {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string
  readonly requests: Array<Received>
  /** Aborts noticed: the request index and when (ms since epoch). */
  readonly aborts: Array<{ readonly index: number; readonly at: number }>
  /** Resolves at the next abort (or at once with the latest if one is unseen since `since`). */
  readonly waitAbort: (timeoutMs?: number) => Promise<{ readonly index: number; readonly at: number }>
  /** Answers fully written. */
  readonly completed: () => number
  /** The most requests in flight at once so far. */
  readonly maxInFlight: () => number
  /** Replaces the behaviour. */
  setBehaviour: (f: (body: Record<string, unknown>, index: number) => Behaviour) => void
  readonly close: () => Promise<void>
}

const lastUser = (body: Record<string, unknown>): string => {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string; content?: unknown }>) : []
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") return String(messages[i]?.content ?? "")
  }
  return ""
}

const split = (text: string, n: number): Array<string> => {
  const out: Array<string> = []
  const size = Math.max(1, Math.ceil(text.length / n))
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  while (out.length < n) out.push("")
  return out
}

/** Starts a fake upstream called `name`. */
export const startFakeUpstream = async (
  name: string,
  behaviour: (body: Record<string, unknown>, index: number) => Behaviour = () => ({ kind: "ok" })
): Promise<FakeUpstream> => {
  const requests: Array<Received> = []
  const aborts: Array<{ index: number; at: number }> = []
  const waiters: Array<(a: { index: number; at: number }) => void> = []
  let completed = 0
  let inFlight = 0
  let maxInFlight = 0
  let behave = behaviour
  const sockets = new Set<import("node:net").Socket>()

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(raw) as Record<string, unknown>
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({ error: { message: "not JSON", type: "invalid_request_error" } })
      )
      return
    }
    const index = requests.length
    requests.push({ index, at: Date.now(), body, headers: req.headers })
    const b = behave(body, index)
    let ended = false
    const timers: Array<NodeJS.Timeout> = []
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    res.on("close", () => {
      inFlight--
      timers.forEach(clearTimeout)
      if (!ended) {
        const a = { index, at: Date.now() }
        aborts.push(a)
        waiters.splice(0).forEach((w) => w(a))
      }
    })
    const finish = () => {
      ended = true
      completed++
    }
    const model = String(body.model ?? "")
    const id = `chatcmpl-${name}-${index}`
    if (b.kind === "status") {
      ended = true
      res.writeHead(b.status, {
        "content-type": "application/json",
        ...(b.retryAfter === undefined ? {} : { "retry-after": b.retryAfter })
      })
      res.end(
        JSON.stringify({ error: { message: b.message ?? `${name} fails with ${b.status}`, type: "server_error" } })
      )
      return
    }
    if (b.kind === "hang") return
    const text = b.kind === "ok" && b.text !== undefined ? b.text : `${name}: ${lastUser(body)}`
    const usage = {
      prompt_tokens: 5,
      completion_tokens: Math.max(1, Math.ceil(text.length / 4)),
      total_tokens: 5 + Math.max(1, Math.ceil(text.length / 4))
    }
    if (body.stream !== true) {
      const toolCalls = b.kind === "ok" && b.toolCall !== undefined
        ? [{ id: "call_1", type: "function", function: b.toolCall }]
        : undefined
      const json = JSON.stringify({
        id,
        object: "chat.completion",
        created: 1_700_000_000,
        model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: toolCalls === undefined ? text : null,
            ...(toolCalls === undefined ? {} : { tool_calls: toolCalls })
          },
          finish_reason: toolCalls === undefined ? "stop" : "tool_calls"
        }],
        usage
      })
      if (b.kind === "cut") {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(json.length) })
        res.write(json.slice(0, Math.floor(json.length / 2)))
        ended = true
        res.destroy()
        return
      }
      const answer = () => {
        finish()
        res.writeHead(200, { "content-type": "application/json" }).end(json)
      }
      if (b.kind === "ok" && b.delayMs !== undefined && b.delayMs > 0) timers.push(setTimeout(answer, b.delayMs))
      else answer()
      return
    }
    const n = b.kind === "ok" ? (b.chunks ?? 4) : Math.max(b.afterChunks + 1, 4)
    const interval = b.kind === "ok" ? (b.intervalMs ?? 0) : 0
    const pieces = b.kind === "ok" && b.repeat !== undefined ? [] : split(text, n)
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    res.flushHeaders()
    const send = (i: number) => {
      if (res.destroyed) return
      if (b.kind === "cut" && i === b.afterChunks) {
        ended = true
        res.destroy()
        return
      }
      if (i < n) {
        const content = b.kind === "ok" && b.repeat !== undefined ? b.repeat : pieces[i]
        const chunk = {
          id,
          object: "chat.completion.chunk",
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, delta: { ...(i === 0 ? { role: "assistant" } : {}), content }, finish_reason: null }],
          ...(b.kind === "ok" && b.stamp === true ? { x_sent_at: performance.timeOrigin + performance.now() } : {})
        }
        const flowing = res.write(`data: ${JSON.stringify(chunk)}\n\n`)
        if (interval > 0) timers.push(setTimeout(() => send(i + 1), interval))
        else if (!flowing) res.once("drain", () => send(i + 1)) // respect backpressure
        else setImmediate(() => send(i + 1))
        return
      }
      const last = {
        id,
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
        usage
      }
      res.write(`data: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`)
      finish()
      res.end()
    }
    send(0)
  }

  const server = createServer((req, res) => {
    if (req.method !== "POST" || !(req.url ?? "").endsWith("/chat/completions")) {
      res.writeHead(404).end()
      return
    }
    const parts: Array<Buffer> = []
    req.on("data", (d: Buffer) => parts.push(d))
    req.on("end", () => handle(req, res, Buffer.concat(parts).toString("utf8")))
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  server.unref()
  const port = (server.address() as AddressInfo).port
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    aborts,
    completed: () => completed,
    maxInFlight: () => maxInFlight,
    waitAbort: (timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name}: no abort within ${timeoutMs} ms`)), timeoutMs)
        waiters.push((a) => {
          clearTimeout(t)
          resolve(a)
        })
      }),
    setBehaviour: (f) => {
      behave = f
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
