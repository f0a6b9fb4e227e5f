/**
 * Lowering of `with { … }`: policy entries become the node's `policy`,
 * except `model` (llm steps only), `concurrency` and `take` (map steps only), which
 * become fields of the node. Values must be literals of the right shape
 * (`idempotencyKey` is any expression; `after` lists step names); anything
 * else is a `bad-policy` violation and is left out of the IR. Whether
 * durations parse and numbers are in range is checked later by V7.
 */
import type { Span } from "../ir/diagnostic.js"
import { ErrorKind, type Expr, type NodeKind, type Policy, type RetryPolicy } from "../ir/schema.js"
import type { ExprNode, RecordEntryNode, RecordExprNode } from "./ast.js"
import type { IrPath, LowerContext } from "./lowerContext.js"
import { keyText, literalOf, lowerExpr } from "./lowerExpr.js"

/** What a `with { … }` lowers to. */
export interface LoweredPolicy {
  readonly policy: Policy | undefined
  readonly model: string | undefined
  readonly hedgeModel: string | undefined
  readonly concurrency: number | undefined
  readonly take: number | undefined
  /** `fold: program` and `init: constant` (map steps only). */
  readonly fold: string | undefined
  readonly init: Expr | undefined
}

/** The policy keys, in the order the IR and the printer use. */
export const POLICY_KEYS = ["timeout", "retry", "cache", "idempotencyKey", "after", "label", "budget", "hedge"] as const
/** The retry fields, in the order the IR and the printer use. */
export const RETRY_KEYS = ["times", "backoff", "base", "factor", "max", "jitter", "maxElapsed", "on"] as const

const ALL_KEYS = [
  ...POLICY_KEYS.slice(0, 5),
  "concurrency",
  "take",
  "fold",
  "init",
  ...POLICY_KEYS.slice(5),
  "model",
  "hedgeModel"
]
/** Keys that lower to fields of the node rather than of its policy. */
const NODE_KEYS: ReadonlySet<string> = new Set(["model", "hedgeModel", "concurrency", "take", "fold", "init"])
const ERROR_KINDS: ReadonlyArray<string> = ErrorKind.literals

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Lowers the policy record of a node of kind `kind` found at `nodePath`. */
export const lowerPolicy = (
  ctx: LowerContext,
  record: RecordExprNode | undefined,
  kind: NodeKind,
  nodePath: IrPath
): LoweredPolicy => {
  if (record === undefined) {
    return {
      policy: undefined,
      model: undefined,
      hedgeModel: undefined,
      concurrency: undefined,
      take: undefined,
      fold: undefined,
      init: undefined
    }
  }
  const policyPath = nodePath.child("policy")
  const policy: Mutable<Policy> = {}
  let model: string | undefined
  let hedgeModel: string | undefined
  let concurrency: number | undefined
  let take: number | undefined
  let fold: string | undefined
  let init: Expr | undefined
  let hasPolicyEntry = record.entries.length === 0
  const seen = new Set<string>()
  for (const entry of record.entries) {
    const key = keyText(entry.key)
    const path = NODE_KEYS.has(key) ? nodePath.child(key) : policyPath.child(key)
    const bad = (message: string) => ctx.report("bad-policy", message, path, entry.loc)
    if (seen.has(key)) {
      bad(`Policy key "${key}" is given more than once`)
      continue
    }
    seen.add(key)
    if (!NODE_KEYS.has(key)) hasPolicyEntry = true
    ctx.mark(path, entry.loc)
    const value = entry.value
    const lit = literalOf(value)?.value
    switch (key) {
      case "timeout":
        if (typeof lit === "string") policy.timeout = lit
        else bad(`Policy "timeout" must be a literal duration string such as "2s"`)
        break
      case "retry": {
        const retry = lowerRetry(ctx, value, path, entry.loc)
        if (retry !== undefined) policy.retry = retry
        break
      }
      case "cache":
        if (lit === false) policy.cache = false
        else {
          const ttl = value.kind === "RecordExpr" && value.entries.length === 1 ? onlyEntry(value, "ttl") : undefined
          if (typeof ttl === "string") policy.cache = { ttl }
          else bad(`Policy "cache" must be false or { ttl: "<duration>" }`)
        }
        break
      case "idempotencyKey":
        policy.idempotencyKey = lowerExpr(ctx, value, path)
        break
      case "after": {
        const after = lowerAfter(ctx, value, path)
        if (after !== undefined) policy.after = after
        else bad(`Policy "after" must be a list of step names`)
        break
      }
      case "label":
        if (typeof lit === "string") policy.label = lit
        else bad(`Policy "label" must be a literal string`)
        break
      case "budget": {
        const budget = lowerBudget(value)
        if (budget !== undefined) policy.budget = budget
        else bad(`Policy "budget" must be a record { cost?: number, tokens?: number } of literals`)
        break
      }
      case "model":
        if (kind !== "llm") bad(`"model" is only allowed on llm steps`)
        else if (typeof lit === "string") model = lit
        else bad(`Policy "model" must be a literal string`)
        break
      case "hedge":
        if (kind !== "tool" && kind !== "llm") bad(`"hedge" is only allowed on tool and llm steps`)
        else if (typeof lit === "string") policy.hedge = lit
        else bad(`Policy "hedge" must be a literal duration string such as "200ms"`)
        break
      case "hedgeModel":
        if (kind !== "llm") bad(`"hedgeModel" is only allowed on llm steps`)
        else if (typeof lit === "string") hedgeModel = lit
        else bad(`Policy "hedgeModel" must be a literal string`)
        break
      case "concurrency":
        if (kind !== "map") bad(`"concurrency" is only allowed on map steps`)
        else if (typeof lit === "number") concurrency = lit
        else bad(`Policy "concurrency" must be a literal number`)
        break
      case "take":
        if (kind !== "map") bad(`"take" is only allowed on map steps`)
        else if (typeof lit === "number") take = lit
        else bad(`Policy "take" must be a literal number`)
        break
      case "fold":
        if (kind !== "map") bad(`"fold" is only allowed on map steps`)
        else if (value.kind === "Identifier") fold = value.name
        else if (value.kind === "StringLiteral") fold = value.value
        else bad(`Policy "fold" must name a program of the file`)
        break
      case "init":
        if (kind !== "map") bad(`"init" is only allowed on map steps`)
        else init = lowerExpr(ctx, value, path)
        break
      default:
        bad(`Unknown policy key "${key}"; expected one of ${ALL_KEYS.join(", ")}`)
    }
  }
  if (hasPolicyEntry) ctx.mark(policyPath, record.loc)
  return { policy: hasPolicyEntry ? orderPolicy(policy) : undefined, model, hedgeModel, concurrency, take, fold, init }
}

const orderPolicy = (p: Policy): Policy => {
  const out: Record<string, unknown> = {}
  for (const k of POLICY_KEYS) if (p[k] !== undefined) out[k] = p[k]
  return out as Policy
}

const onlyEntry = (record: RecordExprNode, key: string): string | number | boolean | null | undefined => {
  const entry = record.entries[0]
  return entry !== undefined && keyText(entry.key) === key ? literalOf(entry.value)?.value : undefined
}

const lowerRetry = (ctx: LowerContext, value: ExprNode, path: IrPath, span: Span): RetryPolicy | undefined => {
  if (value.kind !== "RecordExpr") {
    ctx.report("bad-policy", `Policy "retry" must be a record such as { times: 3 }`, path, span)
    return undefined
  }
  const retry: Mutable<RetryPolicy> = {}
  const seen = new Set<string>()
  for (const entry of value.entries) {
    const key = keyText(entry.key)
    const fieldPath = path.child(key)
    const bad = (message: string) => ctx.report("bad-policy", message, fieldPath, entry.loc)
    if (seen.has(key)) {
      bad(`Retry field "${key}" is given more than once`)
      continue
    }
    seen.add(key)
    ctx.mark(fieldPath, entry.loc)
    const lit = literalOf(entry.value)?.value
    switch (key) {
      case "times":
      case "factor":
        if (typeof lit === "number") retry[key] = lit
        else bad(`Retry "${key}" must be a literal number`)
        break
      case "base":
      case "max":
      case "maxElapsed":
        if (typeof lit === "string") retry[key] = lit
        else bad(`Retry "${key}" must be a literal duration string such as "100ms"`)
        break
      case "backoff":
        if (lit === "exponential" || lit === "fixed" || lit === "none") retry.backoff = lit
        else bad(`Retry "backoff" must be "exponential", "fixed" or "none"`)
        break
      case "jitter":
        if (lit === "full" || lit === "equal" || lit === "none") retry.jitter = lit
        else bad(`Retry "jitter" must be "full", "equal" or "none"`)
        break
      case "on": {
        const kinds = entry.value.kind === "ListExpr" ? entry.value.items.map((i) => literalOf(i)?.value) : undefined
        if (
          kinds !== undefined && kinds.every((k): k is ErrorKind => typeof k === "string" && ERROR_KINDS.includes(k))
        ) {
          retry.on = kinds
          if (entry.value.kind === "ListExpr") {
            entry.value.items.forEach((item, i) => ctx.mark(fieldPath.child(i), item.loc))
          }
        } else {
          bad(`Retry "on" must be a list of error kinds (${ERROR_KINDS.join(", ")})`)
        }
        break
      }
      default:
        bad(`Unknown retry field "${key}"; expected one of ${RETRY_KEYS.join(", ")}`)
    }
  }
  const out: Record<string, unknown> = {}
  for (const k of RETRY_KEYS) if (retry[k] !== undefined) out[k] = retry[k]
  return out as RetryPolicy
}

const lowerAfter = (ctx: LowerContext, value: ExprNode, path: IrPath): ReadonlyArray<string> | undefined => {
  if (value.kind !== "ListExpr") return undefined
  const names: Array<string> = []
  for (const item of value.items) {
    if (item.kind === "Identifier") names.push(item.name)
    else if (item.kind === "StringLiteral") names.push(item.value)
    else return undefined
  }
  value.items.forEach((item, i) => ctx.mark(path.child(i), item.loc))
  return names
}

const lowerBudget = (value: ExprNode): Policy["budget"] | undefined => {
  if (value.kind !== "RecordExpr") return undefined
  const budget: { cost?: number; tokens?: number } = {}
  const seen = new Set<string>()
  for (const entry of value.entries as ReadonlyArray<RecordEntryNode>) {
    const key = keyText(entry.key)
    const lit = literalOf(entry.value)?.value
    if ((key !== "cost" && key !== "tokens") || seen.has(key) || typeof lit !== "number") return undefined
    seen.add(key)
    budget[key] = lit
  }
  return {
    ...(budget.cost === undefined ? {} : { cost: budget.cost }),
    ...(budget.tokens === undefined ? {} : { tokens: budget.tokens })
  }
}
