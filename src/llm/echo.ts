/**
 * `local/echo`: the built-in deterministic provider, for demos, offline runs
 * and tests — it echoes, it does not think. Plain text: the reply is the last
 * user message (streamed in a few deltas). Structured output (a JSON schema
 * in `response_format`): a deterministic JSON value that conforms to the
 * schema (`exampleOf`): strings derived from the field name and the last
 * user message, numbers 0 (or the minimum), booleans false, arrays of one
 * item, the first member of enums and unions. Tools are ignored. Token
 * usage is estimated as ⌈characters / 4⌉.
 */
import { Clock, Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import type { ChatChunk, ChatCompletion, ChatRequest, ChatUsage } from "./chatCompletions.js"
import { contentText } from "./chatLanguageModel.js"

/** The model name of the built-in provider. */
export const ECHO_MODEL = "echo"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }
type JsonSchema = { readonly [k: string]: unknown }

const isObject = (u: unknown): u is JsonSchema => typeof u === "object" && u !== null && !Array.isArray(u)

const resolveRef = (root: JsonSchema, ref: string): JsonSchema | undefined => {
  if (!ref.startsWith("#/")) return undefined
  let at: unknown = root
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    if (!isObject(at)) return undefined
    at = at[key]
  }
  return isObject(at) ? at : undefined
}

const fitString = (value: string, schema: JsonSchema): string => {
  const format = schema.format
  if (format === "date-time") return "1970-01-01T00:00:00.000Z"
  if (format === "date") return "1970-01-01"
  if (format === "uuid") return "00000000-0000-0000-0000-000000000000"
  if (format === "email") return "echo@example.com"
  if (format === "uri" || format === "url") return "https://example.com/echo"
  let s = value
  const max = typeof schema.maxLength === "number" ? schema.maxLength : undefined
  const min = typeof schema.minLength === "number" ? schema.minLength : 0
  if (max !== undefined && s.length > max) s = s.slice(0, max)
  while (s.length < min) s += "x"
  return s
}

const fitNumber = (schema: JsonSchema, integer: boolean): number => {
  let n = 0
  const step = integer ? 1 : 0.5
  if (typeof schema.minimum === "number" && n < schema.minimum) n = integer ? Math.ceil(schema.minimum) : schema.minimum
  if (typeof schema.exclusiveMinimum === "number" && n <= schema.exclusiveMinimum) {
    n = integer
      ? Math.floor(schema.exclusiveMinimum) + 1
      : schema.exclusiveMinimum + step
  }
  if (typeof schema.maximum === "number" && n > schema.maximum) {
    n = integer
      ? Math.floor(schema.maximum)
      : schema.maximum
  }
  if (typeof schema.exclusiveMaximum === "number" && n >= schema.exclusiveMaximum) {
    n = integer
      ? Math.ceil(schema.exclusiveMaximum) - 1
      : schema.exclusiveMaximum - step
  }
  return n
}

/**
 * A deterministic value conforming to a JSON schema: `hint` (the prompt) and
 * the field names make the strings; `$ref`s into the root are followed
 * (recursion is cut at depth 16 with the smallest value the schema allows).
 */
export const exampleOf = (schema: unknown, hint: string, root: unknown = schema, field = "value", depth = 0): Json => {
  if (!isObject(schema)) return null
  const rootSchema = isObject(root) ? root : schema
  if (typeof schema.$ref === "string") {
    // Keywords beside a $ref (constraints added by refinements) apply too.
    const { $ref, ...siblings } = schema
    const target = resolveRef(rootSchema, $ref)
    return target === undefined || depth > 16
      ? null
      : exampleOf({ ...target, ...siblings }, hint, rootSchema, field, depth + 1)
  }
  if ("const" in schema) return schema.const as Json
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0] as Json
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key]
    if (Array.isArray(options) && options.length > 0) {
      const notNull = options.find((o) => !(isObject(o) && o.type === "null"))
      return exampleOf(notNull ?? options[0], hint, rootSchema, field, depth + 1)
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const merged: Record<string, Json> = {}
    let last: Json = null
    for (const part of schema.allOf) {
      const v = exampleOf(part, hint, rootSchema, field, depth + 1)
      if (isObject(v)) Object.assign(merged, v)
      else last = v
    }
    return Object.keys(merged).length > 0 ? merged : last
  }
  const types = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null") : [schema.type]
  const type = types[0] ?? (Array.isArray(schema.type) ? "null" : undefined)
  switch (type) {
    case "string":
      return fitString(`${field}: ${hint}`.slice(0, 200), schema)
    case "number":
      return fitNumber(schema, false)
    case "integer":
      return fitNumber(schema, true)
    case "boolean":
      return false
    case "null":
      return null
    case "array": {
      if (depth > 16) return []
      const max = typeof schema.maxItems === "number" ? schema.maxItems : 1
      const min = typeof schema.minItems === "number" ? schema.minItems : 1
      const count = Math.min(Math.max(1, min), Math.max(max, min))
      if (Array.isArray(schema.prefixItems)) {
        return schema.prefixItems.map((s, i) => exampleOf(s, hint, rootSchema, `${field}[${i}]`, depth + 1))
      }
      if (Array.isArray(schema.items)) {
        return schema.items.map((s, i) => exampleOf(s, hint, rootSchema, `${field}[${i}]`, depth + 1))
      }
      return Array.from(
        { length: count },
        (_, i) => exampleOf(schema.items, hint, rootSchema, `${field}[${i}]`, depth + 1)
      )
    }
    case "object":
    case undefined: {
      const properties = isObject(schema.properties) ? schema.properties : undefined
      if (type === undefined && properties === undefined) return null
      const out: Record<string, Json> = {}
      const required = Array.isArray(schema.required)
        ? schema.required.filter((k): k is string => typeof k === "string")
        : []
      for (const [key, sub] of Object.entries(properties ?? {})) {
        if (depth > 16 && !required.includes(key)) continue
        out[key] = exampleOf(sub, hint, rootSchema, key, depth + 1)
      }
      return out
    }
    default:
      return null
  }
}

const estimate = (text: string): number => Math.ceil(text.length / 4)

/** The last user message of a request ("" when there is none). */
export const lastUserText = (request: ChatRequest): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!
    if (m.role === "user") return contentText(m.content)
  }
  return ""
}

/** The JSON schema a request asks the reply to follow, if any. */
const schemaOf = (request: ChatRequest): { readonly schema: unknown } | undefined => {
  const format = request.response_format
  if (format === undefined) return undefined
  if (format.type === "json_object") return { schema: { type: "object" } }
  if (format.type !== "json_schema") return undefined
  const js = format.json_schema
  return { schema: isObject(js) && "schema" in js ? js.schema : { type: "object" } }
}

/** The text of echo's reply to a request. */
export const replyText = (request: ChatRequest): string => {
  const hint = lastUserText(request)
  const structured = schemaOf(request)
  if (structured === undefined) return hint
  const value = exampleOf(structured.schema, hint.replace(/\s+/g, " ").trim().slice(0, 80))
  return JSON.stringify(
    value === null && isObject(structured.schema) && structured.schema.type === "object" ? {} : value
  )
}

const idOf = (request: ChatRequest): string =>
  `chatcmpl-echo-${createHash("sha256").update(JSON.stringify(request.messages)).digest("hex").slice(0, 16)}`

const usageOf = (request: ChatRequest, reply: string): ChatUsage => {
  const prompt = request.messages.reduce((n, m) => n + estimate(contentText(m.content)), 0)
  const completion = estimate(reply)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}

/** Echo's non-streamed completion. */
export const complete = (request: ChatRequest): Effect.Effect<ChatCompletion> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const reply = replyText(request)
    return {
      id: idOf(request),
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model: ECHO_MODEL,
      choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
      usage: usageOf(request, reply)
    }
  })

/** Splits a reply in at most `parts` deltas (at word boundaries when it can). */
export const deltasOf = (reply: string, parts = 4): Array<string> => {
  if (reply === "") return []
  const size = Math.max(1, Math.ceil(reply.length / parts))
  const out: Array<string> = []
  let at = 0
  while (at < reply.length) {
    let end = Math.min(reply.length, at + size)
    const space = reply.indexOf(" ", end)
    if (end < reply.length && space !== -1 && space - end < size) end = space + 1
    out.push(reply.slice(at, end))
    at = end
  }
  return out
}

/** Echo's streamed completion: a role chunk, a few content deltas, the finish chunk with usage. */
export const stream = (request: ChatRequest): Stream.Stream<ChatChunk> =>
  Stream.unwrap(Effect.map(Clock.currentTimeMillis, (now) => {
    const reply = replyText(request)
    const base = {
      id: idOf(request),
      object: "chat.completion.chunk" as const,
      created: Math.floor(now / 1000),
      model: ECHO_MODEL
    }
    const chunks: Array<ChatChunk> = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      ...deltasOf(reply).map((d): ChatChunk => ({
        ...base,
        choices: [{ index: 0, delta: { content: d }, finish_reason: null }]
      })),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: usageOf(request, reply) }
    ]
    return Stream.fromIterable(chunks)
  }))
