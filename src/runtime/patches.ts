/**
 * Patch markers (issue 21): `patched("id")` lets a program change so that runs recorded before the change
 * still replay. A run records the patch ids its program carries when it begins (`RunStarted.patches`); while
 * it runs — live, resumed or replayed — `patched(id)` is true exactly when `id` is among the ids its first
 * `RunStarted` recorded. A fresh run of the new program therefore takes the new branch; a run recorded by a
 * program without the marker replays (and resumes) through the old one. A run executes its program
 * specialized to those ids (specialize.ts), so steps moved under `if patched(…)` keep their node paths. Pure.
 */
import { patchName } from "../ir/eval.js"
import type { Json } from "../ir/eval.js"
import type { Program } from "../ir/schema.js"

const isPatchedCall = (v: { readonly [k: string]: unknown }): string | undefined => {
  if (v.kind !== "call" || v.fn !== "patched" || !Array.isArray(v.args) || v.args.length !== 1) return undefined
  const arg: unknown = v.args[0]
  if (typeof arg !== "object" || arg === null) return undefined
  const lit = arg as { readonly kind?: unknown; readonly value?: unknown }
  return lit.kind === "lit" && typeof lit.value === "string" ? lit.value : undefined
}

/** The patch ids of every `patched("id")` in `program` (all its programs), in code-unit order. */
export const patchesOf = (program: Program): ReadonlyArray<string> => {
  const out = new Set<string>()
  const stack: Array<unknown> = [program]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v !== "object" || v === null) continue
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item)
      continue
    }
    const record = v as { readonly [k: string]: unknown }
    const id = isPatchedCall(record)
    if (id !== undefined) out.add(id)
    for (const k of Object.keys(record)) stack.push(record[k])
  }
  return [...out].sort()
}

/** An environment answering `patched(id)` from `patches`, and every other name from `env`. */
export const withPatches = (
  patches: ReadonlySet<string>,
  env: (name: string) => Json | undefined
): (name: string) => Json | undefined =>
(name) => {
  if (name.charCodeAt(0) === 35 && name.startsWith(PREFIX)) return patches.has(name.slice(PREFIX.length))
  return env(name)
}

const PREFIX = patchName("")
