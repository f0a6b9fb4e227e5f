/**
 * V7 bad-wait (SPEC §11): a `wait` step names a signal (a non-empty
 * string) or is a durable sleep (`for` a duration), not both and not
 * neither; a declared answer type is a record type; a sleep carries no
 * payload, answer or timeout; durations (`for`, the deadline `timeout`)
 * parse and stay within 366 days. Policies that make no sense on a wait
 * (`retry`, `cache`, `idempotencyKey`, `budget`) are `bad-policy`.
 */
import { MAX_WAIT_MS, parseWaitDuration } from "../../ir/duration.js"
import type { PathRef } from "../path.js"
import type { ValidationRule } from "../ruleContext.js"

const UNSUPPORTED_POLICIES = ["retry", "cache", "idempotencyKey", "budget"] as const

/** V7 bad-wait: well-formed waits and durable sleeps. */
export const WaitsRule: ValidationRule = (ctx) => {
  const bad = (message: string, path: PathRef) => ctx.report("bad-wait", message, path)
  const duration = (value: string, name: string, path: PathRef) => {
    const ms = parseWaitDuration(value)
    if (ms === undefined) bad(`Invalid duration ${JSON.stringify(value)} for ${name}`, path)
    else if (ms > MAX_WAIT_MS) {
      bad(`Duration ${JSON.stringify(value)} for ${name} exceeds the maximum of 366 days`, path)
    }
  }
  return {
    Node: (e) => {
      const { node, path } = e
      if (node.kind !== "wait") return
      if (node.signal === undefined && node.for === undefined) {
        bad("A wait names a signal (wait \"name\") or a duration (wait for \"3d\")", path)
      }
      if (node.signal !== undefined && node.for !== undefined) {
        bad("A wait names a signal or a duration, not both", path.child("for"))
      }
      if (node.signal !== undefined && node.signal.trim() === "") {
        bad("A wait's signal name is empty", path.child("signal"))
      }
      if (node.answer !== undefined && node.answer.kind !== "record") {
        bad(`A wait's answer type must be a record type, got ${node.answer.kind}`, path.child("answer"))
      }
      if (node.for !== undefined) {
        duration(node.for, "wait for", path.child("for"))
        if (node.signal === undefined) {
          if (node.payload !== undefined) bad("A durable sleep has no payload", path.child("payload"))
          if (node.answer !== undefined) bad("A durable sleep has no answer type", path.child("answer"))
          if (node.policy?.timeout !== undefined) {
            bad("A durable sleep has no timeout (its duration is the time)", path.child("policy", "timeout"))
          }
        }
      }
      const policy = node.policy
      if (policy === undefined) return
      if (policy.timeout !== undefined) duration(policy.timeout, "timeout", path.child("policy", "timeout"))
      for (const key of UNSUPPORTED_POLICIES) {
        if (policy[key] !== undefined) {
          ctx.report("bad-policy", `"${key}" is not allowed on a wait step`, path.child("policy", key))
        }
      }
    }
  }
}
