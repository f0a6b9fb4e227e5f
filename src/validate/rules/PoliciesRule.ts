/**
 * V7 bad-policy: policies make sense — durations parse, `retry.times` is an
 * integer >= 0, `retry.factor` >= 1, `concurrency` an integer >= 1, budget
 * values >= 0 — and a tool step that retries (`retry` with `times` > 0 or
 * absent) is either an idempotent tool or has an `idempotencyKey`. Without
 * a tool table idempotency is unknown and this part is not checked (like
 * V4); the runtime always validates against its registry before running.
 * A hedged tool step (`hedge`, a duration) calls the tool twice at once, so it
 * needs an idempotent tool or an `idempotencyKey` too.
 * Retry on llm, call and map steps is allowed.
 */
import { MAX_DURATION_MS, parseDuration } from "../../ir/duration.js"
import type { Node } from "../../ir/schema.js"
import type { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"

/** V7 bad-policy: durations parse, numbers are in range, and retried tools are idempotent or keyed. */
export const PoliciesRule: ValidationRule = (ctx) => {
  const bad = (message: string, path: PathRef) => ctx.report("bad-policy", message, path)
  const duration = (value: string | undefined, name: string, path: PathRef) => {
    if (value === undefined) return
    const ms = parseDuration(value)
    if (ms === undefined) bad(`Invalid duration ${JSON.stringify(value)} for ${name}`, path)
    else if (ms > MAX_DURATION_MS) {
      bad(`Duration ${JSON.stringify(value)} for ${name} exceeds the maximum of 7 days`, path)
    }
  }
  const atLeast = (value: number | undefined, min: number, integer: boolean, name: string, path: PathRef) => {
    if (value === undefined) return
    const fine = integer ? Number.isInteger(value) && value >= min : Number.isFinite(value) && value >= min
    if (!fine) bad(`${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${value}`, path)
  }
  const retryNeedsKey = (node: Node): boolean => {
    if (node.kind !== "tool") return false
    const policy = node.policy
    const retry = policy?.retry
    if (retry === undefined || policy?.idempotencyKey !== undefined) return false
    if (retry.times !== undefined && !(retry.times > 0)) return false
    if (ctx.tools === undefined) return false
    const spec = ctx.tools.get(node.tool)
    return spec !== undefined && !spec.idempotent
  }
  return {
    Node: (e) => {
      const { node, path } = e
      if (node.kind === "map") atLeast(node.concurrency, 1, true, "concurrency", path.child("concurrency"))
      // A literal sleep beyond the longest duration (a computed one fails the call when its args are decoded).
      const ms = node.kind === "tool" && node.tool === "std.sleep" ? node.args["ms"] : undefined
      if (ms?.kind === "lit" && typeof ms.value === "number" && !(ms.value <= MAX_DURATION_MS)) {
        ctx.report(
          "bad-args",
          `std.sleep: ms ${ms.value} exceeds the maximum of ${MAX_DURATION_MS} (7 days)`,
          path.child("args", "ms")
        )
      }
      const policy = node.policy
      if (policy === undefined) return
      const at = path.child("policy")
      // A wait's timeout is its deadline, checked by WaitsRule (waits may last longer than calls).
      if (node.kind !== "wait") duration(policy.timeout, "timeout", at.child("timeout"))
      duration(policy.hedge, "hedge", at.child("hedge"))
      if (node.kind === "tool" && policy.hedge !== undefined && policy.idempotencyKey === undefined) {
        const spec = ctx.tools?.get(node.tool)
        if (spec !== undefined && !spec.idempotent) {
          bad(
            `Hedge on tool ${JSON.stringify(node.tool)} requires an idempotent tool or an idempotencyKey`,
            at.child("hedge")
          )
        }
      }
      const retry = policy.retry
      if (retry !== undefined) {
        const r = at.child("retry")
        atLeast(retry.times, 0, true, "retry.times", r.child("times"))
        atLeast(retry.factor, 1, false, "retry.factor", r.child("factor"))
        duration(retry.base, "retry.base", r.child("base"))
        duration(retry.max, "retry.max", r.child("max"))
        duration(retry.maxElapsed, "retry.maxElapsed", r.child("maxElapsed"))
      }
      if (policy.cache !== undefined && policy.cache !== false) {
        duration(policy.cache.ttl, "cache.ttl", at.child("cache", "ttl"))
      }
      if (policy.budget !== undefined) {
        atLeast(policy.budget.cost, 0, false, "budget.cost", at.child("budget", "cost"))
        atLeast(policy.budget.tokens, 0, false, "budget.tokens", at.child("budget", "tokens"))
      }
      if (node.kind === "tool" && retryNeedsKey(node)) {
        bad(
          `Retry on tool ${JSON.stringify(node.tool)} requires an idempotent tool or an idempotencyKey`,
          at.child("retry")
        )
      }
    }
  }
}
