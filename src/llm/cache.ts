/**
 * The response cache of the router: completions keyed by the requested model,
 * the request (messages, tools and every parameter except `stream`,
 * `stream_options` and `user`) and the workspace, kept for a TTL with a
 * capacity (oldest entries evicted first). A streamed reply is assembled into
 * a completion when it finishes and cached the same way; a cached completion
 * is replayed to a streaming request as chunks (`chunksOf`).
 */
import { createHash } from "node:crypto"
import { canonicalJson } from "../ir/canonical.js"
import type { ChatChunk, ChatCompletion, ChatRequest, ChatToolCall, ChatUsage } from "./chatCompletions.js"
import { deltasOf } from "./echo.js"

/** A cached reply and the route that produced it. */
export interface CacheEntry {
  readonly route: string
  readonly completion: ChatCompletion
  readonly expiresAt: number
}

/** The cache key of a request for `model` in `workspace`. */
export const cacheKey = (model: string, request: ChatRequest, workspace: string): string => {
  const { stream: _s, stream_options: _o, user: _u, model: _m, ...rest } = request
  return createHash("sha256").update(canonicalJson({ model, workspace, request: rest })).digest("hex")
}

/** A TTL cache with a capacity (insertion order eviction). */
export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>()
  constructor(readonly ttlMs: number, readonly capacity: number) {}

  /** The live entry of `key`, if any. */
  get(key: string, now: number): CacheEntry | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  /** Stores a reply. */
  set(key: string, route: string, completion: ChatCompletion, now: number): void {
    if (this.capacity <= 0 || this.ttlMs <= 0) return
    this.entries.delete(key)
    this.entries.set(key, { route, completion, expiresAt: now + this.ttlMs })
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done === true) break
      this.entries.delete(oldest.value)
    }
  }

  /** Entries held (expired ones included until read). */
  get size(): number {
    return this.entries.size
  }
}

/** Assembles streamed chunks into the completion they amount to (undefined when there were none). */
export const assemble = (chunks: ReadonlyArray<ChatChunk>): ChatCompletion | undefined => {
  const first = chunks[0]
  if (first === undefined) return undefined
  let content = ""
  let finish: string | null = null
  let usage: ChatUsage | undefined
  const calls = new Map<number, { id: string; name: string; args: string }>()
  for (const c of chunks) {
    if (c.usage !== undefined && c.usage !== null) usage = c.usage
    const choice = c.choices[0]
    if (choice === undefined) continue
    if (typeof choice.delta.content === "string") content += choice.delta.content
    for (const d of choice.delta.tool_calls ?? []) {
      const known = calls.get(d.index)
      if (known === undefined) {
        calls.set(d.index, {
          id: d.id ?? `call_${d.index}`,
          name: d.function?.name ?? "",
          args: d.function?.arguments ?? ""
        })
      } else known.args += d.function?.arguments ?? ""
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) finish = choice.finish_reason
  }
  const toolCalls: Array<ChatToolCall> = [...calls.values()].map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: c.args }
  }))
  return {
    id: first.id,
    object: "chat.completion",
    created: first.created,
    model: first.model,
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: content === "" && toolCalls.length > 0 ? null : content,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
      },
      finish_reason: finish
    }],
    ...(usage === undefined ? {} : { usage })
  }
}

/** A completion replayed as chunks: role, content deltas, tool calls, finish with usage. */
export const chunksOf = (completion: ChatCompletion): Array<ChatChunk> => {
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model
  }
  const choice = completion.choices[0]
  const out: Array<ChatChunk> = [{
    ...base,
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]
  }]
  for (const d of deltasOf(choice?.message.content ?? "")) {
    out.push({ ...base, choices: [{ index: 0, delta: { content: d }, finish_reason: null }] })
  }
  const calls = choice?.message.tool_calls ?? []
  if (calls.length > 0) {
    out.push({
      ...base,
      choices: [{
        index: 0,
        delta: {
          tool_calls: calls.map((c, index) => ({
            index,
            id: c.id,
            type: "function",
            function: { name: c.function.name, arguments: c.function.arguments }
          }))
        },
        finish_reason: null
      }]
    })
  }
  out.push({
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? "stop" }],
    ...(completion.usage === undefined ? {} : { usage: completion.usage })
  })
  return out
}
