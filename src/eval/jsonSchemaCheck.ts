/**
 * A small JSON Schema checker for the `json-schema:<file>` metric: the
 * keywords `type` (one or a list; `integer` too), `enum`, `const`,
 * `properties`, `required`, `additionalProperties` (boolean or a schema),
 * `items`, `minItems`, `maxItems`, `minimum`, `maximum`, `minLength`,
 * `maxLength`, `pattern`, `anyOf`, `oneOf`, `allOf`, `not`. Other keywords
 * are ignored (documented in docs/evaluation.md). Returns the first problem
 * with its JSON path, or undefined when the value conforms.
 */
import { canonicalJson } from "../ir/canonical.js"
import type { Json } from "../ir/eval.js"

/** A JSON Schema as parsed JSON. */
export type JsonSchemaDoc = boolean | { readonly [key: string]: unknown }

const typeOf = (v: Json): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v

const matchesType = (v: Json, t: unknown): boolean =>
  t === "integer" ? typeof v === "number" && Number.isInteger(v) : typeOf(v) === t

/** The first way `value` breaks `schema` (as `path: problem`), or undefined. */
export const firstViolation = (schema: JsonSchemaDoc, value: Json, path = "$"): string | undefined => {
  if (schema === true) return undefined
  if (schema === false) return `${path}: no value is allowed`
  const s = schema
  if (s["type"] !== undefined) {
    const types = Array.isArray(s["type"]) ? (s["type"] as ReadonlyArray<unknown>) : [s["type"]]
    if (!types.some((t) => matchesType(value, t))) {
      return `${path}: expected ${types.join(" or ")}, got ${typeOf(value)}`
    }
  }
  if (Array.isArray(s["enum"]) && !s["enum"].some((e) => canonicalJson(e) === canonicalJson(value))) {
    return `${path}: not one of the enum values`
  }
  if (s["const"] !== undefined && canonicalJson(s["const"]) !== canonicalJson(value)) {
    return `${path}: not the const value`
  }
  if (typeof value === "number") {
    if (typeof s["minimum"] === "number" && value < s["minimum"]) return `${path}: below the minimum ${s["minimum"]}`
    if (typeof s["maximum"] === "number" && value > s["maximum"]) return `${path}: above the maximum ${s["maximum"]}`
  }
  if (typeof value === "string") {
    if (typeof s["minLength"] === "number" && value.length < s["minLength"]) {
      return `${path}: shorter than ${s["minLength"]}`
    }
    if (typeof s["maxLength"] === "number" && value.length > s["maxLength"]) {
      return `${path}: longer than ${s["maxLength"]}`
    }
    if (typeof s["pattern"] === "string" && !new RegExp(s["pattern"], "u").test(value)) {
      return `${path}: does not match ${s["pattern"]}`
    }
  }
  if (Array.isArray(value)) {
    const items = value as ReadonlyArray<Json>
    if (typeof s["minItems"] === "number" && items.length < s["minItems"]) {
      return `${path}: fewer than ${s["minItems"]} items`
    }
    if (typeof s["maxItems"] === "number" && items.length > s["maxItems"]) {
      return `${path}: more than ${s["maxItems"]} items`
    }
    if (s["items"] !== undefined && !Array.isArray(s["items"])) {
      for (let i = 0; i < items.length; i++) {
        const v = firstViolation(s["items"] as JsonSchemaDoc, items[i]!, `${path}[${i}]`)
        if (v !== undefined) return v
      }
    }
  } else if (typeof value === "object" && value !== null) {
    const record = value as { readonly [k: string]: Json }
    if (Array.isArray(s["required"])) {
      for (const key of s["required"]) {
        if (typeof key === "string" && !(key in record)) return `${path}: missing required "${key}"`
      }
    }
    const props = (typeof s["properties"] === "object" && s["properties"] !== null ? s["properties"] : {}) as {
      readonly [k: string]: JsonSchemaDoc
    }
    for (const [key, v] of Object.entries(record)) {
      const sub = props[key] ?? (s["additionalProperties"] as JsonSchemaDoc | undefined)
      if (sub === undefined) continue
      const found = firstViolation(sub, v, `${path}.${key}`)
      if (found !== undefined) return props[key] === undefined && sub === false ? `${path}: unexpected "${key}"` : found
    }
  }
  const subs = (k: string) => (Array.isArray(s[k]) ? (s[k] as ReadonlyArray<JsonSchemaDoc>) : undefined)
  const allOf = subs("allOf")
  if (allOf !== undefined) {
    for (const sub of allOf) {
      const v = firstViolation(sub, value, path)
      if (v !== undefined) return v
    }
  }
  const anyOf = subs("anyOf")
  if (anyOf !== undefined && !anyOf.some((sub) => firstViolation(sub, value, path) === undefined)) {
    return `${path}: matches none of anyOf`
  }
  const oneOf = subs("oneOf")
  if (oneOf !== undefined && oneOf.filter((sub) => firstViolation(sub, value, path) === undefined).length !== 1) {
    return `${path}: does not match exactly one of oneOf`
  }
  if (s["not"] !== undefined && firstViolation(s["not"] as JsonSchemaDoc, value, path) === undefined) {
    return `${path}: matches the schema under not`
  }
  return undefined
}
