/**
 * N1: defaults made explicit where they come from the program itself.
 *
 * - A `call` step that omits an argument whose callee parameter has a
 *   default gets that default (when the default is a closed expression,
 *   i.e. mentions no name).
 * - A `retry` policy gets every field that has a documented default.
 * - A branch without `else` gets the empty body `{ nodes: [], result: null }`.
 */
import { compareCodeUnits } from "../ir/canonical.js"
import type { ErrorKind, RetryPolicy } from "../ir/schema.js"
import type { IArgs, IBody, IExpr, IParam } from "./internal.js"

/** The documented retry defaults (`max` and `maxElapsed` have none and stay absent). */
export const RETRY_DEFAULTS = {
  times: 3,
  backoff: "exponential",
  base: "100ms",
  factor: 2,
  jitter: "full",
  on: ["Timeout", "RateLimited", "Transient"]
} as const

/**
 * A retry policy with every defaulted field explicit, and `on` sorted
 * (code-unit order) without duplicates: it is a set of error kinds.
 */
export const withRetryDefaults = (retry: RetryPolicy): RetryPolicy => {
  const on: ReadonlyArray<ErrorKind> = retry.on ?? RETRY_DEFAULTS.on
  return {
    times: retry.times ?? RETRY_DEFAULTS.times,
    backoff: retry.backoff ?? RETRY_DEFAULTS.backoff,
    base: retry.base ?? RETRY_DEFAULTS.base,
    factor: retry.factor ?? RETRY_DEFAULTS.factor,
    ...(retry.max !== undefined ? { max: retry.max } : {}),
    jitter: retry.jitter ?? RETRY_DEFAULTS.jitter,
    ...(retry.maxElapsed !== undefined ? { maxElapsed: retry.maxElapsed } : {}),
    on: [...new Set(on)].sort(compareCodeUnits)
  }
}

/** The body an else-less branch runs: no nodes, result `null`. */
export const emptyBody = (): IBody => ({ nodes: [], result: { kind: "lit", value: null } })

/** True when `expr` mentions no name at all (no node, binder, param or unbound ref). */
const isClosed = (expr: IExpr): boolean => {
  switch (expr.kind) {
    case "lit":
      return true
    case "nref":
    case "bref":
    case "pref":
    case "fref":
      return false
    case "get":
      return isClosed(expr.target)
    case "index":
      return isClosed(expr.target) && isClosed(expr.index)
    case "slice":
      return isClosed(expr.target) && (expr.start === null || isClosed(expr.start)) &&
        (expr.end === null || isClosed(expr.end))
    case "unary":
      return isClosed(expr.arg)
    case "binary":
      return isClosed(expr.left) && isClosed(expr.right)
    case "list":
      return expr.items.every(isClosed)
    case "record":
      return expr.entries.every((e) => isClosed(e.value))
    case "call":
      return expr.args.every(isClosed)
  }
}

/**
 * The arguments of a `call` step with every missing argument that the
 * callee gives a closed default filled in, still sorted by name.
 */
export const fillCallDefaults = (args: IArgs, callee: ReadonlyArray<IParam> | undefined): IArgs => {
  if (callee === undefined) return args
  const given = new Set(args.map((a) => a.name))
  const filled = [...args]
  for (const param of callee) {
    if (given.has(param.name) || param.default === undefined || !isClosed(param.default)) continue
    given.add(param.name)
    filled.push({ name: param.name, value: param.default })
  }
  if (filled.length === args.length) return args
  return filled.sort((a, b) => compareCodeUnits(a.name, b.name))
}
