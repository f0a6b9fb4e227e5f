/**
 * Finishing touches of the generated OpenAPI document, as an `OpenApi.Transform`:
 * Effect's JSON Schema of `Schema.Unknown` carries `$id: "/schemas/unknown"`
 * (and `any`/`object` likewise) at every use, which JSON Schema validators
 * refuse as duplicate ids — those become plain `{}` (any value); and
 * request bodies that may be left out are marked `required: false`.
 */

/** `$id`s Effect puts on schemas of any value; repeated, they make the document unloadable by Ajv. */
const ANONYMOUS_IDS = new Set(["/schemas/unknown", "/schemas/any", "/schemas/object", "/schemas/{}", "/schemas/%7B%7D"])

/** A copy of a JSON value without the anonymous `$id`s (and their `title`). */
export const stripAnonymousIds = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(stripAnonymousIds)
  if (typeof value !== "object" || value === null) return value
  const record = value as Record<string, unknown>
  const anonymous = typeof record["$id"] === "string" && ANONYMOUS_IDS.has(record["$id"])
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(record)) {
    if (anonymous && (k === "$id" || k === "title")) continue
    out[k] = stripAnonymousIds(v)
  }
  return out
}

/** The transform of the whole document. */
export const finishSpec = (spec: Record<string, unknown>): Record<string, unknown> =>
  stripAnonymousIds(spec) as Record<string, unknown>

/** An operation transform: its request body may be left out (an empty body reads as `{}`). */
export const optionalBody = (operation: Record<string, unknown>): Record<string, unknown> => {
  const body = operation["requestBody"]
  return typeof body === "object" && body !== null
    ? { ...operation, requestBody: { ...body, required: false } }
    : operation
}
